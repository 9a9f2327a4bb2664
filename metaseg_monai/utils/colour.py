"""One grey channel from a grey, RGB or RGBA image (numpy or torch, channel-first or channel-last)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["COLOUR_CHANNELS", "grey_channel"]

COLOUR_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA


def grey_channel(image: Any, channel_axis: int = 0, where: str = "an image") -> Any:
    """One grey channel from a grey, RGB or RGBA image: the mean of R, G, B (alpha ignored), kept as a channel.

    Args:
        image: numpy array or torch tensor with ``channel_axis`` of size 1, 3 or 4.
        channel_axis: 0 for channel-first ``(C, H, W)`` (MONAI), -1 for channel-last ``(H, W, C)`` (PIL, numpy).
        where: the image's name in the error.

    Returns:
        the same type, with a size-1 ``channel_axis``, float32 (grey inputs are cast only).

    Raises:
        ValueError: the channel axis has another size (named, with the shape).
    """
    channels = image.shape[channel_axis]
    if channels not in COLOUR_CHANNELS:
        raise ValueError(
            f"{where}: expected a grey, RGB or RGBA image ({'/'.join(map(str, COLOUR_CHANNELS))} channels on axis "
            f"{channel_axis}), found shape {tuple(image.shape)}."
        )
    if isinstance(image, torch.Tensor):
        image = image.float()
        return image if channels == 1 else image.narrow(channel_axis, 0, 3).mean(channel_axis, keepdim=True)
    image = np.asarray(image, dtype=np.float32)
    return image if channels == 1 else image.take(range(3), axis=channel_axis).mean(channel_axis, keepdims=True)
