"""What ``monai.bundle run --tracking mlflow`` leaves out of a bundle's MLflow run: its settings and its model.

MONAI's tracking appends an ``MLFlowHandler`` to ``train#handlers``; it records the metrics, the learning rate,
``max_epochs``/``epoch_length`` and the executed config, but none of a bundle's own settings (conditioning, metadata
fields, seed, ...) and not the trained weights. That handler's arguments come from MONAI's fixed tracking settings,
which a bundle cannot extend, so this companion sits in every bundle's ``train#handlers`` and writes into the same
run. Without ``--tracking mlflow`` (and on ranks above 0, where MONAI disables its handler) it does nothing, and it
never imports ``mlflow`` itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from monai.utils import IgniteInfo, min_version, optional_import

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine")

__all__ = ["MLFlowBundleRecorder", "tracking_params"]

logger = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter value (older servers: 500; longer values are cut)


def _param_value(value: Any) -> str | None:
    """A setting as an MLflow parameter string, or None for what has no short text form."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return str(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, torch.nn.Module):
        return type(value).__name__
    if hasattr(value, "field_names") and hasattr(value, "num_features"):  # a MetadataSpec
        return json.dumps({"fields": list(value.field_names), "num_features": int(value.num_features)})
    if isinstance(value, (Sequence, Mapping)) and not isinstance(value, (str, bytes)):
        try:
            return json.dumps(value)
        except TypeError:
            return None
    return None


def tracking_params(settings: Mapping[str, Any]) -> dict[str, str]:
    """The MLflow parameters of a bundle's ``settings`` section: scalars as text, lists and dicts as JSON, a
    network as its class name, a metadata spec as its fields and width; other objects are left out."""
    params = {}
    for key, value in settings.items():
        text = _param_value(value)
        if text is not None:
            params[str(key)] = text[:MAX_PARAM_LENGTH]
    return params


def _mlflow_handler(engine: Engine) -> Any:
    """The ``MLFlowHandler`` attached to ``engine`` (MONAI's ``--tracking``), or None."""
    # ignite lists an engine's handlers only in the private `_event_handlers`; has_event_handler needs the handler
    for handler, _, _ in getattr(engine, "_event_handlers", {}).get(Events.STARTED, []):
        owner = getattr(handler, "__self__", None)
        if type(owner).__name__ == "MLFlowHandler":
            return owner
    return None


class MLFlowBundleRecorder:
    """Adds a bundle's settings (as parameters) and its trained model files (as artifacts) to the MLflow run of the
    ``MLFlowHandler`` that ``--tracking mlflow`` attaches to the same trainer; does nothing without one.

    Args:
        settings: the bundle's ``settings`` section (``@settings``); see :func:`tracking_params`.
        model_dir: the folder of the trained model (``@ckpt_dir``: ``model.pt``, ``metadata_spec.json``), logged at
            the end of training under the artifact path ``artifact_path``.
        artifact_path: where the model files go in the run's artifacts.
        loss_transform: given, it replaces the ``MLFlowHandler``'s ``output_transform``. MONAI's tracking reads the
            loss with ``from_engine(["loss"], first=True)``, which expects a decollated list of items; a trainer
            whose output is one dictionary (:class:`~metaseg_monai.engines.ConsistencyTrainer`) gives
            ``lambda output: output["loss"]`` here.

    The parameters are logged after the first iteration (MONAI's handler opens its run at ``Events.STARTED``), the
    model once training has completed and every saver has written it (the upload is registered at
    ``Events.STARTED``, after the handlers attached with the engine).
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        model_dir: str | Path,
        artifact_path: str = "models",
        loss_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.params = tracking_params(settings)
        self.loss_transform = loss_transform
        self.model_dir = Path(model_dir)
        self.artifact_path = artifact_path
        self._run_id: str | None = None  # MONAI's handler forgets its run when it closes it at COMPLETED
        self._client: Any = None

    def attach(self, engine: Engine) -> None:
        if not engine.has_event_handler(self._started, Events.STARTED):
            engine.add_event_handler(Events.STARTED, self._started)

    def _started(self, engine: Engine) -> None:
        handler = _mlflow_handler(engine)
        if handler is None:
            return
        if self.loss_transform is not None:
            handler.output_transform = self.loss_transform
        if not engine.has_event_handler(self._log_params, Events.ITERATION_COMPLETED):
            engine.add_event_handler(Events.ITERATION_COMPLETED, self._log_params)
        if not engine.has_event_handler(self._log_model, Events.COMPLETED):
            engine.add_event_handler(Events.COMPLETED, self._log_model)

    def _log_params(self, engine: Engine) -> None:
        if self._run_id is not None:
            return
        handler = _mlflow_handler(engine)
        run = getattr(handler, "cur_run", None)
        if run is None:
            return
        client, run_id = handler.client, run.info.run_id
        self._client, self._run_id = client, run_id
        from mlflow.entities import Param  # only reached where MONAI's MLFlowHandler, hence mlflow, is in use

        existing = client.get_run(run_id).data.params
        new = [Param(k, v) for k, v in self.params.items() if k not in existing]  # a resumed run keeps its own
        if new:
            client.log_batch(run_id, params=new)

    def _log_model(self, engine: Engine) -> None:
        client, run_id = self._client, self._run_id
        if run_id is None:  # no iteration ran (a resumed run that had already finished)
            return
        files = sorted(p for p in self.model_dir.glob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            logger.warning("MLflow: no model file in %s to record in run %s.", self.model_dir, run_id)
            return
        for path in files:
            client.log_artifact(run_id, str(path), artifact_path=self.artifact_path)
        logger.info("MLflow: recorded %s in run %s under '%s'.", [p.name for p in files], run_id, self.artifact_path)
