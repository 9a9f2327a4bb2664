"""The figure of a metadata sweep (Fig. 2A of the metadata-SE paper): an image, then its class map under each value.

The class maps come from :func:`~metaseg_monai.metrics.sweep_metadata`, which runs the network once per value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from metaseg_monai.data.image_io import write_image
from metaseg_monai.utils.type_conversion import to_numpy
from metaseg_monai.visualize.class_overlay import class_legend, compose_panels, overlay_classes

__all__ = ["write_sweep_figure"]


def write_sweep_figure(
    path: str | os.PathLike,
    image: np.ndarray | torch.Tensor,
    predictions: np.ndarray | Sequence[np.ndarray],
    value_labels: Sequence[str],
    class_names: Mapping[int, str] | Sequence[str] | None = None,
) -> Path:
    """Write the sweep as one PNG: the image, then its class map under each value, titled with ``value_labels``.

    Classes are blended over the grey image in :data:`~metaseg_monai.visualize.class_overlay.CLASS_COLOURS` (class 1
    sky blue, 2 vermillion, 3 yellow, ...); a legend row names them. Panels smaller than 128 pixels are enlarged.

    Args:
        path: the ``.png`` to write; written atomically, and an existing file is never overwritten.
        image: (H, W) or (1, H, W) image (a channel-first tensor as the network saw it).
        predictions: (V, H, W) class maps, e.g. from :func:`~metaseg_monai.metrics.sweep_metadata`.
        value_labels: V titles in the same order, e.g. ``["1 cm", "3 cm", "5 cm"]``.
        class_names: ``{1: "kidney", 2: "tumor", 3: "cyst"}`` or names of classes 1, 2, ...; None names the
            classes found as ``class k``.

    Returns:
        The written path.

    Raises:
        FileExistsError: ``path`` exists. ValueError: shapes or counts disagree, or ``path`` is not a ``.png``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"sweep figure '{path}' must be a .png file.")
    picture = to_numpy(image)
    if picture.ndim == 3 and picture.shape[0] == 1:
        picture = picture[0]
    maps = np.stack([np.asarray(p) for p in predictions]) if not isinstance(predictions, np.ndarray) else predictions
    if picture.ndim != 2 or maps.ndim != 3 or maps.shape[1:] != picture.shape:
        raise ValueError(
            f"expected an (H, W) or (1, H, W) image and (V, H, W) predictions of the same H, W; found image "
            f"{np.shape(image)} and predictions {maps.shape}."
        )
    if len(value_labels) != maps.shape[0]:
        raise ValueError(f"expected one value label per prediction ({maps.shape[0]}), found {len(value_labels)}.")
    if path.exists():  # checked before drawing; write_image checks again at the rename
        raise FileExistsError(f"'{path}' exists; refusing to overwrite it.")
    panels = [overlay_classes(picture, np.zeros(picture.shape, np.int64))]
    panels += [overlay_classes(picture, m) for m in maps]
    titles = ["image", *[str(v) for v in value_labels]]
    legend = class_legend(class_names, present=np.unique(maps).tolist())
    write_image(path, compose_panels(panels, titles, legend))
    return path
