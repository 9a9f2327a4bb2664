"""Readers for the KiTS21 and KiTS19 kidney tumour CT datasets in their public on-disk layouts.

KiTS21 (github neheller/kits21, the ``kits21/data`` folder)::

    root/kits.json                            a JSON list of per-case dicts (case_id, radiographic_size, ...)
    root/case_00000/imaging.nii.gz            CT, int16 HU, array (num_slices, H, W): axial slices on axis 0
    root/case_00000/aggregated_MAJ_seg.nii.gz labels 0 background, 1 kidney, 2 tumour, 3 cyst (majority vote)
    ...

KiTS19 (github neheller/kits19, the ``data`` folder) is the same with ``segmentation.nii.gz`` (labels 1 kidney,
2 tumour); its ``kits.json`` is only needed when metadata fields are requested. Folders not named ``case_\\d{5}``
(e.g. macOS ``._case_00000``) are ignored. ``radiographic_size`` and ``pathologic_size`` are in cm.

The readers only list paths and metadata (no volume is decoded); they never write into ``root``.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.data.image_io import check_nifti_pair
from metaseg_monai.utils.files import read_json

__all__ = ["KITS19_LABELS", "KITS21_LABELS", "load_kits19", "load_kits21"]

logger = logging.getLogger(__name__)

KITS21_LABELS = {1: "kidney", 2: "tumor", 3: "cyst"}
KITS19_LABELS = {1: "kidney", 2: "tumor"}
CASE_PATTERN = re.compile(r"case_\d{5}")
# fields that must hold a finite number; any other requested field must hold a non-null scalar (str, number, bool)
NUMERIC_FIELDS = frozenset({"radiographic_size", "pathologic_size", "age_at_nephrectomy", "body_mass_index"})
MISSING_METADATA_MODES = ("error", "skip")


def _case_name(case: int | str) -> str:
    if isinstance(case, int) and not isinstance(case, bool):
        return f"case_{case:05d}"
    case = str(case).strip()
    return f"case_{int(case):05d}" if case.isdigit() else case  # "3" -> "case_00003"


def _read_kits_json(path: Path) -> dict[str, dict]:
    """``kits.json`` as ``{case_id: record}``; errors name the file and the bad entry."""
    records = read_json(path, "the KiTS per-case metadata table, a list of per-case objects", list)
    table: dict[str, dict] = {}
    for position, record in enumerate(records):
        case_id = record.get("case_id") if isinstance(record, dict) else None
        if not isinstance(case_id, str):
            raise ValueError(
                f"'{path}' entry {position}: expected an object with a string 'case_id', found {record!r}."
            )
        if case_id in table:
            raise ValueError(f"'{path}': case_id {case_id!r} appears more than once (entry {position}).")
        table[case_id] = record
    return table


def _field_problem(value: Any, field: str) -> str | None:
    """Why ``value`` cannot be used for ``field`` (None when it can)."""
    if field in NUMERIC_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"expected a finite number, found {value!r}"
    elif not isinstance(value, str | int | float | bool):
        return f"expected a scalar (string, number or boolean), found {type(value).__name__} {value!r}"
    return None


def _load_kits(
    root: str | os.PathLike,
    cases: Iterable[int | str] | None,
    label_file: str,
    metadata_fields: Sequence[str],
    check_files: bool,
    on_missing_metadata: str,
    require_json: bool,
) -> list[dict]:
    """The shared KiTS reader; ``require_json`` is True for KiTS21 (every case needs a kits.json entry)."""
    root = Path(root)
    if on_missing_metadata not in MISSING_METADATA_MODES:
        raise ValueError(f"on_missing_metadata must be one of {MISSING_METADATA_MODES}, got {on_missing_metadata!r}.")
    if isinstance(metadata_fields, str):  # a bare string would be read as a sequence of one-letter fields
        metadata_fields = (metadata_fields,)
    if not root.is_dir():
        raise FileNotFoundError(f"KiTS root folder not found: '{root}'.")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and CASE_PATTERN.fullmatch(p.name))
    if cases is None:
        names = found
        if not names:
            hint = f" (did you mean '{root / 'data'}'?)" if (root / "data").is_dir() else ""
            raise FileNotFoundError(f"no case_XXXXX folders in '{root}'{hint}.")
    else:
        if isinstance(cases, str | int):  # one case; a bare string would otherwise be iterated letter by letter
            cases = [cases]
        names = sorted({_case_name(c) for c in cases})
        absent = [n for n in names if n not in found]
        if absent:
            raise FileNotFoundError(f"requested case folder(s) not found in '{root}': {absent}.")

    json_path = root / "kits.json"
    table: dict[str, dict] | None = None
    if require_json or metadata_fields:
        table = _read_kits_json(json_path)

    datalist, skipped = [], []
    for name in names:
        item: dict[str, Any] = {
            "image": str(root / name / "imaging.nii.gz"),
            "label": str(root / name / label_file),
            "case_id": name,
        }
        if table is not None:
            if name not in table:
                raise ValueError(f"case folder '{root / name}' has no entry in '{json_path}' (no case_id {name!r}).")
            record = table[name]
            missing = [f for f in metadata_fields if record.get(f) is None]
            if missing and on_missing_metadata == "skip":
                skipped.append(f"{name} ({', '.join(missing)})")
                continue
            for field in metadata_fields:
                value = record.get(field)
                problem = "expected a value, found none (missing or null)" if value is None else None
                problem = problem or _field_problem(value, field)
                if problem:
                    raise ValueError(f"'{json_path}' case {name!r} field {field!r}: {problem}.")
                item[field] = value
        if check_files:
            check_nifti_pair(item["image"], item["label"], f"case {name!r}")
        datalist.append(item)
    if skipped:
        logger.warning(
            "skipped %d KiTS case(s) with missing metadata in '%s': %s", len(skipped), json_path, "; ".join(skipped)
        )
    return datalist


def load_kits21(
    root: str | os.PathLike,
    cases: Iterable[int | str] | None = None,
    label_file: str = "aggregated_MAJ_seg.nii.gz",
    metadata_fields: Sequence[str] = ("radiographic_size", "pathologic_size"),
    check_files: bool = True,
    on_missing_metadata: str = "error",
) -> list[dict]:
    """Read a KiTS21 ``data`` folder as a MONAI datalist, sorted by case.

    Args:
        root: the folder holding ``kits.json`` and the ``case_XXXXX`` folders.
        cases: case numbers (``3``) or names (``"case_00003"``) to read; None reads every case folder.
        label_file: the segmentation in each case folder; ``aggregated_AND_seg.nii.gz``/``..._OR_seg`` also exist.
        metadata_fields: ``kits.json`` fields copied to each dict. ``radiographic_size``, ``pathologic_size``,
            ``age_at_nephrectomy`` and ``body_mass_index`` must be finite numbers; others non-null scalars (e.g.
            ``tumor_histologic_subtype``, ``malignant``).
        check_files: raise if an image or label file is missing.
        on_missing_metadata: a requested field that is absent or null for a case (KiTS21 has some null sizes):
            ``"error"`` raises naming case and field; ``"skip"`` drops those cases and logs a warning listing them.
            No default value is ever filled in. A present but invalid value (e.g. a string size) always raises.

    Returns:
        ``[{"image": str, "label": str, "case_id": "case_00000", <field>: value, ...}, ...]``; labels
        :data:`KITS21_LABELS`.

    Raises:
        FileNotFoundError: root, a requested case, ``kits.json`` or an image/label file is missing.
        ValueError: ``kits.json`` is malformed, lacks a case, or a requested field is missing/invalid.
    """
    return _load_kits(root, cases, label_file, metadata_fields, check_files, on_missing_metadata, require_json=True)


def load_kits19(
    root: str | os.PathLike,
    cases: Iterable[int | str] | None = None,
    label_file: str = "segmentation.nii.gz",
    metadata_fields: Sequence[str] = (),
    check_files: bool = True,
    on_missing_metadata: str = "error",
) -> list[dict]:
    """Read a KiTS19 ``data`` folder (labels :data:`KITS19_LABELS`) as a MONAI datalist, sorted by case.

    ``kits.json`` is read (and must list every case) only when ``metadata_fields`` is non-empty. The public test
    cases (``case_00210`` on) have no ``segmentation.nii.gz``: pass ``cases=range(210)`` for the labelled ones.
    Other arguments, returns and errors as :func:`load_kits21`.
    """
    return _load_kits(root, cases, label_file, metadata_fields, check_files, on_missing_metadata, require_json=False)
