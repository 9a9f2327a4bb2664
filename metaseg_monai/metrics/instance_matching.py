"""Object-level scores of instance label images: matching at IoU thresholds, the DSB 2018 score and the CTC SEG.

Three conventions are in use for cells and nuclei, and they disagree at the edges, so each has its own function:

- :func:`instance_matching`: StarDist's ``stardist.matching.matching`` (criterion IoU): a predicted and a true
  object match when their IoU is **at least** ``threshold``; the matching is one-to-one and maximises the number of
  matches (Hungarian, ``scipy.optimize.linear_sum_assignment``), ties broken towards higher IoU. ``ap`` is
  TP / (TP + FP + FN), what the DSB and the Siamese-consistency paper call average precision and StarDist calls
  ``accuracy``.
- :func:`dsb2018_score`: the Kaggle Data Science Bowl 2018 metric: a hit when IoU is **greater than** t, per image
  the mean of TP / (TP + FP + FN) over t = 0.5, 0.55, ..., 0.95, then the mean over images.
- :func:`ctc_seg`: the Cell Tracking Challenge SEG: a reference object R is matched by the predicted object S with
  ``|R & S| > 0.5 |R|`` (at most one can be), scored by its Jaccard index, 0 when unmatched; SEG is the mean over all
  reference objects. False positives are not penalised.

Label images hold 0 for background and any positive integers for objects (not necessarily consecutive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from metaseg_monai.utils.type_conversion import to_numpy

__all__ = [
    "DSB2018_THRESHOLDS",
    "MATCHING_THRESHOLDS",
    "as_label_image",
    "ctc_seg",
    "ctc_seg_jaccards",
    "dsb2018_image_score",
    "dsb2018_score",
    "instance_matching",
    "iou_matrix",
    "match_objects",
    "pooled_matching",
]

# 0.5, 0.55, ..., 0.95 (rounded so that the keys and the comparisons are exact decimals)
MATCHING_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
DSB2018_THRESHOLDS = MATCHING_THRESHOLDS


def as_label_image(labels: Any, name: str = "labels") -> np.ndarray:
    """A non-negative integer numpy array from a numpy/torch label image (a leading channel of 1 is dropped)."""
    array = to_numpy(labels)
    if array.ndim >= 3 and array.shape[0] == 1:
        array = array[0]
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(f"{name} must hold integer object labels, found non-integer values.")
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer label image, found dtype {array.dtype}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold labels >= 0 (0 = background), found {int(array.min())}.")
    return array


def _overlap_counts(true: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts of every (true object, predicted object) pair and of each object, background dropped.

    Returns ``(intersection (n_true, n_pred), true_sizes (n_true,), pred_sizes (n_pred,))``.
    """
    true_ids, true_index = np.unique(true, return_inverse=True)
    pred_ids, pred_index = np.unique(pred, return_inverse=True)
    n_t, n_p = len(true_ids), len(pred_ids)
    joint = np.bincount(true_index.ravel() * n_p + pred_index.ravel(), minlength=n_t * n_p).reshape(n_t, n_p)
    # row/column 0 is the background when the image has any; drop it
    rows = slice(1, None) if true_ids[0] == 0 else slice(None)
    cols = slice(1, None) if pred_ids[0] == 0 else slice(None)
    sizes_t, sizes_p = joint.sum(1), joint.sum(0)
    return joint[rows, cols], sizes_t[rows], sizes_p[cols]


def _check_pair(true: Any, pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = as_label_image(true, "true"), as_label_image(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(f"true and pred label images must have the same shape, found {t.shape} and {p.shape}.")
    return t, p


def iou_matrix(true: Any, pred: Any) -> np.ndarray:
    """IoU of every (true object, predicted object) pair.

    Args:
        true, pred: label images of the same shape (numpy or torch; 0 = background), e.g. (H, W) or (1, H, W).

    Returns:
        float64 array (n_true, n_pred), rows and columns in increasing label order.
    """
    t, p = _check_pair(true, pred)
    inter, size_t, size_p = _overlap_counts(t, p)
    union = size_t[:, None] + size_p[None, :] - inter
    return inter / np.maximum(union, 1)


def match_objects(iou: np.ndarray, threshold: float, strict: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one matching of most pairs with IoU >= ``threshold`` (``> threshold`` if ``strict``).

    Among matchings with the most pairs, the one of highest total IoU is taken (StarDist's cost).

    Args:
        iou: (n_true, n_pred) as :func:`iou_matrix`.

    Returns:
        ``(true_indices, pred_indices)``: the matched pairs, as row and column indices of ``iou``.
    """
    if iou.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    eligible = iou > threshold if strict else iou >= threshold
    if not eligible.any():
        return np.zeros(0, int), np.zeros(0, int)
    # one unit for each eligible pair outweighs any sum of IoU fractions (each < 1 / (2 n) after scaling)
    cost = -eligible.astype(float) - iou / (2 * max(iou.shape))
    rows, cols = linear_sum_assignment(cost)
    keep = eligible[rows, cols]
    return rows[keep], cols[keep]


def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    def ratio(a: float, b: float) -> float:
        return float(a / b) if b > 0 else 0.0

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "ap": ratio(tp, tp + fp + fn),
    }


def instance_matching(
    true: Any, pred: Any, thresholds: float | Sequence[float] = MATCHING_THRESHOLDS
) -> list[dict[str, float]] | dict[str, float]:
    """Object matching at each IoU threshold, with StarDist's semantics (IoU >= threshold, one-to-one, most matches).

    Args:
        true, pred: label images of the same shape (numpy or torch; 0 = background, objects any positive labels).
        thresholds: one threshold, or several (default 0.5, 0.55, ..., 0.95).

    Returns:
        for each threshold a mapping ``{"threshold", "tp", "fp", "fn", "n_true", "n_pred", "precision", "recall",
        "f1", "ap", "mean_matched_iou"}`` with ``ap = tp / (tp + fp + fn)``; a single mapping when one threshold was
        given. A ratio with a zero denominator is 0, as in StarDist (an image with no objects on either side scores
        0; :func:`dsb2018_image_score` scores it 1).

    Raises:
        ValueError: shapes differ, labels are negative or not integers, or a threshold is outside [0, 1].
    """
    single = np.ndim(thresholds) == 0
    values = [float(thresholds)] if single else [float(t) for t in thresholds]
    for t in values:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"IoU thresholds must lie in [0, 1], found {t}.")
    iou = iou_matrix(true, pred)
    n_true, n_pred = iou.shape
    results = []
    for t in values:
        rows, cols = match_objects(iou, t)
        tp = len(rows)
        fp, fn = n_pred - tp, n_true - tp
        matched = iou[rows, cols]
        results.append(
            {
                "threshold": t,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "n_true": n_true,
                "n_pred": n_pred,
                **_scores(tp, fp, fn),
                "mean_matched_iou": float(matched.mean()) if tp else 0.0,
            }
        )
    return results[0] if single else results


def dsb2018_image_score(true: Any, pred: Any, thresholds: Sequence[float] = DSB2018_THRESHOLDS) -> float:
    """One image's DSB 2018 score: the mean over ``thresholds`` of TP / (TP + FP + FN), a hit when IoU > t (strict).

    An image with no objects in either label image scores 1 (nothing to find, nothing wrongly found).
    """
    iou = iou_matrix(true, pred)
    n_true, n_pred = iou.shape
    if n_true == 0 and n_pred == 0:
        return 1.0
    scores = []
    for t in thresholds:
        tp = len(match_objects(iou, float(t), strict=True)[0])
        scores.append(tp / (n_true + n_pred - tp))
    return float(np.mean(scores))


def dsb2018_score(
    trues: Sequence[Any], preds: Sequence[Any], thresholds: Sequence[float] = DSB2018_THRESHOLDS
) -> float:
    """The Kaggle DSB 2018 score of a set of images: the mean of :func:`dsb2018_image_score` over images."""
    if len(trues) != len(preds):
        raise ValueError(f"dsb2018_score needs as many predictions as labels, found {len(preds)} and {len(trues)}.")
    if not trues:
        raise ValueError("dsb2018_score needs at least one image.")
    return float(np.mean([dsb2018_image_score(t, p, thresholds) for t, p in zip(trues, preds, strict=True)]))


def ctc_seg_jaccards(true: Any, pred: Any) -> np.ndarray:
    """The Cell Tracking Challenge SEG's Jaccard index of each reference object, in increasing label order.

    Reference R is matched by the predicted S with ``|R & S| > 0.5 |R|`` (at most one S can cover more than half of
    R); its score is ``|R & S| / |R | S|``, and 0 when no S matches.
    """
    t, p = _check_pair(true, pred)
    inter, size_t, size_p = _overlap_counts(t, p)
    if inter.shape[0] == 0:
        return np.zeros(0)
    if inter.shape[1] == 0:
        return np.zeros(inter.shape[0])
    best = inter.argmax(1)
    best_inter = inter[np.arange(len(best)), best]
    jaccard = best_inter / (size_t + size_p[best] - best_inter)
    return np.where(best_inter > 0.5 * size_t, jaccard, 0.0)


def ctc_seg(trues: Sequence[Any], preds: Sequence[Any]) -> float:
    """SEG of a set of frames: the mean Jaccard over all their reference objects (:func:`ctc_seg_jaccards`).

    Raises:
        ValueError: different numbers of frames, or no reference object at all (SEG is undefined then).
    """
    if len(trues) != len(preds):
        raise ValueError(f"ctc_seg needs as many predictions as references, found {len(preds)} and {len(trues)}.")
    if not trues:
        raise ValueError("ctc_seg needs at least one frame.")
    jaccards = [ctc_seg_jaccards(t, p) for t, p in zip(trues, preds, strict=True)]
    total = np.concatenate(jaccards) if jaccards else np.zeros(0)
    if total.size == 0:
        raise ValueError("ctc_seg: the reference frames hold no objects, so SEG is undefined.")
    return float(total.mean())


def pooled_matching(results: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Counts of several images' :func:`instance_matching` at one threshold pooled, and the scores of the pool
    (StarDist's ``matching_dataset(by_image=False)``)."""
    if not results:
        raise ValueError("pooled_matching needs at least one result.")
    thresholds = {r["threshold"] for r in results}
    if len(thresholds) != 1:
        raise ValueError(f"pooled_matching pools one threshold at a time, found {sorted(thresholds)}.")
    tp, fp, fn = (int(sum(r[k] for r in results)) for k in ("tp", "fp", "fn"))
    return {"threshold": thresholds.pop(), "tp": tp, "fp": fp, "fn": fn, **_scores(tp, fp, fn)}
