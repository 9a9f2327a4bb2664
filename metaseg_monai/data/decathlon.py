"""Reader for Medical Segmentation Decathlon tasks (e.g. ``Task09_Spleen``, ``Task03_Liver``) in the public layout.

Layout::

    Task09_Spleen/dataset.json        {"name", "modality", "labels": {"0": "background", "1": "spleen"},
                                       "numTraining", "numTest",
                                       "training": [{"image": "./imagesTr/spleen_19.nii.gz",
                                                     "label": "./labelsTr/spleen_19.nii.gz"}, ...],
                                       "test": ["./imagesTs/spleen_15.nii.gz", ...]}
    Task09_Spleen/imagesTr/*.nii.gz   arrays (X, Y, num_slices): axial slices on the LAST axis
    Task09_Spleen/labelsTr/*.nii.gz
    Task09_Spleen/imagesTs/*.nii.gz

The public tarballs also hold macOS AppleDouble files (``imagesTr/._spleen_19.nii.gz``): they are not NIfTI and
would break anything that globs the folders. This reader lists cases from ``dataset.json`` only, so they are
never picked up, and it also skips (with a warning) any ``._*`` entry that a ``dataset.json`` happens to list.
The reader never writes into the task folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metaseg_monai.data.image_io import check_nifti_pair, nifti_shape, nifti_stem
from metaseg_monai.utils.files import read_json
from metaseg_monai.utils.sorting import natural_key

__all__ = ["decathlon_labels", "load_decathlon"]

logger = logging.getLogger(__name__)

# monai.data.load_decathlon_datalist is not used: its errors do not name the json file or the bad entry, it does not
# check that files exist, and it does not skip AppleDouble entries.


def _read_dataset_json(task_dir: Path) -> tuple[Path, dict]:
    path = task_dir / "dataset.json"
    return path, read_json(path, "the Decathlon task description", dict)


def decathlon_labels(task_dir: str | os.PathLike) -> dict[int, str]:
    """The ``labels`` mapping of ``dataset.json`` with integer keys, e.g. ``{0: "background", 1: "spleen"}``."""
    path, content = _read_dataset_json(Path(task_dir))
    labels = content.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ValueError(f"'{path}': expected a non-empty object 'labels' (value -> name), found {labels!r}.")
    out = {}
    for key, name in labels.items():
        try:
            out[int(key)] = str(name)
        except ValueError as err:
            raise ValueError(f"'{path}' labels: expected integer keys, found {key!r}.") from err
    return dict(sorted(out.items()))


def load_decathlon(
    task_dir: str | os.PathLike,
    section: str = "training",
    check_files: bool = True,
    extra_fields: Mapping[str, Any] | None = None,
) -> list[dict]:
    """Read a Decathlon task's ``section`` as a MONAI datalist with absolute paths, in natural case order.

    Args:
        task_dir: the task folder holding ``dataset.json`` (e.g. ``.../Task09_Spleen``).
        section: a list in ``dataset.json``: ``"training"`` (image/label pairs) or ``"test"`` (images only).
        check_files: raise if a listed file is missing, unreadable, or image and label shapes differ (headers).
        extra_fields: metadata given to every sample of the task, e.g. ``{"organ": "spleen"}`` when several tasks
            are trained together with the organ as metadata (the FiLM paper's multi-organ experiment).

    Returns:
        ``"training"``: ``[{"image": str, "label": str, "case_id": "spleen_19"}, ...]``;
        ``"test"``: ``[{"image": str, "case_id": ...}, ...]``.

    Raises:
        FileNotFoundError: ``dataset.json`` or a listed file is missing.
        ValueError: malformed JSON, unknown section or a malformed entry (the entry's position is named).
    """
    task_dir = Path(task_dir).absolute()
    path, content = _read_dataset_json(task_dir)
    sections = sorted(k for k, v in content.items() if isinstance(v, list))
    if section not in sections:
        raise ValueError(f"'{path}' has no list {section!r}; sections found: {sections}.")
    datalist, skipped = [], []
    for position, entry in enumerate(content[section]):
        if isinstance(entry, str):
            entry = {"image": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
            raise ValueError(
                f"'{path}' {section}[{position}]: expected a path or an object with 'image', found {entry!r}."
            )
        keys = [k for k in ("image", "label") if k in entry]
        if any(not isinstance(entry[k], str) for k in keys):
            raise ValueError(f"'{path}' {section}[{position}]: expected string paths, found {entry!r}.")
        if any(Path(entry[k]).name.startswith("._") for k in keys):
            skipped.append(entry["image"])
            continue
        item: dict[str, Any] = {k: os.path.normpath(task_dir / entry[k]) for k in keys}
        item["case_id"] = nifti_stem(item["image"])
        if check_files:
            if "label" in item:
                check_nifti_pair(item["image"], item["label"], f"'{path}' {section}[{position}]")
            else:
                nifti_shape(item["image"], f"image of '{path}' {section}[{position}]")
        item.update(extra_fields or {})
        datalist.append(item)
    if skipped:
        logger.warning("skipped %d macOS '._*' entries listed in '%s': %s", len(skipped), path, skipped)
    return sorted(datalist, key=lambda d: natural_key(d["image"]))
