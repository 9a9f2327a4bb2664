"""The MONAI Label app that ``metaseg label app`` writes: it serves the bundle folders in ``APP_DIR/model/``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from monailabel.interfaces.app import MONAILabelApp

import metaseg_monai
from metaseg_monai.label.infer_task import MetadataBundleInferTask

__all__ = ["MetasegLabelApp"]

logger = logging.getLogger(__name__)


class MetasegLabelApp(MONAILabelApp):
    """Serve each bundle in ``app_dir/model/`` as the model of its folder's name (``POST /infer/<bundle>``).

    ``--conf models NAME[,NAME]`` serves only those; a name with no bundle folder is an error that lists the ones
    there. Only inference is served: the app defines no trainers, active-learning strategies or scoring.
    """

    def __init__(self, app_dir: str, studies: str, conf: dict[str, Any]) -> None:
        self.model_dir = Path(app_dir) / "model"
        found = sorted(p.name for p in self.model_dir.iterdir() if (p / "configs" / "inference.json").is_file())
        asked = [n.strip() for n in str(conf.get("models", "")).split(",") if n.strip()]
        unknown = sorted(set(asked) - set(found))
        if unknown:
            raise ValueError(f"--conf models: no bundle {unknown} in '{self.model_dir}'; there are {found}.")
        self.bundle_names = asked or found
        if not self.bundle_names:
            raise FileNotFoundError(f"no bundle folder in '{self.model_dir}'; write the app with: metaseg label app")
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="metaseg-monai",
            description="Metadata-conditioned segmentation bundles; give each model's metadata fields in params.",
            version=metaseg_monai.__version__,
        )

    def init_infers(self) -> dict[str, MetadataBundleInferTask]:
        tasks = {}
        for name in self.bundle_names:
            tasks[name] = MetadataBundleInferTask(str(self.model_dir / name), self.conf)
            logger.info("serving %s (metadata: %s)", name, tasks[name].metadata_spec.field_names or "none")
        return tasks

    def init_trainers(self) -> dict:
        return {}

    def init_strategies(self) -> dict:
        return {}

    def init_scoring_methods(self) -> dict:
        return {}
