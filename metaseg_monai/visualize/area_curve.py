"""The Siamese-consistency paper's Fig. 3a: total foreground area of each frame of a video, one line per model."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from metaseg_monai.visualize.figures import check_png_path, pyplot, save_png_figure

__all__ = ["write_area_curve"]


def write_area_curve(
    path: str | os.PathLike,
    curves: Mapping[str, Sequence[float]],
    title: str = "",
    ylabel: str = "foreground area (pixels)",
    overwrite: bool = False,
) -> Path:
    """Draw each model's per-frame value (e.g. ``{"stage 0": areas, "stage 1": areas}``) against the frame number
    into the PNG ``path``; abrupt jumps are the flicker that consistency training removes.

    Raises:
        ValueError: no curves, an empty curve, or a path that is not ``.png``. FileExistsError: ``path`` exists and
        ``overwrite`` is False.
    """
    path = check_png_path(path, "area curve")
    if not curves:
        raise ValueError("write_area_curve needs at least one curve.")
    empty = [name for name, values in curves.items() if len(values) == 0]
    if empty:
        raise ValueError(f"write_area_curve: the curve(s) {empty} have no frames.")
    figure, axis = pyplot().subplots(figsize=(7.0, 3.2))
    for name, values in curves.items():
        axis.plot(range(len(values)), list(values), label=name, linewidth=1.4)
    axis.set_xlabel("frame")
    axis.set_ylabel(ylabel)
    if title:
        axis.set_title(title)
    axis.legend(frameon=False)
    axis.grid(alpha=0.3)
    return save_png_figure(figure, path, overwrite=overwrite)
