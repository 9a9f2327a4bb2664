"""Read a Cell Tracking Challenge (CTC) 2D sequence, and list its consecutive frame pairs.

Layout (e.g. ``Fluo-N2DL-HeLa/``, 92 frames of 700x1100 per sequence)::

    root/01/t000.tif ... t091.tif          frames: single-page 16-bit TIFF, 3 digits (4 for sequences >= 1000 frames)
    root/01_GT/SEG/man_seg013.tif ...      gold-truth instance labels (0 background, k object), a few frames only
    root/01_ST/SEG/man_seg000.tif ...      silver-truth instance labels, (nearly) every frame
    root/02/, root/02_GT/, root/02_ST/     the second sequence, likewise

An image and its label are matched by the number in their file names (``t013.tif`` and ``man_seg013.tif``, also
``t0013.tif``). Any other ``.tif`` in these folders (e.g. 3D datasets' slice annotations ``man_seg_013_042.tif``) is
an error, not skipped. ``TRA/`` tracking annotations are not read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from metaseg_monai.data.image_io import check_same_shape, read_image
from metaseg_monai.utils.checks import is_int_at_least

__all__ = ["CTC_TRUTHS", "consecutive_frame_pairs", "ctc_frames", "load_ctc_sequence"]

CTC_TRUTHS = ("GT", "ST")
_FRAME = re.compile(r"t(\d{3,4})\.tiff?")
_LABEL = re.compile(r"man_seg(\d{3,4})\.tiff?")


def _numbered(folder: Path, pattern: re.Pattern, expected: str) -> dict[int, Path]:
    """``{number: file}`` of the TIFFs in ``folder``; error on a TIFF not matching ``pattern`` or a repeated number."""
    if not folder.is_dir():
        raise FileNotFoundError(f"CTC folder '{folder}' not found.")
    files: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in (".tif", ".tiff"):
            continue  # hidden files, man_track.txt and the like
        match = pattern.fullmatch(path.name)
        if match is None:
            raise ValueError(f"unexpected file '{path}': CTC names in '{folder}' look like '{expected}'.")
        number = int(match.group(1))
        if number in files:
            raise ValueError(f"'{path}' and '{files[number]}' both have frame number {number} in '{folder}'.")
        files[number] = path
    return files


def ctc_frames(root: str | os.PathLike, sequence: str = "01") -> dict[int, Path]:
    """``{frame number: image path}`` of ``root/<sequence>/tNNN.tif``, sorted by frame; error if there are none."""
    folder = Path(root) / sequence
    frames = _numbered(folder, _FRAME, "t000.tif")
    if not frames:
        raise FileNotFoundError(f"CTC sequence folder '{folder}' has no frames 'tNNN.tif'.")
    return dict(sorted(frames.items()))


def load_ctc_sequence(
    root: str | os.PathLike,
    sequence: str = "01",
    truth: str = "GT",
    require_label: bool = True,
    check_files: bool = True,
) -> list[dict]:
    """Build a MONAI datalist of one CTC sequence, sorted by frame.

    Args:
        root: the dataset folder holding ``01/``, ``01_GT/``, ``01_ST/``.
        sequence: the sequence name, ``"01"`` or ``"02"``.
        truth: ``"GT"`` (gold, few frames) or ``"ST"`` (silver, all frames).
        require_label: True returns only the frames that have a label; False returns every frame, those without
            a label lacking the ``label`` key.
        check_files: read every frame and label to check that they load, are 2D, and have the same shape.

    Returns:
        ``[{"image": ".../01/t013.tif", "label": ".../01_GT/SEG/man_seg013.tif", "frame": 13, "sequence": "01"},
        ...]``.

    Raises:
        FileNotFoundError: a missing sequence or ``<sequence>_<truth>/SEG`` folder, or no frames / no labels.
        ValueError: an unknown ``truth``, a misnamed file, a label without a frame, or a shape mismatch.
    """
    if truth not in CTC_TRUTHS:
        raise ValueError(f"truth must be one of {CTC_TRUTHS}, got {truth!r}.")
    frames = ctc_frames(root, sequence)
    label_folder = Path(root) / f"{sequence}_{truth}" / "SEG"
    labels = _numbered(label_folder, _LABEL, "man_seg000.tif")
    if not labels:
        raise FileNotFoundError(f"CTC label folder '{label_folder}' has no labels 'man_segNNN.tif'.")
    orphans = sorted(set(labels) - set(frames))
    if orphans:
        raise ValueError(
            f"label(s) {[labels[n].name for n in orphans]} in '{label_folder}' have no frame in "
            f"'{Path(root) / sequence}' (frames {min(frames)}..{max(frames)})."
        )
    datalist = []
    for number, image in frames.items():
        label = labels.get(number)
        if label is None and require_label:
            continue
        item = {"image": str(image), "frame": number, "sequence": sequence}
        if check_files:
            image_array = read_image(image, f"CTC frame {number}")
            if image_array.ndim != 2:
                raise ValueError(f"CTC frame '{image}' must be a 2D single-page image, found {image_array.shape}.")
        if label is not None:
            item["label"] = str(label)
            if check_files:
                label_array = read_image(label, f"label of CTC frame '{image}'")
                if label_array.dtype.kind not in "ui":
                    raise ValueError(f"CTC label '{label}' must hold integer ids, found dtype {label_array.dtype}.")
                check_same_shape(image_array.shape, label_array.shape, image, label)
        datalist.append(item)
    return datalist


def consecutive_frame_pairs(root: str | os.PathLike, sequence: str = "01", step: int = 1) -> list[dict]:
    """The pairs of frames ``t`` and ``t + step`` of a CTC sequence, for a temporal-consistency loss (no labels).

    Load both keys with one ``LoadImaged(keys=["image_t", "image_t1"])`` and augment them with dictionary
    transforms on both keys, which apply the same random draw to each.

    Returns:
        ``[{"image_t": ".../t000.tif", "image_t1": ".../t001.tif", "frame": 0, "sequence": "01"}, ...]``, one per
        frame that has a successor ``step`` frames later (``num_frames - step`` pairs).

    Raises:
        FileNotFoundError: a missing sequence folder. ValueError: ``step < 1``, fewer than ``step + 1`` frames, or
        gaps in the frame numbers (listed).
    """
    if not is_int_at_least(step, 1):
        raise ValueError(f"step must be an integer >= 1, got {step!r}.")
    frames = ctc_frames(root, sequence)
    folder = Path(root) / sequence
    if len(frames) < step + 1:
        raise ValueError(f"CTC sequence '{folder}' has {len(frames)} frame(s); pairs {step} apart need {step + 1}.")
    first, last = min(frames), max(frames)
    missing = sorted(set(range(first, last + 1)) - set(frames))
    if missing:
        raise ValueError(
            f"CTC sequence '{folder}' has gaps: frame number(s) {missing} are missing between {first} and {last}, so "
            "consecutive pairs would be wrong."
        )
    return [
        {"image_t": str(frames[t]), "image_t1": str(frames[t + step]), "frame": t, "sequence": sequence}
        for t in range(first, last - step + 1)
    ]
