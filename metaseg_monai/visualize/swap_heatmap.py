"""The swapped-metadata matrix as a heatmap (the FiLM paper's Table 3 drawn): true category x category given."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from metaseg_monai.visualize.figures import check_png_path, pyplot, save_png_figure

__all__ = ["write_swap_heatmap"]


def write_swap_heatmap(
    path: str | os.PathLike, matrix: Mapping[str, Any], title: str | None = None, overwrite: bool = False
) -> Path:
    """Draw a :func:`~metaseg_monai.metrics.swap_matrix` as a PNG: rows the true category, columns the one given,
    each cell its mean per-image F1 (Dice) written in it, on a fixed 0..1 colour scale so figures compare.

    Raises:
        ValueError: ``path`` is not a ``.png``. FileExistsError: it exists and ``overwrite`` is False.
    """
    path = check_png_path(path, "swap heatmap")
    names = list(matrix["categories"])
    values = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix["mean_f1"]])
    size = 1.2 + 1.1 * len(names)
    figure, axes = pyplot().subplots(figsize=(size + 1.2, size))
    try:
        shown = axes.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis")
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                colour = "black" if value > 0.6 else "white"
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", color=colour, fontsize=10)
        axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
        axes.set_yticks(range(len(names)), names)
        axes.set_xlabel(f"{matrix['field']} given")
        axes.set_ylabel(f"true {matrix['field']}")
        axes.set_title(title or "Dice with the metadata swapped")
        figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04, label="mean Dice")
    except BaseException:
        pyplot().close(figure)
        raise
    return save_png_figure(figure, path, overwrite)
