"""Conversions of array-like inputs (numpy or torch) that check what they convert."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["as_bool_array", "plain_value", "to_numpy"]


def to_numpy(data: Any) -> np.ndarray:
    """``data`` (a torch tensor, on any device, or anything numpy takes) as a numpy array."""
    return data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)


def plain_value(value: Any) -> Any:
    """A datalist value as a plain Python value: collated tensors/arrays/one-item lists unwrapped, strings kept."""
    if isinstance(value, torch.Tensor):
        value = to_numpy(value)
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return plain_value(value[0])
    return value


def as_bool_array(mask: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    """A binary mask (bool, or numbers that are all 0/1) as a numpy bool array; other values are an error."""
    array = to_numpy(mask)
    if array.dtype == bool:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        found = np.unique(array)[:8].tolist()
        raise ValueError(
            f"{name} must be a binary mask (bool or 0/1), found values {found}; threshold it (e.g. AsDiscreted) "
            "or select one class first."
        )
    return array.astype(bool)
