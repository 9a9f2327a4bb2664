"""An evaluation report handler: per-image F1/Dice table, per-metadata-group summary and error overlays."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from monai.data import MetaTensor, decollate_batch

from metaseg_monai.data.io import atomic_path, nifti_stem, write_image, write_json
from metaseg_monai.metrics.pixel_scores import confusion_counts, f1_dice_from_counts, overlay_errors, summarize_scores

if TYPE_CHECKING:
    from ignite.engine import Engine

__all__ = ["SegmentationReportWriter"]

SCORE_COLUMNS = ("f1", "dice", "tp", "fp", "fn")
_OVERLAY_NAME = re.compile(r"^\d{4}_.*\.png$")


def _plain(value: Any) -> Any:
    """A metadata value as a plain Python value: collated tensors/arrays/one-item lists unwrapped, strings kept."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return _plain(value[0])
    return value


def _file_stem(image_id: str) -> str:
    """A file-name-safe stem of an image id (path or name) for an overlay file."""
    stem = nifti_stem(image_id) if image_id else "image"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) or "image"


class SegmentationReportWriter:
    """Write an evaluation report of a binary segmentation when a MONAI evaluator completes.

    Attach it to a ``SupervisedEvaluator`` (with ``decollate=True``, MONAI's default, and post-processing that makes
    ``pred`` binary, e.g. ``Activationsd`` + ``AsDiscreted``). On every iteration it scores each image; when the run
    completes it writes into ``output_dir``, each file atomically:

    - ``metrics.csv``: one row per image: ``image``, each metadata field, ``f1``, ``dice``, ``tp``, ``fp``, ``fn``
      (F1 == Dice for binary masks; an image whose prediction and label are both empty scores 1.0);
    - ``summary.json``: :func:`~metaseg_monai.metrics.summarize_scores` of those rows, grouped by each metadata field;
    - ``overlays/NNNN_<image>.png``: :func:`~metaseg_monai.metrics.overlay_errors` of the first ``num_overlays``
      images (for 3D images, the slice along the last axis with the most predicted or true foreground).

    Existing report files are never overwritten unless ``overwrite=True`` (checked when the run starts, so that an
    evaluation is not wasted); the recorded rows are reset when a run starts, so running twice never mixes runs.
    Meant for a standalone evaluation (``evaluate.json``): attached to the validation evaluator of a training run it
    would write at the first validation and refuse the second.

    Where values are read from (``engine.state.output`` and ``engine.state.batch``, lists of per-image dicts after
    decollation): ``pred`` from the output, ``label`` and ``image`` from the output or else the batch, metadata fields
    from the batch or else the output. Metadata values that arrive as 0-d tensors, arrays or one-item lists are
    unwrapped (``tensor(3)`` -> ``3``); strings stay strings.

    Selecting the foreground (``pred`` and ``label`` are channel-first, ``(C, *spatial)``), per tensor:

    - ``C > 1``: one-hot; the foreground is channel ``foreground_channel`` (default -1, the last);
    - ``C == 1`` and ``label_index is None``: a binary mask (0/1 or bool; other values are an error);
    - ``C == 1`` and ``label_index`` given: a class-index map; the foreground is ``== label_index``.

    So a one-hot ``pred`` (``AsDiscreted(argmax=True, to_onehot=N)``) is scored against a class-index ``label`` with
    ``foreground_channel=k, label_index=k``.

    Args:
        output_dir: folder for the report; created if missing.
        metadata_fields: data keys written as columns and used as summary groups, e.g. ``["cell_line"]``.
        num_overlays: overlays written for the first this-many images (0: none).
        foreground_channel: foreground channel of multi-channel (one-hot) ``pred``/``label``.
        label_index: foreground class of single-channel class-index maps; ``None`` for binary masks.
        image_id_key: data key holding each image's id (a string, or a MetaTensor whose ``filename_or_obj`` is used).
            By default the ``image`` MetaTensor's ``filename_or_obj``, then ``image_meta_dict["filename_or_obj"]``,
            then ``image_NNNN`` by position.
        overwrite: replace an existing report (and remove its old overlays) instead of refusing.
        pred_key, label_key, image_key: data keys of the prediction, the ground truth and the image.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        metadata_fields: Sequence[str] = (),
        num_overlays: int = 8,
        foreground_channel: int = -1,
        label_index: int | None = None,
        image_id_key: str | None = None,
        overwrite: bool = False,
        pred_key: str = "pred",
        label_key: str = "label",
        image_key: str = "image",
    ) -> None:
        if isinstance(metadata_fields, str):
            metadata_fields = [metadata_fields]  # a single field name given as a string, not its letters
        self.metadata_fields = [str(f) for f in metadata_fields]
        clash = sorted({"image", *SCORE_COLUMNS} & set(self.metadata_fields))
        if clash:
            own = ["image", *SCORE_COLUMNS]
            raise ValueError(f"metadata_fields {clash} clash with the report's own columns {own}.")
        if len(set(self.metadata_fields)) != len(self.metadata_fields):
            raise ValueError(f"metadata_fields must be unique, found {self.metadata_fields}.")
        if int(num_overlays) < 0:
            raise ValueError(f"num_overlays must be >= 0, found {num_overlays}.")
        self.output_dir = Path(output_dir)
        self.num_overlays = int(num_overlays)
        self.foreground_channel = int(foreground_channel)
        self.label_index = None if label_index is None else int(label_index)
        self.image_id_key = image_id_key
        self.overwrite = bool(overwrite)
        self.pred_key, self.label_key, self.image_key = pred_key, label_key, image_key
        self._rows: list[dict[str, Any]] = []
        self._overlays: list[tuple[str, np.ndarray]] = []

    @property
    def metrics_path(self) -> Path:
        return self.output_dir / "metrics.csv"

    @property
    def summary_path(self) -> Path:
        return self.output_dir / "summary.json"

    @property
    def overlay_dir(self) -> Path:
        return self.output_dir / "overlays"

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Per-image rows of the current (or last) run: ``image``, metadata fields, ``f1``, ``dice``, ``tp``...."""
        return [dict(r) for r in self._rows]

    def attach(self, engine: Engine) -> None:
        """Reset at ``STARTED``, score at ``ITERATION_COMPLETED``, write at ``COMPLETED``."""
        from ignite.engine import Events

        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.record)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine | None = None) -> None:
        """Forget the rows of an earlier run and refuse early if the report exists and ``overwrite`` is False."""
        self._rows, self._overlays = [], []
        self._check_existing()

    def _existing_files(self) -> list[Path]:
        found = [p for p in (self.metrics_path, self.summary_path) if p.exists()]
        if self.overlay_dir.is_dir():
            found += sorted(p for p in self.overlay_dir.iterdir() if _OVERLAY_NAME.match(p.name))
        return found

    def _check_existing(self) -> None:
        found = self._existing_files()
        if found and not self.overwrite:
            more = f" (and {len(found) - 1} more report files)" if len(found) > 1 else ""
            raise FileExistsError(
                f"evaluation report file '{found[0]}' exists{more}; refusing to overwrite it. Choose another "
                "output_dir or pass overwrite=True."
            )

    def record(self, engine: Engine) -> None:
        """Score every image of the engine's current iteration."""
        outputs, batches = engine.state.output, getattr(engine.state, "batch", None)
        # decollate=False leaves batch-first dicts: split them into per-image dicts as MONAI would
        outputs = decollate_batch(outputs, detach=True) if isinstance(outputs, Mapping) else outputs
        batches = decollate_batch(batches, detach=True) if isinstance(batches, Mapping) else batches
        if not isinstance(outputs, list):
            raise TypeError(f"expected engine.state.output as a list of per-image dicts, found {type(outputs)}.")
        if not isinstance(batches, list) or len(batches) != len(outputs):
            batches = [{} for _ in outputs]
        for batch_item, output_item in zip(batches, outputs, strict=True):
            self._record_one(batch_item, output_item)

    def _record_one(self, batch_item: Mapping[str, Any], output_item: Mapping[str, Any]) -> None:
        index = len(self._rows)
        image_id = self._image_id(batch_item, output_item, index)
        if self.pred_key not in output_item:
            found = sorted(output_item)
            raise KeyError(f"'{self.pred_key}' not in the evaluator output for '{image_id}'; found {found}.")
        label = output_item.get(self.label_key, batch_item.get(self.label_key))
        if label is None:
            raise KeyError(f"'{self.label_key}' not in the evaluator output or batch for '{image_id}'.")
        pred_mask = self._foreground(output_item[self.pred_key], self.pred_key, image_id)
        label_mask = self._foreground(label, self.label_key, image_id)
        tp, fp, fn, _ = confusion_counts(pred_mask, label_mask)
        row: dict[str, Any] = {"image": image_id}
        for field in self.metadata_fields:
            source = batch_item if field in batch_item else output_item
            if field not in source:
                raise KeyError(
                    f"metadata field '{field}' not in the data of '{image_id}'; found keys "
                    f"{sorted(set(batch_item) | set(output_item))}."
                )
            row[field] = _plain(source[field])
        score = f1_dice_from_counts(tp, fp, fn)
        row.update(f1=score, dice=score, tp=tp, fp=fp, fn=fn)
        self._rows.append(row)
        if len(self._overlays) < self.num_overlays:
            image = output_item.get(self.image_key, batch_item.get(self.image_key))
            if image is None:
                raise KeyError(f"'{self.image_key}' not in the evaluator output or batch for '{image_id}' (overlays).")
            name = f"{index:04d}_{_file_stem(image_id)}.png"
            self._overlays.append((name, self._overlay(image, pred_mask, label_mask, image_id)))

    def _image_id(self, batch_item: Mapping[str, Any], output_item: Mapping[str, Any], index: int) -> str:
        def from_value(value: Any) -> str | None:
            if isinstance(value, MetaTensor):
                name = value.meta.get("filename_or_obj")
                return str(_plain(name)) if name else None
            if value is None or (isinstance(value, (torch.Tensor, np.ndarray)) and np.size(value) != 1):
                return None
            return str(_plain(value))

        if self.image_id_key is not None:
            value = batch_item.get(self.image_id_key, output_item.get(self.image_id_key))
            image_id = from_value(value)
            if image_id is None:
                raise KeyError(
                    f"image_id_key '{self.image_id_key}' gives no id for image {index} (found {type(value).__name__}); "
                    f"keys: {sorted(set(batch_item) | set(output_item))}."
                )
            return image_id
        for item in (batch_item, output_item):
            value = item.get(self.image_key)
            if isinstance(value, MetaTensor) and (image_id := from_value(value)):
                return image_id
            meta = item.get(f"{self.image_key}_meta_dict")
            if isinstance(meta, Mapping) and meta.get("filename_or_obj") is not None:
                return str(_plain(meta["filename_or_obj"]))
        return f"image_{index:04d}"

    def _foreground(self, data: Any, name: str, image_id: str) -> np.ndarray:
        """The (spatial) binary foreground of a channel-first tensor, as described in the class docstring."""
        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.ndim < 3:
            raise ValueError(
                f"'{name}' of '{image_id}' must be channel-first (C, H, W) or (C, H, W, D), found shape {array.shape}."
            )
        channels = array.shape[0]
        if channels > 1:
            if not -channels <= self.foreground_channel < channels:
                raise ValueError(
                    f"foreground_channel {self.foreground_channel} is out of range for '{name}' of '{image_id}' "
                    f"with {channels} channels."
                )
            array = array[self.foreground_channel]
        elif self.label_index is not None:
            return array[0] == self.label_index
        else:
            array = array[0]
        if array.dtype != bool and array.size and not np.isin(array, (0, 1)).all():
            found = np.unique(array)[:8].tolist()
            hint = "" if channels > 1 else " (a class-index map? pass label_index)"
            raise ValueError(f"'{name}' of '{image_id}' must be binary (0/1), found values {found}{hint}.")
        return array.astype(bool)

    @staticmethod
    def _overlay(image: Any, pred: np.ndarray, label: np.ndarray, image_id: str) -> np.ndarray:
        array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
        if array.ndim != pred.ndim + 1 or array.shape[1:] != pred.shape:
            raise ValueError(
                f"'image' of '{image_id}' must be channel-first with the mask's spatial shape {pred.shape}, found "
                f"{array.shape}."
            )
        if pred.ndim == 3:  # a volume: show the slice (last axis) with the most foreground
            k = int(np.argmax((pred | label).sum(axis=(0, 1))))
            array, pred, label = array[..., k], pred[..., k], label[..., k]
        elif pred.ndim != 2:
            raise ValueError(f"overlays need 2D or 3D images; '{image_id}' has {pred.ndim} spatial dimensions.")
        picture = np.moveaxis(array, 0, -1)
        return overlay_errors(picture[..., 0] if picture.shape[-1] == 1 else picture, pred, label)

    def write(self, engine: Engine | None = None) -> None:
        """Write ``metrics.csv``, ``summary.json`` and the overlays (rank 0 only, with all ranks' rows)."""
        import ignite.distributed as idist

        # every rank's rows (a no-op list of one in a single process); pickled, as rows hold strings
        rows = [row for part in idist.all_gather(self._rows) for row in part]
        if idist.get_rank() != 0:
            return
        self._check_existing()
        summary = summarize_scores(rows, self.metadata_fields)
        if self.overwrite:
            # a replaced report without its summary reads as incomplete until the new summary lands
            self.summary_path.unlink(missing_ok=True)
        if self.overwrite and self.overlay_dir.is_dir():
            for stale in self.overlay_dir.iterdir():
                if _OVERLAY_NAME.match(stale.name):
                    stale.unlink()
        for name, overlay in self._overlays:
            write_image(self.overlay_dir / name, overlay, overwrite=self.overwrite)
        header = ["image", *self.metadata_fields, *SCORE_COLUMNS]
        with atomic_path(self.metrics_path, self.overwrite) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([[row[k] for k in header] for row in rows])
        # last: a summary.json is the sign of a complete report
        write_json(self.summary_path, summary, overwrite=self.overwrite)
