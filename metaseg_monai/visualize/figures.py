"""Matplotlib figures written the package's way: headless backend, PNG only, atomic, never over a file unasked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from metaseg_monai.utils.atomic import atomic_path

__all__ = ["check_png_path", "pyplot", "save_png_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display on servers; chosen before pyplot is first imported)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_png_path(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path; a ``ValueError`` naming ``what`` unless it ends in ``.png``."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"{what} '{path}' must be a .png file.")
    return path


def save_png_figure(figure: Any, path: str | os.PathLike, overwrite: bool = False, dpi: int = 100) -> Path:
    """Lay out ``figure``, write it to ``path`` as PNG atomically, and close it (also when writing fails).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    try:
        figure.tight_layout()
        with atomic_path(path, overwrite) as tmp:
            figure.savefig(tmp, format="png", dpi=dpi)
    finally:
        pyplot().close(figure)
    return Path(path)
