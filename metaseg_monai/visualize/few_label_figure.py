"""The FiLM paper's Fig. 2: Dice against the number of scans of the rarer organ, FiLMed vs single-class U-Net."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaseg_monai.visualize.figures import check_png_path, pyplot, save_png_figure

__all__ = ["FEW_LABEL_ARMS", "few_label_stats", "write_few_label_figure"]

FEW_LABEL_ARMS = ("film", "single_class")


def few_label_stats(rows: Sequence[Mapping[str, Any]], organ: str, n: int, arm: str) -> tuple[float, float, int] | None:
    """Mean, standard deviation (over splits) and count of the ``dice`` of the rows of (organ, scans, arm)."""
    values = [r["dice"] for r in rows if r["organ"] == organ and r["scans"] == n and r["arm"] == arm]
    if not values:
        return None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, len(values)


def write_few_label_figure(
    path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], organs: Sequence[str], overwrite: bool = False
) -> Path:
    """Draw Dice (mean ± std over splits) against the number of scans, one panel per organ, FiLM and single-class
    U-Net as two lines, into the PNG ``path``."""
    path = check_png_path(path, "few-label figure")
    labels = {"film": "FiLMed U-Net (organ given)", "single_class": "single-class U-Net"}
    figure, axes = pyplot().subplots(1, len(organs), figsize=(4.2 * len(organs), 3.6), squeeze=False)
    try:
        for axis, organ in zip(axes[0], organs, strict=True):
            for arm, marker in zip(FEW_LABEL_ARMS, ("o", "s"), strict=True):
                sizes = sorted({r["scans"] for r in rows if r["organ"] == organ and r["arm"] == arm})
                stats = [few_label_stats(rows, organ, n, arm) for n in sizes]
                if sizes:
                    means, stds = [s[0] for s in stats], [s[1] for s in stats]
                    axis.errorbar(sizes, means, yerr=stds, marker=marker, capsize=3, label=labels[arm])
            axis.set_title(f"{organ}: test on its held-out scans")
            axis.set_xlabel(f"{organ} scans (train + validation)")
            axis.set_ylabel("Dice")
            axis.set_ylim(0.0, 1.0)
            axis.grid(alpha=0.3)
            axis.legend(loc="lower right", fontsize=8)
    except BaseException:
        pyplot().close(figure)
        raise
    return save_png_figure(figure, path, overwrite)
