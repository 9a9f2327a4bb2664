"""Encode a sample's metadata fields (declared by a :class:`MetadataSpec`) into one float32 vector ``(M,)``.

After collation, MONAI's ``PrepareBatchExtraInput("metadata")`` passes the ``(B, M)`` batch to ``network(image, meta)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import MapTransform
from monai.utils import TransformBackends

__all__ = [
    "ENCODE_MODES",
    "SWAPPED_FIELD_KEY",
    "SWAPPED_KEY",
    "CategoricalField",
    "ContinuousField",
    "EncodeMetadatad",
    "MetadataSpec",
    "sample_id_of",
    "swap_metadata",
]

ENCODE_MODES = ("true", "dummy", "swap")
# swap_metadata marks its samples with the swapped field's name and true value (flat strings, so that they collate
# and go into a metrics table as they are); EncodeMetadatad(mode="swap") requires the mark
SWAPPED_KEY = "swapped_from"
SWAPPED_FIELD_KEY = "swapped_field"


def _at(sample_id: str, name: str) -> str:
    return f"sample {sample_id!r}: field {name!r}"


def _finite(value: Any) -> float | None:
    """``float(value)`` (strings stripped first) if that is a finite number, else ``None``."""
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class CategoricalField:
    """One-hot encoding of a categorical field over a declared vocabulary; width ``len(categories)``.

    Values are matched as ``str(value).strip()``, so a CSV integer ``3`` matches category ``"3"``.

    Args:
        name: key of the field in the data dictionary.
        categories: the vocabulary, in output order; non-empty, unique, no empty strings.
    """

    name: str
    categories: Sequence[str]

    def __post_init__(self) -> None:
        cats = tuple(str(c).strip() for c in self.categories)
        if not cats or "" in cats:
            raise ValueError(f"categorical field {self.name!r}: categories must be non-empty strings, got {cats}.")
        duplicates = sorted({c for c in cats if cats.count(c) > 1})
        if duplicates:
            raise ValueError(f"categorical field {self.name!r}: duplicate categories {duplicates}.")
        object.__setattr__(self, "categories", cats)

    @property
    def width(self) -> int:
        return len(self.categories)

    @property
    def feature_names(self) -> list[str]:
        return [f"{self.name}={c}" for c in self.categories]

    def encode(self, value: Any, sample_id: str) -> np.ndarray:
        """Return the one-hot vector, float32 shape ``(len(categories),)``."""
        key = str(value).strip()
        if key not in self.categories:
            raise ValueError(
                f"{_at(sample_id, self.name)} has unknown category {key!r}; expected one of {list(self.categories)}"
            )
        out = np.zeros(self.width, dtype=np.float32)
        out[self.categories.index(key)] = 1.0
        return out

    def to_config(self) -> dict[str, Any]:
        """The JSON field dict that :class:`MetadataSpec` reads back into an equal field."""
        return {"name": self.name, "type": "categorical", "categories": list(self.categories)}


@dataclass(frozen=True)
class ContinuousField:
    """A scalar field encoded as ``(value - mean) / std``; width 1.

    Use :meth:`from_range` for min-max scaling, ``(value - minimum) / (maximum - minimum)``. Accepted values: ints,
    floats, numpy/torch scalars and strings that parse as a float (``"2.4"``); NaN, inf, ``None``, ``""`` and
    non-numeric strings raise ``ValueError``, and so do values outside the declared valid range.

    The scaling (``mean``/``std`` or ``minimum``/``maximum``) only maps values to the network's input; it does not
    bound them (a tumour may exceed the ``maximum`` of 10 cm its sizes are scaled by). Validity is declared apart,
    by ``valid_min``/``valid_max``: e.g. ``valid_min=0.0`` for a size, which cannot be negative.

    Args:
        name: key of the field in the data dictionary.
        mean: value subtracted first (finite).
        std: divisor applied after subtracting ``mean`` (finite and > 0).
        valid_min: smallest valid value (inclusive, finite), or None for no lower bound.
        valid_max: largest valid value (inclusive, finite), or None for no upper bound.

    Attributes:
        minimum, maximum: the min-max scaling range when built by :meth:`from_range` (or from a field dict with
            ``minimum``/``maximum``), else None; kept so that :meth:`to_config` gives back the same form.
    """

    name: str
    mean: float = 0.0
    std: float = 1.0
    valid_min: float | None = None
    valid_max: float | None = None
    minimum: float | None = dataclass_field(default=None, init=False, compare=False)
    maximum: float | None = dataclass_field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        mean, std = _finite(self.mean), _finite(self.std)
        if mean is None:
            raise ValueError(f"continuous field {self.name!r}: mean must be finite, got {self.mean!r}.")
        if std is None or std <= 0:
            raise ValueError(f"continuous field {self.name!r}: std must be finite and > 0, got {self.std!r}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        for key in ("valid_min", "valid_max"):
            bound = getattr(self, key)
            if bound is not None:
                number = None if isinstance(bound, bool) else _finite(bound)
                if number is None:
                    raise ValueError(
                        f"continuous field {self.name!r}: {key} must be a finite number or None, got {bound!r}."
                    )
                object.__setattr__(self, key, number)
        if self.valid_min is not None and self.valid_max is not None and self.valid_min > self.valid_max:
            raise ValueError(
                f"continuous field {self.name!r}: need valid_min <= valid_max, got {self.valid_min!r} > "
                f"{self.valid_max!r}."
            )

    @classmethod
    def from_range(
        cls,
        name: str,
        minimum: float,
        maximum: float,
        valid_min: float | None = None,
        valid_max: float | None = None,
    ) -> ContinuousField:
        """Min-max scaling: ``minimum`` maps to 0 and ``maximum`` to 1 (requires finite ``minimum < maximum``).

        ``valid_min``/``valid_max``: the valid range, independent of the scaling range (see the class docstring).
        """
        low, high = _finite(minimum), _finite(maximum)
        if low is None or high is None or high <= low:
            raise ValueError(f"continuous field {name!r}: need finite minimum < maximum, got {minimum!r}, {maximum!r}.")
        made = cls(name, mean=low, std=high - low, valid_min=valid_min, valid_max=valid_max)
        object.__setattr__(made, "minimum", low)
        object.__setattr__(made, "maximum", high)
        return made

    @property
    def width(self) -> int:
        return 1

    @property
    def feature_names(self) -> list[str]:
        return [self.name]

    @property
    def valid_range(self) -> str:
        """The valid range as text, e.g. ``[0.0, inf)``; ``(-inf, inf)`` when unbounded."""
        low = "(-inf" if self.valid_min is None else f"[{self.valid_min!r}"
        high = "inf)" if self.valid_max is None else f"{self.valid_max!r}]"
        return f"{low}, {high}"

    def encode(self, value: Any, sample_id: str) -> np.ndarray:
        """Return the normalised value, float32 shape ``(1,)``.

        Raises:
            ValueError: the value is not a finite number, or lies outside ``[valid_min, valid_max]``; the message
                names the sample, the field, the valid range and the value found.
        """
        number = _finite(value)
        if number is None:  # strings are quoted ('large', ''), other values printed as is (nan, None)
            found = repr(value) if isinstance(value, str) else str(value)
            raise ValueError(f"{_at(sample_id, self.name)} expected a finite number, found {found}")
        if (self.valid_min is not None and number < self.valid_min) or (
            self.valid_max is not None and number > self.valid_max
        ):
            raise ValueError(
                f"{_at(sample_id, self.name)} expected a value in the valid range {self.valid_range}, found {number!r}"
            )
        return np.asarray([(number - self.mean) / self.std], dtype=np.float32)

    def to_config(self) -> dict[str, Any]:
        """The JSON field dict that :class:`MetadataSpec` reads back into an equal field: ``minimum``/``maximum``
        if built from a range, else ``mean``/``std``, and ``valid_min``/``valid_max`` where set."""
        config: dict[str, Any] = {"name": self.name, "type": "continuous"}
        if self.minimum is not None and self.maximum is not None:
            config.update(minimum=self.minimum, maximum=self.maximum)
        else:
            config.update(mean=self.mean, std=self.std)
        for key in ("valid_min", "valid_max"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config


Field = CategoricalField | ContinuousField

_FIELD_KEYS = {
    "categorical": {"name", "type", "categories"},
    "continuous": {"name", "type", "mean", "std", "minimum", "maximum", "valid_min", "valid_max"},
}


def _field_from_dict(cfg: Mapping[str, Any]) -> Field:
    name = cfg.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"metadata field config needs a non-empty string 'name', got {dict(cfg)}.")
    kind = cfg.get("type")
    if kind not in _FIELD_KEYS:
        raise ValueError(f"field {name!r}: unknown type {kind!r}; expected one of {sorted(_FIELD_KEYS)}.")
    unknown = sorted(set(cfg) - _FIELD_KEYS[kind])
    if unknown:
        raise ValueError(
            f"field {name!r}: unknown keys {unknown} for type {kind!r}; allowed {sorted(_FIELD_KEYS[kind])}"
        )
    if kind == "categorical":
        if "categories" not in cfg or isinstance(cfg["categories"], (str, bytes)):
            raise ValueError(f"field {name!r}: categorical fields need a list 'categories'.")
        return CategoricalField(name, tuple(cfg["categories"]))
    valid = {"valid_min": cfg.get("valid_min"), "valid_max": cfg.get("valid_max")}
    has_range = {"minimum", "maximum"} & set(cfg)
    if has_range:
        if len(has_range) != 2 or {"mean", "std"} & set(cfg):
            raise ValueError(f"field {name!r}: give mean/std or both minimum and maximum, got keys {sorted(cfg)}.")
        return ContinuousField.from_range(name, cfg["minimum"], cfg["maximum"], **valid)
    return ContinuousField(name, mean=cfg.get("mean", 0.0), std=cfg.get("std", 1.0), **valid)


class MetadataSpec:
    """An ordered list of metadata fields and their encodings; the output vector concatenates them in order.

    Args:
        fields: :class:`CategoricalField` / :class:`ContinuousField` objects or JSON-style dicts, e.g.
            ``{"name": "cell_line", "type": "categorical", "categories": ["HeLa", "MDCK"]}``,
            ``{"name": "tumor_size", "type": "continuous", "mean": 4.0, "std": 3.0}`` or
            ``{"name": "age", "type": "continuous", "minimum": 0, "maximum": 100}``; continuous fields may add a
            valid range, ``"valid_min"``/``"valid_max"`` (e.g. ``"valid_min": 0.0`` for a size). An empty list
            is the spec of a network that reads no metadata (width 0, e.g. the video bundle's U-Net).
    """

    def __init__(self, fields: Sequence[Field | Mapping[str, Any]]) -> None:
        if isinstance(fields, (str, bytes, Mapping)) or not isinstance(fields, Sequence):
            raise ValueError(f"fields must be a list of fields or field dicts, got {type(fields).__name__}.")
        parsed = [_field_from_dict(f) if isinstance(f, Mapping) else f for f in fields]
        for f in parsed:
            if not isinstance(f, (CategoricalField, ContinuousField)):
                raise ValueError(f"metadata field must be a CategoricalField, ContinuousField or dict, got {f!r}.")
        names = [f.name for f in parsed]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"metadata field names must be unique; duplicated: {duplicates}.")
        self.fields: tuple[Field, ...] = tuple(parsed)

    @classmethod
    def from_config(cls, obj: MetadataSpec | Sequence[Any] | Mapping[str, Any]) -> MetadataSpec:
        """Build from a spec, a list of field dicts/objects, or a bundle-style ``{"fields": [...]}`` dict."""
        if isinstance(obj, MetadataSpec):
            return obj
        if isinstance(obj, Mapping):
            if set(obj) != {"fields"}:
                raise ValueError(f"metadata spec dict must have exactly one key 'fields', got keys {sorted(obj)}.")
            obj = obj["fields"]
        return cls(obj)

    def to_config(self) -> list[dict[str, Any]]:
        """The JSON form: one field dict per field, in order, such that ``MetadataSpec.from_config(spec.to_config())``
        (or ``from_config({"fields": spec.to_config()})``, the form of a bundle's ``metadata_spec.json``) gives the
        same fields, scaling form (``mean``/``std`` or ``minimum``/``maximum``) and valid ranges."""
        return [f.to_config() for f in self.fields]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def num_features(self) -> int:
        """Total width ``M`` of the encoded vector."""
        return sum(f.width for f in self.fields)

    @property
    def feature_names(self) -> list[str]:
        """One name per output position, e.g. ``["cell_line=HeLa", "cell_line=MDCK", "tumor_size"]``."""
        return [n for f in self.fields for n in f.feature_names]

    def encode(self, sample: Mapping[Hashable, Any], sample_id: str = "<sample N/A>") -> np.ndarray:
        """Encode ``sample[field.name]`` for every field into a float32 array of shape ``(num_features,)``.

        A missing field raises ``ValueError`` listing the keys present: metadata is never filled in silently.
        """
        parts = []
        for f in self.fields:
            if f.name in sample:
                parts.append(f.encode(sample[f.name], sample_id))
            else:
                raise ValueError(f"{_at(sample_id, f.name)} is missing; keys present: {sorted(map(str, sample))}")
        return np.concatenate(parts).astype(np.float32, copy=False) if parts else np.zeros(0, np.float32)

    def __repr__(self) -> str:
        return f"MetadataSpec({list(self.fields)!r})"


def sample_id_of(data: Mapping[Hashable, Any], id_key: Hashable = "image") -> str:
    """Name a sample for error messages: ``data[id_key]`` if it is a path, else its MetaTensor ``filename_or_obj``."""
    item = data.get(id_key)
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    if isinstance(item, MetaTensor) and item.meta.get("filename_or_obj"):
        return str(item.meta["filename_or_obj"])
    return "<sample N/A>"


class EncodeMetadatad(MapTransform):
    """Dictionary transform writing ``d[output_key]``: float32 tensor of shape ``(M,)``, ``M = spec.num_features``.

    Fields are read from the top level of the data dict, e.g. ``{"image": "a.png", "cell_line": "HeLa"}``; the
    ``keys`` of this ``MapTransform`` are the spec's field names. It is deterministic (not ``Randomizable``), so
    ``CacheDataset`` caches its output. The input dict is not modified; a shallow copy is returned.

    Args:
        spec: a :class:`MetadataSpec`, a list of fields / field dicts, or ``{"fields": [...]}`` (bundle JSON).
        output_key: key under which the vector is stored; must not be a field name.
        mode: ``"true"`` encodes the fields; ``"dummy"`` writes zeros of the same width without reading any field
            (the "dummy metadata" ablation arm); ``"swap"`` encodes like ``"true"`` but only samples made by
            :func:`swap_metadata` (they carry :data:`SWAPPED_KEY`), so that a datalist that was not swapped fails
            instead of being evaluated with its true metadata.
        id_key: data key used to name the sample in error messages (a path or a MetaTensor with ``filename_or_obj``).
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        spec: MetadataSpec | Sequence[Any] | Mapping[str, Any],
        output_key: str = "metadata",
        mode: str = "true",
        id_key: Hashable = "image",
    ) -> None:
        self.spec = MetadataSpec.from_config(spec)
        # a missing field is always an error (no silent zeros), so allow_missing_keys is not offered
        super().__init__(self.spec.field_names, allow_missing_keys=False)
        if mode not in ENCODE_MODES:
            raise ValueError(f"mode must be one of {list(ENCODE_MODES)}, got {mode!r}.")
        if output_key in self.spec.field_names:
            raise ValueError(f"output_key {output_key!r} clashes with a metadata field of the same name.")
        self.output_key, self.mode, self.id_key = output_key, mode, id_key

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        if self.mode == "dummy":
            vector = np.zeros(self.spec.num_features, dtype=np.float32)
        else:
            if self.mode == "swap" and SWAPPED_KEY not in d:
                raise ValueError(
                    f"{sample_id_of(d, self.id_key)}: metadata_mode 'swap' expects samples made by swap_metadata "
                    f"(with a {SWAPPED_KEY!r} entry), found keys {sorted(map(str, d))}; swap the datalist first."
                )
            vector = self.spec.encode(d, sample_id_of(d, self.id_key))
        d[self.output_key] = torch.as_tensor(vector, dtype=torch.float32)
        return d


def swap_metadata(
    datalist: Sequence[Mapping[Hashable, Any]],
    spec: MetadataSpec | Sequence[Any] | Mapping[str, Any],
    fields: Sequence[str] | None = None,
    include_true: bool = False,
) -> list[dict]:
    """Every sample once with each *other* category of each swapped field: the paper's swapped-metadata test.

    For a sample ``{"image": a, "mask_type": "nuclei"}`` and a field with categories ``nuclei``/``anomaly`` this
    gives ``[{"image": a, "mask_type": "anomaly", "swapped_field": "mask_type", "swapped_from": "nuclei"}]``: the
    label stays the true one, so a network that follows its metadata scores near zero. With several fields, one
    field is swapped at a time (the others keep their true values). Samples come out in datalist order, then field,
    then category order.

    Args:
        datalist: the evaluation datalist (dicts holding each field's value).
        spec: the metadata spec (or its JSON form); only categorical fields can be swapped.
        fields: the fields to swap; ``None`` swaps every field of ``spec`` (all must be categorical).
        include_true: also give each sample its true category (marked like the others, ``swapped_from`` equal to
            the value given), so that the result covers every (true, given) pair: the FiLM paper's Table 3.

    Raises:
        ValueError: a field is not in ``spec`` or is continuous, a sample lacks it or holds an unknown category.
    """
    spec = MetadataSpec.from_config(spec)
    by_name = {f.name: f for f in spec.fields}
    names = list(by_name) if fields is None else list(fields)
    for name in names:
        if name not in by_name:
            raise ValueError(f"swap_metadata: field {name!r} is not in the metadata spec; fields: {list(by_name)}.")
        if not isinstance(by_name[name], CategoricalField):
            raise ValueError(
                f"swap_metadata: field {name!r} is continuous; only categorical fields can be swapped (sweep a "
                "continuous field over values instead)."
            )
    swapped = []
    for item in datalist:
        for name in names:
            field = by_name[name]
            if name not in item:
                raise ValueError(f"{_at(sample_id_of(item), name)} is missing; keys present: {sorted(map(str, item))}")
            true_value = item[name]
            field.encode(true_value, sample_id_of(item))  # an unknown category fails here, naming the sample
            for category in field.categories:
                if include_true or str(category) != str(true_value):
                    swapped.append({**item, name: category, SWAPPED_FIELD_KEY: name, SWAPPED_KEY: str(true_value)})
    return swapped
