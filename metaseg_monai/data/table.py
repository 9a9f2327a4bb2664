"""Read a microscopy "table dataset": a folder with a CSV that lists (image, mask) pairs and their metadata.

Layout (the Seven Cell Lines data has no fixed public layout, so this is the configurable form)::

    root/metadata.csv            header row, then one row per (image, mask) pair
    root/<any path>.png|.tif     images (grey or RGB, 8 or 16 bit) and masks, paths relative to root

``metadata.csv`` columns: ``image``, ``label`` (paths relative to ``root``), ``split`` (``train``/``val``/``test``)
and any metadata columns, e.g.::

    image,label,split,cell_line,mask_type
    images/HeLa_000.tif,masks/nuclei/HeLa_000.png,train,HeLa,nuclei
    images/HeLa_000.tif,masks/anomaly/HeLa_000.png,train,HeLa,anomaly

The same image may appear on several rows with different masks and metadata (the nuclei/anomaly task switch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.data.image_io import check_same_shape, read_image
from metaseg_monai.data.splits import SPLIT_NAMES
from metaseg_monai.utils.files import read_delimited
from metaseg_monai.utils.sorting import natural_key

__all__ = [
    "REQUIRED_COLUMNS",
    "SPLITS",
    "command_line_metadata",
    "input_suffix",
    "load_inference_datalist",
    "load_table_dataset",
]

SPLITS = SPLIT_NAMES  # the splits a table may name
REQUIRED_COLUMNS = ("image", "label", "split")


def _read_rows(table_path: Path) -> tuple[list[str], list[tuple[int, int, list[str]]]]:
    """The header and the data rows ``(row, line, cells)``; fully blank lines are skipped and not counted."""
    header, rows = read_delimited(table_path)
    if not any(header):
        raise ValueError(f"table '{table_path}' is empty; expected a header row with columns {list(REQUIRED_COLUMNS)}.")
    return header, [(row, line, cells) for row, (line, cells) in enumerate(rows, start=1)]


def load_table_dataset(
    root: str | os.PathLike,
    split: str | None = None,
    table: str = "metadata.csv",
    metadata_columns: Sequence[str] | None = None,
    check_files: bool = True,
    labelled: bool = True,
) -> list[dict]:
    """Build a MONAI datalist from a table dataset, in table order.

    Args:
        root: the dataset folder (paths in the table are relative to it).
        split: ``None`` for all rows, else only the rows of ``"train"``, ``"val"`` or ``"test"``.
        table: the CSV file name inside ``root``.
        metadata_columns: the metadata columns to keep; ``None`` keeps every column other than ``image``, ``label``
            and ``split``.
        check_files: for every returned row, read image and label (:func:`read_image`) and check that their
            spatial shapes agree (an RGB image matches a grey mask). Images shared by several rows are read once.
        labelled: ``False`` for inference tables: only ``image`` is required; ``label`` and ``split`` are kept when
            present (``split`` must then be a column), and ``check_files`` only checks that images are readable.

    Returns:
        ``[{"image": abs path, "label": abs path, "split": str, <metadata column>: str, ..., "row": int}, ...]``;
        metadata values are the CSV strings, stripped (not converted; an empty cell is an error); ``row`` is the
        1-based data row index (header and blank lines not counted), for error messages.

    Raises:
        FileNotFoundError: no table, or (``check_files``) a referenced file is missing. ValueError: an empty table,
        duplicate or missing columns, a row with the wrong number of cells, an empty ``image``/``label``/``split``
        cell, an unknown split value (in the table or the argument), an unreadable image or an image/label shape
        mismatch. Errors name the table and, where it applies, the row and column.
    """
    root = Path(root)
    table_path = root / table
    if not table_path.is_file():
        raise FileNotFoundError(
            f"table '{table_path}' not found; a table dataset needs '{table}' in '{root}' (for inference, the metadata "
            "can instead be given on the command line for every image of a folder)."
        )
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r} requested for '{table_path}'; expected None or one of {SPLITS}.")
    header, rows = _read_rows(table_path)
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise ValueError(f"table '{table_path}' has duplicate column names {duplicates}; names must be unique.")
    required = REQUIRED_COLUMNS if labelled else ("image",)
    if not labelled and split is not None and "split" not in header:
        raise ValueError(f"split {split!r} requested but table '{table_path}' has no 'split' column; found {header}.")
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"table '{table_path}' lacks required column(s) {missing}; found columns {header}.")
    if metadata_columns is None:
        metadata_columns = [h for h in header if h not in REQUIRED_COLUMNS]
    else:
        absent = [c for c in metadata_columns if c not in header]
        if absent:
            raise ValueError(f"table '{table_path}' lacks requested metadata column(s) {absent}; found {header}.")
        metadata_columns = [c for c in metadata_columns if c not in REQUIRED_COLUMNS]
    if "row" in metadata_columns:
        raise ValueError(f"table '{table_path}': column name 'row' is reserved for the row index; rename it.")
    if not rows:
        raise ValueError(f"table '{table_path}' has a header but no data rows.")

    datalist, shapes = [], {}
    for row, line, cells in rows:
        where = f"table '{table_path}' row {row} (line {line})"
        if len(cells) != len(header):
            raise ValueError(f"{where} has {len(cells)} cells; expected {len(header)} (one per column {header}).")
        values = dict(zip(header, cells, strict=True))
        for column in (c for c in REQUIRED_COLUMNS if c in values):
            if not values[column].strip():
                raise ValueError(f"{where}: column '{column}' is empty; expected a value.")
        if "split" in values and values["split"].strip() not in SPLITS:
            raise ValueError(
                f"{where}: column 'split' has unknown value {values['split']!r}; expected one of {SPLITS}."
            )
        if split is not None and values["split"].strip() != split:
            continue
        item = {key: os.path.abspath(root / values[key].strip()) for key in ("image", "label") if key in values}
        if "split" in values:
            item["split"] = values["split"].strip()
        for column in metadata_columns:
            value = values[column].strip()  # " HeLa" and "HeLa" are one category
            if not value:
                raise ValueError(f"{where}: metadata column '{column}' is empty; expected a value.")
            item[column] = value
        item["row"] = row
        if check_files and not labelled:
            if item["image"] not in shapes:
                shapes[item["image"]] = read_image(item["image"], f"{where}, column 'image'").shape
        elif check_files:
            for key in ("image", "label"):
                if item[key] not in shapes:
                    shapes[item[key]] = read_image(item[key], f"{where}, column '{key}'").shape
            try:
                check_same_shape(shapes[item["image"]], shapes[item["label"]], item["image"], item["label"], True)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from err
        datalist.append(item)
    return datalist


def load_inference_datalist(
    dataset_dir: str | os.PathLike,
    metadata: Mapping[str, Any] | None = None,
    metadata_columns: Sequence[str] | None = None,
    split: str | None = None,
    table: str = "metadata.csv",
    image_suffixes: Sequence[str] = (".png", ".tif", ".tiff"),
) -> list[dict]:
    """The datalist of an inference run: images with their metadata, ``[{"image": abs path, <field>: value}, ...]``.

    Two ways to give the metadata:

    - ``metadata=None``: ``dataset_dir/table`` lists the images and their metadata columns (a training table works;
      labels are optional and ignored), optionally only the rows of ``split``; an image listed on several rows
      (the task switch) is predicted once per row;
    - ``metadata={"cell_line": "HeLa"}``: every file in ``dataset_dir`` (not recursive) whose name ends in one of
      ``image_suffixes`` (case-insensitive) and does not start with a dot, in natural order, with that metadata.

    A bundle passes its command-line fields as ``metadata`` (``{"cell_line": None}`` when none was given): see
    :func:`command_line_metadata`.

    Raises:
        FileNotFoundError: no folder, no table (first form) or no image (second form). ValueError: as
        :func:`load_table_dataset`.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"input folder '{root}' not found.")
    metadata = command_line_metadata(metadata)
    if metadata is None:
        rows = load_table_dataset(
            root, split=split, table=table, metadata_columns=metadata_columns, check_files=False, labelled=False
        )
        keep = ["image", *(metadata_columns or [k for k in rows[0] if k not in ("image", "label", "split", "row")])]
        return [{k: row[k] for k in keep} for row in rows]
    if split is not None:
        raise ValueError(
            f"split {split!r} selects rows of a table, but metadata was given for every image of '{root}' (which "
            "reads the folder, not a table); give one or the other."
        )
    suffixes = tuple(s.lower() for s in image_suffixes)
    # hidden files are skipped: the Decathlon archives carry macOS '._NAME.nii.gz' companions that are not images
    images = [
        p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(suffixes) and not p.name.startswith(".")
    ]
    images.sort(key=lambda p: natural_key(p.name))
    if not images:
        raise FileNotFoundError(f"no image ending in {list(image_suffixes)} found in '{root}'.")
    return [{"image": os.path.abspath(p), **metadata} for p in images]


def command_line_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The metadata given for every input image, from a bundle's command-line fields: ``None`` when no field was
    given (``{"cell_line": None}`` or ``{}``: the metadata come from the dataset's table), else the fields.

    Raises:
        ValueError: ``metadata`` is not a mapping, or only some fields were given (each image needs them all).
    """
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata must map field to value, e.g. {{'cell_line': 'HeLa'}}; got {metadata!r}.")
    given = {k: v for k, v in metadata.items() if v is not None}
    if not given:
        return None
    missing = sorted(k for k, v in metadata.items() if v is None)
    if missing:
        raise ValueError(
            f"metadata given on the command line for {sorted(given)} but not for {missing}; give every field, or "
            "none to read them from the dataset's table."
        )
    return given


def input_suffix(datalist: Sequence[Mapping[str, Any]], default: str, key: str = "image") -> str:
    """The file suffix of the first input (``.png``, ``.tif``), lower case, for masks written in the inputs' format;
    ``default`` for an empty datalist."""
    if not datalist:
        return default
    return Path(str(datalist[0][key])).suffix.lower() or default
