"""From a foreground probability map to instance labels: Otsu threshold, binary opening, connected components.

This is the Siamese-consistency paper's post-processing. MONAI has none of the three as a transform (its
``KeepLargestConnectedComponent`` keeps one component, ``AsDiscrete`` takes a fixed threshold), so they are written
here over scipy and scikit-image. Each works on one channel-first image ``(1, *spatial)`` in 2D or 3D, numpy or
torch, and returns the input's type.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type
from scipy.ndimage import binary_opening, distance_transform_edt
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.measure import label as connected_components
from skimage.morphology import ball, disk
from skimage.segmentation import watershed

from metaseg_monai.utils.checks import is_int_at_least
from metaseg_monai.utils.type_conversion import to_numpy

__all__ = [
    "BinaryOpening",
    "BinaryOpeningd",
    "ConnectedComponents",
    "ConnectedComponentsd",
    "OtsuThreshold",
    "OtsuThresholdd",
]


def _single_channel(img: Any, name: str) -> np.ndarray:
    array = to_numpy(img)
    if array.ndim not in (3, 4) or array.shape[0] != 1:
        raise ValueError(f"{name} needs one channel-first image (1, H, W) or (1, D, H, W), found shape {array.shape}.")
    return array[0]


class OtsuThreshold(Transform):
    """Foreground where the image exceeds its Otsu threshold (computed per image).

    Args:
        min_range: if the image's values span less than this, no threshold is meaningful; the output is all
            background when the maximum is below ``fallback``, all foreground otherwise (an empty or full frame of
            probabilities, where Otsu would split noise).
        fallback: see ``min_range``; 0.5 suits probabilities.

    Input ``(1, *spatial)`` float; output ``(1, *spatial)`` bool-valued, as the input's type (float 0/1).
    """

    def __init__(self, min_range: float = 1e-3, fallback: float = 0.5):
        self.min_range, self.fallback = float(min_range), float(fallback)

    def __call__(self, img: Any) -> Any:
        array = _single_channel(img, type(self).__name__).astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{type(self).__name__} found NaN or infinite values in its input.")
        if array.max() - array.min() < self.min_range:
            mask = np.full(array.shape, array.max() >= self.fallback)
        else:
            mask = array > threshold_otsu(array)
        return convert_to_dst_type(mask[None].astype(np.float32), img)[0]


class BinaryOpening(Transform):
    """Morphological opening of a binary mask with a disk (2D) or ball (3D) of ``radius`` pixels; 0 leaves it."""

    def __init__(self, radius: int = 1):
        if int(radius) != radius or radius < 0:
            raise ValueError(f"BinaryOpening radius must be a whole number >= 0, found {radius}.")
        self.radius = int(radius)

    def __call__(self, img: Any) -> Any:
        mask = _single_channel(img, type(self).__name__) > 0
        if self.radius > 0:
            footprint = disk(self.radius) if mask.ndim == 2 else ball(self.radius)
            # edge padding: objects touching the border are not eroded by an implicit background beyond it
            r = self.radius
            padded = binary_opening(np.pad(mask, r, mode="edge"), structure=footprint)
            mask = padded[tuple(slice(r, -r) for _ in range(mask.ndim))]
        return convert_to_dst_type(mask[None].astype(np.float32), img)[0]


class ConnectedComponents(Transform):
    """Instance labels 1..N of the connected components of a binary mask, smaller than ``min_size`` pixels dropped.

    With ``split_min_distance``, touching objects are split first: a watershed of the distance to the background from
    its local maxima at least that many pixels apart (the classic nuclei split; the paper's pipeline has none).
    ``"auto"`` takes that distance per image from the image itself: the median equivalent radius of its connected
    components (of at least ``min_size`` pixels), rounded, at least 1. Two touching nuclei of radius r have their
    distance maxima about 2r apart and are split; maxima closer than r, as along one elongated nucleus, are not.
    The rule follows the objects' scale, so the same setting serves images of other magnifications.

    Args:
        connectivity: 1 (4-/6-neighbours) or ``spatial_dims`` (8-/26-neighbours).
        min_size: components with fewer pixels become background; labels stay consecutive.
        split_min_distance: None (no split), ``"auto"``, or the smallest distance in pixels between two objects'
            centres.

    Output ``(1, *spatial)`` int32 labels, as the input's type.
    """

    def __init__(self, connectivity: int = 1, min_size: int = 0, split_min_distance: int | str | None = None):
        self.connectivity, self.min_size = int(connectivity), int(min_size)
        if split_min_distance not in (None, "auto") and not is_int_at_least(split_min_distance, 1):
            raise ValueError(
                f"split_min_distance must be None, 'auto' or a whole number >= 1, got {split_min_distance!r}."
            )
        self.split_min_distance = split_min_distance

    def split_distance(self, labels: np.ndarray) -> int:
        """The split distance for an image's connected components ``labels`` (spatial, 0 = background)."""
        if self.split_min_distance != "auto":
            return int(self.split_min_distance)
        sizes = np.bincount(labels.ravel())[1:]
        sizes = sizes[sizes >= max(self.min_size, 1)]
        if len(sizes) == 0:
            return 1
        # equivalent radius: of a disk in 2D, of a ball in 3D
        radii = np.sqrt(sizes / np.pi) if labels.ndim == 2 else np.cbrt(3 * sizes / (4 * np.pi))
        return max(1, round(float(np.median(radii))))

    def __call__(self, img: Any) -> Any:
        mask = _single_channel(img, type(self).__name__) > 0
        labels = connected_components(mask, connectivity=self.connectivity).astype(np.int32)
        if self.split_min_distance is not None and labels.max() > 0:
            distance = distance_transform_edt(mask)
            peaks = peak_local_max(
                distance, min_distance=self.split_distance(labels), labels=labels, exclude_border=False
            )
            markers = np.zeros(mask.shape, np.int32)
            markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
            labels = watershed(-distance, markers, mask=mask, connectivity=self.connectivity).astype(np.int32)
        if self.min_size > 0 and labels.max() > 0:
            sizes = np.bincount(labels.ravel())
            keep = sizes >= self.min_size
            keep[0] = False
            relabel = np.zeros(len(sizes), np.int32)
            relabel[keep] = np.arange(1, int(keep.sum()) + 1)
            labels = relabel[labels]
        return convert_to_dst_type(labels[None], img, dtype=torch.int32 if isinstance(img, torch.Tensor) else np.int32)[
            0
        ]


class _Dictionary(MapTransform):
    """Applies ``self.transform`` to each key."""

    transform: Transform

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.transform(d[key])
        return d


class OtsuThresholdd(_Dictionary):
    """Dictionary version of :class:`OtsuThreshold`."""

    def __init__(self, keys: KeysCollection, min_range: float = 1e-3, fallback: float = 0.5, allow_missing_keys=False):
        super().__init__(keys, allow_missing_keys)
        self.transform = OtsuThreshold(min_range, fallback)


class BinaryOpeningd(_Dictionary):
    """Dictionary version of :class:`BinaryOpening`."""

    def __init__(self, keys: KeysCollection, radius: int = 1, allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)
        self.transform = BinaryOpening(radius)


class ConnectedComponentsd(_Dictionary):
    """Dictionary version of :class:`ConnectedComponents`."""

    def __init__(
        self,
        keys: KeysCollection,
        connectivity: int = 1,
        min_size: int = 0,
        split_min_distance: int | str | None = None,
        allow_missing_keys: bool = False,
    ):
        super().__init__(keys, allow_missing_keys)
        self.transform = ConnectedComponents(connectivity, min_size, split_min_distance)
