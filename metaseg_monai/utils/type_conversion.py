"""Conversions of array-like inputs (numpy or torch) that check what they convert."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["as_bool_array"]


def as_bool_array(mask: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    """A binary mask (bool, or numbers that are all 0/1) as a numpy bool array; other values are an error."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.dtype == bool:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        found = np.unique(array)[:8].tolist()
        raise ValueError(
            f"{name} must be a binary mask (bool or 0/1), found values {found}; threshold it (e.g. AsDiscreted) "
            "or select one class first."
        )
    return array.astype(bool)
