"""The Siamese-consistency experiment's data: labelled stills (DSB 2018) and videos (Cell Tracking Challenge).

Layout of a ``dataset_dir`` (the two public downloads under their own names)::

    <dataset_dir>/dsb2018/stage1_train/<ImageId>/{images,masks}/    labelled stills (e.g. the fluorescence subset)
    <dataset_dir>/ctc/01/ 01_GT/ 01_ST/ 02/ 02_GT/ 02_ST/          videos, e.g. Fluo-N2DL-HeLa; masks for evaluation
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from metaseg_monai.data.ctc import CTC_TRUTHS, consecutive_frame_pairs, load_ctc_sequence
from metaseg_monai.data.dsb import load_dsb2018
from metaseg_monai.data.splits import select_split

__all__ = [
    "STILLS_FOLDER",
    "VIDEO_FOLDER",
    "load_video_nuclei",
    "video_nuclei_evaluation_datalist",
    "video_nuclei_frames",
    "video_nuclei_pairs",
    "video_nuclei_stills",
]

STILLS_FOLDER, VIDEO_FOLDER = "dsb2018", "ctc"


def load_video_nuclei(
    root: str | os.PathLike,
    sequences: Sequence[str] = ("01", "02"),
    truth: str = "GT",
    stage: str = "stage1_train",
    check_files: bool = True,
) -> list[dict]:
    """The stills and every video frame under ``root``, in one datalist: stills first, then each sequence in time order.

    Args:
        root: the folder holding ``dsb2018/`` and ``ctc/``.
        sequences: the CTC sequences to read.
        truth: the CTC reference for evaluation, ``"GT"`` (gold, a few frames) or ``"ST"`` (silver, every frame).
        stage: the DSB stage folder of the stills.
        check_files: as the readers' (read every file once to check it).

    Returns:
        stills ``{"image", "label": masks folder, "image_id", "source": "dsb2018"}`` and frames ``{"image", "frame",
        "sequence", "video": "ctc/<sequence>", "source": "ctc"}`` with ``"label"`` on the annotated frames.

    Raises:
        FileNotFoundError: ``dsb2018/`` or ``ctc/`` missing (named, with the expected layout), and the readers'
        errors. ValueError: no sequence given, or an unknown ``truth``.
    """
    if truth not in CTC_TRUTHS:
        raise ValueError(f"truth must be one of {CTC_TRUTHS}, got {truth!r}.")
    if not sequences:
        raise ValueError("load_video_nuclei needs at least one CTC sequence.")
    stills_root = _check_root(Path(root), STILLS_FOLDER, stage)
    _check_root(Path(root), VIDEO_FOLDER)  # before the stills are read, so that a missing ctc/ fails at once
    stills = [{**s, "source": STILLS_FOLDER} for s in load_dsb2018(stills_root, stage, check_files)]
    return stills + video_nuclei_frames(root, sequences, truth, check_files)


def _check_root(root: Path, folder: str, stage: str = "stage1_train") -> Path:
    layout = {STILLS_FOLDER: f"{stage}/<ImageId>/images, masks", VIDEO_FOLDER: "01/, 01_GT/SEG/"}[folder]
    if not (root / folder).is_dir():
        raise FileNotFoundError(f"'{root / folder}' not found: {root} must hold {folder}/ ({layout}).")
    return root / folder


def video_nuclei_stills(
    root: str | os.PathLike,
    split: str,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    split_seed: int = 0,
    stage: str = "stage1_train",
) -> list[dict]:
    """One split of the labelled stills, each a one-frame video for the video report.

    Returns:
        ``[{"image", "label": masks folder, "image_id", "video": "dsb2018/<id>", "frame": 0, "source": "dsb2018"}]``.

    Raises:
        FileNotFoundError: no ``dsb2018/`` under ``root``; the reader's and :func:`select_split`'s errors.
    """
    stills = load_dsb2018(_check_root(Path(root), STILLS_FOLDER, stage), stage)
    chosen = select_split(stills, split, split_fractions, split_seed, key="image_id")
    return [{**s, "video": f"{STILLS_FOLDER}/{s['image_id']}", "frame": 0, "source": STILLS_FOLDER} for s in chosen]


def video_nuclei_pairs(root: str | os.PathLike, sequences: Sequence[str] = ("01",), step: int = 1) -> list[dict]:
    """The unlabelled consecutive-frame pairs of the CTC ``sequences`` (:func:`consecutive_frame_pairs`), in order.

    Raises:
        FileNotFoundError: no ``ctc/`` under ``root``, or a missing sequence. ValueError: no sequence given.
    """
    if not sequences:
        raise ValueError("video_nuclei_pairs needs at least one CTC sequence.")
    videos = _check_root(Path(root), VIDEO_FOLDER)
    return [pair for sequence in sequences for pair in consecutive_frame_pairs(videos, sequence, step)]


def video_nuclei_frames(
    root: str | os.PathLike, sequences: Sequence[str] = ("01", "02"), truth: str = "GT", check_files: bool = True
) -> list[dict]:
    """Every frame of the CTC ``sequences`` in time order, ``label`` on the frames ``truth`` annotates.

    Returns:
        ``[{"image", "frame", "sequence", "video": "ctc/<sequence>", "source": "ctc"[, "label"]}, ...]``.
    """
    if not sequences:
        raise ValueError("video_nuclei_frames needs at least one CTC sequence.")
    videos = _check_root(Path(root), VIDEO_FOLDER)
    return [
        {**f, "video": f"{VIDEO_FOLDER}/{sequence}", "source": VIDEO_FOLDER}
        for sequence in sequences
        for f in load_ctc_sequence(videos, sequence, truth, require_label=False, check_files=check_files)
    ]


def video_nuclei_evaluation_datalist(
    root: str | os.PathLike,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    split_seed: int = 0,
    sequences: Sequence[str] = ("01", "02"),
    truth: str = "GT",
) -> list[dict]:
    """What the bundle's evaluation scores: the test stills, then every frame of the CTC ``sequences``."""
    return video_nuclei_stills(root, "test", split_fractions, split_seed) + video_nuclei_frames(root, sequences, truth)
