"""Sample-data generators for the nuclei datasets of the temporal-consistency paper: a CTC sequence and DSB 2018.

* :func:`generate_ctc` writes a Cell Tracking Challenge sequence (read by :func:`~metaseg_monai.data.ctc.
  load_ctc_sequence`): nuclei that drift with momentum, sometimes divide into two daughters and sometimes "blink"
  (their intensity dips for one frame), with silver masks for every frame and gold masks for a few.
* :func:`generate_dsb` writes a DSB 2018 stage (read by :func:`~metaseg_monai.data.dsb.load_dsb2018`): RGBA images of
  varying size, alternately fluorescence-like (grey) and H&E-like (pink background, purple nuclei), one mask per
  nucleus.

Both draw nuclei with :func:`draw_nucleus`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from metaseg_monai.data.image_io import write_image
from metaseg_monai.sample_data.phantoms import smooth_noise, wavy_ellipse_mask
from metaseg_monai.utils.atomic import writes_dataset

__all__ = ["draw_nucleus", "generate_ctc", "generate_dsb", "generate_video_nuclei"]


def draw_nucleus(
    labels: np.ndarray,
    centre: tuple[float, float],
    radii: tuple[float, float],
    angle: float,
    label_id: int,
    wobble: np.ndarray | None = None,
    exclusive: bool = False,
) -> int:
    """Draw one nucleus (:func:`~metaseg_monai.sample_data.phantoms.wavy_ellipse_mask`) into the instance map
    ``labels``.

    Written in place; only background pixels (0) are written, so instances never overlap.

    Args:
        labels: ``(H, W)`` integer instance map.
        centre: ``(y, x)`` in pixels (may lie partly outside the image).
        radii: ``(major, minor)`` semi-axes in pixels.
        angle: orientation of the major axis, radians.
        label_id: the id written (> 0).
        wobble: ``(K, 2)`` amplitudes (fraction of the radius) of the cos/sin outline harmonics 2..K+1; None for a
            plain ellipse.
        exclusive: draw nothing and return 0 if the nucleus would touch another instance.

    Returns:
        the number of pixels written: 0 if the nucleus lies outside the image, is hidden by other instances, or
        (``exclusive``) would touch one.
    """
    box, inside = wavy_ellipse_mask(labels.shape, centre, radii, angle, wobble, margin=1)
    window = labels[box]
    if exclusive and (window[ndimage.binary_dilation(inside)] != 0).any():  # keep a 1-pixel gap
        return 0
    inside &= window == 0
    window[inside] = label_id
    return int(inside.sum())


def _wobble(rng: np.random.Generator, amount: float = 0.06) -> np.ndarray:
    """Random outline harmonics 2-4 of a nucleus: ``(3, 2)`` cos/sin amplitudes."""
    return rng.normal(0.0, amount, size=(3, 2))


@dataclass
class _Cell:
    id: int
    pos: np.ndarray  # (y, x)
    vel: np.ndarray
    radii: tuple[float, float]
    angle: float
    brightness: float
    wobble: np.ndarray
    age: int = 0


def _new_cell(rng: np.random.Generator, cell_id: int, pos: np.ndarray, radius: float) -> _Cell:
    return _Cell(
        id=cell_id,
        pos=np.asarray(pos, dtype=float),
        vel=rng.normal(0.0, 0.8, size=2),
        radii=(radius * rng.uniform(1.0, 1.35), radius * rng.uniform(0.8, 1.0)),
        angle=float(rng.uniform(0, np.pi)),
        brightness=float(rng.uniform(0.7, 1.0)),
        wobble=_wobble(rng),
    )


@writes_dataset()
def generate_ctc(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_frames: int = 12,
    size: tuple[int, int] = (96, 128),
    num_cells: int = 8,
    gold_frames: Sequence[int] | None = None,
    sequence: str = "01",
) -> Path:
    """Write one CTC sequence of moving, dividing and blinking nuclei; returns ``out_dir`` (the dataset root).

    Files: ``<sequence>/tNNN.tif`` (uint16 frames), ``<sequence>_ST/SEG/man_segNNN.tif`` (uint16 silver instance
    maps, every frame; each object randomly one pixel smaller or larger than the truth, as an algorithm's output),
    ``<sequence>_GT/SEG/man_segNNN.tif`` (the exact instance maps of ``gold_frames``). NNN has 3 digits, 4 when
    ``num_frames > 1000`` (at most 10000 frames). A cell keeps its id while it lives; a division ends it and starts
    two new ids.

    Args:
        out_dir: a new or empty folder.
        seed: random seed; the same seed writes the same files.
        num_frames: frames in the sequence (>= 2).
        size: ``(H, W)`` of the frames (each >= 32).
        num_cells: nuclei in the first frame; divisions add more (at most ``3 * num_cells``).
        gold_frames: the frames that get gold masks (each in ``[0, num_frames)``); None for every fifth frame,
            ``(0, 5, 10)`` with the default 12 frames.
        sequence: the sequence folder name.
    """
    height, width = (int(s) for s in size)
    if not 2 <= num_frames <= 10000 or height < 32 or width < 32 or num_cells < 1:
        raise ValueError(
            f"need 2 <= num_frames <= 10000, size >= 32, num_cells >= 1; got {num_frames}, {size}, {num_cells}."
        )
    gold_frames = set(range(0, num_frames, 5) if gold_frames is None else gold_frames)  # a generator is read once
    bad = [f for f in gold_frames if not 0 <= f < num_frames]
    if bad:
        raise ValueError(f"gold_frames {bad} are outside the sequence's frames 0..{num_frames - 1}.")
    root = Path(out_dir)
    rng = np.random.default_rng(seed)
    digits = 3 if num_frames <= 1000 else 4
    radius = max(3.0, 0.045 * min(height, width))
    margin = 1.5 * radius
    cells = [
        _new_cell(rng, i + 1, rng.uniform((margin, margin), (height - margin, width - margin)), radius)
        for i in range(num_cells)
    ]
    next_id = num_cells + 1
    yy, xx = np.mgrid[:height, :width]
    # slowly varying illumination, fixed for the sequence
    shading = 1.0 + 0.15 * np.sin(yy / height * np.pi) * np.cos(xx / width * np.pi)
    for t in range(num_frames):
        if t > 0:
            born = []
            for cell in cells:
                cell.age += 1
                crowded = len(cells) + len(born) >= 3 * num_cells or next_id + 2 > np.iinfo(np.uint16).max
                if cell.age > 3 and not crowded and rng.random() < 0.08:
                    # division: two smaller daughters either side of the mother along her major axis
                    axis = np.array([np.sin(cell.angle), np.cos(cell.angle)])
                    for sign in (-1.0, 1.0):
                        daughter = _new_cell(rng, next_id, cell.pos + sign * 0.6 * cell.radii[0] * axis, radius * 0.8)
                        daughter.vel = cell.vel + sign * 0.8 * axis
                        born.append(daughter)
                        next_id += 1
                    cell.age = -1  # marks the mother as gone
            cells = [c for c in cells if c.age >= 0] + born
            for cell in cells:
                cell.vel = 0.85 * cell.vel + rng.normal(0.0, 0.5, size=2)
                cell.pos = cell.pos + cell.vel
                cell.angle += float(rng.normal(0.0, 0.05))
                for axis, limit in ((0, height), (1, width)):  # bounce off the borders
                    if not margin <= cell.pos[axis] <= limit - margin:
                        cell.pos[axis] = np.clip(cell.pos[axis], margin, limit - margin)
                        cell.vel[axis] *= -1
            _push_apart(cells)
        labels = np.zeros((height, width), dtype=np.uint16)
        brightness = np.zeros(next_id, dtype=np.float64)  # indexed by id; 0 for the background
        for cell in cells:
            if draw_nucleus(labels, tuple(cell.pos), cell.radii, cell.angle, cell.id, cell.wobble):
                blink = 0.3 if rng.random() < 0.07 else 1.0
                brightness[cell.id] = cell.brightness * blink
        signal = brightness[labels]
        texture = smooth_noise(rng, (height, width), 1.5, unit_std=False)
        image = ndimage.gaussian_filter(signal, 1.0) * (1.0 + 0.25 * texture) * shading
        image = 400 + 2500 * image + rng.normal(0, 60, (height, width))
        name = f"{t:0{digits}d}"
        write_image(root / sequence / f"t{name}.tif", np.clip(image, 0, 65535).astype(np.uint16))
        write_image(root / f"{sequence}_ST" / "SEG" / f"man_seg{name}.tif", _silver(labels, rng))
        if t in gold_frames:
            write_image(root / f"{sequence}_GT" / "SEG" / f"man_seg{name}.tif", labels)
    return root


def _push_apart(cells: list[_Cell], rounds: int = 3) -> None:
    """Move overlapping cells apart (each by half the overlap, all pairs at once) so that few hide each other."""
    size = np.array([max(c.radii) for c in cells])
    need = 0.9 * (size[:, None] + size[None, :])
    for _ in range(rounds):
        pos = np.stack([c.pos for c in cells])
        gap = pos[:, None, :] - pos[None, :, :]
        dist = np.hypot(gap[..., 0], gap[..., 1]) + 1e-6
        overlap = np.clip(need - dist, 0.0, None)
        np.fill_diagonal(overlap, 0.0)
        shift = (gap / dist[..., None] * overlap[..., None] / 2).sum(axis=1)
        for cell, delta in zip(cells, shift, strict=True):
            cell.pos = cell.pos + delta


def _silver(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The instance map with each object randomly eroded or dilated by one pixel (into background only)."""
    silver = labels.copy()
    for obj, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        # a one-pixel margin around the object's box, so that dilation can grow into it
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        mask, out = labels[box] == obj, silver[box]
        change = rng.integers(-1, 2)
        if change < 0:
            eroded = ndimage.binary_erosion(mask)
            if eroded.any():
                out[mask & ~eroded] = 0
        elif change > 0:
            out[ndimage.binary_dilation(mask) & (out == 0) & (labels[box] == 0)] = obj
    return silver


def _hex_id(rng: np.random.Generator) -> str:
    # DSB ids are 64 hex characters (sha256 digests)
    return hashlib.sha256(rng.bytes(16)).hexdigest()


@writes_dataset()
def generate_dsb(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_images: int = 6,
    size_range: tuple[int, int] = (64, 128),
    stage: str = "stage1_train",
    modality: str = "mixed",
) -> Path:
    """Write a DSB 2018 stage of ``num_images`` samples; returns ``out_dir`` (the root holding ``stage``).

    Image heights and widths are drawn independently from ``size_range``. Even-numbered samples look like grey
    fluorescence (bright nuclei on black, R = G = B), odd ones like H&E (purple nuclei on pink); all are RGBA with an
    opaque alpha. Every nucleus has its own 0/255 mask PNG; masks never overlap.

    Args:
        out_dir: a new or empty folder.
        seed: random seed; the same seed writes the same files.
        num_images: samples to write (>= 1).
        size_range: ``(min, max)`` image side in pixels (min >= 32).
        stage: the stage folder name.
        modality: ``"mixed"`` (the above), or ``"fluorescence"``: every image grey fluorescence, as the subset of
            DSB 2018 that StarDist trains on (and the video bundle's stills).
    """
    low, high = (int(s) for s in size_range)
    if modality not in ("mixed", "fluorescence"):
        raise ValueError(f"modality must be 'mixed' or 'fluorescence', got {modality!r}.")
    if num_images < 1 or low < 32 or high < low:
        raise ValueError(f"need num_images >= 1 and 32 <= min <= max size, got {num_images} and {size_range}.")
    root = Path(out_dir)
    rng = np.random.default_rng(seed)
    for index in range(num_images):
        height, width = (int(s) for s in rng.integers(low, high + 1, size=2))
        image_id = _hex_id(rng)
        labels = np.zeros((height, width), dtype=np.int32)
        radius = rng.uniform(4.0, 7.0)
        wanted = max(2, int(height * width / (np.pi * radius**2) * rng.uniform(0.15, 0.3)))
        count = 0
        for _ in range(wanted * 20):
            if count == wanted:
                break
            centre = (rng.uniform(0, height), rng.uniform(0, width))
            r = radius * rng.uniform(0.8, 1.25)
            radii = (r * rng.uniform(1.0, 1.3), r * rng.uniform(0.85, 1.0))
            angle, wobble = rng.uniform(0, np.pi), _wobble(rng)
            if draw_nucleus(labels, centre, radii, angle, count + 1, wobble, exclusive=True):
                count += 1
        nuclei = ndimage.gaussian_filter((labels > 0).astype(float), 0.8)
        noise = rng.normal(0, 1, (height, width))
        if index % 2 == 0 or modality == "fluorescence":  # fluorescence: bright nuclei on a dark background, grey
            texture = smooth_noise(rng, (height, width), 1.0, unit_std=False)
            grey = 10 + 200 * nuclei * (1 + 0.15 * texture) + 4 * noise
            rgb = np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=-1)
        else:  # H&E: pink eosin background, purple haematoxylin nuclei
            background, nucleus = np.array([235.0, 180.0, 210.0]), np.array([95.0, 60.0, 150.0])
            rgb = background + (nucleus - background) * nuclei[..., None] + 6 * noise[..., None]
        rgba = np.concatenate([np.clip(rgb, 0, 255), np.full((height, width, 1), 255.0)], axis=-1).astype(np.uint8)
        sample = root / stage / image_id
        write_image(sample / "images" / f"{image_id}.png", rgba)
        for k in range(1, count + 1):
            write_image(sample / "masks" / f"{_hex_id(rng)}.png", ((labels == k) * 255).astype(np.uint8))
    return root


@writes_dataset()
def generate_video_nuclei(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_stills: int = 40,
    num_frames: int = 30,
    size: tuple[int, int] = (96, 128),
    num_cells: int = 10,
    sequences: Sequence[str] = ("01", "02"),
) -> Path:
    """Write the Siamese-consistency experiment's two datasets side by side; returns ``out_dir``.

    ``out_dir/dsb2018/stage1_train/``: ``num_stills`` labelled fluorescence stills in the DSB 2018 layout
    (:func:`generate_dsb`, ``modality="fluorescence"``). ``out_dir/ctc/<sequence>/`` with ``<sequence>_GT`` and
    ``<sequence>_ST``: unlabelled-for-training videos in the Cell Tracking Challenge layout (:func:`generate_ctc`),
    whose moving, dividing and blinking (briefly dim) nuclei make a per-frame network flicker; their gold masks
    (every fifth frame) and silver masks are for evaluation only.
    """
    root = Path(out_dir)
    stills_seed, *video_seeds = (
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(1 + len(sequences))
    )
    # the undecorated writers: this function's own staging folder already makes the whole dataset atomic
    generate_dsb.__wrapped__(root / "dsb2018", stills_seed, num_stills, (64, 128), modality="fluorescence")
    for sequence, video_seed in zip(sequences, video_seeds, strict=True):
        generate_ctc.__wrapped__(root / "ctc", video_seed, num_frames, size, num_cells, None, sequence)
    return root
