"""JSON and delimited-text (CSV/TSV) files: read with errors that name the file, written atomically."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.utils.atomic import atomic_path

__all__ = ["read_delimited", "read_json", "write_delimited", "write_json"]


def read_delimited(path: str | os.PathLike, delimiter: str = ",") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a CSV/TSV table: the stripped header (``[]`` for a blank file) and ``(line number, cells)`` for every
    non-blank data row. Callers check columns and cell counts and word the errors for their layout."""
    # utf-8-sig: a table saved by a spreadsheet starts with a BOM that would otherwise join the first column's name
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None) or []
            while header and not any(c.strip() for c in header):
                header = next(reader, None) or []
            rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except UnicodeDecodeError as err:
        raise ValueError(
            f"cannot read table '{path}': expected UTF-8 text, found byte {err.object[err.start]:#04x} at offset "
            f"{err.start}; save it as UTF-8 (spreadsheets: 'CSV UTF-8')."
        ) from err
    return [h.strip() for h in header], rows


def write_delimited(
    path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[object]], delimiter: str = ","
) -> None:
    """Write a CSV/TSV table (``header`` then ``rows``) atomically; refuses to overwrite an existing file."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_json(path: str | os.PathLike, what: str, expected: type = dict) -> Any:
    """Read a JSON file that must hold a ``dict`` or ``list``; errors name the file and ``what`` it is."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"file not found: '{p}' ({what}).")
    try:
        content = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read '{p}': malformed JSON ({err}).") from err
    if not isinstance(content, expected):
        kind = "list" if expected is list else "object"
        raise ValueError(f"'{p}': expected a JSON {kind} ({what}), found {type(content).__name__}.")
    return content


def write_json(path: str | os.PathLike, obj: object, overwrite: bool = False, indent: int = 2) -> None:
    """Write ``obj`` as indented JSON with a final newline, atomically (``indent=4`` is the Model Zoo's format)."""
    with atomic_path(path, overwrite) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=indent)
        f.write("\n")
