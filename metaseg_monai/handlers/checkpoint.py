"""Resume an interrupted ``SupervisedTrainer`` run from the newest checkpoint in a folder, written atomically.

Pieces, all ignite handlers usable from a bundle config:

- :class:`AtomicDiskSaver`: an ignite ``DiskSaver`` that writes each file atomically (a kill leaves the previous
  checkpoint intact and at most a hidden ``.NAME.partial-XXXXXXXX.pt`` that the next run removes) and deletes a
  replaced checkpoint only after its successor is in place;
- :class:`AtomicCheckpointSaver`: MONAI's ``CheckpointSaver`` writing through it, whose interval save runs after the
  epoch's validation, and which can carry extra stateful objects (the trainer, the validation state);
- :class:`ResumeFromLatestCheckpoint`: restores the newest interval checkpoint at ``Events.STARTED``, and with
  ``evaluator``/``best_saver`` the best validation score and the best-model saver's record of it, so that a resumed
  run keeps ``models/model.pt`` unless a later validation beats the best of the whole run.
"""

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

from metaseg_monai.utils.atomic import atomic_path, remove_partials
from metaseg_monai.utils.checks import is_int_at_least

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
Checkpoint, _ = optional_import("ignite.handlers", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Checkpoint")
DiskSaver, _ = optional_import("ignite.handlers", IgniteInfo.OPT_IMPORT_VERSION, min_version, "DiskSaver")
idist, _ = optional_import("ignite", IgniteInfo.OPT_IMPORT_VERSION, min_version, "distributed")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine")

__all__ = [
    "DEFAULT_CHECKPOINT_PATTERN",
    "VALIDATION_STATE_KEY",
    "AtomicCheckpointSaver",
    "AtomicDiskSaver",
    "ResumeFromLatestCheckpoint",
    "find_latest_checkpoint",
    "resumable_checkpoint_handlers",
]

#: file names written by ``CheckpointSaver(save_interval=N, epoch_level=True)``: ``checkpoint_epoch=12.pt``
DEFAULT_CHECKPOINT_PATTERN = r"^checkpoint_epoch=(\d+)\.pt$"
#: key of the validation state (best metric and its epoch, the best-model saver's record) in interval checkpoints
VALIDATION_STATE_KEY = "validation_state"


def _saved_key() -> str:
    """The key of ignite ``Checkpoint.state_dict()``'s ``(priority, filename)`` list in the installed ignite:
    ``"_saved"`` from 0.5, ``"saved"`` in 0.4.11 (which monai 1.5.2, the label extra, pins). Our own records always
    use ``"_saved"``, so that a checkpoint resumes under either."""
    return Checkpoint._state_dict_all_req_keys[0]


def _monai_checkpoints(saver: CheckpointSaver) -> dict[str, Any]:
    """The ignite ``Checkpoint`` objects inside a MONAI ``CheckpointSaver``: ``final``, ``key_metric`` and
    ``interval`` (None where that kind of save is not configured).

    MONAI (1.3 to 1.6) keeps them in the private attributes ``_final_checkpoint``, ``_key_metric_checkpoint`` and
    ``_interval_checkpoint`` and offers no public accessor. This is the only place in the package that reads them;
    everything else uses the public properties of :class:`AtomicCheckpointSaver` and ignite's public ``Checkpoint``
    API (``save_handler``, ``to_save``, ``n_saved``, ``state_dict``/``load_state_dict``).
    """
    kinds = ("final", "key_metric", "interval")
    if not isinstance(saver, CheckpointSaver):
        return dict.fromkeys(kinds)
    try:
        return {kind: getattr(saver, f"_{kind}_checkpoint") for kind in kinds}
    except AttributeError as e:
        import monai

        raise RuntimeError(
            f"MONAI {monai.__version__}'s CheckpointSaver no longer keeps its ignite Checkpoints where "
            f"metaseg_monai.handlers.checkpoint._monai_checkpoints reads them ({e}); use MONAI 1.3-1.6."
        ) from e


class AtomicDiskSaver(DiskSaver):
    """ignite ``DiskSaver`` that writes every file atomically and removes replaced files only once their successor
    is complete, with MONAI's fixed-filename option.

    - A checkpoint is written to ``.NAME.partial-XXXXXXXX.pt`` beside its target
      (:func:`~metaseg_monai.utils.atomic.atomic_path`, flushed to disk) and renamed into place, with the usual
      file mode ``0o666 & ~umask`` (ignite's own atomic mode gives ``0o644`` whatever the umask and leaves a
      ``tmpXXXXXXXX`` after a kill; MONAI's saver is not atomic at all). A kill during the write leaves the previous
      checkpoint intact; the hidden leftover is removed by :meth:`remove_partials` (called at the next run's start
      by :class:`AtomicCheckpointSaver` and :class:`ResumeFromLatestCheckpoint`).
    - ignite's ``Checkpoint`` calls :meth:`remove` on the checkpoint that drops out of its ``n_saved`` list *before*
      it saves the new one; here the removal waits until the next save has succeeded, so a kill in between leaves
      one file too many rather than one too few. A fixed ``filename`` is replaced in place, never removed.

    Args:
        dirname: folder of the checkpoints; created if missing.
        filename: a fixed file name for every save (MONAI's ``key_metric_filename``/``final_filename``), or None to
            use the name ``Checkpoint`` gives.
        save_on_rank: the rank that writes (distributed runs).
        kwargs: passed to ``torch.save``.

    Note:
        XLA/TPU saving (``xm.save``) of ignite's ``DiskSaver`` is not supported.
    """

    def __init__(
        self, dirname: str | os.PathLike, filename: str | None = None, save_on_rank: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(dirname=dirname, atomic=True, create_dir=True, require_empty=False, save_on_rank=save_on_rank)
        self.filename = filename
        self.kwargs = kwargs
        self._pending_removal: list[str] = []

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        if idist.get_rank() != self.save_on_rank:
            return
        name = self.filename or filename
        with atomic_path(self.dirname / name, overwrite=True, fsync=True) as tmp:
            torch.save(checkpoint, tmp, **self.kwargs)
        pending, self._pending_removal = self._pending_removal, []
        for old in pending:
            if old != name:
                (self.dirname / old).unlink(missing_ok=True)

    def remove(self, filename: str) -> None:
        """Mark a checkpoint for removal after the next successful save (see the class docstring)."""
        name = self.filename or filename
        if idist.get_rank() == self.save_on_rank and name not in self._pending_removal:
            self._pending_removal.append(name)

    def remove_partials(self) -> list[Path]:
        """Remove the hidden leftovers of saves killed in ``dirname`` (``.NAME.partial-XXXXXXXX*``); returns them."""
        if idist.get_rank() != self.save_on_rank:
            return []
        return remove_partials(self.dirname)


class AtomicCheckpointSaver(CheckpointSaver):
    """MONAI :class:`~monai.handlers.CheckpointSaver` whose files are written by :class:`AtomicDiskSaver`: a kill
    during a save leaves the previous checkpoint intact instead of a truncated file, and the rotation (``n_saved``)
    removes an old checkpoint only after the new one is in place. Same arguments as ``CheckpointSaver``, plus
    ``engine_key``. Differences in behaviour:

    - at the engine's ``Events.STARTED`` the leftovers of saves killed in an earlier run are removed from
      ``save_dir`` (hidden ``.NAME.partial-XXXXXXXX*`` files only, logged);
    - the interval save (``save_interval``) is moved, at every ``Events.STARTED``, behind the handlers attached
      after this one, so a trainer's ``checkpoint_epoch=N.pt`` is written after the epoch's ``ValidationHandler``
      and epoch-level LR steps and holds their results, wherever the saver sits in ``train_handlers``.

    Args:
        engine_key: if not None, the engine this handler is attached to is added to the checkpoints under this key
            at ``attach`` (a bundle config cannot name the trainer inside the trainer's own ``train_handlers``).
            Its ``state_dict`` holds the epoch/iteration counters needed to resume.
    """

    def __init__(self, save_dir: str, save_dict: dict, *args: Any, engine_key: str | None = None, **kwargs: Any):
        super().__init__(save_dir, dict(save_dict), *args, **kwargs)
        self.engine_key = engine_key
        for ckpt in _monai_checkpoints(self).values():
            if ckpt is not None:
                # MONAI's saver has a fixed-filename attribute too (key_metric_filename / final_filename)
                ckpt.save_handler = AtomicDiskSaver(
                    self.save_dir, filename=getattr(ckpt.save_handler, "filename", None)
                )

    @property
    def final_checkpoint(self) -> Any:
        """The ignite ``Checkpoint`` of ``save_final`` (None if not configured)."""
        return _monai_checkpoints(self)["final"]

    @property
    def key_metric_checkpoint(self) -> Any:
        """The ignite ``Checkpoint`` of ``save_key_metric``, the best-model save (None if not configured)."""
        return _monai_checkpoints(self)["key_metric"]

    @property
    def interval_checkpoint(self) -> Any:
        """The ignite ``Checkpoint`` of ``save_interval`` (None if not configured)."""
        return _monai_checkpoints(self)["interval"]

    def add_object(self, key: str, obj: Any) -> None:
        """Save ``obj`` (anything with ``state_dict``/``load_state_dict``) under ``key`` in this saver's checkpoints.

        Raises:
            ValueError: ``key`` already names a different object.
        """
        if key in self.save_dict and self.save_dict[key] is not obj:
            raise ValueError(f"checkpoint key {key!r} is taken by {type(self.save_dict[key]).__name__}; use another.")
        if not callable(getattr(obj, "state_dict", None)):
            raise TypeError(f"checkpoint entry {key!r} must have a state_dict() method, found {type(obj).__name__}.")
        self.save_dict[key] = obj  # MONAI's checkpoints share this dict as their to_save: they save it too

    def state_dict(self) -> dict[str, Any]:
        """The best-model save's record, ``{"_saved": [(score, filename)]}`` with scores as floats, whatever key the
        installed ignite's ``Checkpoint.state_dict()`` uses (:func:`_saved_key`); ``{}`` without ``save_key_metric``;
        :meth:`load_state_dict` restores it."""
        ckpt = self.key_metric_checkpoint
        if ckpt is None:
            return {}
        return {"_saved": [(float(score), str(name)) for score, name in ckpt.state_dict()[_saved_key()]]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the record of :meth:`state_dict`, so that a later save replaces the kept best model only with a
        better one. Entries whose file is gone from ``save_dir`` are dropped (logged): the next validation then
        writes a model again instead of never.
        """
        ckpt = self.key_metric_checkpoint
        if ckpt is None:
            super().load_state_dict(state_dict)  # MONAI's: warns that there is no key-metric save to restore
            return
        if not state_dict:
            return  # nothing recorded (no best model saved yet)
        handler = ckpt.save_handler
        kept = []
        for score, name in state_dict.get("_saved", []):
            path = Path(handler.dirname) / (getattr(handler, "filename", None) or name)
            if path.is_file():
                kept.append((score, name))
            else:
                self.logger.warning(
                    f"best model '{path}' (score {score}) is gone; the next validation saves one again."
                )
        record = {k: v for k, v in state_dict.items() if k != "_saved"}
        super().load_state_dict({**record, _saved_key(): kept})

    def attach(self, engine: Engine) -> None:
        if self.engine_key is not None:
            self.add_object(self.engine_key, engine)
        super().attach(engine)
        engine.add_event_handler(Events.STARTED, self._started)

    def _started(self, engine: Engine) -> None:
        for ckpt in _monai_checkpoints(self).values():
            if ckpt is not None and isinstance(ckpt.save_handler, AtomicDiskSaver):
                for stale in ckpt.save_handler.remove_partials():
                    self.logger.warning(f"Removed '{stale}', left by a checkpoint save interrupted in an earlier run.")
        if self.interval_checkpoint is not None:
            event = Events.EPOCH_COMPLETED if self.epoch_level else Events.ITERATION_COMPLETED
            if engine.has_event_handler(self.interval_completed, event):
                engine.remove_event_handler(self.interval_completed, event)
            engine.add_event_handler(event(every=self.save_interval), self.interval_completed)


class _ValidationState:
    """The validation state a resumed training needs, as one checkpoint entry (:data:`VALIDATION_STATE_KEY`):
    the evaluator's ``state.best_metric``/``best_metric_epoch`` and the best-model saver's record of the kept model.
    """

    def __init__(self, evaluator: Engine | None, best_saver: AtomicCheckpointSaver | None) -> None:
        if evaluator is not None and not hasattr(evaluator, "state"):
            raise TypeError(f"evaluator must be an ignite/MONAI engine, found {type(evaluator).__name__}.")
        if best_saver is not None and not isinstance(best_saver, AtomicCheckpointSaver):
            raise TypeError(
                f"best_saver must be a metaseg_monai.handlers.AtomicCheckpointSaver, found {type(best_saver).__name__}."
            )
        if best_saver is not None and best_saver.key_metric_checkpoint is None:
            raise ValueError("best_saver must save the best model (save_key_metric=True).")
        self.evaluator, self.best_saver = evaluator, best_saver

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.evaluator is not None:
            best = getattr(self.evaluator.state, "best_metric", None)
            epoch = getattr(self.evaluator.state, "best_metric_epoch", None)
            if best is not None and epoch is not None:
                state["best_metric"], state["best_metric_epoch"] = float(best), int(epoch)
        if self.best_saver is not None:
            state["best_saver"] = self.best_saver.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self.evaluator is not None and "best_metric" in state:
            self.evaluator.state.best_metric = state["best_metric"]
            self.evaluator.state.best_metric_epoch = state["best_metric_epoch"]
        if self.best_saver is not None and state.get("best_saver"):
            self.best_saver.load_state_dict(dict(state["best_saver"]))


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
        if path.name.startswith("."):
            continue  # hidden: a temporary file of an atomic save, never a checkpoint
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
    Leftovers of saves killed in ``ckpt_dir`` (hidden ``.NAME.partial-XXXXXXXX*`` files) are removed first.

    With ``evaluator`` and ``best_saver`` (the validation evaluator and its best-model
    ``AtomicCheckpointSaver(save_key_metric=True)``), ``saver`` also saves their state in every interval checkpoint
    (entry :data:`VALIDATION_STATE_KEY`) and resuming restores it: the evaluator's ``best_metric`` and
    ``best_metric_epoch``, and the best-model saver's record of the kept model's score, so that after a resume
    ``models/model.pt`` is replaced only by a model that beats the best validation of the whole run. Without them a
    resumed run forgets the best score and its first validation replaces the kept model whatever it scores. A
    checkpoint written without that entry (by an older version) is resumed with a warning saying so.

    Loading is done here rather than by ``CheckpointLoader``, which takes a fixed path and reports an unreadable
    file the same way as a mismatched one; here every error names the file.

    Bundle config (``train.json``; the resumer first in ``train#handlers``, the interval saver second, the best-model
    saver third in ``validate#handlers``)::

        {"_target_": "metaseg_monai.handlers.ResumeFromLatestCheckpoint", "ckpt_dir": "@resume_dir",
         "load_dict": {...}, "engine_key": "trainer", "saver": "@train#handlers#1",
         "evaluator": "@validate#evaluator", "best_saver": "@validate#best_model_saver"}

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
            newest ``n_saved`` checkpoints already on disk (older ones, left by a kill during a rotation, are
            removed), so that old files keep being removed after a resume.
        name: logger name; None uses ``engine.logger``.
        evaluator: the validation evaluator (MONAI ``SupervisedEvaluator``) whose best metric is saved and restored;
            needs ``saver`` (an :class:`AtomicCheckpointSaver`).
        best_saver: the evaluator's best-model :class:`AtomicCheckpointSaver` (``save_key_metric=True``) whose record
            is saved and restored; needs ``saver``.

    Raises:
        RuntimeError: the newest checkpoint cannot be read (truncated, corrupt, not a ``weights_only`` file) or does
            not fit ``load_dict``; the message names the file.
        ValueError: the checkpoint's epoch is beyond the trainer's ``max_epochs``; or (at construction) ``evaluator``
            or ``best_saver`` without an :class:`AtomicCheckpointSaver` ``saver``, or ``load_dict`` using the key
            :data:`VALIDATION_STATE_KEY`.
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
        evaluator: Engine | None = None,
        best_saver: AtomicCheckpointSaver | None = None,
    ) -> None:
        if not load_dict:
            raise ValueError("load_dict must name at least one object to restore, got an empty dict.")
        if VALIDATION_STATE_KEY in load_dict:
            raise ValueError(f"load_dict must not use the key {VALIDATION_STATE_KEY!r}; it holds the validation state.")
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
        self.validation_state: _ValidationState | None = None
        if evaluator is not None or best_saver is not None:
            if not isinstance(saver, AtomicCheckpointSaver) or saver.interval_checkpoint is None:
                raise ValueError(
                    "evaluator/best_saver need saver: the AtomicCheckpointSaver(save_interval=...) writing ckpt_dir, "
                    f"which saves their state; found saver={type(saver).__name__}."
                )
            self.validation_state = _ValidationState(evaluator, best_saver)
            saver.add_object(VALIDATION_STATE_KEY, self.validation_state)

    def attach(self, engine: Engine) -> None:
        if self._name is None:
            self.logger = engine.logger
        if self.engine_key is not None:
            self.load_dict[self.engine_key] = engine
        engine.add_event_handler(Events.STARTED, self)

    def __call__(self, engine: Engine) -> None:
        if idist.get_rank() == 0:
            for stale in remove_partials(self.ckpt_dir):
                self.logger.warning(f"Removed '{stale}', left by a checkpoint save interrupted in an earlier run.")
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
        # ignite saves a lone object's state dict unwrapped: its keys are the object's own, not the load_dict's
        single = len(self.load_dict) == 1 and next(iter(self.load_dict)) not in checkpoint
        missing = [] if single else sorted(set(self.load_dict) - set(checkpoint))
        if missing:
            raise RuntimeError(
                f"Checkpoint {path} has no entries {missing} (it has {sorted(checkpoint)}); it was saved with a "
                "different save_dict. Use the same keys, or empty the folder to start fresh."
            )
        to_load = dict(self.load_dict)
        if self.validation_state is not None:
            if VALIDATION_STATE_KEY in checkpoint:
                to_load[VALIDATION_STATE_KEY] = self.validation_state
            else:
                self.logger.warning(
                    f"Checkpoint {path} holds no {VALIDATION_STATE_KEY!r} (saved by an older version): the best "
                    "validation score so far is unknown, so the first validation after resuming replaces the kept "
                    "best model whatever it scores."
                )
        prior_max_epochs = engine.state.max_epochs
        try:
            Checkpoint.load_objects(to_load=to_load, checkpoint=dict(checkpoint), strict=self.strict)
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
        self._refill_rotation(found)
        self.resumed_from = path
        best = ""
        if self.validation_state is not None and self.validation_state.evaluator is not None:
            state = self.validation_state.evaluator.state
            best = f"; best validation {state.best_metric} at epoch {state.best_metric_epoch}"
        self.logger.info(
            f"Resumed from checkpoint {path} (epoch {engine.state.epoch}, iteration {engine.state.iteration}{best}); "
            f"continuing to epoch {engine.state.max_epochs}."
        )

    def _refill_rotation(self, found: list[tuple[int, Path]]) -> None:
        """Let the saver's ``n_saved`` rotation delete the files of the interrupted run too."""
        interval = None if self.saver is None else _monai_checkpoints(self.saver)["interval"]
        if interval is None:
            return
        keep = found if interval.n_saved is None else found[-interval.n_saved :]
        if idist.get_rank() == 0:
            for _, old in found[: len(found) - len(keep)]:
                old.unlink(missing_ok=True)  # beyond n_saved: left by a kill between a save and its rotation
                self.logger.info(f"Removed {old}: more than n_saved={interval.n_saved} checkpoints were left.")
        interval.load_state_dict({_saved_key(): [(n, p.name) for n, p in keep]})


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
    evaluator: Engine | None = None,
    best_saver: AtomicCheckpointSaver | None = None,
) -> list[Any]:
    """The ``[resumer, saver]`` pair to append to a ``SupervisedTrainer``'s ``train_handlers``.

    The saver writes ``{ckpt_dir}/checkpoint_epoch=N.pt`` with ``{"network", "optimizer", "lr_scheduler",
    trainer_key}`` every ``save_interval`` epochs, atomically, keeping the last ``n_saved``; the resumer restores
    the newest one when the trainer starts, so rerunning an interrupted command continues where it stopped.

    Bundle config example (``train.json``, with ``handlers`` the usual list)::

        "train_handlers": "$@handlers + metaseg_monai.handlers.resumable_checkpoint_handlers(@ckpt_dir, @network,
            @optimizer, @lr_scheduler, evaluator=@validate#evaluator, best_saver=@validate#best_model_saver)"

    or list :class:`ResumeFromLatestCheckpoint` and :class:`AtomicCheckpointSaver` as two ``_target_`` entries.

    Args:
        ckpt_dir: folder of the resume checkpoints (created on first save); keep it apart from the best-model file.
        network, optimizer: objects to save and restore.
        lr_scheduler: an LR scheduler to save and restore too (e.g.
            :func:`~metaseg_monai.optimizers.paper_cyclic_lr`), or None.
        trainer_key: key of the trainer's state (epoch, iteration) in the checkpoint.
        n_saved: checkpoints kept (>= 1); 2 keeps one spare should the newest be unusable.
        save_interval: save every N epochs (>= 1).
        map_location, name, evaluator, best_saver: see :class:`ResumeFromLatestCheckpoint`.
    """
    if not is_int_at_least(n_saved, 1):
        raise ValueError(f"n_saved must be a positive integer, got {n_saved!r}.")
    if not is_int_at_least(save_interval, 1):
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
        ckpt_dir,
        objects,
        engine_key=trainer_key,
        map_location=map_location,
        saver=saver,
        name=name,
        evaluator=evaluator,
        best_saver=best_saver,
    )
    return [resumer, saver]
