"""In-memory "task switch" samples in which the metadata alone decides the target.

Each image holds disks and squares of similar area and identical intensity. Every image appears twice, once with
``target_shape="disk"`` (the label marks the disks) and once with ``target_shape="square"``. A network without the
metadata cannot know which shapes to draw, so the best it can do is to mark all of them (pixel F1 about 2/3); a
network that reads the metadata can reach F1 near 1. This is the smallest form of the metadata-SE paper's
nuclei/anomaly task switch, used by the tests and ``metaseg demo``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHAPE_SWITCH_FIELDS", "make_shape_switch_samples"]

SHAPE_SWITCH_FIELDS = [{"name": "target_shape", "type": "categorical", "categories": ["disk", "square"]}]


def _place(rng: np.random.Generator, occupied: np.ndarray, radius: float, size: int) -> tuple[int, int] | None:
    """A centre whose (radius + 2)-box does not touch ``occupied``; None after 50 tries."""
    r = int(np.ceil(radius)) + 2
    for _ in range(50):
        cy, cx = rng.integers(r, size - r, size=2)
        if not occupied[cy - r : cy + r + 1, cx - r : cx + r + 1].any():
            occupied[cy - r : cy + r + 1, cx - r : cx + r + 1] = True
            return int(cy), int(cx)
    return None


def make_shape_switch_samples(
    num_images: int,
    image_size: int = 48,
    shapes_per_kind: int = 2,
    radius_range: tuple[float, float] = (4.0, 7.0),
    noise: float = 0.08,
    seed: int = 0,
) -> list[dict]:
    """Generate ``2 * num_images`` samples: each image with each value of ``target_shape``.

    Args:
        num_images: distinct images.
        image_size: side of the square images.
        shapes_per_kind: disks and squares per image (fewer if they do not fit).
        radius_range: disk radius range in pixels; squares get the same area.
        noise: standard deviation of the Gaussian background noise.
        seed: the random seed; the same seed gives the same samples.

    Returns:
        a list of dicts ``{"image": (1, H, W) float32, "label": (1, H, W) float32, "target_shape": str,
        "image_id": str}``, ordered image by image (disk target first).
    """
    if num_images < 1 or image_size < 16:
        raise ValueError(f"need num_images >= 1 and image_size >= 16, got {num_images} and {image_size}.")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:image_size, :image_size]
    samples = []
    for index in range(num_images):
        masks = {"disk": np.zeros((image_size, image_size), bool), "square": np.zeros((image_size, image_size), bool)}
        occupied = np.zeros((image_size, image_size), bool)
        for _ in range(shapes_per_kind):
            for kind in ("disk", "square"):
                radius = rng.uniform(*radius_range)
                centre = _place(rng, occupied, radius, image_size)
                if centre is None:
                    continue
                cy, cx = centre
                if kind == "disk":
                    masks[kind] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
                else:
                    half = radius * np.sqrt(np.pi) / 2  # same area as the disk
                    masks[kind] |= (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
        image = 0.2 + 0.6 * (masks["disk"] | masks["square"]) + rng.normal(0.0, noise, (image_size, image_size))
        image = image[None].astype(np.float32)
        for kind in ("disk", "square"):
            samples.append(
                {
                    "image": image,
                    "label": masks[kind][None].astype(np.float32),
                    "target_shape": kind,
                    "image_id": f"shape_switch_{index:04d}",
                }
            )
    return samples
