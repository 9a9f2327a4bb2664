"""The swapped-metadata matrix (the FiLM paper's Table 3): the score of every (true category, category given) pair.

Rows come from an evaluation of :func:`~metaseg_monai.transforms.swap_metadata` samples made with
``include_true=True``: each sample once per category of the swapped field, ``swapped_from`` holding its true one.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.metrics.pixel_scores import summarize_scores
from metaseg_monai.transforms.metadata import SWAPPED_FIELD_KEY, SWAPPED_KEY
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.sorting import natural_key

__all__ = ["SWAP_MATRIX_COLUMNS", "is_true_pair", "swap_matrix", "swapped_fields", "write_swap_matrix_csv"]

SWAP_MATRIX_COLUMNS = ("field", "true", "given", "n", "mean_f1", "pooled_f1")


def swapped_fields(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The fields swapped in ``rows`` (their ``swapped_field`` values), in order of first appearance."""
    names: list[str] = []
    for row in rows:
        name = row.get(SWAPPED_FIELD_KEY)
        if name is not None and str(name) not in names:
            names.append(str(name))
    return names


def is_true_pair(row: Mapping[str, Any]) -> bool:
    """Whether a swapped-metadata row was given its own category (a diagonal cell of the matrix)."""
    field = row.get(SWAPPED_FIELD_KEY)
    return field is not None and str(row.get(str(field))) == str(row.get(SWAPPED_KEY))


def swap_matrix(
    rows: Sequence[Mapping[str, Any]], field: str, categories: Sequence[str] | None = None
) -> dict[str, Any]:
    """The per-image F1 of every (true, given) pair of ``field``.

    Args:
        rows: per-image score rows (``f1``, ``tp``, ``fp``, ``fn``) with ``swapped_field``, ``swapped_from`` (the
            true category) and ``field`` (the category given); rows of other swapped fields are ignored.
        field: the swapped field.
        categories: the order of rows and columns; default: the categories found, in natural order.

    Returns:
        ``{"field", "categories", "mean_f1": [[...]] (true x given, None where no image), "n": [[...]],
        "pooled_f1": [[...]], "diagonal_mean_f1", "off_diagonal_mean_f1"}``: the last two average per image over the
        true pairs and over the swapped ones.

    Raises:
        ValueError: no row of ``field``.
    """
    mine = [r for r in rows if str(r.get(SWAPPED_FIELD_KEY)) == field]
    if not mine:
        raise ValueError(f"no swapped-metadata rows of field {field!r} (fields found: {swapped_fields(rows)}).")
    found = {str(r[SWAPPED_KEY]) for r in mine} | {str(r[field]) for r in mine}
    order = [str(c) for c in categories] if categories is not None else sorted(found, key=natural_key)
    table = {k: [[None] * len(order) for _ in order] for k in ("mean_f1", "n", "pooled_f1")}
    for i, true in enumerate(order):
        for j, given in enumerate(order):
            cell = [r for r in mine if str(r[SWAPPED_KEY]) == true and str(r[field]) == given]
            if cell:
                scores = summarize_scores(cell)
                for key in table:
                    table[key][i][j] = scores[key]
    diagonal = [r for r in mine if is_true_pair(r)]
    swapped = [r for r in mine if not is_true_pair(r)]
    return {
        "field": field,
        "categories": order,
        **table,
        "diagonal_mean_f1": summarize_scores(diagonal)["mean_f1"] if diagonal else None,
        "off_diagonal_mean_f1": summarize_scores(swapped)["mean_f1"] if swapped else None,
    }


def write_swap_matrix_csv(
    path: str | os.PathLike, matrices: Sequence[Mapping[str, Any]], overwrite: bool = False
) -> Path:
    """Write :func:`swap_matrix` results as one long table (:data:`SWAP_MATRIX_COLUMNS`), atomically."""
    path = Path(path)
    with atomic_path(path, overwrite) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SWAP_MATRIX_COLUMNS)
        for matrix in matrices:
            for i, true in enumerate(matrix["categories"]):
                for j, given in enumerate(matrix["categories"]):
                    if matrix["n"][i][j] is not None:
                        cells = [matrix[k][i][j] for k in ("n", "mean_f1", "pooled_f1")]
                        writer.writerow([matrix["field"], true, given, *cells])
    return path
