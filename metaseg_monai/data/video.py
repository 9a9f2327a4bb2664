"""Read a video for inference: a folder of frame images, or a multi-page TIFF (one page a frame)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from metaseg_monai.data.image_io import IMAGE_SUFFIXES, read_image
from metaseg_monai.utils.colour import grey_channel
from metaseg_monai.utils.sorting import natural_key

__all__ = ["load_video_frames"]

_TIFF = (".tif", ".tiff")


def _grey(frame: np.ndarray, where: str) -> np.ndarray:
    """(H, W) or (H, W, C<=4) as (1, H, W) float32; colour frames averaged over R, G, B (alpha dropped)."""
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3:
        raise ValueError(f"{where}: a frame must be 2D grey or RGB(A), found shape {frame.shape}.")
    return np.moveaxis(grey_channel(frame, -1, where), -1, 0)


def _tiff_frames(tif) -> list[np.ndarray]:
    """The 2D (or colour, samples axis S) frames of a TIFF: every index of the leading axes (T, Z, Q, ...) of its one
    series (an ImageJ or tifffile stack), or each page when the pages form several series."""
    if len(tif.series) != 1:
        return [page.asarray() for page in tif.pages]
    series = tif.series[0]
    data, axes = series.asarray(), series.axes
    unknown = sorted(set(axes) - set("TZQIYXS"))
    if unknown:
        raise ValueError(
            f"the TIFF's axes are {axes!r}; frames are read along T/Z/Q/I only, so {unknown} (e.g. a channel axis C) "
            "is ambiguous: save one channel per file."
        )
    spatial = 2
    if "S" in axes:  # colour samples, interleaved (..YXS) or planar (..SYX): make them the last axis
        data, spatial = np.moveaxis(data, axes.index("S"), -1), 3
    return list(data.reshape(-1, *data.shape[data.ndim - spatial :]))


def load_video_frames(path: str | os.PathLike) -> list[dict]:
    """The frames of a video, in time order, as datalist entries with the image already read.

    Args:
        path: a folder of single-frame images (PNG/TIFF, ordered by natural sort of their names: ``t2`` before
            ``t10``, as the Cell Tracking Challenge's ``tNNN.tif``), or one multi-page TIFF whose pages are the
            frames (a single-page TIFF is a one-frame video).

    Returns:
        ``[{"image": (1, H, W) float32, "frame": t, "video": name, "source": file}, ...]``; ``name`` is the folder's
        or the TIFF's stem.

    Raises:
        FileNotFoundError: ``path`` does not exist, or a folder holds no frame image. ValueError: a file cannot be
        read, or frames differ in shape (both named).
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"video '{root}' not found: give a folder of frames or a multi-page TIFF.")
    if root.is_dir():
        files = sorted(
            (p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
            key=lambda p: natural_key(p.name),
        )
        if not files:
            raise FileNotFoundError(f"video folder '{root}' holds no frame images ({', '.join(IMAGE_SUFFIXES)}).")
        frames = [(_grey(read_image(f, f"frame of video '{root}'"), str(f)), str(f)) for f in files]
        name = root.name
    elif root.suffix.lower() in _TIFF:
        import tifffile

        try:
            with tifffile.TiffFile(root) as tif:
                pages = _tiff_frames(tif)
        except Exception as err:  # tifffile raises many types; all mean "unreadable"
            raise ValueError(f"cannot read video '{root}': {type(err).__name__}: {err}") from err
        frames = [(_grey(p, f"'{root}' page {i}"), f"{root}#page{i}") for i, p in enumerate(pages)]
        name = root.stem
    else:
        raise ValueError(f"video '{root}': expected a folder of frames or a .tif/.tiff file, found '{root.suffix}'.")
    first_shape, first_source = frames[0][0].shape, frames[0][1]
    for image, source in frames[1:]:
        if image.shape != first_shape:
            raise ValueError(
                f"video '{root}': frames differ in shape, {first_source} is {first_shape[1:]} and {source} is "
                f"{image.shape[1:]}."
            )
    return [{"image": image, "frame": t, "video": name, "source": source} for t, (image, source) in enumerate(frames)]
