"""Fig. 2A of the metadata-SE paper: one image segmented under a sweep of values of one metadata feature.

The paper shows how the predicted KiTS21 mask changes when the size-correlated metadata given with the same slice
is varied. :func:`sweep_metadata` runs the network once per value;
:func:`~metaseg_monai.visualize.write_sweep_figure` draws the row of class maps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["sweep_metadata"]


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
