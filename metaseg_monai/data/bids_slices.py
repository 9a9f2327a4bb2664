"""The FiLM paper's tumour-type task in 2D: multi-contrast sagittal slices of a BIDS dataset, split per subject.

Lemay et al. (MIDL 2021, experiment 1) train on 2D sagittal slices whose two channels are the Gd-enhanced T1w and the
T2w of a subject, with the subject's ``tumor_type`` (participants.tsv) as metadata and the tumour core as label, in
random 60/20/20 splits by subject, the types evenly separated. :func:`tumor_type_slice_datalist` builds those slice
samples for one split of :func:`~metaseg_monai.data.splits.split_cases` keyed on the participant and stratified by
type, so train, val and test never share a subject and each holds every type.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from metaseg_monai.data.bids import load_bids_multicontrast
from metaseg_monai.data.kits_slices import slice_id
from metaseg_monai.data.slices import volume_slices_datalist
from metaseg_monai.data.splits import select_split

__all__ = ["SAGITTAL_AXIS", "tumor_type_slice_datalist"]

SAGITTAL_AXIS = 0  # array axes (x: left-right, y: posterior-anterior, z: inferior-superior): sagittal = volume[i]


def tumor_type_slice_datalist(
    root: str | os.PathLike,
    split: str,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    contrasts: Sequence[str] = ("ce-gad_T1w", "T2w"),
    reference_contrast: str = "T2w",
    labels: Sequence[int] = (1,),
    metadata_column: str = "tumor_type",
    label_suffix: str = "_seg-tumor",
    axis: int = SAGITTAL_AXIS,
    cache_dir: str | os.PathLike | None = None,
) -> list[dict]:
    """The sagittal slices of the ``split`` subjects of a BIDS dataset that contain any of ``labels``.

    Args:
        root: a BIDS folder as read by :func:`~metaseg_monai.data.bids.load_bids_multicontrast`.
        split: ``"train"``, ``"val"`` or ``"test"``; subjects are split by participant id within each
            ``metadata_column`` value (:func:`~metaseg_monai.data.select_split` with ``fractions``, ``seed`` and
            ``stratify_key``), so that every split holds each tumour type, as the paper's.
        contrasts: the channels, in order; every subject must have all of them.
        reference_contrast: the contrast whose label is used (one of ``contrasts``).
        labels: keep the slices that contain any of these label values (tumour core: ``(1,)``).
        metadata_column: the participants.tsv column copied to every slice (e.g. ``"tumor_type"``).
        label_suffix: ivadomed's ``target_suffix`` of the label files.
        axis: the slice axis of the arrays; the default, 0, is sagittal for the generator's axes
            (x: left-right first), as in ``metaseg sample-data tumor-type``. Check the orientation of real data.
        cache_dir: optional folder (outside ``root``) for the per-case slice cache of ``iter_volume_slices``.

    Returns:
        One dict per slice, subject by subject, slices in order: ``{"image": (len(contrasts), H, W) float32,
        "label": (1, H, W), "case_id": "sub-001", "participant_id", "contrasts", metadata_column, "slice_index",
        "slice_id": "sub-001#slice_012"}`` with ``(H, W)`` the volume's shape without ``axis``.

    Raises:
        ValueError: unknown split or bad fractions (before any volume is read), a split without subjects, files of
        different shapes, and the errors of ``load_bids_multicontrast`` (missing contrast or label, naming the
        subject and the expected file).
    """
    subjects = load_bids_multicontrast(
        root,
        contrasts=contrasts,
        reference_contrast=reference_contrast,
        metadata_column=metadata_column,
        label_suffix=label_suffix,
        check_files=False,  # the slicing reads every volume and checks the shapes
    )
    chosen = select_split(subjects, split, fractions, seed, key="case_id", stratify_key=metadata_column)
    slices = volume_slices_datalist(chosen, axis=axis, labels=labels, cache_dir=cache_dir)
    for sample in slices:
        sample["slice_id"] = slice_id(sample["case_id"], sample["slice_index"])
    return slices
