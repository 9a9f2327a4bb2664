"""Fig. 2A of the metadata-SE paper: one image segmented under a sweep of values of one metadata feature.

The paper shows how the predicted KiTS21 mask changes when the size-correlated metadata given with the same slice
is varied. :func:`sweep_metadata` runs the network once per value and :func:`write_sweep_figure` draws the row of
class maps.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from metaseg_monai.data.io import write_image
from metaseg_monai.metrics.class_overlay import class_legend, compose_panels, overlay_classes

__all__ = ["sweep_metadata", "write_sweep_figure"]


def sweep_metadata(
    network: torch.nn.Module,
    image: torch.Tensor,
    metadata: torch.Tensor,
    feature_index: int,
    values: Sequence[float],
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Class maps of one image with position ``feature_index`` of its metadata set to each of ``values``.

    The network runs in eval mode without gradients, on one batch of ``V`` copies of the image (its training/eval
    mode is restored afterwards); the class is the argmax over the output channels.

    Args:
        network: called as ``network(x, metadata)`` with x (V, C, *spatial) and metadata (V, M); its parameters
            must be on ``device``.
        image: (C, *spatial) tensor, e.g. ``validate#dataset[i]["image"]`` (1, H, W).
        metadata: (M,) encoded metadata vector of the image, e.g. ``validate#dataset[i]["metadata"]``.
        feature_index: the position in the vector to vary (``MetadataSpec.feature_names.index(name)``).
        values: the encoded values to put there (e.g. ``field.encode(size_cm, ...)`` of each size), in figure order.
        device: where to run.

    Returns:
        (V, *spatial) int64 class maps, one per value.

    Raises:
        ValueError: bad shapes, an index out of range, no or non-finite values, or the network on another device.
    """
    image, metadata = torch.as_tensor(image), torch.as_tensor(metadata)
    if image.dim() < 2:
        raise ValueError(f"image must be channel-first (C, *spatial), found shape {list(image.shape)}.")
    if metadata.dim() != 1:
        raise ValueError(f"metadata must be one encoded vector (M,), found shape {list(metadata.shape)}.")
    width = metadata.shape[0]
    if isinstance(feature_index, bool) or not 0 <= int(feature_index) < width:
        raise ValueError(f"feature_index must lie in [0, {width}) for metadata of width {width}, got {feature_index}.")
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"values must be a non-empty list of finite numbers, got {values}.")
    device = torch.device(device)
    param = next(network.parameters(), None)
    if param is not None and param.device.type != device.type:
        raise ValueError(f"the network's parameters are on '{param.device}', not on the requested device '{device}'.")
    batch = image.to(device=device, dtype=torch.float32).unsqueeze(0).repeat(len(values), *[1] * image.dim())
    vectors = metadata.to(device=device, dtype=torch.float32).unsqueeze(0).repeat(len(values), 1)
    vectors[:, int(feature_index)] = torch.tensor(values, device=device)
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            logits = network(batch, vectors)
    finally:
        network.train(was_training)
    return logits.argmax(dim=1).cpu().numpy().astype(np.int64)


def write_sweep_figure(
    path: str | os.PathLike,
    image: np.ndarray | torch.Tensor,
    predictions: np.ndarray | Sequence[np.ndarray],
    value_labels: Sequence[str],
    class_names: Mapping[int, str] | Sequence[str] | None = None,
) -> Path:
    """Write the sweep as one PNG: the image, then its class map under each value, titled with ``value_labels``.

    Classes are blended over the grey image in :data:`~metaseg_monai.metrics.class_overlay.CLASS_COLOURS` (class 1
    sky blue, 2 vermillion, 3 yellow, ...); a legend row names them. Panels smaller than 128 pixels are enlarged.

    Args:
        path: the ``.png`` to write; written atomically, and an existing file is never overwritten.
        image: (H, W) or (1, H, W) image (a channel-first tensor as the network saw it).
        predictions: (V, H, W) class maps, e.g. from :func:`sweep_metadata`.
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
    picture = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
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
