"""The Siamese-consistency experiment's data: labelled stills (DSB 2018) and videos (Cell Tracking Challenge).

Layout of a ``dataset_dir`` (the two public downloads under their own names)::

    <dataset_dir>/dsb2018/stage1_train/<ImageId>/{images,masks}/    labelled stills (e.g. the fluorescence subset)
    <dataset_dir>/ctc/01/ 01_GT/ 01_ST/ 02/ 02_GT/ 02_ST/          videos, e.g. Fluo-N2DL-HeLa; masks for evaluation
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from metaseg_monai.data.ctc import CTC_TRUTHS, load_ctc_sequence
from metaseg_monai.data.dsb import load_dsb2018

__all__ = ["STILLS_FOLDER", "VIDEO_FOLDER", "load_video_nuclei"]

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
        "sequence", "source": "ctc"}`` with ``"label"`` on the annotated frames.

    Raises:
        FileNotFoundError: ``dsb2018/`` or ``ctc/`` missing (named, with the expected layout), and the readers'
        errors. ValueError: no sequence given, or an unknown ``truth``.
    """
    root = Path(root)
    if truth not in CTC_TRUTHS:
        raise ValueError(f"truth must be one of {CTC_TRUTHS}, got {truth!r}.")
    if not sequences:
        raise ValueError("load_video_nuclei needs at least one CTC sequence.")
    for folder, layout in ((STILLS_FOLDER, f"{stage}/<ImageId>/images, masks"), (VIDEO_FOLDER, "01/, 01_GT/SEG/")):
        if not (root / folder).is_dir():
            raise FileNotFoundError(f"'{root / folder}' not found: {root} must hold {folder}/ ({layout}).")
    stills = [{**s, "source": STILLS_FOLDER} for s in load_dsb2018(root / STILLS_FOLDER, stage, check_files)]
    frames = []
    for sequence in sequences:
        seq = load_ctc_sequence(root / VIDEO_FOLDER, sequence, truth, require_label=False, check_files=check_files)
        frames += [{**f, "source": VIDEO_FOLDER} for f in seq]
    return stills + frames
