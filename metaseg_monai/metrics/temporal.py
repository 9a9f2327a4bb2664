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
    ctc_seg,
    ctc_seg_jaccards,
    dsb2018_image_score,
    instance_matching,
    iou_matrix,
    match_objects,
)

__all__ = ["frame_statistics", "score_video", "temporal_consistency"]


def _labels(frames: Sequence[Any]) -> list[np.ndarray]:
    arrays = [as_label_image(f, f"frame {i}") for i, f in enumerate(frames)]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"every frame must have the same shape, found {sorted(shapes)}.")
    return arrays


def frame_statistics(frames: Sequence[Any]) -> list[dict[str, int]]:
    """Foreground area (pixels) and object count of each frame: the per-frame curve of the paper's Fig. 3a."""
    return [
        {"frame": i, "foreground_area": int(np.count_nonzero(f)), "objects": len(np.unique(f[f > 0]))}
        for i, f in enumerate(_labels(frames))
    ]


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
    if not 0.0 < link_iou <= 1.0:
        raise ValueError(f"link_iou must lie in (0, 1], found {link_iou}.")
    labels = _labels(frames)
    fg = [f > 0 for f in labels]
    pairs = []
    for t in range(len(labels) - 1):
        a, b = int(fg[t].sum()), int(fg[t + 1].sum())
        union = int(np.count_nonzero(fg[t] | fg[t + 1]))
        pairs.append(
            {
                "frame": t,
                "area_change": 0.0 if a + b == 0 else abs(b - a) / ((a + b) / 2),
                "foreground_iou": 1.0 if union == 0 else int(np.count_nonzero(fg[t] & fg[t + 1])) / union,
            }
        )

    def partners(t0: int, t1: int) -> set[int]:
        """Indices of frame t0's objects that have a partner in frame t1."""
        return set(match_objects(iou_matrix(labels[t0], labels[t1]), link_iou)[0].tolist())

    linked = vanished = 0
    for t in range(1, len(labels) - 1):
        next_frame, skip_frame = partners(t - 1, t), partners(t - 1, t + 1)
        linked += len(next_frame | skip_frame)
        vanished += len(skip_frame - next_frame)
    return {
        "area_change": float(np.mean([p["area_change"] for p in pairs])),
        "foreground_iou": float(np.mean([p["foreground_iou"] for p in pairs])),
        "flicker": float(vanished / linked) if linked else float("nan"),
        "linked": linked,
        "vanished": vanished,
        "pairs": pairs,
    }


def score_video(
    pred_frames: Sequence[Any], true_frames: Mapping[int, Any] | None = None, link_iou: float = 0.3
) -> dict[str, Any]:
    """Everything the video bundle reports about one predicted sequence.

    Args:
        pred_frames: the predicted instance label images, in time order (frame numbers 0 .. T-1).
        true_frames: ``{frame number: reference label image}`` for the annotated frames (the CTC gold or silver
            masks); None or empty for a video without annotations.
        link_iou: see :func:`temporal_consistency`.

    Returns:
        ``{"ap_50", "dsb_score", "seg", "flicker", "area_change", "foreground_iou", "frames": [...]}``: ``ap_50`` is
        the mean over annotated frames of TP / (TP + FP + FN) at IoU >= 0.5 (:func:`instance_matching`),
        ``dsb_score`` the mean of :func:`dsb2018_image_score`, ``seg`` the CTC SEG pooled over the annotated frames'
        objects; these three are NaN without annotations. ``frames`` has one row per frame: ``frame``,
        ``foreground_area``, ``objects`` and, on annotated frames, ``ap_50``, ``dsb_score``, ``seg``.

    Raises:
        ValueError: an annotated frame number outside the sequence, or a reference of another shape.
    """
    truths = dict(true_frames or {})
    outside = sorted(t for t in truths if not 0 <= int(t) < len(pred_frames))
    if outside:
        raise ValueError(
            f"annotated frame(s) {outside} are outside the predicted sequence of {len(pred_frames)} frames."
        )
    rows = frame_statistics(pred_frames)
    ap, dsb = [], []
    for t, truth in sorted(truths.items()):
        pred = pred_frames[int(t)]
        row = rows[int(t)]
        row["ap_50"] = instance_matching(truth, pred, thresholds=0.5)["ap"]
        row["dsb_score"] = dsb2018_image_score(truth, pred)
        jaccards = ctc_seg_jaccards(truth, pred)
        row["seg"] = float(jaccards.mean()) if jaccards.size else float("nan")
        ap.append(row["ap_50"])
        dsb.append(row["dsb_score"])
    labelled = sorted(truths)
    has_objects = any(np.any(as_label_image(truths[t]) > 0) for t in labelled)
    seg = ctc_seg([truths[t] for t in labelled], [pred_frames[int(t)] for t in labelled]) if has_objects else np.nan
    temporal = temporal_consistency(pred_frames, link_iou) if len(pred_frames) >= 2 else None
    return {
        "ap_50": float(np.mean(ap)) if ap else float("nan"),
        "dsb_score": float(np.mean(dsb)) if dsb else float("nan"),
        "seg": float(seg),
        "flicker": temporal["flicker"] if temporal else float("nan"),
        "area_change": temporal["area_change"] if temporal else float("nan"),
        "foreground_iou": temporal["foreground_iou"] if temporal else float("nan"),
        "frames": rows,
    }
