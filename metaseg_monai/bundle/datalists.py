"""The datalist a bundle's evaluation reads for its ``metadata_mode``: the test data, or it with swapped metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metaseg_monai.transforms import MetadataSpec, swap_metadata

__all__ = ["evaluation_datalist"]


def evaluation_datalist(
    datalist: Sequence[Mapping[str, Any]],
    spec: MetadataSpec | Sequence[Any] | Mapping[str, Any],
    metadata_mode: str,
    swap_fields: Sequence[str] | None = None,
) -> list[dict]:
    """``datalist`` as it is, or for ``metadata_mode="swap"`` every sample with every category of the swapped fields,
    its true one included (:func:`~metaseg_monai.transforms.swap_metadata` with ``include_true``: ``swap_fields``, or
    every field when ``None``), so that the report holds the whole (true, given) matrix.

    Raises:
        ValueError: ``swap`` of a continuous field (it can be swept, not swapped), or of a field not in ``spec``.
    """
    if metadata_mode == "swap":
        return swap_metadata(datalist, spec, swap_fields, include_true=True)
    return [dict(item) for item in datalist]
