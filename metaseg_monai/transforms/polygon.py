"""Annotation styles: redraw a binary mask object by object as simplified polygons.

A coarse annotator clicks a few polygon vertices around each nucleus instead of painting it pixel by pixel. This is
simulated by tracing each object's outline, simplifying it with ``skimage.measure.approximate_polygon`` (Douglas-
Peucker; ``tolerance`` = the largest distance in pixels between the outline and the polygon) and filling the
polygon. The annotation-style paper used tolerances 2 ("fine") and 3.5 ("coarse"); its authors' code used 5 and 15.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Iterator, Mapping

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform
from monai.utils import TransformBackends, convert_to_dst_type
from scipy import ndimage
from skimage.draw import polygon as fill_polygon
from skimage.measure import approximate_polygon, find_contours, label

__all__ = ["PolygonizeMaskd", "count_polygon_vertices", "polygonize_mask"]

logger = logging.getLogger(__name__)


def _check(mask: np.ndarray, tolerance: float) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2D binary mask (H, W), found shape {mask.shape}.")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0 (pixels), found {tolerance!r}.")
    values = np.unique(mask)
    if np.count_nonzero(values) > 1:
        raise ValueError(f"expected a binary mask (0 and one foreground value), found values {values[:8].tolist()}.")
    return mask


def _polygons(objects: np.ndarray, tolerance: float) -> Iterator[tuple[int, tuple[slice, slice], np.ndarray]]:
    """For each object ``k`` of a label map: ``(k, padded box, polygon (N, 2) in box coordinates, closed)``."""
    for k, box in enumerate(ndimage.find_objects(objects), start=1):
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        # pad so that objects touching the image border still get closed contours
        crop = np.pad(objects[box] == k, 1)
        # the outer outline encloses the largest area; inner ones are holes, which a polygon annotation fills
        contour = max(find_contours(crop.astype(np.float32), 0.5), key=_area)
        yield k, box, approximate_polygon(contour, tolerance) - 1  # undo the padding offset


def _area(poly: np.ndarray) -> float:
    y, x = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def polygonize_mask(mask: np.ndarray, tolerance: float) -> np.ndarray:
    """Redraw each object of a binary 2D mask as its simplified, filled outline polygon.

    Objects are the connected components of ``skimage.measure.label`` (8-connectivity). Every object is kept and
    objects stay apart, so ``label`` finds the same number of objects in the result:

    - an object's polygon may only claim pixels nearer to it than to any other object, minus a one-pixel band along
      the border between two such zones (the object's own original pixels are never in the band, so it cannot
      vanish because of the band);
    - of the claimed pixels the largest connected piece is kept;
    - an object whose polygon fills no pixel at all (e.g. a one-pixel speck) keeps its original pixels. This also
      happens when the tolerance is near the object's radius and its polygon collapses to a line: at the authors'
      tolerance 15, nuclei of radius under about 15 px come back unchanged, so use such tolerances on large nuclei.
      When this happens to most objects a warning is logged.

    Holes inside objects are filled (an annotator draws outlines). ``tolerance=0`` returns nearly the input mask.

    Args:
        mask: binary ``(H, W)`` array: 0 and one foreground value (bool, 0/1, 0/255, float).
        tolerance: the polygon's largest distance from the outline, in pixels (the paper: 2 and 3.5).

    Returns:
        the redrawn mask, same shape and dtype, foreground set to the input's foreground value.
    """
    mask = _check(mask, tolerance)
    objects, num = label(mask > 0, return_num=True)
    out = np.zeros_like(mask)
    if num == 0:
        return out
    # zone[p] = the object nearest to pixel p; band = pixels of a zone that touch another zone
    _, nearest = ndimage.distance_transform_edt(objects == 0, return_indices=True)
    zone = objects[tuple(nearest)]
    band = (ndimage.maximum_filter(zone, size=3) != zone) | (ndimage.minimum_filter(zone, size=3) != zone)
    allowed = (~band) | (objects > 0)
    foreground = mask.max()
    unchanged = 0
    for k, box, poly in _polygons(objects, tolerance):
        shape = objects[box].shape
        drawn = np.zeros(shape, bool)
        drawn[fill_polygon(poly[:, 0], poly[:, 1], shape)] = True
        drawn &= (zone[box] == k) & allowed[box]
        pieces, n = label(drawn, return_num=True)
        if n > 1:
            drawn = pieces == 1 + np.argmax(np.bincount(pieces.ravel())[1:])
        elif n == 0:
            drawn = objects[box] == k
            unchanged += 1
        out[box][drawn] = foreground
    if unchanged > num // 2:  # the style would be a style in name only: say so
        logger.warning(
            "polygonize_mask: %d of %d objects kept their original pixels at tolerance %g (their polygons collapsed); "
            "the tolerance is too large for objects of this size.",
            unchanged,
            num,
            tolerance,
        )
    return out


def count_polygon_vertices(mask: np.ndarray, tolerance: float) -> int:
    """The total number of polygon vertices over all objects of a binary 2D mask at ``tolerance``.

    ``tolerance=0`` counts the raw outline points (one per pixel edge crossing), a measure of outline detail.
    """
    objects = label(_check(mask, tolerance) > 0)
    # approximate_polygon returns closed polygons (first point repeated at the end)
    return sum(len(poly) - 1 for _, _, poly in _polygons(objects, tolerance))


class PolygonizeMaskd(MapTransform):
    """Dictionary transform: :func:`polygonize_mask` on each channel of channel-first ``(C, H, W)`` masks.

    Works on numpy arrays, torch tensors and ``MetaTensor`` (type, dtype, device and metadata kept), as MONAI
    pipelines carry them after ``LoadImaged`` + ``EnsureChannelFirstd``.

    Args:
        keys: the mask keys, usually ``"label"``.
        tolerance: the polygon tolerance in pixels (the paper: 2 "fine", 3.5 "coarse"; its authors' code: 5, 15).
        allow_missing_keys: skip absent keys instead of raising.
    """

    backend = [TransformBackends.NUMPY, TransformBackends.TORCH]

    def __init__(self, keys: KeysCollection, tolerance: float, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        _check(np.zeros((1, 1)), tolerance)
        self.tolerance = tolerance

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        for key in self.key_iterator(d):
            value = d[key]
            array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            if array.ndim != 3:
                raise ValueError(f"key {key!r}: expected a channel-first mask (C, H, W), found shape {array.shape}.")
            styled = np.stack([polygonize_mask(channel, self.tolerance) for channel in array])
            d[key] = convert_to_dst_type(styled, value)[0]
        return d
