"""Error overlays of binary segmentations in the style of the metadata-SE paper's Fig. S1."""

from __future__ import annotations

import numpy as np

from metaseg_monai.utils.type_conversion import as_bool_array
from metaseg_monai.visualize.background import grey_background

__all__ = ["FALSE_NEGATIVE_COLOUR", "FALSE_POSITIVE_COLOUR", "TRUE_POSITIVE_COLOUR", "overlay_errors"]

TRUE_POSITIVE_COLOUR = (255, 255, 255)  # white
FALSE_POSITIVE_COLOUR = (255, 0, 255)  # magenta
FALSE_NEGATIVE_COLOUR = (0, 255, 0)  # green


def overlay_errors(image: np.ndarray, pred: np.ndarray, label: np.ndarray, brightness: float = 0.5) -> np.ndarray:
    """Error overlay in the style of the metadata-SE paper's Fig. S1.

    True positives are white, false positives magenta, false negatives green (:data:`TRUE_POSITIVE_COLOUR`,
    :data:`FALSE_POSITIVE_COLOUR`, :data:`FALSE_NEGATIVE_COLOUR`); every other pixel shows the image as grey,
    min-max scaled and dimmed to ``brightness`` so that the colours stand out.

    Args:
        image: (H, W) grey or (H, W, C) colour image, any numeric dtype.
        pred: (H, W) binary prediction.
        label: (H, W) binary ground truth.
        brightness: brightest grey of the background, as a fraction of white.

    Returns:
        (H, W, 3) uint8 RGB array.
    """
    p, g = as_bool_array(pred, "pred"), as_bool_array(label, "label")
    if p.ndim != 2 or p.shape != g.shape:
        raise ValueError(f"pred and label must be (H, W) masks of one shape, found {p.shape} and {g.shape}.")
    grey = np.clip(np.round(grey_background(image, p.shape, brightness)), 0, 255).astype(np.uint8)
    overlay = np.repeat(grey[..., None], 3, axis=-1)
    overlay[p & g] = TRUE_POSITIVE_COLOUR
    overlay[p & ~g] = FALSE_POSITIVE_COLOUR
    overlay[~p & g] = FALSE_NEGATIVE_COLOUR
    return overlay
