"""An evaluation report handler: per-image F1/Dice table, per-metadata-group summary and error overlays.

Binary segmentations get one score per image; multi-class ones (``class_names`` given) also get one per class.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from monai.data import MetaTensor

from metaseg_monai.data.image_io import nifti_stem, write_image
from metaseg_monai.handlers.report_base import ReportHandler, per_item_batch_and_output
from metaseg_monai.metrics.pixel_scores import confusion_counts, f1_dice_from_counts, summarize_scores
from metaseg_monai.metrics.swap_matrix import is_true_pair, swap_matrix, swapped_fields, write_swap_matrix_csv
from metaseg_monai.transforms.metadata import SWAPPED_FIELD_KEY, SWAPPED_KEY, MetadataSpec
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.files import write_json
from metaseg_monai.utils.type_conversion import plain_value, to_numpy
from metaseg_monai.visualize.class_overlay import class_legend, compose_panels, overlay_classes
from metaseg_monai.visualize.error_overlay import overlay_errors

if TYPE_CHECKING:
    from ignite.engine import Engine

__all__ = ["SegmentationReportWriter", "existing_report_files"]

SCORE_COLUMNS = ("f1", "dice", "tp", "fp", "fn")
_OVERLAY_NAME = re.compile(r"^\d{4}_.*\.png$")
METRICS_FILE, SUMMARY_FILE, OVERLAY_DIR = "metrics.csv", "summary.json", "overlays"
SWAP_MATRIX_FILE = "swap_matrix.csv"
_HEATMAP_NAME = re.compile(r"^swap_matrix(_[A-Za-z0-9_]+)?\.png$")


def swap_heatmap_name(field: str, fields: Sequence[str]) -> str:
    """The heatmap file of one swapped field: ``swap_matrix.png``, or ``swap_matrix_<field>.png`` when several."""
    return "swap_matrix.png" if len(fields) == 1 else f"swap_matrix_{field}.png"


def existing_report_files(output_dir: str | Path) -> list[Path]:
    """The files of an evaluation report already in ``output_dir``: ``metrics.csv``, ``summary.json``, overlays,
    and the swapped-metadata matrix (``swap_matrix.csv`` and its heatmaps)."""
    root = Path(output_dir)
    found = [p for p in (root / METRICS_FILE, root / SUMMARY_FILE, root / SWAP_MATRIX_FILE) if p.exists()]
    if root.is_dir():
        found += sorted(p for p in root.iterdir() if _HEATMAP_NAME.match(p.name))
    if (root / OVERLAY_DIR).is_dir():
        found += sorted(p for p in (root / OVERLAY_DIR).iterdir() if _OVERLAY_NAME.match(p.name))
    return found


_CLASS_NAME = re.compile(r"^[A-Za-z0-9_]+$")
MULTI_CLASS_F1 = (
    "micro-average over the foreground classes: f1 = dice = 2 tp / (2 tp + fp + fn) with tp, fp, fn summed over "
    "the per-class counts (a pixel of one class predicted as another is a false negative of the first and a false "
    "positive of the second; background is not a class); per-class columns are empty where a class is in neither "
    "label nor prediction"
)


def _class_names(class_names: Mapping[int, str] | Sequence[str]) -> dict[int, str]:
    """``{index: name}`` of the foreground classes from a mapping or from names of classes 1, 2, ..."""
    if isinstance(class_names, str):
        raise ValueError(f"class_names must map class index to name or list names, got the string {class_names!r}.")
    items = class_names.items() if isinstance(class_names, Mapping) else enumerate(class_names, start=1)
    names: dict[int, str] = {}
    for index, name in items:
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or int(index) < 1:
            raise ValueError(f"class_names: class indices must be integers >= 1 (0 is background), found {index!r}.")
        if not isinstance(name, str) or not _CLASS_NAME.match(name):
            raise ValueError(f"class_names: names must match [A-Za-z0-9_]+ (they name columns), found {name!r}.")
        names[int(index)] = name
    if not names:
        raise ValueError("class_names must name at least one foreground class.")
    if len(set(names.values())) != len(names):
        raise ValueError(f"class_names must be unique, found {list(names.values())}.")
    return dict(sorted(names.items()))


def _file_stem(image_id: str) -> str:
    """A file-name-safe stem of an image id (path or name) for an overlay file."""
    stem = nifti_stem(image_id) if image_id else "image"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) or "image"


class SegmentationReportWriter(ReportHandler):
    """Write an evaluation report of a binary or multi-class segmentation when a MONAI evaluator completes.

    Attach it to a ``SupervisedEvaluator`` (with ``decollate=True``, MONAI's default, and post-processing that makes
    ``pred`` binary, e.g. ``Activationsd`` + ``AsDiscreted``). On every iteration it scores each image; when the run
    completes it writes into ``output_dir``, each file atomically:

    - ``metrics.csv``: one row per image: ``image``, each grouping column, ``f1``, ``dice``, ``tp``, ``fp``, ``fn``
      (F1 == Dice for binary masks; an image whose prediction and label are both empty scores 1.0);
    - ``summary.json``: :func:`~metaseg_monai.metrics.summarize_scores` of those rows, grouped by each grouping
      column, with ``mean_dice`` (= ``mean_f1``) and ``dice_by_<column>`` (``{"spleen": 0.91, ...}``: each group's
      mean per-image Dice);
    - ``overlays/NNNN_<image>.png``: :func:`~metaseg_monai.visualize.overlay_errors` of the first ``num_overlays``
      images (for 3D images, the slice along the last axis with the most predicted or true foreground).

    Grouping columns: the ``metadata_fields`` found in the data, in that order, then ``swapped_from``
    (:data:`~metaseg_monai.transforms.SWAPPED_KEY`, the true value of a swapped-metadata sample) when the samples
    carry it, so one config serves the true and the swapped evaluation. A field of ``metadata_fields`` that is in
    no image's data is left out with one logged warning (a table without a ``cell_line`` column is grouped by its
    other fields); one missing from some images only has an empty cell there and its groups cover the images that
    have it.

    Swapped metadata (samples of :func:`~metaseg_monai.transforms.swap_metadata`, as a bundle's ``metadata_mode=swap``
    evaluation makes them, each sample with every category of the swapped field): ``metrics.csv`` also has the
    ``swapped_field`` column; ``summary.json``'s scores and groups cover the swapped pairs only (given != true), and
    its ``swap_matrix`` holds, per swapped field, the :func:`~metaseg_monai.metrics.swap_matrix` of every (true,
    given) pair (the FiLM paper's Table 3), also written as ``swap_matrix.csv`` and drawn as ``swap_matrix.png``
    (``swap_matrix_<field>.png`` per field when several were swapped).

    Existing report files are never overwritten unless ``overwrite=True`` (from a bundle: ``--eval_overwrite True``;
    checked when the run starts, so that an evaluation is not wasted); the recorded rows are reset when a run starts,
    so running twice never mixes runs.
    Meant for a standalone evaluation (``evaluate.json``): attached to the validation evaluator of a training run it
    would write at the first validation and refuse the second.

    Where values are read from (``engine.state.output`` and ``engine.state.batch``, lists of per-image dicts after
    decollation): ``pred`` from the output, ``label`` and ``image`` from the output or else the batch, grouping
    columns from the batch or else the output. Metadata values that arrive as 0-d tensors, arrays or one-item lists are
    unwrapped (``tensor(3)`` -> ``3``); strings stay strings.

    Selecting the foreground (``pred`` and ``label`` are channel-first, ``(C, *spatial)``), per tensor:

    - ``C > 1``: one-hot; the foreground is channel ``foreground_channel`` (default -1, the last);
    - ``C == 1`` and ``label_index is None``: a binary mask (0/1 or bool; other values are an error);
    - ``C == 1`` and ``label_index`` given: a class-index map; the foreground is ``== label_index``.

    So a one-hot ``pred`` (``AsDiscreted(argmax=True, to_onehot=N)``) is scored against a class-index ``label`` with
    ``foreground_channel=k, label_index=k``.

    Multi-class (``class_names`` given, e.g. ``{1: "kidney", 2: "tumor", 3: "cyst"}``; ``foreground_channel`` and
    ``label_index`` are then not used): ``pred`` and ``label`` are read as class maps, a ``C > 1`` tensor by argmax
    over channels (one-hot or probabilities), a ``C == 1`` tensor as class indices (0 background, or a named class).
    Each row also gets ``f1_<name>``, ``dice_<name>``, ``tp_<name>``, ``fp_<name>``, ``fn_<name>`` per class (F1
    and Dice left empty where the class is in neither label nor prediction), and ``f1``/``dice``/``tp``/``fp``/``fn``
    are the micro-average over the foreground classes (:data:`MULTI_CLASS_F1`): per-class counts summed, so that
    ``summary.json``'s ``pooled_f1`` is ``2 sum tp / (sum over pixels of |label| + |pred|)`` over one-hot foreground
    channels. ``summary.json`` adds ``per_class``: each class's summary over the images where it is present (in
    label or prediction), grouped like the main one. Overlays show image | label | prediction, classes coloured
    (:data:`~metaseg_monai.visualize.class_overlay.CLASS_COLOURS`) with a legend.

    Args:
        output_dir: folder for the report; created if missing.
        metadata_fields: data keys written as columns and used as summary groups where the data has them, e.g.
            ``["cell_line"]`` (see "Grouping columns" above; ``swapped_from`` need not be listed).
        num_overlays: overlays written for the first this-many images (0: none).
        foreground_channel: foreground channel of multi-channel (one-hot) ``pred``/``label``.
        label_index: foreground class of single-channel class-index maps; ``None`` for binary masks.
        class_names: foreground classes of a multi-class segmentation, ``{index: name}`` or the names of classes
            1, 2, ...; names must match ``[A-Za-z0-9_]+``. ``None``: binary report.
        image_id_key: data key holding each image's id (a string, or a MetaTensor whose ``filename_or_obj`` is used).
            By default the ``image`` MetaTensor's ``filename_or_obj``, then ``image_meta_dict["filename_or_obj"]``,
            then ``image_NNNN`` by position.
        overwrite: replace an existing report (and remove its old overlays) instead of refusing.
        pred_key, label_key, image_key: data keys of the prediction, the ground truth and the image.
        metadata_spec: the bundle's metadata spec, for the order of the categories in the swap matrix (default: the
            categories found, in natural order).
        name: logger name; None uses ``engine.logger`` once attached.
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        metadata_fields: Sequence[str] = (),
        num_overlays: int = 8,
        foreground_channel: int = -1,
        label_index: int | None = None,
        class_names: Mapping[int, str] | Sequence[str] | None = None,
        image_id_key: str | None = None,
        overwrite: bool = False,
        pred_key: str = "pred",
        label_key: str = "label",
        image_key: str = "image",
        name: str | None = None,
        metadata_spec: MetadataSpec | None = None,
    ) -> None:
        if isinstance(metadata_fields, str):
            metadata_fields = [metadata_fields]  # a single field name given as a string, not its letters
        self.metadata_fields = [str(f) for f in metadata_fields]
        self.class_names = None if class_names is None else _class_names(class_names)
        if self.class_names is not None and label_index is not None:
            raise ValueError("give class_names (multi-class report) or label_index (one class scored), not both.")
        clash = sorted({"image", *self.score_columns} & set(self.metadata_fields))
        if clash:
            own = ["image", *self.score_columns]
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
        self._name = name
        self.logger = logging.getLogger(name)
        self.metadata_spec = None if metadata_spec is None else MetadataSpec.from_config(metadata_spec)

    @property
    def score_columns(self) -> list[str]:
        """The score columns of ``metrics.csv``: :data:`SCORE_COLUMNS`, then five per class when multi-class."""
        per_class = [f"{score}_{name}" for name in (self.class_names or {}).values() for score in SCORE_COLUMNS]
        return [*SCORE_COLUMNS, *per_class]

    @property
    def metrics_path(self) -> Path:
        return self.output_dir / METRICS_FILE

    @property
    def summary_path(self) -> Path:
        return self.output_dir / SUMMARY_FILE

    @property
    def overlay_dir(self) -> Path:
        return self.output_dir / OVERLAY_DIR

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Per-image rows of the current (or last) run: ``image``, the grouping columns the image has, ``f1``,
        ``dice``, ``tp``...."""
        return [dict(r) for r in self._rows]

    @property
    def requested_fields(self) -> list[str]:
        """``metadata_fields``, then ``swapped_from`` unless listed: the grouping columns used where present."""
        return [*self.metadata_fields, *([SWAPPED_KEY] if SWAPPED_KEY not in self.metadata_fields else [])]

    def grouping_columns(self, rows: Sequence[Mapping[str, Any]] | None = None) -> list[str]:
        """The grouping columns of ``rows`` (default: the recorded ones): the :attr:`requested_fields` present in at
        least one row, in that order."""
        rows = self._rows if rows is None else rows
        return [f for f in self.requested_fields if any(f in row for row in rows)]

    def reset(self, engine: Engine | None = None) -> None:
        """Forget the rows of an earlier run and refuse early if the report exists and ``overwrite`` is False."""
        self._rows, self._overlays = [], []
        self._check_existing()

    def _check_existing(self) -> None:
        found = existing_report_files(self.output_dir)
        if found and not self.overwrite:
            more = f" (and {len(found) - 1} more report files)" if len(found) > 1 else ""
            raise FileExistsError(
                f"evaluation report file '{found[0]}' exists{more}; refusing to overwrite it. Choose another "
                "output_dir (bundles: --eval_dir), or replace the report: from a bundle pass --eval_overwrite True "
                "(in Python, overwrite=True)."
            )

    def record(self, engine: Engine) -> None:
        """Score every image of the engine's current iteration."""
        batches, outputs = per_item_batch_and_output(engine)
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
        if self.class_names is not None:
            pred_mask = self._class_map(output_item[self.pred_key], self.pred_key, image_id)
            label_mask = self._class_map(label, self.label_key, image_id)
            scores = self._class_scores(pred_mask, label_mask)
        else:
            pred_mask = self._foreground(output_item[self.pred_key], self.pred_key, image_id)
            label_mask = self._foreground(label, self.label_key, image_id)
            tp, fp, fn, _ = confusion_counts(pred_mask, label_mask)
            score = f1_dice_from_counts(tp, fp, fn)
            scores = {"f1": score, "dice": score, "tp": tp, "fp": fp, "fn": fn}
        row: dict[str, Any] = {"image": image_id}
        for field in self.requested_fields:  # grouping columns are optional: absent ones are reported at write
            if field in batch_item or field in output_item:
                row[field] = plain_value(batch_item[field] if field in batch_item else output_item[field])
        if SWAPPED_FIELD_KEY in batch_item:  # which field was swapped: not a group, but it places the row in the matrix
            row[SWAPPED_FIELD_KEY] = plain_value(batch_item[SWAPPED_FIELD_KEY])
        row.update(scores)
        self._rows.append(row)
        if len(self._overlays) < self.num_overlays:
            image = output_item.get(self.image_key, batch_item.get(self.image_key))
            if image is None:
                raise KeyError(f"'{self.image_key}' not in the evaluator output or batch for '{image_id}' (overlays).")
            name = f"{index:04d}_{_file_stem(image_id)}.png"
            draw = self._overlay if self.class_names is None else self._class_overlay
            self._overlays.append((name, draw(image, pred_mask, label_mask, image_id)))

    def _image_id(self, batch_item: Mapping[str, Any], output_item: Mapping[str, Any], index: int) -> str:
        def from_value(value: Any) -> str | None:
            if isinstance(value, MetaTensor):
                name = value.meta.get("filename_or_obj")
                return str(plain_value(name)) if name else None
            if value is None or (isinstance(value, (torch.Tensor, np.ndarray)) and np.size(value) != 1):
                return None
            return str(plain_value(value))

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
                return str(plain_value(meta["filename_or_obj"]))
        return f"image_{index:04d}"

    def _class_scores(self, pred: np.ndarray, label: np.ndarray) -> dict[str, Any]:
        """Per-class counts and F1 of two class maps, and their micro-average (:data:`MULTI_CLASS_F1`)."""
        scores: dict[str, Any] = {}
        total = np.zeros(3, dtype=np.int64)
        for index, name in self.class_names.items():
            counts = np.asarray(confusion_counts(pred == index, label == index)[:3], dtype=np.int64)
            total += counts
            present = counts.sum() > 0  # in label or prediction; otherwise its F1 is not defined (left empty)
            score = f1_dice_from_counts(*counts) if present else None
            tp, fp, fn = (int(c) for c in counts)
            scores.update({f"f1_{name}": score, f"dice_{name}": score, f"tp_{name}": tp, f"fp_{name}": fp})
            scores[f"fn_{name}"] = fn
        tp, fp, fn = (int(c) for c in total)
        score = f1_dice_from_counts(tp, fp, fn)
        return {"f1": score, "dice": score, "tp": tp, "fp": fp, "fn": fn, **scores}

    def _class_map(self, data: Any, name: str, image_id: str) -> np.ndarray:
        """The (spatial) class-index map of a channel-first tensor: argmax of C > 1 channels, or the values of one."""
        array = to_numpy(data)
        if array.ndim < 3:
            raise ValueError(
                f"'{name}' of '{image_id}' must be channel-first (C, H, W) or (C, H, W, D), found shape {array.shape}."
            )
        if array.shape[0] > 1:
            return np.argmax(array, axis=0)
        allowed = [0, *self.class_names]
        if array.size and not np.isin(array, allowed).all():
            found = np.unique(array)[:8].tolist()
            raise ValueError(f"'{name}' of '{image_id}' must hold class indices {allowed}, found values {found}.")
        return array[0].astype(np.int64)

    def _foreground(self, data: Any, name: str, image_id: str) -> np.ndarray:
        """The (spatial) binary foreground of a channel-first tensor, as described in the class docstring."""
        array = to_numpy(data)
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
    def _overlay_slice(
        image: Any, pred: np.ndarray, label: np.ndarray, image_id: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(picture (H, W) or (H, W, C), pred, label)`` of a 2D image, or of a volume's busiest slice."""
        array = to_numpy(image)
        if array.ndim != pred.ndim + 1 or array.shape[1:] != pred.shape:
            raise ValueError(
                f"'image' of '{image_id}' must be channel-first with the mask's spatial shape {pred.shape}, found "
                f"{array.shape}."
            )
        if pred.ndim == 3:  # a volume: show the slice (last axis) with the most foreground
            k = int(np.argmax(((pred > 0) | (label > 0)).sum(axis=(0, 1))))
            array, pred, label = array[..., k], pred[..., k], label[..., k]
        elif pred.ndim != 2:
            raise ValueError(f"overlays need 2D or 3D images; '{image_id}' has {pred.ndim} spatial dimensions.")
        picture = np.moveaxis(array, 0, -1)
        return (picture[..., 0] if picture.shape[-1] == 1 else picture), pred, label

    def _overlay(self, image: Any, pred: np.ndarray, label: np.ndarray, image_id: str) -> np.ndarray:
        return overlay_errors(*self._overlay_slice(image, pred, label, image_id))

    def _class_overlay(self, image: Any, pred: np.ndarray, label: np.ndarray, image_id: str) -> np.ndarray:
        """Three panels: the image, the label's classes and the prediction's classes, with a legend."""
        picture, pred, label = self._overlay_slice(image, pred, label, image_id)
        background = np.zeros(pred.shape, dtype=np.int64)
        panels = [overlay_classes(picture, m) for m in (background, label, pred)]
        return compose_panels(panels, ["image", "label", "prediction"], class_legend(self.class_names))

    def write(self, engine: Engine | None = None) -> None:
        """Write ``metrics.csv``, ``summary.json`` and the overlays (rank 0 only, with all ranks' rows)."""
        import ignite.distributed as idist

        # every rank's rows (a no-op list of one in a single process); pickled, as rows hold strings
        rows = [row for part in idist.all_gather(self._rows) for row in part]
        if idist.get_rank() != 0:
            return
        self._check_existing()
        columns = self._report_columns(rows)
        fields = swapped_fields(rows)
        # the headline of a swapped evaluation is the swapped pairs; the true ones are the matrix's diagonal
        scored = [r for r in rows if not is_true_pair(r)] if fields else rows
        summary = self._summarize(scored or rows, columns)
        # the names a Dice reader looks for (F1 == Dice): the mean per image, and per value of each grouping column
        summary["mean_dice"] = summary["mean_f1"]
        for column, groups in summary["per_group"].items():
            summary[f"dice_by_{column}"] = {value: scores["mean_f1"] for value, scores in groups.items()}
        matrices = [swap_matrix(rows, f, self._categories(f)) for f in fields]
        if matrices:
            summary["swap_matrix"] = {m["field"]: m for m in matrices}
        if self.class_names is not None:
            summary["f1_definition"] = MULTI_CLASS_F1
            summary["per_class"] = {
                name: self._class_summary(scored or rows, name, columns) for name in self.class_names.values()
            }
        if self.overwrite:
            # a replaced report without its summary reads as incomplete until the new summary lands
            self.summary_path.unlink(missing_ok=True)
        if self.overwrite and self.overlay_dir.is_dir():
            for stale in self.overlay_dir.iterdir():
                if _OVERLAY_NAME.match(stale.name):
                    stale.unlink()
        for name, overlay in self._overlays:
            write_image(self.overlay_dir / name, overlay, overwrite=self.overwrite)
        if matrices:
            from metaseg_monai.visualize.swap_heatmap import write_swap_heatmap

            write_swap_matrix_csv(self.output_dir / SWAP_MATRIX_FILE, matrices, overwrite=self.overwrite)
            for matrix in matrices:
                name = swap_heatmap_name(matrix["field"], fields)
                write_swap_heatmap(self.output_dir / name, matrix, overwrite=self.overwrite)
        header = ["image", *columns, *([SWAPPED_FIELD_KEY] if fields else []), *self.score_columns]
        with atomic_path(self.metrics_path, self.overwrite) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([[row.get(k, "") for k in header] for row in rows])
        # last: a summary.json is the sign of a complete report
        write_json(self.summary_path, summary, overwrite=self.overwrite)

    def _categories(self, field: str) -> list[str] | None:
        """The category order of ``field`` for the matrix: the metadata spec's, when one was given."""
        if self.metadata_spec is None:
            return None
        for spec_field in self.metadata_spec.fields:
            if spec_field.name == field and hasattr(spec_field, "categories"):
                return [str(c) for c in spec_field.categories]
        return None

    def _report_columns(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """The grouping columns of ``rows``; one warning names the requested fields absent from all or some rows."""
        columns = self.grouping_columns(rows)
        absent = [f for f in self.metadata_fields if f not in columns]
        partial = {f: sum(f not in row for row in rows) for f in columns}
        partial = {f: n for f, n in partial.items() if n}
        if absent or partial:
            parts = [f"metadata_fields {absent} are in the data of none of the {len(rows)} images"] if absent else []
            parts += [f"'{f}' is missing from {n} of the {len(rows)} images (empty cells)" for f, n in partial.items()]
            self.logger.warning(f"report {self.output_dir}: {'; '.join(parts)}; grouping by {columns}.")
        return columns

    @staticmethod
    def _summarize(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, Any]:
        """:func:`summarize_scores` grouped by ``columns``; a column some rows lack is grouped over those that have
        it."""
        complete = [c for c in columns if all(c in row for row in rows)]
        summary = summarize_scores(rows, complete)
        per_group = {}
        for column in columns:  # keep the columns' order
            if column in complete:
                per_group[column] = summary["per_group"][column]
            else:
                having = [row for row in rows if column in row]
                per_group[column] = summarize_scores(having, [column])["per_group"][column]
        summary["per_group"] = per_group
        return summary

    def _class_summary(self, rows: Sequence[Mapping[str, Any]], name: str, columns: Sequence[str]) -> dict[str, Any]:
        """:func:`summarize_scores` of one class over the rows where it is present (``n == 0``: nowhere)."""
        present = [
            {**{f: r[f] for f in columns if f in r}, **{k: r[f"{k}_{name}"] for k in ("f1", "tp", "fp", "fn")}}
            for r in rows
            if r[f"f1_{name}"] is not None
        ]
        if not present:
            return {"n": 0, "mean_f1": None, "pooled_f1": None, "per_group": {}}
        return self._summarize(present, [c for c in columns if any(c in r for r in present)])
