"""The image under an overlay: shown as grey, min-max scaled and dimmed so that coloured classes stand out."""

from __future__ import annotations

import numpy as np

__all__ = ["grey_background"]


def grey_background(image: np.ndarray, shape: tuple[int, ...], brightness: float) -> np.ndarray:
    """The image as grey, min-max scaled to [0, ``brightness``] x 255, as float (H, W)."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3:
        array = array[..., :3].mean(axis=-1)  # colour (or RGBA without its alpha) to grey
    if array.shape != shape:
        raise ValueError(f"image must be (H, W) or (H, W, C) with (H, W) = {shape}, found {np.shape(image)}.")
    finite = np.isfinite(array)
    low, high = (array[finite].min(), array[finite].max()) if finite.any() else (0.0, 0.0)
    scaled = (np.where(finite, array, low) - low) / (high - low) if high > low else np.zeros(shape)
    return scaled * brightness * 255.0
