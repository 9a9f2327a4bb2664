"""Generate small microscopy table datasets (read with :func:`~metaseg_monai.data.table.load_table_dataset`).

- ``cell-lines``: brightfield-like images of the Seven Cell Lines whose nuclei differ by line (:data:`LINE_PARAMS`),
  with binary nuclei masks;
- ``nuclei-anomaly``: the same images, a subset with debris/optical-defect anomalies drawn in; every image has a
  nuclei row, the subset also an anomaly row (the same image with two masks: the metadata-SE task switch);
- ``annotation-styles``: a cell-lines set whose train masks are redrawn as polygons (accurate/fine/coarse).

Layout written::

    out_dir/metadata.csv                     image,label,split,cell_line[,mask_type]
    out_dir/images/<line>_<NNN>.tif          uint16 grey TIFF, (size, size)
    out_dir/masks/<line>_<NNN>.png           uint8 PNG 0/255 (cell-lines)
    out_dir/masks/{nuclei,anomaly}/...png    (nuclei-anomaly)

Images are 16-bit TIFF, as microscope cameras write them: the low-contrast lines' nuclei differ from the background by
a few percent, which 8-bit quantisation would flatten; masks are 0/255 PNG, the usual mask convention.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from metaseg_monai.data.image_io import write_image
from metaseg_monai.sample_data.annotation_styles import ANNOTATION_TOLERANCES, write_styled_copy
from metaseg_monai.sample_data.phantoms import smooth_noise, wavy_ellipse_mask
from metaseg_monai.utils.atomic import writes_dataset
from metaseg_monai.utils.files import write_delimited

__all__ = [
    "CELL_LINES",
    "LINE_PARAMS",
    "LineParams",
    "generate_annotation_styles",
    "generate_cell_lines",
    "generate_nuclei_anomaly",
]

CELL_LINES = ("HeLa", "MDCK", "A549", "HT1080", "HepG2", "MCF7", "NIH3T3")


class LineParams(NamedTuple):
    """How one cell line's nuclei look (intensities on a 0..1 scale on which the background is about 0.5).

    radius: mean nucleus radius in pixels (area ``pi * radius**2``); elongation: major/minor axis ratio;
    density: nuclei per 10,000 pixels; contrast: nucleus minus background intensity (negative = darker, as most
    brightfield nuclei; small or positive = hard to see); texture: amplitude of granular chromatin texture;
    halo: brightness of the thin bright rim that brightfield optics draw around a nucleus.
    """

    radius: float
    elongation: float
    density: float
    contrast: float
    texture: float
    halo: float


# Illustrative values, not measured on the real lines. Knowing the line helps: nucleus size (area ratio max/min
# 3.2), shape, density and contrast all depend on it, and A549 / MCF7 nuclei are slightly brighter than the
# background (inverted), so a model must learn both polarities.
LINE_PARAMS: Mapping[str, LineParams] = MappingProxyType(
    {
        "HeLa": LineParams(radius=7.0, elongation=1.3, density=9.0, contrast=-0.22, texture=0.05, halo=0.04),
        "MDCK": LineParams(radius=5.0, elongation=1.1, density=16.0, contrast=-0.15, texture=0.03, halo=0.02),
        "A549": LineParams(radius=8.0, elongation=1.4, density=6.0, contrast=0.07, texture=0.06, halo=0.06),
        "HT1080": LineParams(radius=6.0, elongation=2.2, density=8.0, contrast=-0.10, texture=0.04, halo=0.05),
        "HepG2": LineParams(radius=5.5, elongation=1.2, density=14.0, contrast=-0.30, texture=0.08, halo=0.0),
        "MCF7": LineParams(radius=6.5, elongation=1.15, density=11.0, contrast=0.05, texture=0.03, halo=0.03),
        "NIH3T3": LineParams(radius=9.0, elongation=1.8, density=4.0, contrast=-0.07, texture=0.10, halo=0.05),
    }
)


def _nucleus(rng: np.random.Generator, p: LineParams) -> tuple[tuple[float, float], float, np.ndarray]:
    """Random nucleus shape: ``(radii, angle, wobble)`` for
    :func:`~metaseg_monai.sample_data.phantoms.wavy_ellipse_mask`."""
    r = p.radius * rng.uniform(0.85, 1.15)
    radii = (r * np.sqrt(p.elongation), r / np.sqrt(p.elongation))
    angle = float(rng.uniform(0, np.pi))
    # slightly irregular outline: harmonics 2-4, each ``amplitude * cos(k phi + phase)`` as (cos, sin) coefficients
    amplitude, phase = np.array([(rng.normal(0, 0.04), rng.uniform(0, 2 * np.pi)) for _ in range(3)]).T
    return radii, angle, amplitude[:, None] * np.stack([np.cos(phase), -np.sin(phase)], axis=1)


def _cell_image(rng: np.random.Generator, p: LineParams, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One brightfield-like image (float, about 0..1) and its nuclei mask (bool); nuclei never touch."""
    mask = np.zeros((size, size), bool)
    count = max(1, round(p.density * size * size / 1e4 * rng.uniform(0.8, 1.2)))
    for _ in range(count):
        for _ in range(30):  # rejection sampling; a crowded image gets fewer nuclei
            radii, angle, wobble = _nucleus(rng, p)
            half = int(np.ceil(radii[0] * 1.2)) + 1  # the nucleus lies inside the image, 1 pixel from its border
            if 2 * half + 3 >= size:
                break
            centre = rng.integers(1 + half, size - 1 - half, size=2)
            box, inside = wavy_ellipse_mask(mask.shape, centre, radii, angle, wobble, margin=2)
            window = mask[box]
            if not (window.any() and (ndimage.binary_dilation(inside, iterations=2) & window).any()):
                window |= inside
                break
    # uneven illumination (vignette-like gradient and slow blotches) on a fine-grained textured background
    yy, xx = np.mgrid[:size, :size] / size
    g = rng.normal(0, 0.08, 2)
    image = 0.5 + g[0] * (yy - 0.5) + g[1] * (xx - 0.5) + 0.04 * smooth_noise(rng, (size, size), size / 6, mode="wrap")
    image += 0.02 * smooth_noise(rng, (size, size), 1.5, mode="wrap")
    soft = ndimage.gaussian_filter(mask.astype(np.float64), 0.8)
    rim = ndimage.binary_dilation(mask, iterations=2) & ~mask
    image += p.contrast * soft + p.texture * soft * smooth_noise(rng, (size, size), 1.0, mode="wrap")
    image += p.halo * ndimage.gaussian_filter(rim.astype(np.float64), 0.7)
    image += rng.normal(0, 0.015, (size, size))  # camera noise
    return image, mask


def _add_anomalies(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Draw 1-3 debris blobs, scratches or out-of-focus rings into ``image`` (in place); return their mask."""
    size = image.shape[0]
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    anomaly = np.zeros((size, size), bool)
    for kind in rng.choice(["blob", "streak", "ring"], size=rng.integers(1, 4)):
        cy, cx = rng.uniform(0.15, 0.85, 2) * size
        if kind == "blob":  # dark, irregular debris
            radius = rng.uniform(4, 9)
            region = np.hypot(yy - cy, xx - cx) + 2.0 * smooth_noise(rng, (size, size), 2.0, mode="wrap") <= radius
            image -= 0.35 * ndimage.gaussian_filter(region.astype(np.float64), 1.0)
        elif kind == "streak":  # a thin bright scratch across part of the field
            angle, length = rng.uniform(0, np.pi), rng.uniform(0.4, 0.9) * size
            along = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
            across = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
            region = (np.abs(across) <= rng.uniform(0.8, 1.8)) & (np.abs(along) <= length / 2)
            image += 0.3 * ndimage.gaussian_filter(region.astype(np.float64), 0.5)
        else:  # out-of-focus dust: concentric bright/dark rings that fade outwards
            radius = rng.uniform(8, 14)
            dist = np.hypot(yy - cy, xx - cx)
            region = dist <= radius
            image += region * 0.15 * np.cos(dist * 2 * np.pi / 4.0) * (1 - 0.5 * dist / radius)
        anomaly |= region
    return anomaly


def _split_of(index: int, n: int, splits: Sequence[float]) -> str:
    """Split of the ``index``-th of ``n`` images of a line: the first ``round(n * train)`` train, then val, test."""
    if len(splits) != 3 or min(splits) < 0 or not np.isclose(sum(splits), 1.0):
        raise ValueError(f"splits must be three fractions (train, val, test) >= 0 summing to 1, found {splits}.")
    n_train = int(np.floor(n * splits[0] + 0.5))
    n_val = int(np.floor(n * splits[1] + 0.5))
    return "train" if index < n_train else "val" if index < n_train + n_val else "test"


def _generate(
    out_dir: str | Path,
    seed: int,
    images_per_line: int,
    size: int,
    splits: Sequence[float],
    anomaly_fraction: float | None = None,
) -> Path:
    """Write the cell-lines layout, or with ``anomaly_fraction`` the nuclei-anomaly layout."""
    if images_per_line < 1 or size < 32:
        raise ValueError(f"need images_per_line >= 1 and size >= 32, found {images_per_line} and {size}.")
    _split_of(0, images_per_line, splits)  # check the fractions before anything is written
    root = Path(out_dir)
    rows = []
    for li, line in enumerate(CELL_LINES):
        # a seeded generator per image: an image does not depend on how many others are made
        chosen = np.random.default_rng([seed, li, 1_000_000]).permutation(images_per_line)
        with_anomaly = set(chosen[: int(np.floor(images_per_line * (anomaly_fraction or 0) + 0.5))].tolist())
        for i in range(images_per_line):
            rng = np.random.default_rng([seed, li, i])
            image, nuclei = _cell_image(rng, LINE_PARAMS[line], size)
            name, split = f"{line}_{i:03d}", _split_of(i, images_per_line, splits)
            masks = {"nuclei": nuclei}
            if i in with_anomaly:
                masks["anomaly"] = _add_anomalies(np.random.default_rng([seed, li, i, 1]), image)
            write_image(root / "images" / f"{name}.tif", np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16))
            for mask_type, mask in masks.items():
                rel = f"masks/{name}.png" if anomaly_fraction is None else f"masks/{mask_type}/{name}.png"
                write_image(root / rel, mask.astype(np.uint8) * 255)
                rows.append(
                    [f"images/{name}.tif", rel, split, line] + ([mask_type] if anomaly_fraction is not None else [])
                )
    header = ["image", "label", "split", "cell_line"] + (["mask_type"] if anomaly_fraction is not None else [])
    write_delimited(root / "metadata.csv", header, rows)  # written last: an interrupted run leaves no table
    return root


@writes_dataset()
def generate_cell_lines(
    out_dir: str | Path,
    seed: int = 0,
    images_per_line: int = 4,
    size: int = 96,
    splits: Sequence[float] = (0.5, 0.25, 0.25),
) -> Path:
    """Write a Seven Cell Lines-like table dataset (``images_per_line`` images of ``size x size`` per line).

    Each line's images are split in order: ``round(n * splits[0])`` train, ``round(n * splits[1])`` val, the rest
    test. Returns the dataset root (``out_dir``), which must be new or empty.
    """
    return _generate(out_dir, seed, images_per_line, size, splits)


@writes_dataset()
def generate_nuclei_anomaly(
    out_dir: str | Path,
    seed: int = 0,
    images_per_line: int = 4,
    size: int = 96,
    anomaly_fraction: float = 0.5,
) -> Path:
    """Write the nuclei/anomaly task-switch dataset: ``metadata.csv`` with ``cell_line`` and ``mask_type``.

    Every image has a ``mask_type=nuclei`` row; ``round(anomaly_fraction * images_per_line)`` images per line (chosen
    by seed) also carry debris/scratch/out-of-focus anomalies and a ``mask_type=anomaly`` row with the anomaly mask.
    Both rows of an image share its split. Without anomalies an image equals the cell-lines image of the same seed.
    """
    if not 0 <= anomaly_fraction <= 1:
        raise ValueError(f"anomaly_fraction must be in [0, 1], found {anomaly_fraction}.")
    return _generate(out_dir, seed, images_per_line, size, (0.5, 0.25, 0.25), anomaly_fraction)


@writes_dataset()
def generate_annotation_styles(
    out_dir: str | Path,
    seed: int = 0,
    images_per_line: int = 6,
    size: int = 96,
    tolerances: Mapping[str, float] = ANNOTATION_TOLERANCES,
) -> Path:
    """Write a cell-lines dataset whose train masks are restyled into equal thirds accurate/fine/coarse.

    Generates :func:`generate_cell_lines` into a temporary folder and styles it into ``out_dir`` with
    :func:`~metaseg_monai.sample_data.annotation_styles.write_styled_copy` (val and test stay accurate).
    """
    with tempfile.TemporaryDirectory(prefix="metaseg_cell_lines_") as tmp:
        src = generate_cell_lines(Path(tmp) / "cell_lines", seed, images_per_line, size)
        return write_styled_copy(src, out_dir, tolerances, seed)
