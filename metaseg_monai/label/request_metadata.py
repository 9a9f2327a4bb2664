"""The metadata fields of a served bundle: what ``/info`` shows of them, and the check of a request's params.

MONAI Label hands a task the request's params merged into its data dictionary, so the bundle's own
``EncodeMetadatad`` reads ``cell_line`` (or ``radiographic_size``, ...) from there. This module checks the raw request
first, so that a field that is missing or out of its vocabulary is refused with a message naming the field and the
accepted values, before any image is read, and never filled in from a default. It does not import MONAI Label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metaseg_monai.transforms.metadata import CategoricalField, ContinuousField, MetadataSpec

__all__ = ["MetadataRequestError", "accepted_values", "check_request_metadata", "describe_fields"]


class MetadataRequestError(ValueError):
    """A request's metadata is missing or invalid; the message names the model, the field and what it accepts."""


def accepted_values(field: CategoricalField | ContinuousField) -> str:
    """What a field accepts, as text: ``one of ['HeLa', 'MDCK']`` or ``a number in [0.0, inf)``."""
    if isinstance(field, CategoricalField):
        return f"one of {list(field.categories)}"
    return f"a number in {field.valid_range}"


def describe_fields(spec: MetadataSpec) -> list[dict[str, Any]]:
    """The fields as ``/info`` lists them: name, type, required, and the categories or the valid range."""
    described = []
    for field in spec.fields:
        entry: dict[str, Any] = {"name": field.name, "required": True}
        if isinstance(field, CategoricalField):
            entry.update(type="categorical", categories=list(field.categories))
        else:
            entry.update(type="continuous", valid_min=field.valid_min, valid_max=field.valid_max)
            entry["range"] = field.valid_range
        described.append(entry)
    return described


def check_request_metadata(spec: MetadataSpec, params: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The metadata values of ``params`` (a request's params), each checked against ``spec``.

    Returns:
        ``{field name: value}`` for every field of ``spec`` (empty for a network without metadata).

    Raises:
        MetadataRequestError: a field is missing, ``None`` or empty, or its value is not accepted (unknown category,
            not a finite number, outside the valid range); the message names ``model``, the field and what it accepts.
    """
    values = {}
    for field in spec.fields:
        value = params.get(field.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MetadataRequestError(
                f"model {model!r} needs the metadata field {field.name!r} in the request's params, "
                f"{accepted_values(field)}; found {'nothing' if value is None else repr(value)}. "
                'Example: params={"' + field.name + '": ' + _example(field) + "}"
            )
        try:
            field.encode(value, "params")
        except ValueError as e:  # its message names a sample; here the request's params are the sample
            raise MetadataRequestError(
                f"model {model!r}: the metadata field {field.name!r} accepts {accepted_values(field)}; "
                f"found {value!r} in the request's params."
            ) from e
        values[field.name] = value
    return values


def _example(field: CategoricalField | ContinuousField) -> str:
    if isinstance(field, CategoricalField):
        return f'"{field.categories[0]}"'
    return str(field.valid_min if field.valid_min is not None else 1.0)
