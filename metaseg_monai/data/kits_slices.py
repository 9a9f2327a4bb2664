"""KiTS21 as a 2D task: the axial slices of a case split (training, evaluation) and whole volumes (inference).

The metadata-SE paper (Plutenko et al. 2023, section 3.4) derives a 2D dataset from KiTS21 by taking the axial slices
that contain kidney, with the case's tumour size as continuous metadata. :func:`kits21_slice_datalist` builds those
slice samples for one split of :func:`~metaseg_monai.data.splits.split_cases` (so train, val and test never share a
case); :func:`kits21_volume_datalist` lists the volumes to segment slice by slice at inference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.data.image_io import NIFTI_SUFFIXES
from metaseg_monai.data.kits import load_kits21
from metaseg_monai.data.slices import volume_slices_datalist
from metaseg_monai.data.splits import SPLIT_NAMES, select_split
from metaseg_monai.data.table import command_line_metadata, load_inference_datalist

__all__ = ["kits21_slice_datalist", "kits21_volume_datalist", "slice_id"]


def slice_id(case_id: str, slice_index: int) -> str:
    """A unique, readable id of one slice, e.g. ``"case_00003#slice_012"`` (used as the report's ``image``)."""
    return f"{case_id}#slice_{int(slice_index):03d}"


def kits21_slice_datalist(
    root: str | os.PathLike,
    split: str,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    metadata_fields: Sequence[str] = ("radiographic_size",),
    on_missing_metadata: str = "error",
    labels: Sequence[int] = (1, 2, 3),
    cache_dir: str | os.PathLike | None = None,
) -> list[dict]:
    """The axial slices of the ``split`` cases of a KiTS21 folder that contain any of ``labels``.

    Args:
        root: a KiTS21 ``data`` folder (``kits.json`` + ``case_XXXXX/{imaging,aggregated_MAJ_seg}.nii.gz``).
        split: ``"train"``, ``"val"`` or ``"test"``; cases are split by id (:func:`~metaseg_monai.data.select_split`
            with ``fractions`` and ``seed``), after cases dropped by ``on_missing_metadata="skip"`` are removed.
        metadata_fields: ``kits.json`` fields copied to every slice (e.g. ``radiographic_size``, cm).
        on_missing_metadata: ``"error"`` or ``"skip"`` a case whose field is null (see ``load_kits21``).
        labels: keep the slices that contain any of these label values (1 kidney, 2 tumour, 3 cyst).
        cache_dir: optional folder (outside ``root``) for the per-case slice cache of ``iter_volume_slices``.

    Returns:
        One dict per slice, case by case, slices in order: ``{"image": (1, H, W) float32 (HU), "label": (1, H, W)
        uint8, "case_id", "slice_index", "slice_id": "case_00003#slice_012", <metadata fields>}``. All slices are
        held in memory (about 1.3 MB per 512 x 512 slice).
    """
    cases = load_kits21(root, metadata_fields=metadata_fields, on_missing_metadata=on_missing_metadata)
    slices = volume_slices_datalist(
        select_split(cases, split, fractions, seed), axis=0, labels=labels, cache_dir=cache_dir
    )
    for sample in slices:
        sample["slice_id"] = slice_id(sample["case_id"], sample["slice_index"])
    return slices


def kits21_volume_datalist(
    root: str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    metadata_fields: Sequence[str] = ("radiographic_size",),
    split: str | None = None,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
) -> list[dict]:
    """The CT volumes to segment and their metadata, ``[{"image": path, <field>: value, ...}, ...]``.

    Two forms:

    - ``metadata=None``: ``root`` is a KiTS21 folder; the metadata come from its ``kits.json`` (a null field is an
      error). Labels are not needed. ``split`` (with ``fractions``/``seed`` as in training) keeps that split's
      cases; ``None`` keeps all. Items also carry ``case_id``.
    - ``metadata={"radiographic_size": 4.2}``: every ``.nii.gz``/``.nii`` file directly in ``root``, in natural
      order, all with that metadata (``split`` must be None). ``{"radiographic_size": None}`` (no size given on
      the command line) is the first form.

    Raises:
        FileNotFoundError: no folder, no ``kits.json``, a case without ``imaging.nii.gz``, or no NIfTI file.
        ValueError: a field is missing or invalid, ``metadata`` lacks a field, or ``split`` is given with ``metadata``.
    """
    if split is not None and split not in SPLIT_NAMES:  # before any file is read, so the bad override is named
        raise ValueError(f"split must be one of {[None, *SPLIT_NAMES]}, got {split!r}.")
    fields = [metadata_fields] if isinstance(metadata_fields, str) else list(metadata_fields)
    metadata = command_line_metadata(metadata)
    if metadata is not None:
        if split is not None:
            raise ValueError(f"split {split!r} selects KiTS21 cases from kits.json; it cannot be used with metadata.")
        missing = [f for f in fields if f not in metadata]
        if missing:
            raise ValueError(f"metadata {dict(metadata)} lacks field(s) {missing}; expected {fields}.")
        return load_inference_datalist(root, dict(metadata), image_suffixes=NIFTI_SUFFIXES)
    cases = load_kits21(root, metadata_fields=fields, check_files=False)
    if split is not None:
        cases = select_split(cases, split, fractions, seed)
    for item in cases:
        if not Path(item["image"]).is_file():
            raise FileNotFoundError(f"image of case {item['case_id']!r} not found: '{item['image']}'.")
    return [{k: v for k, v in item.items() if k != "label"} for item in cases]
