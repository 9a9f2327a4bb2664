"""Drawing primitives shared by the sample-data generators (``generate_*`` modules).

- :func:`smooth_noise`: Gaussian-filtered white noise (textures, illumination blotches), nD;
- :func:`wavy_ellipse_mask`: a rotated 2D ellipse with a wavy (low-order Fourier)
  outline, the nucleus shape of the microscopy, CTC and DSB generators;
- :func:`ellipsoid_distance` and :func:`ellipsoid_mask`: an axis-aligned nD ellipsoid or elliptic cylinder (organs,
  lesions, spinal cord, tumours).

The shape functions work inside the object's bounding box only and return it with the mask, so that drawing many
small objects into a large image or volume never allocates a full-size array per object. Coordinates are in pixel
(voxel) index units, scaled by ``spacing`` where given: pixel ``i`` along an axis lies at ``i * spacing``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["ellipsoid_distance", "ellipsoid_mask", "smooth_noise", "wavy_ellipse_mask"]

Box = tuple[slice, ...]


def smooth_noise(
    rng: np.random.Generator,
    shape: Sequence[int],
    sigma: float,
    unit_std: bool = True,
    mode: str = "reflect",
) -> np.ndarray:
    """Gaussian-filtered white noise of ``shape`` (any number of dimensions), float64.

    A slow field (``sigma >= 4``) is filtered on a grid coarser by ``sigma // 2`` and linearly upsampled: filtering
    at full resolution costs seconds on megapixel images, and the upsampled field is as smooth.

    Args:
        rng: the random generator (draws one standard-normal array of ``shape``, or of the coarse grid).
        shape: output shape, e.g. ``(H, W)`` or ``(X, Y, Z)``.
        sigma: filter standard deviation in pixels.
        unit_std: rescale to unit standard deviation; otherwise the field keeps the filtered noise's amplitude,
            about ``(2 * sigma * sqrt(pi)) ** (-ndim / 2)``.
        mode: boundary mode of :func:`scipy.ndimage.gaussian_filter` (``"wrap"`` gives a periodic field).

    Returns:
        the ``shape`` noise field.
    """
    shape = tuple(int(s) for s in shape)
    step = max(1, int(sigma // 2))
    if step == 1:
        field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode=mode)
    else:
        coarse = tuple(-(-s // step) + 1 for s in shape)
        field = ndimage.gaussian_filter(rng.standard_normal(coarse), sigma / step, mode=mode)
        field = ndimage.zoom(field, step, order=1)[tuple(slice(s) for s in shape)]
        field *= step ** (-len(shape) / 2)  # a coarse cell averages step**ndim fine pixels' noise
    return field / (field.std() + 1e-12) if unit_std else field


def _bounding_box(shape: Sequence[int], lo: Sequence[float], hi: Sequence[float]) -> Box:
    """Slices of the pixels ``i`` with ``lo <= i <= hi`` per axis, clipped to ``shape`` (possibly empty)."""
    box = []
    for n, a, b in zip(shape, lo, hi, strict=True):
        start = min(max(int(np.floor(a)), 0), n)
        box.append(slice(start, min(max(int(np.floor(b)) + 1, start), n)))
    return tuple(box)


def wavy_ellipse_mask(
    shape: Sequence[int],
    centre: Sequence[float],
    radii: Sequence[float],
    angle: float = 0.0,
    wobble: np.ndarray | None = None,
    margin: int = 0,
) -> tuple[Box, np.ndarray]:
    """A rotated ellipse with a wavy outline in an ``(H, W)`` image, computed in its bounding box.

    A pixel is inside where ``rho <= 1 + sum_k (a_k cos(k phi) + b_k sin(k phi))``, with ``rho`` the elliptic
    radius (1 on the plain ellipse) and ``phi`` the elliptic angle from the major axis.

    Args:
        shape: ``(H, W)`` of the image.
        centre: ``(y, x)`` in pixels (may lie partly or wholly outside the image).
        radii: ``(major, minor)`` semi-axes in pixels.
        angle: orientation of the major axis, radians (0 along x, increasing towards y).
        wobble: ``(K, 2)`` amplitudes ``(a_k, b_k)`` (fractions of the radius) of the outline harmonics
            ``k = 2..K+1``; None for a plain ellipse.
        margin: extra pixels around the shape in the box (room for a dilation).

    Returns:
        ``(box, inside)``: two slices of the image (clipped to it; empty if the shape lies outside) and the boolean
        ``inside`` mask of the box's shape.
    """
    wobble = np.zeros((0, 2)) if wobble is None else np.asarray(wobble, np.float64)
    reach = max(radii) * (1.0 + np.abs(wobble).sum()) + margin
    box = _bounding_box(shape, [c - reach for c in centre], [c + reach for c in centre])
    dy = np.arange(box[0].start, box[0].stop, dtype=np.float64)[:, None] - centre[0]
    dx = np.arange(box[1].start, box[1].stop, dtype=np.float64)[None, :] - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u = (dx * cos + dy * sin) / radii[0]  # along the major axis, in radii
    v = (dy * cos - dx * sin) / radii[1]
    rho = np.hypot(u, v)
    if not len(wobble):
        return box, rho <= 1.0
    # cos(k phi) + i sin(k phi) = ((u + i v) / rho) ** k: no trigonometric functions per pixel
    unit = (u + 1j * v) / np.where(rho > 0, rho, 1.0)
    power, outline = unit, np.ones_like(rho)
    for a, b in wobble:
        power = power * unit
        outline += a * power.real + b * power.imag
    return box, rho <= outline


def ellipsoid_distance(
    shape: Sequence[int],
    centre: Sequence[float | np.ndarray],
    radii: Sequence[float | None],
    spacing: Sequence[float] | None = None,
    reach: float = 1.0,
) -> tuple[Box, np.ndarray]:
    """Normalised squared distance ``sum_i ((x_i - c_i) / r_i) ** 2`` to an axis-aligned ellipsoid's centre.

    Computed only in the bounding box of the shell ``distance <= reach ** 2``, so ``distance <= 1`` is the
    ellipsoid, and ``1 < distance <= reach ** 2`` a shell around it.

    Args:
        shape: the array shape, any number of dimensions.
        centre: per axis, the centre (in ``spacing`` units), or an array broadcastable to ``shape`` for a centre
            that moves along other axes (e.g. ``(1, 1, Z)`` for a tube that bends along z).
        radii: per axis, the semi-axis (same units), or None for no limit along that axis (an elliptic cylinder:
            the box spans the whole axis and the distance has size 1 there, unless a centre varies along it).
        spacing: pixel size per axis (voxel ``i`` lies at ``i * spacing``); None for 1.
        reach: the box covers the ellipsoid scaled by ``reach``.

    Returns:
        ``(box, distance)``: one slice per axis (clipped to ``shape``; empty if the shell lies outside) and the
        float64 distance, of the box's shape or broadcastable to it (size 1 along unlimited axes).
    """
    ndim = len(shape)
    spacing = np.ones(ndim) if spacing is None else np.asarray(spacing, np.float64)
    centres = [np.asarray(c, np.float64) for c in centre]
    lo, hi = [], []
    for axis, (c, r, s) in enumerate(zip(centres, radii, spacing, strict=True)):
        if r is None:
            lo.append(0)
            hi.append(shape[axis] - 1)
        else:
            lo.append((c.min() - reach * r) / s)
            hi.append((c.max() + reach * r) / s)
    box = _bounding_box(shape, lo, hi)
    distance = np.zeros((1,) * ndim)
    for axis, (c, r, s, b) in enumerate(zip(centres, radii, spacing, box, strict=True)):
        if r is None:
            continue
        coords = (np.arange(b.start, b.stop) * s).reshape([-1 if i == axis else 1 for i in range(ndim)])
        if c.ndim:  # a moving centre: its values inside the box
            c = c[tuple(slice(None) if n == 1 else bb for n, bb in zip(c.shape, box, strict=True))]
        distance = distance + ((coords - c) / r) ** 2
    return box, distance


def ellipsoid_mask(
    shape: Sequence[int],
    centre: Sequence[float | np.ndarray],
    radii: Sequence[float | None],
    spacing: Sequence[float] | None = None,
) -> tuple[Box, np.ndarray]:
    """The boolean ellipsoid ``ellipsoid_distance(...) <= 1`` and its box; arguments as :func:`ellipsoid_distance`."""
    box, distance = ellipsoid_distance(shape, centre, radii, spacing)
    return box, distance <= 1.0
