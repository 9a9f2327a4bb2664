"""Resume an interrupted ``SupervisedTrainer`` run from the newest checkpoint in a folder, written atomically."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from monai.handlers import CheckpointSaver
from monai.utils import IgniteInfo, min_version, optional_import

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
Checkpoint, _ = optional_import("ignite.handlers", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Checkpoint")
DiskSaver, _ = optional_import("ignite.handlers", IgniteInfo.OPT_IMPORT_VERSION, min_version, "DiskSaver")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine")

__all__ = [
    "DEFAULT_CHECKPOINT_PATTERN",
    "AtomicCheckpointSaver",
    "ResumeFromLatestCheckpoint",
    "find_latest_checkpoint",
    "resumable_checkpoint_handlers",
]

#: file names written by ``CheckpointSaver(save_interval=N, epoch_level=True)``: ``checkpoint_epoch=12.pt``
DEFAULT_CHECKPOINT_PATTERN = r"^checkpoint_epoch=(\d+)\.pt$"


class _AtomicDiskSaver(DiskSaver):
    """ignite ``DiskSaver`` with ``atomic=True`` (write to a temporary file, then ``os.replace``) and MONAI's
    fixed-filename option. MONAI's own saver uses ``atomic=False`` (so a kill can truncate a checkpoint) because
    older ignite left atomic files readable by the owner only; ignite >= 0.4.8 adds group/other read after the move.
    """

    def __init__(self, dirname: str | os.PathLike, filename: str | None = None) -> None:
        super().__init__(dirname=dirname, require_empty=False, atomic=True)
        self.filename = filename

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        super().__call__(checkpoint=checkpoint, filename=self.filename or filename, metadata=metadata)

    def remove(self, filename: str) -> None:
        super().remove(filename=self.filename or filename)


class AtomicCheckpointSaver(CheckpointSaver):
    """MONAI :class:`~monai.handlers.CheckpointSaver` whose files are written atomically, so that a kill during a
    save leaves the previous checkpoint intact instead of a truncated file. Same arguments as ``CheckpointSaver``,
    plus:

    Args:
        engine_key: if not None, the engine this handler is attached to is added to ``save_dict`` under this key
            at ``attach`` (a bundle config cannot name the trainer inside the trainer's own ``train_handlers``).
            Its ``state_dict`` holds the epoch/iteration counters needed to resume.
    """

    def __init__(self, save_dir: str, save_dict: dict, *args: Any, engine_key: str | None = None, **kwargs: Any):
        super().__init__(save_dir, dict(save_dict), *args, **kwargs)
        self.engine_key = engine_key
        for ckpt in (self._final_checkpoint, self._key_metric_checkpoint, self._interval_checkpoint):
            if ckpt is not None:
                ckpt.save_handler = _AtomicDiskSaver(self.save_dir, filename=ckpt.save_handler.filename)

    def attach(self, engine: Engine) -> None:
        if self.engine_key is not None:
            # the ignite Checkpoints share this dict object (``to_save``), so adding here reaches them too
            self.save_dict[self.engine_key] = engine
            for ckpt in (self._final_checkpoint, self._key_metric_checkpoint, self._interval_checkpoint):
                if ckpt is not None:
                    ckpt.to_save[self.engine_key] = engine
        super().attach(engine)


def find_latest_checkpoint(ckpt_dir: str | os.PathLike, pattern: str = DEFAULT_CHECKPOINT_PATTERN) -> Path | None:
    """The file in ``ckpt_dir`` whose name matches ``pattern`` with the largest number in its first group.

    The number (epoch or iteration) decides, not the modification time, which copies and restores can change.

    Args:
        ckpt_dir: folder to search; a missing folder counts as empty.
        pattern: regular expression matched against file names (``re.search``) with one group capturing digits.

    Returns:
        the newest checkpoint's path, or None when there is none.
    """
    regex = re.compile(pattern)
    if regex.groups < 1:
        raise ValueError(f"pattern must have a group capturing the epoch/iteration number, got {pattern!r}.")
    found = _numbered_checkpoints(Path(ckpt_dir), regex)
    return found[-1][1] if found else None


def _numbered_checkpoints(ckpt_dir: Path, regex: re.Pattern) -> list[tuple[int, Path]]:
    if not ckpt_dir.is_dir():
        return []
    found = []
    for path in ckpt_dir.iterdir():
        match = regex.search(path.name)
        if match is not None and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


class ResumeFromLatestCheckpoint:
    """Ignite handler that, at ``Events.STARTED``, loads the newest checkpoint of ``ckpt_dir`` into ``load_dict``.

    With the trainer's state among the loaded objects, ``trainer.run()`` continues after the saved epoch instead of
    starting at epoch 1; the ``max_epochs`` the trainer was built with is kept (as MONAI's ``CheckpointLoader``
    does), so a run stopped at epoch 2 of 4 trains epochs 3 and 4. No checkpoint: the run starts fresh (logged).
    Attach it before other ``STARTED`` handlers (first in ``train_handlers``) so they see the restored state.

    Loading is done here rather than by ``CheckpointLoader``, which takes a fixed path and reports an unreadable
    file the same way as a mismatched one; here every error names the file.

    Args:
        ckpt_dir: folder written by :class:`AtomicCheckpointSaver` / ``CheckpointSaver(save_interval=...)``.
        load_dict: objects to restore, with the keys used when saving, e.g.
            ``{"network": net, "optimizer": opt, "lr_scheduler": sched}``.
        pattern: file-name regex with one group capturing the epoch number (see :func:`find_latest_checkpoint`).
        engine_key: if not None, the engine this handler is attached to is restored from this checkpoint key.
        map_location: ``torch.load`` ``map_location``; ``"cpu"`` by default (``load_state_dict`` then copies to the
            objects' devices), which also resumes a GPU run on a CPU machine.
        strict: passed to ``Checkpoint.load_objects``: every key of a module's state dict must match.
        saver: the epoch saver writing into ``ckpt_dir``; its rotation list (``n_saved``) is refilled with the
            checkpoints already on disk, so that old files keep being removed after a resume.
        name: logger name; None uses ``engine.logger``.

    Raises:
        RuntimeError: the newest checkpoint cannot be read (truncated, corrupt, not a ``weights_only`` file) or does
            not fit ``load_dict``; the message names the file.
        ValueError: the checkpoint's epoch is beyond the trainer's ``max_epochs``.
    """

    def __init__(
        self,
        ckpt_dir: str | os.PathLike,
        load_dict: dict[str, Any],
        pattern: str = DEFAULT_CHECKPOINT_PATTERN,
        engine_key: str | None = "trainer",
        map_location: Any = "cpu",
        strict: bool = True,
        saver: CheckpointSaver | None = None,
        name: str | None = None,
    ) -> None:
        if not load_dict:
            raise ValueError("load_dict must name at least one object to restore, got an empty dict.")
        self.ckpt_dir = Path(ckpt_dir)
        self.load_dict = dict(load_dict)
        self.regex = re.compile(pattern)
        if self.regex.groups < 1:
            raise ValueError(f"pattern must have a group capturing the epoch/iteration number, got {pattern!r}.")
        self.engine_key = engine_key
        self.map_location = map_location
        self.strict = strict
        self.saver = saver
        self._name = name
        self.logger = logging.getLogger(name)
        self.resumed_from: Path | None = None

    def attach(self, engine: Engine) -> None:
        if self._name is None:
            self.logger = engine.logger
        if self.engine_key is not None:
            self.load_dict[self.engine_key] = engine
        engine.add_event_handler(Events.STARTED, self)

    def __call__(self, engine: Engine) -> None:
        found = _numbered_checkpoints(self.ckpt_dir, self.regex)
        if not found:
            self.resumed_from = None
            self.logger.info(f"No checkpoint matching {self.regex.pattern!r} in {self.ckpt_dir}: starting fresh.")
            return
        path = found[-1][1]
        try:
            checkpoint = torch.load(path, map_location=self.map_location, weights_only=True)
        except Exception as e:
            raise RuntimeError(
                f"Cannot read checkpoint {path} ({type(e).__name__}: {e}). It is truncated, corrupt or not a "
                "weights-only checkpoint; delete it to resume from the previous one, or empty "
                f"{self.ckpt_dir} to start fresh."
            ) from e
        if not isinstance(checkpoint, Mapping):
            raise RuntimeError(f"Checkpoint {path} holds a {type(checkpoint).__name__}, expected a dict of states.")
        missing = sorted(set(self.load_dict) - set(checkpoint))
        if missing:
            raise RuntimeError(
                f"Checkpoint {path} has no entries {missing} (it has {sorted(checkpoint)}); it was saved with a "
                "different save_dict. Use the same keys, or empty the folder to start fresh."
            )
        prior_max_epochs = engine.state.max_epochs
        try:
            Checkpoint.load_objects(to_load=self.load_dict, checkpoint=dict(checkpoint), strict=self.strict)
        except Exception as e:
            raise RuntimeError(
                f"Checkpoint {path} does not fit the objects to restore ({type(e).__name__}: {e}). Was the network, "
                f"optimizer or scheduler changed? Use the original settings, or empty {self.ckpt_dir} to start fresh."
            ) from e
        # keep the max_epochs the run was started with (load_objects sets the saved one), as CheckpointLoader does
        if prior_max_epochs is not None:
            if engine.state.epoch > prior_max_epochs:
                raise ValueError(
                    f"Checkpoint {path} is at epoch {engine.state.epoch}, beyond this run's max_epochs "
                    f"({prior_max_epochs}); raise the number of epochs to continue training."
                )
            engine.state.max_epochs = prior_max_epochs
        if self.saver is not None and getattr(self.saver, "_interval_checkpoint", None) is not None:
            # let the saver's n_saved rotation delete the files of the interrupted run too
            self.saver._interval_checkpoint.load_state_dict({"_saved": [(n, p.name) for n, p in found]})
        self.resumed_from = path
        self.logger.info(
            f"Resumed from checkpoint {path} (epoch {engine.state.epoch}, iteration {engine.state.iteration}); "
            f"continuing to epoch {engine.state.max_epochs}."
        )


def resumable_checkpoint_handlers(
    ckpt_dir: str | os.PathLike,
    network: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    lr_scheduler: Any = None,
    trainer_key: str = "trainer",
    n_saved: int = 2,
    save_interval: int = 1,
    map_location: Any = "cpu",
    name: str | None = None,
) -> list[Any]:
    """The ``[resumer, saver]`` pair to append to a ``SupervisedTrainer``'s ``train_handlers``.

    The saver writes ``{ckpt_dir}/checkpoint_epoch=N.pt`` with ``{"network", "optimizer", "lr_scheduler",
    trainer_key}`` every ``save_interval`` epochs, atomically, keeping the last ``n_saved``; the resumer restores
    the newest one when the trainer starts, so rerunning an interrupted command continues where it stopped.

    Bundle config example (``train.json``, with ``handlers`` the usual list)::

        "train_handlers": "$@handlers + metaseg_monai.handlers.resumable_checkpoint_handlers(@ckpt_dir, @network,
            @optimizer, @lr_scheduler)"

    or list :class:`ResumeFromLatestCheckpoint` and :class:`AtomicCheckpointSaver` as two ``_target_`` entries.

    Args:
        ckpt_dir: folder of the resume checkpoints (created on first save); keep it apart from the best-model file.
        network, optimizer: objects to save and restore.
        lr_scheduler: an LR scheduler to save and restore too (e.g.
            :func:`~metaseg_monai.optimizers.paper_cyclic_lr`), or None.
        trainer_key: key of the trainer's state (epoch, iteration) in the checkpoint.
        n_saved: checkpoints kept (>= 1); 2 keeps one spare should the newest be unusable.
        save_interval: save every N epochs (>= 1).
        map_location, name: see :class:`ResumeFromLatestCheckpoint`.
    """
    if isinstance(n_saved, bool) or not isinstance(n_saved, int) or n_saved < 1:
        raise ValueError(f"n_saved must be a positive integer, got {n_saved!r}.")
    if isinstance(save_interval, bool) or not isinstance(save_interval, int) or save_interval < 1:
        raise ValueError(f"save_interval must be a positive integer, got {save_interval!r}.")
    objects: dict[str, Any] = {"network": network, "optimizer": optimizer}
    if lr_scheduler is not None:
        objects["lr_scheduler"] = lr_scheduler
    saver = AtomicCheckpointSaver(
        save_dir=str(ckpt_dir),
        save_dict=objects,
        name=name,
        save_interval=save_interval,
        n_saved=n_saved,
        epoch_level=True,
        engine_key=trainer_key,
    )
    resumer = ResumeFromLatestCheckpoint(
        ckpt_dir, objects, engine_key=trainer_key, map_location=map_location, saver=saver, name=name
    )
    return [resumer, saver]
