"""Write the metadata spec a network is trained with beside its weights (``models/metadata_spec.json``)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monai.utils import IgniteInfo, min_version, optional_import

from metaseg_monai.transforms.metadata import MetadataSpec
from metaseg_monai.utils.files import write_json

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
idist, _ = optional_import("ignite", IgniteInfo.OPT_IMPORT_VERSION, min_version, "distributed")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine")

__all__ = ["SPEC_FILENAME", "MetadataSpecSaver"]

SPEC_FILENAME = "metadata_spec.json"  # beside models/model.pt; evaluation and inference compare their spec with it


class MetadataSpecSaver:
    """Ignite handler that writes the metadata spec at the trainer's ``Events.STARTED``, so that the encoding the
    weights are trained with lies beside them (``models/metadata_spec.json`` next to ``models/model.pt``) and an
    evaluation or inference can check its own spec against it.

    The file holds ``{"fields": spec.to_config()}`` (:meth:`~metaseg_monai.transforms.MetadataSpec.to_config`),
    which :meth:`MetadataSpec.from_config <metaseg_monai.transforms.MetadataSpec.from_config>` reads back into the
    same spec. It is written atomically (a kill never leaves a half-written file) on rank 0, into ``save_dir``
    (created if missing), at every start: a resumed run writes the same content again. A different spec replacing
    an existing file is logged as a warning: until the run saves its first best model, the weights beside the new
    spec are those of the old one.

    Bundle config (``train.json``, in ``train#handlers``)::

        {"_target_": "metaseg_monai.handlers.MetadataSpecSaver", "metadata_spec": "@metadata_spec",
         "save_dir": "@ckpt_dir"}

    Args:
        metadata_spec: a :class:`~metaseg_monai.transforms.MetadataSpec`, a list of field dicts, or the bundle form
            ``{"fields": [...]}``.
        save_dir: folder of the trained weights (the bundle's ``models``).
        filename: name of the file in ``save_dir``.
        name: logger name; None uses ``engine.logger``.

    Raises:
        ValueError: ``metadata_spec`` is not a valid spec, or ``filename`` is not a plain file name.
    """

    def __init__(
        self,
        metadata_spec: MetadataSpec | Sequence[Any] | Mapping[str, Any],
        save_dir: str | os.PathLike,
        filename: str = SPEC_FILENAME,
        name: str | None = None,
    ) -> None:
        self.spec = MetadataSpec.from_config(metadata_spec)
        if not filename or Path(filename).name != filename or filename in (".", ".."):
            raise ValueError(f"filename must be a plain file name (no folder), got {filename!r}.")
        self.save_dir = Path(save_dir)
        self.filename = filename
        self._name = name
        self.logger = logging.getLogger(name)

    @property
    def path(self) -> Path:
        """The file written: ``save_dir / filename``."""
        return self.save_dir / self.filename

    def attach(self, engine: Engine) -> None:
        if self._name is None:
            self.logger = engine.logger
        engine.add_event_handler(Events.STARTED, self)

    def __call__(self, engine: Engine | None = None) -> None:
        """Write the spec (rank 0 only)."""
        if idist.get_rank() != 0:
            return
        content = {"fields": self.spec.to_config()}
        previous = self._read_previous()
        if previous is not None and previous != content:
            self.logger.warning(
                f"Replacing {self.path}, written for another metadata spec ({previous}), with this run's "
                f"({content}); the weights in {self.save_dir} are the old spec's until a new best model is saved."
            )
        write_json(self.path, content, overwrite=True, indent=4)  # the zoo's format: models/ ships as it is
        self.logger.info(f"Saved the metadata spec ({', '.join(self.spec.feature_names)}) to {self.path}.")

    def _read_previous(self) -> Any:
        if not self.path.is_file():
            return None
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "<unreadable>"
