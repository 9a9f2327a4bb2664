"""The deterministic case split and the KiTS21 slice / volume datalists built on it."""

from __future__ import annotations

import numpy as np
import pytest

from metaseg_monai.data import (
    kits21_slice_datalist,
    kits21_volume_datalist,
    load_kits21,
    select_split,
    slice_id,
    split_cases,
)
from metaseg_monai.data.image_io import read_nifti
from metaseg_monai.sample_data.generate_ct import generate_kits21
from metaseg_monai.utils.files import write_json

# ---------------------------------------------------------------- split_cases / select_split


def test_split_cases_is_deterministic_disjoint_and_order_free():
    ids = [f"case_{i:05d}" for i in range(16)]
    split = split_cases(ids, (0.6, 0.2, 0.2), seed=0)
    assert [len(split[s]) for s in ("train", "val", "test")] == [10, 3, 3]
    assert sorted(split["train"] + split["val"] + split["test"]) == ids  # every case once
    assert split_cases(list(reversed(ids)) + ids[:3], (0.6, 0.2, 0.2), seed=0) == split  # order, repeats ignored
    assert all(split[s] == sorted(split[s]) for s in split)
    other = split_cases(ids, (0.6, 0.2, 0.2), seed=1)
    assert other != split and sorted(c for ids_ in other.values() for c in ids_) == ids
    # 32 cases: 19.2 / 6.4 / 6.4 -> 19 / 6 / 6 and the one left over to the first largest remainder (val)
    grown = split_cases([f"case_{i:05d}" for i in range(32)], (0.6, 0.2, 0.2), seed=0)
    assert [len(grown[s]) for s in ("train", "val", "test")] == [19, 7, 6]


def test_split_sizes_small_and_zero_fractions():
    # 5 cases: 3 / 1 / 1; 3 cases still give every split one case
    assert [len(v) for v in split_cases(range(5)).values()] == [3, 1, 1]
    assert [len(v) for v in split_cases(range(3)).values()] == [1, 1, 1]
    # a zero fraction stays empty; two cases cannot fill three splits, the test split rounds away
    assert [len(v) for v in split_cases(range(10), (0.8, 0.0, 0.2)).values()] == [8, 0, 2]
    assert [len(v) for v in split_cases(range(2)).values()] == [1, 1, 0]


def test_split_cases_errors():
    with pytest.raises(ValueError, match="must sum to 1"):
        split_cases(["a"], (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="3 numbers"):
        split_cases(["a"], (0.8, 0.2))
    with pytest.raises(ValueError, match="'val' must be a finite number >= 0"):
        split_cases(["a"], (1.2, -0.2, 0.0))
    with pytest.raises(ValueError, match="no case ids"):
        split_cases([])
    with pytest.raises(ValueError, match="seed must be an integer"):
        split_cases(["a"], seed="0")


def test_select_split_keeps_cases_together():
    datalist = [{"case_id": f"case_{c:05d}", "slice_index": s} for c in range(6) for s in range(3)]
    parts = {name: select_split(datalist, name) for name in ("train", "val", "test")}
    cases = {name: {d["case_id"] for d in part} for name, part in parts.items()}
    assert cases["train"].isdisjoint(cases["val"]) and cases["val"].isdisjoint(cases["test"])
    assert cases["train"].isdisjoint(cases["test"])
    assert sum(len(p) for p in parts.values()) == len(datalist)
    assert all(len(p) % 3 == 0 for p in parts.values())  # all three slices of a case together
    assert parts["test"] == [d for d in datalist if d["case_id"] in cases["test"]]  # datalist order kept
    with pytest.raises(ValueError, match="split must be one of"):
        select_split(datalist, "training")
    with pytest.raises(ValueError, match="item 1 has no 'case_id'"):
        select_split([{"case_id": "a"}, {"image": "b"}], "train")
    with pytest.raises(ValueError, match=r"split 'val' has no case: 10 cases .* \{'train': 8, 'val': 0, 'test': 2\}"):
        select_split([{"case_id": str(i)} for i in range(10)], "val", (0.8, 0.0, 0.2))


# ---------------------------------------------------------------- KiTS21 datalists


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    return generate_kits21(tmp_path_factory.mktemp("kits") / "kits21", num_cases=5, shape=(16, 32, 32))


def test_slice_id():
    assert slice_id("case_00003", 12) == "case_00003#slice_012"
    assert slice_id("case_00003", np.int64(1234)) == "case_00003#slice_1234"


def test_kits21_slice_datalist_splits_cases_and_names_slices(kits):
    splits = {s: kits21_slice_datalist(kits, s) for s in ("train", "val", "test")}
    cases = {s: {d["case_id"] for d in v} for s, v in splits.items()}
    assert [len(cases[s]) for s in ("train", "val", "test")] == [3, 1, 1]
    assert set.union(*cases.values()) == {d["case_id"] for d in load_kits21(kits)}
    sizes = {d["case_id"]: d["radiographic_size"] for d in load_kits21(kits, metadata_fields=["radiographic_size"])}
    ids = [d["slice_id"] for v in splits.values() for d in v]
    assert len(ids) == len(set(ids))  # unique per slice
    for sample in splits["test"]:
        assert sample["slice_id"] == slice_id(sample["case_id"], sample["slice_index"])
        assert sample["image"].shape == (1, 32, 32) and sample["image"].dtype == np.float32
        assert sample["radiographic_size"] == sizes[sample["case_id"]]
        assert np.isin(sample["label"], (1, 2, 3)).any()  # only slices with kidney, tumour or cyst
    # every labelled slice of the test case is there, in order
    case = next(iter(cases["test"]))
    label, _ = read_nifti(kits / case / "aggregated_MAJ_seg.nii.gz")
    expected = np.flatnonzero((label > 0).any(axis=(1, 2)))
    assert [d["slice_index"] for d in splits["test"]] == expected.tolist()


def test_kits21_volume_datalist_both_forms(kits, tmp_path):
    all_cases = kits21_volume_datalist(kits)
    assert len(all_cases) == 5 and all("label" not in d for d in all_cases)
    assert set(all_cases[0]) == {"image", "case_id", "radiographic_size"}
    test = kits21_volume_datalist(kits, split="test")
    assert [d["case_id"] for d in test] == sorted({d["case_id"] for d in kits21_slice_datalist(kits, "test")})

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "b.nii.gz").write_bytes((kits / "case_00000" / "imaging.nii.gz").read_bytes())
    (flat / "a.nii").write_bytes(b"")  # listed (a NIfTI name); reading it is the loader's job
    (flat / "notes.txt").write_text("not an image")
    items = kits21_volume_datalist(flat, {"radiographic_size": 3.5})
    assert [d["image"].rsplit("/", 1)[1] for d in items] == ["a.nii", "b.nii.gz"]
    assert all(d["radiographic_size"] == 3.5 for d in items)
    with pytest.raises(ValueError, match=r"lacks field\(s\) \['radiographic_size'\]"):
        kits21_volume_datalist(flat, {"size": 3.5})
    with pytest.raises(ValueError, match="cannot be used with metadata"):
        kits21_volume_datalist(flat, {"radiographic_size": 3.5}, split="test")
    no_json = tmp_path / "no_json"
    (no_json / "case_00000").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no_json/kits\.json"):
        kits21_volume_datalist(no_json)


def test_kits21_volume_datalist_missing_image_and_null_size(kits, tmp_path):
    root = tmp_path / "k"
    (root / "case_00000").mkdir(parents=True)
    write_json(root / "kits.json", [{"case_id": "case_00000", "radiographic_size": 2.0}])
    with pytest.raises(FileNotFoundError, match=r"image of case 'case_00000' not found: '.*imaging\.nii\.gz'"):
        kits21_volume_datalist(root)
    write_json(root / "kits.json", [{"case_id": "case_00000", "radiographic_size": None}], overwrite=True)
    with pytest.raises(ValueError, match="'radiographic_size': expected a value, found none"):
        kits21_volume_datalist(root)


def test_a_stratified_split_keeps_each_group_in_every_split():
    # 5 cases of "a", 10 of "b": 60/20/20 within each group gives 3/1/1 and 6/2/2
    items = [{"case_id": f"c{i:02d}", "organ": "a" if i < 5 else "b"} for i in range(15)]
    items += [{"case_id": "c00", "organ": "a"}]  # a second slice of a case stays with it
    chosen = {s: select_split(items, s, seed=4, stratify_key="organ") for s in ("train", "val", "test")}
    counts = {
        s: [sum(i["organ"] == g for i in {d["case_id"]: d for d in c}.values()) for g in "ab"]
        for s, c in chosen.items()
    }
    assert counts == {"train": [3, 6], "val": [1, 2], "test": [1, 2]}
    cases = [{d["case_id"] for d in c} for c in chosen.values()]
    assert not (cases[0] & cases[1] or cases[0] & cases[2] or cases[1] & cases[2])
    # each group is split as split_cases splits it alone
    assert sorted(cases[2]) == sorted(
        split_cases([f"c{i:02d}" for i in range(5)], seed=4)["test"]
        + split_cases([f"c{i:02d}" for i in range(5, 15)], seed=4)["test"]
    )
    with pytest.raises(ValueError, match="case 'c00' has two 'organ' values"):
        select_split([*items, {"case_id": "c00", "organ": "b"}], "train", stratify_key="organ")
    with pytest.raises(ValueError, match="has no 'organ' to stratify"):
        select_split([{"case_id": "x"}], "train", stratify_key="organ")
