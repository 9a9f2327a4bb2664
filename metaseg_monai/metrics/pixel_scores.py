"""Per-image pixel scores of binary segmentations, their summaries and the paired Wilcoxon test.

These are the numbers of the metadata-SE paper's tables: per-image F1 (== Dice for binary masks), its mean, the F1 of
the counts pooled over all test pixels, both per metadata group, and the Wilcoxon signed-rank test of a variant
against the metadata-free baseline on per-image F1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from metaseg_monai.utils.sorting import natural_key
from metaseg_monai.utils.type_conversion import as_bool_array

__all__ = ["WILCOXON_ALTERNATIVES", "confusion_counts", "f1_dice_from_counts", "paired_wilcoxon", "summarize_scores"]


def confusion_counts(pred: np.ndarray | torch.Tensor, label: np.ndarray | torch.Tensor) -> tuple[int, int, int, int]:
    """Pixel counts ``(tp, fp, fn, tn)`` of a binary prediction against a binary label.

    Counted by hand in int64 rather than with ``monai.metrics.get_confusion_matrix``: that needs batch-first
    one-hot input and returns float32 counts, which are not exact beyond 2**24 pixels (a CT volume).

    Args:
        pred: binary mask, numpy or torch, any shape (bool or 0/1 values).
        label: binary mask of the same shape.

    Raises:
        ValueError: the shapes differ or a mask holds values other than 0/1.
    """
    p, g = as_bool_array(pred, "pred"), as_bool_array(label, "label")
    if p.shape != g.shape:
        raise ValueError(f"pred and label must have the same shape, found {p.shape} and {g.shape}.")
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    return tp, fp, fn, int(p.size) - tp - fp - fn


def f1_dice_from_counts(tp: float, fp: float, fn: float) -> float:
    """F1 = Dice = ``2 tp / (2 tp + fp + fn)``, identical for binary masks.

    When prediction and label are both empty (``tp + fp + fn == 0``) the result is defined as 1.0: nothing to find
    and nothing wrongly found is a perfect answer. (MONAI's ``compute_confusion_matrix_metric`` gives NaN there, which
    would drop such images from a mean and from the paired test.)
    """
    if min(tp, fp, fn) < 0:
        raise ValueError(f"counts must be non-negative, found tp={tp}, fp={fp}, fn={fn}.")
    denominator = 2 * tp + fp + fn
    return 1.0 if denominator == 0 else float(2 * tp / denominator)


WILCOXON_ALTERNATIVES = ("two-sided", "greater")


def paired_wilcoxon(
    baseline: Sequence[float], candidate: Sequence[float], min_pairs: int = 6, alternative: str = "two-sided"
) -> dict[str, Any]:
    """Wilcoxon signed-rank test of ``candidate`` against ``baseline`` on paired scores (per image, or per split).

    Uses ``scipy.stats.wilcoxon(candidate, baseline)`` with scipy's defaults (``zero_method="wilcox"``: zero
    differences are dropped). If every difference is zero the two are indistinguishable and the result is
    ``statistic=0.0, p_value=1.0`` (scipy would warn and depend on its version there).

    Args:
        baseline: per-image scores of the reference (e.g. the metadata-free network), in image order.
        candidate: per-image scores of the variant, same images in the same order.
        min_pairs: fewest pairs accepted. With 6 pairs the smallest possible two-sided p is 2/64 = 0.031; with
            fewer, no result can reach p < 0.05 (one-sided, 5 pairs reach 1/32).
        alternative: ``"two-sided"``, or ``"greater"``: the one-sided test that ``candidate`` scores higher (the FiLM
            paper's test).

    Returns:
        ``{"statistic", "p_value", "n" (pairs), "median_difference" (median of candidate - baseline)}``.

    Raises:
        ValueError: lengths differ, fewer than ``min_pairs`` pairs, or a score is not finite.
    """
    from scipy.stats import wilcoxon

    if alternative not in WILCOXON_ALTERNATIVES:
        raise ValueError(f"alternative must be one of {WILCOXON_ALTERNATIVES}, got {alternative!r}.")
    base = np.asarray(baseline, dtype=np.float64).ravel()
    cand = np.asarray(candidate, dtype=np.float64).ravel()
    if base.shape != cand.shape:
        raise ValueError(
            f"paired test needs one candidate score per baseline score, found {base.size} baseline and "
            f"{cand.size} candidate scores."
        )
    if base.size < min_pairs:
        raise ValueError(f"paired Wilcoxon test needs at least {min_pairs} pairs, found {base.size}.")
    if not (np.isfinite(base).all() and np.isfinite(cand).all()):
        raise ValueError("paired Wilcoxon test needs finite scores, found NaN or inf.")
    difference = cand - base
    median_difference = float(np.median(difference))
    if not np.any(difference):
        return {"statistic": 0.0, "p_value": 1.0, "n": int(base.size), "median_difference": median_difference}
    result = wilcoxon(cand, base, alternative=alternative)
    return {
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "n": int(base.size),
        "median_difference": median_difference,
    }


def _scores_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    tp = sum(float(r["tp"]) for r in rows)
    fp = sum(float(r["fp"]) for r in rows)
    fn = sum(float(r["fn"]) for r in rows)
    return {
        "n": len(rows),
        "mean_f1": float(np.mean([float(r["f1"]) for r in rows])),
        "pooled_f1": f1_dice_from_counts(tp, fp, fn),
    }


def summarize_scores(rows: Sequence[Mapping[str, Any]], group_fields: Sequence[str] = ()) -> dict[str, Any]:
    """Mean and pooled F1 over per-image rows, overall and per value of each metadata field.

    ``mean_f1`` averages the per-image F1 (each image counts once); ``pooled_f1`` is the F1 of the summed
    ``tp``/``fp``/``fn`` (each pixel counts once, so large objects weigh more), as the paper's ``dice_score_total``.

    Args:
        rows: one mapping per image with at least ``f1``, ``tp``, ``fp``, ``fn`` and every field in ``group_fields``.
        group_fields: metadata fields to group by, e.g. ``["cell_line"]``.

    Returns:
        ``{"n", "mean_f1", "pooled_f1", "per_group": {field: {value: {"n", "mean_f1", "pooled_f1"}}}}``. Group values
        are keyed by ``str(value)`` (JSON object keys are strings) in natural order (``"2"`` before ``"10"``).

    Raises:
        ValueError: no rows, or a row lacks a score or a group field (the error names the row and the key).
    """
    if not rows:
        raise ValueError("cannot summarize scores: no rows (was the evaluation data empty?).")
    for index, row in enumerate(rows):
        missing = [k for k in ("f1", "tp", "fp", "fn", *group_fields) if k not in row]
        if missing:
            raise ValueError(f"score row {index} lacks {missing}; found keys {sorted(row)}.")
    summary = _scores_of(rows)
    per_group: dict[str, dict[str, Any]] = {}
    for field in group_fields:
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            groups.setdefault(str(row[field]), []).append(row)
        per_group[field] = {value: _scores_of(groups[value]) for value in sorted(groups, key=natural_key)}
    summary["per_group"] = per_group
    return summary
