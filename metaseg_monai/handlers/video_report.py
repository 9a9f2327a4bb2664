"""An evaluation report handler for videos: object scores on annotated frames and temporal consistency, per video.

The evaluator runs over the frames of one or more videos in time order (batch size 1 keeps the order obvious), its
post-processing turning each prediction into instance labels (e.g. ``OtsuThresholdd``, ``BinaryOpeningd``,
``ConnectedComponentsd``). The handler scores every frame as it comes with a
:class:`~metaseg_monai.metrics.VideoScorer` per video, so a long video is never held in memory, and writes the
report at the end. Labelled still images are one-frame videos: they get the object scores and no temporal ones.
"""

from __future__ import annotations

import csv
import logging
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metaseg_monai.data.image_io import write_image
from metaseg_monai.handlers.report_base import ReportHandler, per_item_batch_and_output
from metaseg_monai.metrics.temporal import VideoScorer, pool_video_scores
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.files import write_json
from metaseg_monai.utils.type_conversion import plain_value, to_numpy
from metaseg_monai.visualize.area_curve import write_area_curve
from metaseg_monai.visualize.class_overlay import compose_panels, overlay_classes
from metaseg_monai.visualize.error_overlay import overlay_errors

if TYPE_CHECKING:
    from ignite.engine import Engine

__all__ = ["VIDEO_SCORES", "VideoReportWriter", "read_video_metrics"]

VIDEO_SCORES = ("ap_50", "dsb_score", "seg", "flicker", "area_change", "foreground_iou")
FRAME_COLUMNS = ("video", "frame", "foreground_area", "objects", "ap_50", "dsb_score", "seg")
GROUP_COLUMN = "group"
METRICS_FILE, SUMMARY_FILE, OVERLAY_DIR = "metrics.csv", "summary.json", "overlays"
MASK_DIR, AREA_DIR = "masks", "area_curves"
CONVENTIONS = {
    "ap_50": "TP / (TP + FP + FN) at IoU >= 0.5, one-to-one matching of most pairs (StarDist), mean over annotated "
    "frames",
    "dsb_score": "per frame the mean over IoU > 0.5, 0.55, ..., 0.95 of TP / (TP + FP + FN) (DSB 2018), mean over "
    "annotated frames",
    "seg": "Cell Tracking Challenge SEG: a reference object matches the prediction covering more than half of it, "
    "scored by IoU (0 unmatched), mean over all reference objects",
    "flicker": "of the objects of frame t-1 linked to frame t or t+1, the fraction absent from t but back in t+1",
    "area_change": "|A(t+1) - A(t)| over the two frames' mean foreground area, mean over consecutive pairs",
    "foreground_iou": "IoU of the foreground of consecutive frames, mean over pairs",
}


def _safe_name(video: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in video)


def read_video_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a video report's ``metrics.csv``: ``frame`` as int, scores as floats (absent: not a key).

    Raises:
        ValueError: the file lacks the report's columns, or a cell is not a number (line named).
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("video", "frame", "foreground_area") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"'{path}' is not a video report's metrics.csv: it lacks {missing}.")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                parsed = {k: v for k, v in row.items() if k in ("video", GROUP_COLUMN)}
                parsed["frame"] = int(row["frame"])
                parsed.update({k: float(v) for k, v in row.items() if k in FRAME_COLUMNS[2:] and v != ""})
            except ValueError as err:
                raise ValueError(f"'{path}' line {line}: {err}.") from err
            rows.append(parsed)
    return rows


def _labels(data: Any, name: str, where: str) -> np.ndarray:
    """A (H, W[, D]) integer label image from a channel-first (1, ...) tensor/array."""
    array = to_numpy(data)
    if array.ndim < 3 or array.shape[0] != 1:
        raise ValueError(f"'{name}' of {where} must be one channel of instance labels (1, H, W), found {array.shape}.")
    return array[0]


class VideoReportWriter(ReportHandler):
    """Evaluator handler writing ``summary.json``, ``metrics.csv`` and overlays of consecutive frames.

    - ``summary.json``: ``{"overall": {...}, "videos": {name: {...}}, "conventions": {...}}``, each with
      :data:`VIDEO_SCORES` (NaN as null where undefined: object scores without annotated frames, temporal ones with
      fewer than 2 or 3 frames), ``frames_scored``, ``annotated_frames``, ``linked`` and ``vanished``. ``overall``
      pools the videos: object scores over all annotated frames, ``flicker`` over all linked objects, the pair
      means over all consecutive pairs. With ``group_key``, ``"groups": {group: {...}}`` pools each group's videos
      alike (e.g. the labelled stills apart from the video frames).
    - ``metrics.csv``: one row per frame: ``video, frame, foreground_area, objects, ap_50, dsb_score, seg`` (the
      last three empty on frames without a reference), and ``group`` with ``group_key``.
    - ``overlays/<video>.png``: the first ``num_overlay_frames`` frames of each video side by side (annotated
      frames coloured as true positive / false positive / false negative pixels, the others by object).
    - with ``save_masks``: ``masks/<video>/maskTTT.tif``, each frame's instance labels as uint16 (the Cell Tracking
      Challenge's result naming), written as the frames come.
    - with ``area_curve_label``: ``area_curves/<video>.png``, the foreground area per frame (the Siamese paper's
      Fig. 3a), beside the curves of the same video in other reports' ``metrics.csv`` (``reference_curves``).

    Every file is written atomically; an existing report is not overwritten unless ``overwrite``.

    Args:
        output_dir: the report's folder.
        video_key, frame_key: keys of the batch (datalist) items naming the video and the frame number. Frames of
            one video must come in increasing order.
        pred_key: the output key of the predicted instance labels (1, H, W).
        label_key: the key of the reference instance labels, read from the output or the batch item; a frame
            without it (or with ``has_label_key`` false) is not annotated.
        group_key: optional batch key whose value groups videos in the summary (one value per video).
        has_label_key: optional boolean batch key that says whether the frame's label is a real reference (a
            datalist can carry an empty placeholder label to keep the batches uniform).
        image_key: the batch key of the image, for the overlays.
        link_iou: see :class:`~metaseg_monai.metrics.VideoScorer`.
        num_overlay_frames: frames per overlay (0: none).
        save_masks: write every frame's instance labels.
        area_curve_label: the legend of this report's curve in the area figure; None draws none.
        reference_curves: ``{legend: path of another report's metrics.csv}`` drawn in the same figure (e.g. stage
            0's inference beside stage 1's); read when the report is written, a video it lacks is left out.
        overwrite: replace an existing report.
    """

    def __init__(
        self,
        output_dir: str | Path,
        video_key: str = "video",
        frame_key: str = "frame",
        pred_key: str = "pred",
        label_key: str = "label",
        group_key: str | None = None,
        has_label_key: str | None = None,
        image_key: str = "image",
        link_iou: float = 0.3,
        num_overlay_frames: int = 4,
        save_masks: bool = False,
        area_curve_label: str | None = None,
        reference_curves: Mapping[str, str | Path] | None = None,
        overwrite: bool = False,
        name: str | None = None,
    ):
        if int(num_overlay_frames) != num_overlay_frames or num_overlay_frames < 0:
            raise ValueError(f"num_overlay_frames must be a whole number >= 0, got {num_overlay_frames!r}.")
        self.output_dir = Path(output_dir)
        self.video_key, self.frame_key, self.pred_key = video_key, frame_key, pred_key
        self.label_key, self.has_label_key, self.image_key = label_key, has_label_key, image_key
        self.group_key = group_key
        self.link_iou, self.num_overlay_frames = float(link_iou), int(num_overlay_frames)
        VideoScorer(self.link_iou)  # validates link_iou now, not at the first frame
        self.save_masks, self.area_curve_label = bool(save_masks), area_curve_label
        self.reference_curves = {str(k): Path(v) for k, v in (reference_curves or {}).items()}
        if self.reference_curves and area_curve_label is None:
            raise ValueError("reference_curves are drawn in the area figure; give area_curve_label too.")
        if area_curve_label is not None and str(area_curve_label) in self.reference_curves:
            raise ValueError(
                f"reference_curves has a curve labelled '{area_curve_label}', the label of this report's own curve "
                "(area_curve_label; the video bundle's curve_label, 'stage <stage>'); one would hide the other. "
                "Give the references other labels, or this run another stage or curve_label."
            )
        for label, path in self.reference_curves.items():
            if not path.is_file():
                raise FileNotFoundError(f"reference curve '{label}': metrics file '{path}' not found.")
        self.overwrite = bool(overwrite)
        self.logger = logging.getLogger(name)
        self._name = name
        self.reset()

    def report_files(self) -> list[Path]:
        found = [p for p in (self.output_dir / METRICS_FILE, self.output_dir / SUMMARY_FILE) if p.exists()]
        for folder, pattern in ((OVERLAY_DIR, "*.png"), (AREA_DIR, "*.png"), (MASK_DIR, "*/*.tif")):
            if (self.output_dir / folder).is_dir():
                found += sorted((self.output_dir / folder).glob(pattern))
        return found

    def reset(self, engine: Engine | None = None) -> None:
        """Forget an earlier run and refuse early if a report exists and ``overwrite`` is False."""
        self._scorers: dict[str, VideoScorer] = {}
        self._frames: dict[str, list[int]] = {}
        self._groups: dict[str, str] = {}
        self._rows: list[dict[str, Any]] = []
        self._overlays: dict[str, list[tuple[np.ndarray, str]]] = {}
        # masks are staged and moved into place by write(), so that an interrupted run leaves no partial set
        self._mask_staging = self.output_dir / f".{MASK_DIR}.partial"
        if self._mask_staging.exists():
            shutil.rmtree(self._mask_staging)
        found = self.report_files()
        if found and not self.overwrite:
            raise FileExistsError(
                f"video report file '{found[0]}' exists; refusing to overwrite it. Choose another output_dir "
                "(bundles: --eval_dir), or pass --eval_overwrite True (in Python, overwrite=True)."
            )

    def record(self, engine: Engine) -> None:
        """Score every frame of the engine's current iteration."""
        batches, outputs = per_item_batch_and_output(engine)
        if not isinstance(outputs, list) or not isinstance(batches, list) or len(batches) != len(outputs):
            raise TypeError("VideoReportWriter needs the evaluator's batch and output as per-frame items.")
        for batch_item, output_item in zip(batches, outputs, strict=True):
            self.add_frame(batch_item, output_item)

    def add_frame(self, batch_item: Mapping[str, Any], output_item: Mapping[str, Any]) -> None:
        """Score one frame (``batch_item`` holds the datalist keys, ``output_item`` the prediction)."""
        for key in (self.video_key, self.frame_key):
            if key not in batch_item:
                raise KeyError(
                    f"a frame lacks '{key}'; the datalist items need '{self.video_key}' and '{self.frame_key}'."
                )
        video, frame = str(plain_value(batch_item[self.video_key])), int(plain_value(batch_item[self.frame_key]))
        where = f"video '{video}' frame {frame}"
        seen = self._frames.setdefault(video, [])
        if seen and frame <= seen[-1]:
            raise ValueError(f"{where} came after frame {seen[-1]}: the frames of a video must come in time order.")
        seen.append(frame)
        if self.group_key is not None:
            if self.group_key not in batch_item:
                raise KeyError(f"{where} lacks the group key '{self.group_key}'.")
            group = str(plain_value(batch_item[self.group_key]))
            if self._groups.setdefault(video, group) != group:
                raise ValueError(f"{where} is in group '{group}', its earlier frames in '{self._groups[video]}'.")
        if self.pred_key not in output_item:
            raise KeyError(f"{where}: the evaluator's output has no '{self.pred_key}'.")
        pred = _labels(output_item[self.pred_key], self.pred_key, where)
        label = output_item.get(self.label_key)  # the evaluator's output holds None when prepare_batch gave none
        if label is None:
            label = batch_item.get(self.label_key)
        if self.has_label_key is not None and not bool(plain_value(batch_item.get(self.has_label_key, False))):
            label = None
        truth = None if label is None else _labels(label, self.label_key, where)
        if truth is not None and truth.shape != pred.shape:
            raise ValueError(f"{where}: reference {truth.shape} and prediction {pred.shape} differ in shape.")
        row = self._scorers.setdefault(video, VideoScorer(self.link_iou)).add(pred, truth)
        self._rows.append({**row, "video": video, "frame": frame, GROUP_COLUMN: self._groups.get(video, "")})
        if self.save_masks:
            mask = self._mask_staging / _safe_name(video) / f"mask{frame:03d}.tif"
            write_image(mask, pred.astype(np.uint16), overwrite=True)
        panels = self._overlays.setdefault(video, [])
        if len(panels) < self.num_overlay_frames and self.image_key in batch_item and pred.ndim == 2:
            image = _labels(batch_item[self.image_key][:1], self.image_key, where)
            picture = overlay_classes(image, pred) if truth is None else overlay_errors(image, pred > 0, truth > 0)
            panels.append((picture, f"frame {frame}" + ("" if truth is None else " (annotated)")))

    def _write_area_curves(self) -> None:
        references = {label: read_video_metrics(path) for label, path in self.reference_curves.items()}
        for video in self._scorers:
            curves = {self.area_curve_label: [r["foreground_area"] for r in self._rows if r["video"] == video]}
            for label, rows in references.items():
                theirs = [r["foreground_area"] for r in rows if r["video"] == video]
                if theirs:
                    curves[label] = theirs
            path = self.output_dir / AREA_DIR / f"{_safe_name(video)}.png"
            write_area_curve(path, curves, title=video, overwrite=self.overwrite)

    @staticmethod
    def _finite(scores: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in scores.items()}

    def summary(self) -> dict[str, Any]:
        """The summary as written to ``summary.json``."""
        videos = {name: scorer.result() for name, scorer in self._scorers.items()}
        pooled = pool_video_scores(list(self._scorers.values()))
        groups = {}
        for group in dict.fromkeys(self._groups.values()):
            members = [s for name, s in self._scorers.items() if self._groups[name] == group]
            groups[group] = self._finite({**pool_video_scores(members), "videos": len(members)})
        return {
            "overall": self._finite({**pooled, "videos": len(videos)}),
            **({"groups": groups} if self.group_key is not None else {}),
            "videos": {name: self._finite(scores) for name, scores in videos.items()},
            "link_iou": self.link_iou,
            "conventions": CONVENTIONS,
        }

    def write(self, engine: Engine | None = None) -> None:
        """Write the report (see the class docstring)."""
        if not self._rows:
            raise RuntimeError("VideoReportWriter scored no frames; is the evaluator's datalist empty?")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for video, panels in self._overlays.items():
            if panels:
                picture = compose_panels([p for p, _ in panels], [t for _, t in panels])
                write_image(self.output_dir / OVERLAY_DIR / f"{_safe_name(video)}.png", picture, self.overwrite)
        if self.area_curve_label is not None:
            self._write_area_curves()
        if self.save_masks:
            if (self.output_dir / MASK_DIR).exists():
                shutil.rmtree(self.output_dir / MASK_DIR)  # refused in reset() unless overwrite
            self._mask_staging.rename(self.output_dir / MASK_DIR)
        with atomic_path(self.output_dir / METRICS_FILE, self.overwrite) as tmp, open(tmp, "w", newline="") as f:
            columns = (*FRAME_COLUMNS, GROUP_COLUMN) if self.group_key is not None else FRAME_COLUMNS
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            for row in self._rows:
                writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
        summary = self.summary()
        write_json(self.output_dir / SUMMARY_FILE, summary, overwrite=self.overwrite)
        overall = summary["overall"]
        self.logger.info(
            "video report: %d frames of %d videos, ap_50 %s, flicker %s -> %s",
            len(self._rows),
            overall["videos"],
            overall["ap_50"],
            overall["flicker"],
            self.output_dir,
        )
