"""Tests for metaseg_monai.transforms.metadata (metadata field encoding)."""

from __future__ import annotations

import copy
import json
import pickle
import re

import numpy as np
import pytest
import torch
from monai.data import CacheDataset, DataLoader, MetaTensor
from monai.engines.utils import PrepareBatchExtraInput
from monai.transforms import Compose, Lambdad

from metaseg_monai.transforms import (
    CategoricalField,
    ContinuousField,
    EncodeMetadatad,
    MetadataSpec,
    sample_id_of,
)

CELL = {"name": "cell_line", "type": "categorical", "categories": ["HeLa", "MDCK", "U2OS"]}
SIZE = {"name": "tumor_size", "type": "continuous", "mean": 4.0, "std": 2.0}
FIELDS = [CELL, SIZE]


def sample(**extra):
    return {"image": "imgs/a.png", "label": "imgs/a_mask.png", "cell_line": "MDCK", "tumor_size": 7.0, **extra}


def err(*parts: str) -> str:
    """A regex requiring every part, literally and in order."""
    return ".*".join(re.escape(p) for p in parts)


# ---------------------------------------------------------------- fields


def test_categorical_one_hot_positions():
    field = CategoricalField("cell_line", ["HeLa", "MDCK", "U2OS"])
    assert field.width == 3
    assert field.feature_names == ["cell_line=HeLa", "cell_line=MDCK", "cell_line=U2OS"]
    for i, cat in enumerate(field.categories):
        expected = np.zeros(3, dtype=np.float32)
        expected[i] = 1
        out = field.encode(cat, "s")
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, expected)


def test_categorical_matches_stringified_and_stripped_values():
    field = CategoricalField("grade", ["1", "2", "3"])
    np.testing.assert_array_equal(field.encode(3, "s"), [0, 0, 1])
    np.testing.assert_array_equal(field.encode(np.int64(2), "s"), [0, 1, 0])
    np.testing.assert_array_equal(field.encode(" 1 ", "s"), [1, 0, 0])
    # declared integer categories are stringified too
    np.testing.assert_array_equal(CategoricalField("grade", [1, 2]).encode("2", "s"), [0, 1])


@pytest.mark.parametrize(
    "categories, message",
    [([], "non-empty strings, got ()"), (["a", "b", "a"], "duplicate categories ['a']"), (["a", " "], "('a', '')")],
)
def test_categorical_bad_vocabulary(categories, message):
    with pytest.raises(ValueError, match=err("'cell_line'", message)):
        CategoricalField("cell_line", categories)


def test_continuous_normalisation_values():
    field = ContinuousField("tumor_size", mean=4.0, std=2.0)
    assert field.width == 1 and field.feature_names == ["tumor_size"]
    for value, expected in [(4.0, 0.0), (7, 1.5), (np.float32(0.0), -2.0), ("2.4", -0.8), (" 10 ", 3.0)]:
        out = field.encode(value, "s")
        assert out.shape == (1,) and out.dtype == np.float32
        np.testing.assert_allclose(out, [expected], rtol=1e-6)
    np.testing.assert_allclose(ContinuousField("x").encode(torch.tensor(2.5), "s"), [2.5])


def test_continuous_from_range():
    field = ContinuousField.from_range("age", minimum=20, maximum=80)
    assert (field.mean, field.std) == (20.0, 60.0)
    np.testing.assert_allclose([field.encode(v, "s")[0] for v in (20, 50, 80)], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match=err("'age'", "minimum < maximum", "80", "20")):
        ContinuousField.from_range("age", minimum=80, maximum=20)


@pytest.mark.parametrize("std", [0.0, -1.0, float("nan"), float("inf")])
def test_continuous_bad_std(std):
    with pytest.raises(ValueError, match=err("'tumor_size'", "std must be finite and > 0")):
        ContinuousField("tumor_size", std=std)


def test_continuous_bad_mean():
    with pytest.raises(ValueError, match=err("'tumor_size'", "mean must be finite", "nan")):
        ContinuousField("tumor_size", mean=float("nan"))


# ---------------------------------------------------------------- valid range (apart from the scaling range)

TUMOUR = {"name": "radiographic_size", "type": "continuous", "minimum": 0.0, "maximum": 10.0, "valid_min": 0.0}


def test_continuous_valid_range_refuses_values_outside_it():
    field = MetadataSpec([TUMOUR]).fields[0]
    assert (field.mean, field.std, field.valid_min, field.valid_max) == (0.0, 10.0, 0.0, None)
    # the scaling range is no bound: a 14 cm tumour is encoded (above 1), a size of 0 is valid
    np.testing.assert_allclose(field.encode(14.0, "s"), [1.4])
    np.testing.assert_allclose(field.encode("0", "s"), [0.0])
    expected = ["sample 'case_00007'", "field 'radiographic_size'", "valid range [0.0, inf)", "found -3.0"]
    with pytest.raises(ValueError, match=err(*expected) + "$"):
        field.encode(-3.0, "case_00007")
    with pytest.raises(ValueError, match=err("sample 'imgs/a.png'", "'tumor_size'", "[1.0, 9.5]", "found 10.0")):
        EncodeMetadatad([{**SIZE, "valid_min": 1.0, "valid_max": 9.5}])(sample(tumor_size="10"))
    bounded_above = ContinuousField("x", valid_max=2)
    assert bounded_above.valid_range == "(-inf, 2.0]" and ContinuousField("x").valid_range == "(-inf, inf)"
    bounded_above.encode(2, "s")  # bounds are inclusive
    with pytest.raises(ValueError, match=err("field 'x'", "(-inf, 2.0]", "found 2.5")):
        bounded_above.encode(2.5, "s")


@pytest.mark.parametrize(
    "kwargs, parts",
    [
        ({"valid_min": float("nan")}, ["'x'", "valid_min must be a finite number or None", "nan"]),
        ({"valid_max": "big"}, ["'x'", "valid_max must be a finite number or None", "'big'"]),
        ({"valid_min": True}, ["'x'", "valid_min must be a finite number"]),
        ({"valid_min": 3.0, "valid_max": 1.0}, ["'x'", "valid_min <= valid_max", "3.0 > 1.0"]),
    ],
)
def test_continuous_bad_valid_range(kwargs, parts):
    with pytest.raises(ValueError, match=err(*parts)):
        ContinuousField("x", **kwargs)
    with pytest.raises(ValueError, match=err(*parts)):
        MetadataSpec([{"name": "x", "type": "continuous", "minimum": 0, "maximum": 1, **kwargs}])


def test_to_config_round_trips():
    spec = MetadataSpec(
        [
            CELL,
            SIZE,
            TUMOUR,
            {"name": "age", "type": "continuous", "minimum": 20, "maximum": 80, "valid_min": 0, "valid_max": 120},
            ContinuousField("dose", mean=1.5, std=0.5, valid_max=4.0),
        ]
    )
    config = spec.to_config()
    assert config == [
        CELL,
        SIZE,
        TUMOUR,
        {"name": "age", "type": "continuous", "minimum": 20.0, "maximum": 80.0, "valid_min": 0.0, "valid_max": 120.0},
        {"name": "dose", "type": "continuous", "mean": 1.5, "std": 0.5, "valid_max": 4.0},
    ]
    for form in (config, {"fields": config}, json.loads(json.dumps({"fields": config}))):
        again = MetadataSpec.from_config(form)
        assert again.fields == spec.fields and again.to_config() == config
        assert [(getattr(f, "minimum", None), getattr(f, "maximum", None)) for f in again.fields] == [
            (None, None), (None, None), (0.0, 10.0), (20.0, 80.0), (None, None)
        ]  # fmt: skip
    kept = pickle.loads(pickle.dumps(spec))
    assert kept.to_config() == config


# ---------------------------------------------------------------- spec


def test_spec_widths_and_feature_names():
    spec = MetadataSpec(FIELDS)
    assert spec.num_features == 4
    assert spec.field_names == ["cell_line", "tumor_size"]
    assert spec.feature_names == ["cell_line=HeLa", "cell_line=MDCK", "cell_line=U2OS", "tumor_size"]
    out = spec.encode(sample(), "s")
    assert out.shape == (4,) and out.dtype == np.float32
    np.testing.assert_allclose(out, [0, 1, 0, 1.5])


def test_spec_from_objects_equals_from_dicts():
    objects = MetadataSpec(
        [CategoricalField("cell_line", ["HeLa", "MDCK", "U2OS"]), ContinuousField("tumor_size", 4, 2)]
    )
    assert objects.fields == MetadataSpec(FIELDS).fields


def test_from_config_forms():
    from_list = MetadataSpec.from_config(FIELDS)
    from_dict = MetadataSpec.from_config({"fields": FIELDS})
    assert from_list.fields == from_dict.fields
    assert MetadataSpec.from_config(from_list) is from_list
    ranged = MetadataSpec.from_config([{"name": "age", "type": "continuous", "minimum": 0, "maximum": 100}])
    assert ranged.fields[0] == ContinuousField("age", mean=0.0, std=100.0)
    with pytest.raises(ValueError, match=err("exactly one key 'fields'", "['extra', 'fields']")):
        MetadataSpec.from_config({"fields": FIELDS, "extra": 1})


@pytest.mark.parametrize(
    "fields, parts",
    [
        ([{"name": "x", "type": "ordinal"}], ["field 'x'", "unknown type 'ordinal'", "['categorical', 'continuous']"]),
        ([{**CELL, "vocab": ["a"]}], ["field 'cell_line'", "unknown keys ['vocab']", "'categorical'"]),
        ([{**SIZE, "median": 1.0}], ["field 'tumor_size'", "unknown keys ['median']"]),
        ([{"name": "cell_line", "type": "categorical"}], ["field 'cell_line'", "list 'categories'"]),
        ([{**CELL, "categories": "HeLa"}], ["field 'cell_line'", "list 'categories'"]),
        ([{**SIZE, "minimum": 0.0, "maximum": 1.0}], ["field 'tumor_size'", "mean/std or both minimum and maximum"]),
        (
            [{"name": "age", "type": "continuous", "minimum": 0}],
            ["field 'age'", "both minimum and maximum", "['minimum', 'name', 'type']"],
        ),
        ([{"type": "continuous"}], ["non-empty string 'name'"]),
        ([CELL, {**SIZE, "name": "cell_line"}], ["unique", "['cell_line']"]),
        ("cell_line", ["list of fields"]),
        ([42], ["CategoricalField, ContinuousField or dict", "42"]),
    ],
)
def test_spec_config_errors(fields, parts):
    with pytest.raises(ValueError, match=err(*parts)):
        MetadataSpec(fields)


# ---------------------------------------------------------------- encoding errors (sample / field / found / expected)


def test_error_unknown_category():
    with pytest.raises(
        ValueError, match=err("sample 'imgs/a.png'", "field 'cell_line'", "unknown category 'Hela'")
    ) as e:
        EncodeMetadatad(FIELDS)(sample(cell_line="Hela"))
    assert "expected one of ['HeLa', 'MDCK', 'U2OS']" in str(e.value)


def test_error_missing_field_lists_present_keys():
    data = sample()
    del data["tumor_size"]
    expected = ["sample 'imgs/a.png'", "field 'tumor_size'", "missing", "['cell_line', 'image', 'label']"]
    with pytest.raises(ValueError, match=err(*expected)):
        EncodeMetadatad(FIELDS)(data)


@pytest.mark.parametrize(
    "value, found",
    [("large", "'large'"), (float("nan"), "nan"), (np.float64("nan"), "nan"), ("nan", "'nan'"),
     (float("inf"), "inf"), (None, "None"), ("", "''"), ([1.0, 2.0], "[1.0, 2.0]")],
)  # fmt: skip
def test_error_non_numeric(value, found):
    expected = ["sample 'imgs/a.png'", "field 'tumor_size' expected a finite number", f"found {found}"]
    with pytest.raises(ValueError, match=err(*expected) + "$"):
        EncodeMetadatad(FIELDS)(sample(tumor_size=value))


def test_sample_id_sources():
    assert sample_id_of({"image": "x/y.nii.gz"}) == "x/y.nii.gz"
    img = MetaTensor(torch.zeros(1, 2, 2), meta={"filename_or_obj": "scans/b.nii.gz"})
    assert sample_id_of({"image": img}) == "scans/b.nii.gz"
    assert sample_id_of({"image": torch.zeros(1, 2, 2)}) == "<sample N/A>"
    assert sample_id_of({}) == "<sample N/A>"
    assert sample_id_of({"img": "c.png"}, id_key="img") == "c.png"
    with pytest.raises(ValueError, match=err("sample 'scans/b.nii.gz'", "field 'cell_line'", "'Vero'")):
        EncodeMetadatad(FIELDS)(sample(image=img, cell_line="Vero"))
    with pytest.raises(ValueError, match=err("sample '<sample N/A>'", "field 'tumor_size'", "'big'")):
        EncodeMetadatad(FIELDS)({"cell_line": "HeLa", "tumor_size": "big"})


# ---------------------------------------------------------------- transform


def test_transform_output_and_no_mutation():
    data = sample(tumor_size="2.4")
    before = copy.deepcopy(data)
    out = EncodeMetadatad(FIELDS)(data)
    assert data == before and "metadata" not in data
    assert out is not data
    assert {k: v for k, v in out.items() if k != "metadata"} == before
    vec = out["metadata"]
    assert isinstance(vec, torch.Tensor) and vec.dtype == torch.float32 and vec.shape == (4,)
    torch.testing.assert_close(vec, torch.tensor([0.0, 1.0, 0.0, -0.8]))


def test_transform_custom_output_key_and_spec_object():
    out = EncodeMetadatad(MetadataSpec(FIELDS), output_key="meta_vec")(sample())
    assert "metadata" not in out and out["meta_vec"].shape == (4,)


def test_dummy_mode_zeros_without_fields():
    data = {"image": "imgs/a.png", "label": "imgs/a_mask.png"}
    out = EncodeMetadatad({"fields": FIELDS}, mode="dummy")(data)
    assert out["metadata"].dtype == torch.float32
    torch.testing.assert_close(out["metadata"], torch.zeros(4))
    assert "metadata" not in data


def test_missing_field_is_an_error_even_inside_transform():
    data = sample()
    del data["cell_line"]
    with pytest.raises(ValueError, match=err("field 'cell_line'", "is missing")):
        EncodeMetadatad(FIELDS)(data)


def test_transform_constructor_errors():
    with pytest.raises(ValueError, match=err("mode must be one of ['true', 'dummy', 'swap']", "'fake'")):
        EncodeMetadatad(FIELDS, mode="fake")
    with pytest.raises(ValueError, match=err("output_key 'cell_line'", "clashes")):
        EncodeMetadatad(FIELDS, output_key="cell_line")
    with pytest.raises(ValueError, match=err("field 'x'", "unknown type 'bool'")):
        EncodeMetadatad([{"name": "x", "type": "bool"}])


def test_in_compose_and_error_propagates():
    xform = Compose([Lambdad("tumor_size", float), EncodeMetadatad(FIELDS)])
    torch.testing.assert_close(xform(sample(tumor_size="10"))["metadata"], torch.tensor([0.0, 1.0, 0.0, 3.0]))
    with pytest.raises(RuntimeError) as e:  # Compose wraps transform errors; the cause keeps our message
        xform(sample(cell_line="Hela"))
    assert isinstance(e.value.__cause__, ValueError)
    assert "sample 'imgs/a.png': field 'cell_line' has unknown category 'Hela'" in str(e.value.__cause__)


def test_picklable_for_worker_processes():
    xform = pickle.loads(pickle.dumps(EncodeMetadatad(FIELDS)))
    torch.testing.assert_close(xform(sample())["metadata"], torch.tensor([0.0, 1.0, 0.0, 1.5]))


@pytest.mark.parametrize("mode", ["true", "dummy"])
def test_cache_dataset_dataloader_batch(mode):
    rows = [
        {"image": f"imgs/{i}.png", "label": f"imgs/{i}_mask.png", "cell_line": c, "tumor_size": s}
        for i, (c, s) in enumerate([("HeLa", 4.0), ("MDCK", 6.0), ("U2OS", 0.0), ("HeLa", 2.5), ("MDCK", 8.0)])
    ]
    ds = CacheDataset(rows, transform=Compose([EncodeMetadatad(FIELDS, mode=mode)]), cache_rate=1.0, progress=False)
    assert ds._cache[0]["metadata"].shape == (4,)  # the deterministic transform was cached
    assert "metadata" not in rows[0]
    batches = list(DataLoader(ds, batch_size=4, shuffle=False, num_workers=0))
    assert [b["metadata"].shape for b in batches] == [(4, 4), (1, 4)]
    first = batches[0]["metadata"]
    assert first.dtype == torch.float32
    if mode == "dummy":
        torch.testing.assert_close(first, torch.zeros(4, 4))
    else:
        expected = [[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, -2], [1, 0, 0, -0.75]]
        torch.testing.assert_close(first, torch.tensor(expected, dtype=torch.float32))
    # what SupervisedTrainer(prepare_batch=PrepareBatchExtraInput("metadata")) hands to network(image, metadata)
    batch = {"image": torch.zeros(4, 1, 2, 2), "label": torch.zeros(4, 1, 2, 2), "metadata": first}
    _, _, args, kwargs = PrepareBatchExtraInput("metadata")(batch)
    assert len(args) == 1 and args[0].shape == (4, 4) and kwargs == {}


def test_bundle_config_instantiation():
    from monai.bundle import ConfigParser

    config = {"xform": {"_target_": "metaseg_monai.transforms.EncodeMetadatad", "spec": {"fields": FIELDS}}}
    xform = ConfigParser(config).get_parsed_content("xform")
    assert isinstance(xform, EncodeMetadatad) and xform.spec.num_features == 4
    torch.testing.assert_close(xform(sample())["metadata"], torch.tensor([0.0, 1.0, 0.0, 1.5]))


def test_swap_metadata_gives_every_other_category_and_keeps_the_label():
    from metaseg_monai.transforms import SWAPPED_FIELD_KEY, SWAPPED_KEY, swap_metadata

    spec = [
        {"name": "mask_type", "type": "categorical", "categories": ["nuclei", "anomaly", "debris"]},
        {"name": "size", "type": "continuous", "mean": 0.0, "std": 1.0},
    ]
    items = [{"image": "a.png", "label": "a_n.png", "mask_type": "nuclei", "size": 1.0}]
    swapped = swap_metadata(items, spec, fields=["mask_type"])
    assert [s["mask_type"] for s in swapped] == ["anomaly", "debris"]
    assert all(s["label"] == "a_n.png" and s[SWAPPED_KEY] == "nuclei" for s in swapped)
    assert all(s[SWAPPED_FIELD_KEY] == "mask_type" for s in swapped)
    assert items[0]["mask_type"] == "nuclei"  # the input is not modified
    encoded = EncodeMetadatad(spec, mode="swap")(swapped[0])["metadata"]
    assert encoded[:3].tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="continuous"):
        swap_metadata(items, spec)  # the continuous field cannot be swapped
    with pytest.raises(ValueError, match=r"a\.png.*mask_type"):
        swap_metadata([{"image": "a.png", "mask_type": "cells", "size": 1.0}], spec, fields=["mask_type"])
    # swap mode refuses a sample that was not swapped: it would be evaluated with its true metadata
    with pytest.raises(ValueError, match=r"a\.png.*swap_metadata"):
        EncodeMetadatad(spec, mode="swap")(items[0])


def test_an_empty_spec_is_a_network_without_metadata():
    spec = MetadataSpec([])
    assert spec.num_features == 0 and spec.encode({"image": "a.png"}).shape == (0,)
