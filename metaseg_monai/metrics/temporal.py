"""Temporal consistency of a predicted video: how much the segmentation changes from one frame to the next.

No standard flicker metric exists for cells (the Siamese-consistency paper plots the total foreground area over time,
its Fig. 3a); these are the three measures the video bundle reports:

- ``area_change``: the relative change of foreground area between consecutive frames, ``|A(t+1) - A(t)|`` over
  their mean area (0 when both frames are empty, at most 2), averaged over pairs.
- ``foreground_iou``: the IoU of the foreground of consecutive frames (1 when both are empty), averaged over pairs.
- ``flicker``: of the objects of frame t-1 that are linked to frame t or to frame t+1, the fraction that have no
  partner in frame t but one in frame t+1: objects that vanish for a single frame. Objects are linked by
  :func:`~metaseg_monai.metrics.instance_matching.match_objects` (one-to-one, IoU >= ``link_iou``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metaseg_monai.metrics.instance_matching import (
    as_label_image,
    ctc_seg_jaccards,
    dsb2018_image_score,
    instance_matching,
    iou_matrix,
    match_objects,
)

__all__ = ["VideoScorer", "frame_statistics", "pool_video_scores", "score_video", "temporal_consistency"]


def _labels(frames: Sequence[Any]) -> list[np.ndarray]:
    arrays = [as_label_image(f, f"frame {i}") for i, f in enumerate(frames)]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"every frame must have the same shape, found {sorted(shapes)}.")
    return arrays


def frame_statistics(frames: Sequence[Any]) -> list[dict[str, Any]]:
    """Foreground area (pixels) and object count of each frame: the per-frame curve of the paper's Fig. 3a."""
    return [_frame_row(i, f) for i, f in enumerate(_labels(frames))]


def _frame_row(t: int, frame: np.ndarray) -> dict[str, Any]:
    return {"frame": t, "foreground_area": int(np.count_nonzero(frame)), "objects": len(np.unique(frame[frame > 0]))}


class VideoScorer:
    """Scores a video one frame at a time, keeping only the last two frames: what :func:`temporal_consistency` and
    :func:`score_video` compute, for videos too long to hold in memory (an evaluation handler adds each frame as
    the evaluator produces it).

    Args:
        link_iou: the IoU at which two objects of different frames are the same object.

    ``add(pred, truth=None)`` takes the next frame (and its reference, if annotated); ``result()`` gives the
    scores so far (see :func:`score_video`).
    """

    def __init__(self, link_iou: float = 0.3):
        if not 0.0 < link_iou <= 1.0:
            raise ValueError(f"link_iou must lie in (0, 1], found {link_iou}.")
        self.link_iou = float(link_iou)
        self.rows: list[dict[str, Any]] = []
        self.pairs: list[dict[str, Any]] = []
        self.linked = self.vanished = 0
        self._window: list[np.ndarray] = []  # the last two frames
        self._jaccards: list[np.ndarray] = []

    def _partners(self, a: np.ndarray, b: np.ndarray) -> set[int]:
        """Indices of ``a``'s objects that have a partner in ``b``."""
        return set(match_objects(iou_matrix(a, b), self.link_iou)[0].tolist())

    def add(self, pred: Any, truth: Any = None) -> dict[str, Any]:
        """Score the next frame; returns its row (``frame``, ``foreground_area``, ``objects`` and, when ``truth``
        is given, ``ap_50``, ``dsb_score``, ``seg``)."""
        t = len(self.rows)
        frame = as_label_image(pred, f"frame {t}")
        if self._window and frame.shape != self._window[-1].shape:
            raise ValueError(f"frame {t} has shape {frame.shape}, the frames before it {self._window[-1].shape}.")
        row = _frame_row(t, frame)
        if truth is not None:
            ref = as_label_image(truth, f"reference of frame {t}")
            row["ap_50"] = instance_matching(ref, frame, thresholds=0.5)["ap"]
            row["dsb_score"] = dsb2018_image_score(ref, frame)
            jaccards = ctc_seg_jaccards(ref, frame)
            row["seg"] = float(jaccards.mean()) if jaccards.size else float("nan")
            self._jaccards.append(jaccards)
        if self._window:
            previous = self._window[-1]
            a, b = int(np.count_nonzero(previous)), row["foreground_area"]
            union = int(np.count_nonzero((previous > 0) | (frame > 0)))
            self.pairs.append(
                {
                    "frame": t - 1,
                    "area_change": 0.0 if a + b == 0 else abs(b - a) / ((a + b) / 2),
                    "foreground_iou": 1.0
                    if union == 0
                    else int(np.count_nonzero((previous > 0) & (frame > 0))) / union,
                }
            )
        if len(self._window) == 2:
            before, middle = self._window
            next_frame, skip_frame = self._partners(before, middle), self._partners(before, frame)
            self.linked += len(next_frame | skip_frame)
            self.vanished += len(skip_frame - next_frame)
        self._window = [*self._window[-1:], frame]
        self.rows.append(row)
        return row

    def result(self) -> dict[str, Any]:
        """The scores of the frames added so far (see :func:`score_video`)."""
        return pool_video_scores([self])


def pool_video_scores(scorers: Sequence[VideoScorer]) -> dict[str, Any]:
    """The scores of several videos together: object scores over all their annotated frames (SEG over all reference
    objects), ``flicker`` over all linked objects, area change and foreground IoU over all consecutive pairs."""

    def mean(key: str, rows: Sequence[Mapping[str, Any]]) -> float:
        values = [r[key] for r in rows if key in r]
        return float(np.mean(values)) if values else float("nan")

    rows = [r for s in scorers for r in s.rows]
    pairs = [p for s in scorers for p in s.pairs]
    per_frame = [j for s in scorers for j in s._jaccards]
    jaccards = np.concatenate(per_frame) if per_frame else np.zeros(0)
    linked, vanished = sum(s.linked for s in scorers), sum(s.vanished for s in scorers)
    return {
        "frames_scored": len(rows),
        "annotated_frames": len(per_frame),
        "ap_50": mean("ap_50", rows),
        "dsb_score": mean("dsb_score", rows),
        "seg": float(jaccards.mean()) if jaccards.size else float("nan"),
        "flicker": float(vanished / linked) if linked else float("nan"),
        "linked": linked,
        "vanished": vanished,
        "area_change": mean("area_change", pairs),
        "foreground_iou": mean("foreground_iou", pairs),
    }


def temporal_consistency(frames: Sequence[Any], link_iou: float = 0.3) -> dict[str, Any]:
    """The temporal measures of a sequence of instance label images (module docstring).

    Args:
        frames: T >= 2 label images of one shape (numpy or torch, 0 = background), in time order.
        link_iou: the IoU at which two objects of different frames are the same object.

    Returns:
        ``{"area_change", "foreground_iou", "flicker", "linked", "vanished", "pairs": [{"frame", "area_change",
        "foreground_iou"}, ...]}``; ``flicker`` is NaN when no object is linked (fewer than 3 frames, or empty ones).

    Raises:
        ValueError: fewer than two frames, frames of different shapes, or bad labels.
    """
    if len(frames) < 2:
        raise ValueError(f"temporal_consistency needs at least 2 frames, found {len(frames)}.")
    scorer = VideoScorer(link_iou)
    for frame in frames:
        scorer.add(frame)
    result = scorer.result()
    keys = ("area_change", "foreground_iou", "flicker", "linked", "vanished")
    return {**{k: result[k] for k in keys}, "pairs": scorer.pairs}


def score_video(
    pred_frames: Sequence[Any], true_frames: Mapping[int, Any] | None = None, link_iou: float = 0.3
) -> dict[str, Any]:
    """Everything the video bundle reports about one predicted sequence (:class:`VideoScorer` over its frames).

    Args:
        pred_frames: the predicted instance label images, in time order (frame numbers 0 .. T-1).
        true_frames: ``{frame number: reference label image}`` for the annotated frames (the CTC gold or silver
            masks); None or empty for a video without annotations.
        link_iou: see :func:`temporal_consistency`.

    Returns:
        ``{"ap_50", "dsb_score", "seg", "flicker", "area_change", "foreground_iou", "linked", "vanished",
        "frames_scored", "annotated_frames", "frames": [...]}``: ``ap_50`` is the mean over annotated frames of
        TP / (TP + FP + FN) at IoU >= 0.5 (:func:`instance_matching`; a frame with no object on either side scores
        0 there, StarDist's convention), ``dsb_score`` the mean of :func:`dsb2018_image_score` (1 for such a
        frame), ``seg`` the CTC SEG pooled over the annotated frames' reference objects; these three are NaN
        without annotations, the temporal ones with fewer than 2 (3 for ``flicker``) frames. ``frames`` has one
        row per frame: ``frame``, ``foreground_area``, ``objects`` and, on annotated frames, ``ap_50``,
        ``dsb_score``, ``seg``.

    Raises:
        ValueError: an annotated frame number outside the sequence, or a reference of another shape.
    """
    truths = {int(t): v for t, v in (true_frames or {}).items()}
    outside = sorted(t for t in truths if not 0 <= t < len(pred_frames))
    if outside:
        raise ValueError(
            f"annotated frame(s) {outside} are outside the predicted sequence of {len(pred_frames)} frames."
        )
    scorer = VideoScorer(link_iou)
    for t, pred in enumerate(pred_frames):
        scorer.add(pred, truths.get(t))
    return {**scorer.result(), "frames": scorer.rows}
