"""Read a BIDS-style dataset with a categorical subject column (e.g. tumour type), the way ivadomed reads it.

This is the shape of the data in the FiLM paper's spinal-cord tumour experiment (Lemay et al., MIDL 2021), where
``participants.tsv`` gives the tumour type of each subject and FiLM is conditioned on it. Layout::

    root/
        participants.tsv                    tab-separated; columns participant_id (sub-XXX) and e.g. tumor_type
        sub-001/anat/sub-001_T2w.nii.gz     one file per contrast (.nii.gz, or .nii)
        sub-001/anat/sub-001_ce-gad_T1w.nii.gz   Gd-enhanced T1w (BIDS entity ce-gad)
        derivatives/labels/sub-001/anat/sub-001_T2w_seg-tumor.nii.gz

The label of image ``<sub>_<contrast>.nii.gz`` is ``derivatives/labels/<sub>/anat/<sub>_<contrast><label_suffix>``
with ivadomed's ``target_suffix`` semantics: the suffix, including its leading underscore, is appended to the image
file's stem (ivadomed's tumour config uses ``"_seg-tumor"``, its default config ``"_seg-manual"``). Session folders
(``sub-XXX/ses-YY/``) are not supported and raise an error rather than being skipped.

:func:`load_bids_tumor_type` gives one sample per (subject, contrast); :func:`load_bids_multicontrast` gives one sample
per subject whose image is the list of its co-registered contrasts (the channels, as the paper's Gd-enhanced T1w and
T2w inputs) and whose label is that of a reference contrast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.data.image_io import NIFTI_SUFFIXES, check_nifti_pair
from metaseg_monai.data.splits import SPLIT_NAMES, select_split
from metaseg_monai.data.table import command_line_metadata
from metaseg_monai.utils.files import read_delimited
from metaseg_monai.utils.sorting import natural_key

__all__ = ["bids_inference_datalist", "load_bids_multicontrast", "load_bids_tumor_type", "read_participants"]

MISSING_VALUES = ("", "n/a")  # BIDS writes missing values as "n/a"


def read_participants(root: str | os.PathLike, metadata_column: str) -> dict[str, str]:
    """Read ``root/participants.tsv``; returns ``{participant_id: value of metadata_column}``.

    Raises:
        FileNotFoundError: no participants.tsv. ValueError: empty table, missing column, malformed row, duplicate
        participant, or an empty / ``n/a`` metadata cell (naming the row).
    """
    path = Path(root) / "participants.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"BIDS dataset '{root}': participants table '{path}' not found.")
    header, rows = read_delimited(path, delimiter="\t")
    if not any(header):
        raise ValueError(f"'{path}' is empty; expected a header with 'participant_id' and '{metadata_column}'.")
    for column in ("participant_id", metadata_column):
        if column not in header:
            raise ValueError(f"'{path}' has no column '{column}'; found columns {header}.")
    if not rows:
        raise ValueError(f"'{path}' has a header but no participant rows.")
    id_at, value_at = header.index("participant_id"), header.index(metadata_column)
    table: dict[str, str] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(
                f"'{path}' line {line}: expected {len(header)} tab-separated cells (as the header), found {len(row)}."
            )
        participant, value = row[id_at].strip(), row[value_at].strip()
        if not participant.startswith("sub-") or participant == "sub-":
            raise ValueError(f"'{path}' line {line}: participant_id must look like 'sub-XXX', found {participant!r}.")
        if participant in table:
            raise ValueError(f"'{path}' line {line}: participant '{participant}' is listed twice.")
        if value.lower() in MISSING_VALUES:
            raise ValueError(
                f"'{path}' line {line} (participant '{participant}'): column '{metadata_column}' is empty ({value!r}); "
                "every subject needs a value."
            )
        table[participant] = value
    return table


def _nifti(folder: Path, stem: str) -> Path | None:
    for suffix in NIFTI_SUFFIXES:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def _check_contrasts(contrasts: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(contrasts, str):
        contrasts = (contrasts,)
    contrasts = tuple(contrasts)
    if not contrasts or any(not isinstance(c, str) or not c for c in contrasts) or len(set(contrasts)) < len(contrasts):
        raise ValueError(f"contrasts must be unique non-empty strings such as ('T2w',), got {contrasts!r}.")
    return contrasts


def _check_dataset(
    root: str | os.PathLike, metadata_column: str, contrasts: Sequence[str] | str, label_suffix: str
) -> tuple[Path, tuple[str, ...], dict[str, str]]:
    """Check the arguments and that the subject folders and participants.tsv agree; returns root, contrasts, table."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS dataset folder '{root}' not found.")
    contrasts = _check_contrasts(contrasts)
    if not label_suffix.startswith("_"):
        raise ValueError(
            f"label_suffix {label_suffix!r} must start with '_' (it is appended to the image stem, as ivadomed's "
            "target_suffix, e.g. '_seg-tumor' gives 'sub-001_T2w_seg-tumor.nii.gz')."
        )
    reserved = ("image", "label", "participant_id", "contrast", "contrasts", "case_id")
    if metadata_column in reserved:
        raise ValueError(f"metadata_column {metadata_column!r} clashes with a datalist key; reserved: {reserved}.")
    table = read_participants(root, metadata_column)
    on_disk = {p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("sub-")}
    not_listed = sorted(on_disk - set(table))
    if not_listed:
        raise ValueError(f"subject folder(s) {not_listed} in '{root}' are not listed in '{root / 'participants.tsv'}'.")
    no_folder = sorted(set(table) - on_disk)
    if no_folder:
        raise FileNotFoundError(
            f"participant(s) {no_folder} listed in '{root / 'participants.tsv'}' have no subject folder in '{root}'."
        )
    return root, contrasts, table


def _check_no_sessions(root: Path, participant: str) -> None:
    sessions = sorted(p.name for p in (root / participant).glob("ses-*") if p.is_dir())
    if sessions:
        raise ValueError(
            f"'{root / participant}' has session folders {sessions}; this reader supports "
            "sub-XXX/anat/ without sessions."
        )


def _image(root: Path, participant: str, contrast: str) -> Path:
    stem = f"{participant}_{contrast}"
    anat = root / participant / "anat"
    image = _nifti(anat, stem)
    if image is None:
        raise FileNotFoundError(
            f"image of participant '{participant}', contrast '{contrast}' not found: expected '{anat / stem}"
            f"{NIFTI_SUFFIXES[0]}' (or {NIFTI_SUFFIXES[1]})."
        )
    return image


def _label(root: Path, participant: str, contrast: str, label_suffix: str, image: Path) -> Path:
    stem = f"{participant}_{contrast}"
    label_dir = root / "derivatives" / "labels" / participant / "anat"
    label = _nifti(label_dir, f"{stem}{label_suffix}")
    if label is None:
        raise FileNotFoundError(
            f"label of '{image}' not found: expected '{label_dir / stem}{label_suffix}{NIFTI_SUFFIXES[0]}' "
            f"(or {NIFTI_SUFFIXES[1]})."
        )
    return label


def load_bids_tumor_type(
    root: str | os.PathLike,
    metadata_column: str = "tumor_type",
    contrasts: Sequence[str] = ("T2w",),
    label_suffix: str = "_seg-tumor",
    check_files: bool = True,
) -> list[dict]:
    """Build a MONAI datalist with one dict per (subject, contrast).

    Args:
        root: the BIDS dataset folder (see the module docstring for the layout).
        metadata_column: the participants.tsv column copied into each dict (e.g. ``"tumor_type"``).
        contrasts: the contrasts to read (``"T2w"``, ``"T1w"``, ...); every subject must have all of them.
        label_suffix: ivadomed's ``target_suffix``, appended to the image stem, e.g. ``"_seg-tumor"``.
        check_files: read every image and label (full volumes) to check that they load and have the same shape.

    Returns:
        ``[{"image": str, "label": str, "participant_id": "sub-001", "contrast": "T2w", metadata_column: str,
        "case_id": "sub-001_T2w"}, ...]`` sorted by participant, then by the order of ``contrasts``.

    Raises:
        FileNotFoundError: a missing root, participants.tsv, subject folder, image or label.
        ValueError: a malformed table, subjects on disk and in the table that differ, session folders, or an image
        and label of different shapes.
    """
    root, contrasts, table = _check_dataset(root, metadata_column, contrasts, label_suffix)
    datalist = []
    for participant in sorted(table, key=natural_key):
        _check_no_sessions(root, participant)
        for contrast in contrasts:
            stem = f"{participant}_{contrast}"
            image = _image(root, participant, contrast)
            label = _label(root, participant, contrast, label_suffix, image)
            if check_files:
                check_nifti_pair(image, label, f"participant '{participant}', contrast '{contrast}'")
            datalist.append(
                {
                    "image": str(image),
                    "label": str(label),
                    "participant_id": participant,
                    "contrast": contrast,
                    metadata_column: table[participant],
                    "case_id": stem,
                }
            )
    return datalist


def load_bids_multicontrast(
    root: str | os.PathLike,
    contrasts: Sequence[str] = ("ce-gad_T1w", "T2w"),
    reference_contrast: str = "T2w",
    metadata_column: str = "tumor_type",
    label_suffix: str = "_seg-tumor",
    check_files: bool = True,
    labelled: bool = True,
) -> list[dict]:
    """Build a MONAI datalist with one multi-channel dict per subject: its co-registered contrasts as channels.

    ``LoadImaged("image")`` then ``EnsureChannelFirstd("image")`` on a dict turn its list of files into one
    ``(len(contrasts), X, Y, Z)`` image, channels in the order of ``contrasts``; the label is the reference contrast's.

    Args:
        root: the BIDS dataset folder (see the module docstring for the layout).
        contrasts: the channels, in order (the paper: Gd-enhanced T1w, ``"ce-gad_T1w"``, and ``"T2w"``); every subject
            must have all of them.
        reference_contrast: one of ``contrasts``, whose label (``<sub>_<reference_contrast><label_suffix>``) is the
            sample's label; the other contrasts need no label.
        metadata_column: the participants.tsv column copied into each dict (e.g. ``"tumor_type"``).
        label_suffix: ivadomed's ``target_suffix``, appended to the image stem, e.g. ``"_seg-tumor"``.
        check_files: read every header to check that all contrasts and the label have the same shape.
        labelled: read the reference label; ``False`` for inference (no ``label`` key, no derivatives needed).

    Returns:
        ``[{"image": [str, ...] (one path per contrast), "label": str (when ``labelled``), "participant_id": "sub-001",
        "contrasts": [...], metadata_column: str, "case_id": "sub-001"}, ...]`` sorted by participant.

    Raises:
        FileNotFoundError: a missing root, participants.tsv, subject folder, contrast image (naming the subject and
        the expected file) or reference label.
        ValueError: ``reference_contrast`` not in ``contrasts``, a malformed table, subjects on disk and in the table
        that differ, session folders, or files of different shapes.
    """
    root, contrasts, table = _check_dataset(root, metadata_column, contrasts, label_suffix)
    if reference_contrast not in contrasts:
        raise ValueError(
            f"reference_contrast {reference_contrast!r} (whose label is used) must be one of contrasts "
            f"{list(contrasts)}."
        )
    return [
        _subject_sample(
            root,
            participant,
            contrasts,
            reference_contrast,
            metadata_column,
            table[participant],
            label_suffix,
            labelled,
            check_files,
        )
        for participant in sorted(table, key=natural_key)
    ]


def bids_inference_datalist(
    root: str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    metadata_column: str = "tumor_type",
    contrasts: Sequence[str] = ("ce-gad_T1w", "T2w"),
    split: str | None = None,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
) -> list[dict]:
    """The subjects of a BIDS folder to segment, each with its contrasts as channels and its metadata.

    Two forms, as the other bundles' inference datalists:

    - ``metadata=None`` (no value on the command line): ``participants.tsv`` gives each subject's
      ``metadata_column``; labels are not needed. ``split`` (with ``fractions``/``seed`` as in training) keeps that
      split's subjects; ``None`` keeps all.
    - ``metadata={"tumor_type": "ependymoma"}``: every ``sub-*/anat/`` folder of ``root`` gets that value;
      ``participants.tsv`` is not read and ``split`` must be None.

    Returns:
        ``[{"image": [one path per contrast], "case_id": "sub-001", "participant_id", "contrasts",
        metadata_column: value}, ...]`` by participant.

    Raises:
        FileNotFoundError: no folder, no subject folder, a missing contrast (naming the subject and the file).
        ValueError: ``metadata`` without the field, ``split`` with ``metadata``, an unknown ``split``, files of
        different shapes.
    """
    if split is not None and split not in SPLIT_NAMES:  # before any file is read, so the bad override is named
        raise ValueError(f"split must be one of {[None, *SPLIT_NAMES]}, got {split!r}.")
    metadata = command_line_metadata(metadata)
    if metadata is None:
        subjects = load_bids_multicontrast(
            root, contrasts, contrasts[-1], metadata_column, check_files=True, labelled=False
        )
        if split is None:
            return subjects
        return select_split(subjects, split, fractions, seed, key="case_id", stratify_key=metadata_column)
    if metadata_column not in metadata:
        raise ValueError(f"metadata {dict(metadata)} lacks field {metadata_column!r}.")
    if split is not None:
        raise ValueError(f"split {split!r} selects subjects of participants.tsv; it cannot be used with metadata.")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS dataset folder '{root}' not found.")
    contrasts = _check_contrasts(contrasts)
    participants = sorted((p.name for p in root.glob("sub-*") if (p / "anat").is_dir()), key=natural_key)
    if not participants:
        raise FileNotFoundError(f"no subject folder sub-*/anat/ in '{root}'.")
    value = metadata[metadata_column]
    return [
        _subject_sample(root, p, contrasts, contrasts[-1], metadata_column, value, "", False, True)
        for p in participants
    ]


def _subject_sample(
    root: Path,
    participant: str,
    contrasts: Sequence[str],
    reference_contrast: str,
    metadata_column: str,
    value: Any,
    label_suffix: str,
    labelled: bool,
    check_files: bool,
) -> dict:
    """One subject's datalist item: its contrasts (the channels), the reference contrast's label when ``labelled``,
    its metadata value; with ``check_files`` every file's shape is compared with the label's (or reference's)."""
    _check_no_sessions(root, participant)
    images = [_image(root, participant, contrast) for contrast in contrasts]
    reference = images[list(contrasts).index(reference_contrast)]
    label = _label(root, participant, reference_contrast, label_suffix, reference) if labelled else reference
    if check_files:
        for contrast, image in zip(contrasts, images, strict=True):
            check_nifti_pair(image, label, f"participant '{participant}', contrast '{contrast}'")
    return {
        "image": [str(image) for image in images],
        **({"label": str(label)} if labelled else {}),
        "participant_id": participant,
        "contrasts": list(contrasts),
        metadata_column: value,
        "case_id": participant,
    }
