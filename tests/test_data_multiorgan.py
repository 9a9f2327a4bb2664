"""The FiLM paper's multi-organ data: three public layouts under one folder, reoriented, one label per scan."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from metaseg_monai.data import (
    ORGANS,
    OrientedNiftiReader,
    group_balanced_weights,
    load_multiorgan,
    multiorgan_inference_datalist,
    multiorgan_slice_datalist,
)
from metaseg_monai.data.image_io import read_nifti
from metaseg_monai.sample_data.generate_ct import generate_multiorgan


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return generate_multiorgan(
        tmp_path_factory.mktemp("mo") / "data", seed=0, scans_per_organ=6, size=48, num_slices=16
    )


def test_the_three_downloads_under_their_own_names(root):
    assert sorted(p.name for p in root.iterdir()) == ["Task03_Liver", "Task09_Spleen", "kits19"]
    scans = load_multiorgan(root)
    assert Counter(s["organ"] for s in scans) == {"spleen": 6, "liver": 6, "kidney": 6}
    assert {s["source"] for s in scans} == {"Task09_Spleen", "Task03_Liver", "kits19"}
    assert [s["case_id"] for s in scans if s["organ"] == "kidney"][:2] == ["case_00000", "case_00001"]
    assert len(load_multiorgan(root, ["spleen", "kidney"], max_scans=2)) == 4
    # every scan shows all three organs while it labels only its own (liver and kidney tumours apart)
    spleen = next(s for s in scans if s["organ"] == "spleen")
    assert set(np.unique(read_nifti(spleen["label"])[0])) == {0, 1}


def test_reader_errors_name_the_missing_dataset(root, tmp_path):
    partial = Path(shutil.copytree(root, tmp_path / "partial"))
    shutil.rmtree(partial / "kits19")
    with pytest.raises(FileNotFoundError, match=r"the kidney data '.*partial/kits19' is missing"):
        load_multiorgan(partial)
    assert len(load_multiorgan(partial, ["spleen", "liver"])) == 12  # the organs asked for only
    with pytest.raises(ValueError, match=r"organs must be distinct names among \['spleen', 'liver', 'kidney'\]"):
        load_multiorgan(root, ["spleen", "lung"])
    with pytest.raises(ValueError, match="max_scans must be an integer >= 1"):
        load_multiorgan(root, max_scans=0)


def test_every_source_is_sliced_in_the_same_orientation(root):
    """MSD stores (x, y, z) with diag(-sx, -sy, sz), KiTS19 (z, y, x) with a permuted affine; reoriented to RAS, an
    axial slice of either shows the anatomy the same way round (the spine, the densest part, at the same place)."""
    scans = {s["organ"]: s for s in load_multiorgan(root)}
    raw_msd, raw_kits = read_nifti(scans["spleen"]["image"])[0], read_nifti(scans["kidney"]["image"])[0]
    assert raw_msd.shape == (48, 48, 16) and raw_kits.shape == (16, 48, 48)
    reader = OrientedNiftiReader("RAS")
    centres = {}
    for organ in ("spleen", "liver", "kidney"):
        volume, affine = reader(scans[organ]["image"])
        assert volume.shape == (48, 48, 16)
        assert np.all(np.diag(affine)[:3] > 0)  # RAS: every axis increasing in world x, y, z
        middle = volume[:, :, volume.shape[2] // 2]
        centres[organ] = np.argwhere(middle > 300).mean(axis=0)  # bone
    assert np.abs(centres["spleen"] - centres["kidney"]).max() < 2.0
    assert np.abs(centres["liver"] - centres["kidney"]).max() < 2.0
    # the spleen (patient's left) and the liver (right) lie on either side of the spine
    for organ in ("spleen", "liver"):
        label = reader(scans[organ]["label"])[0]
        side = np.argwhere(label > 0)[:, 0].mean() - centres[organ][0]
        assert (side < 0) if organ == "spleen" else (side > 0)


def test_slices_split_per_scan_within_each_organ(root):
    per_split = {s: multiorgan_slice_datalist(root, s) for s in ("train", "val", "test")}
    cases = {s: {d["case_id"] for d in slices} for s, slices in per_split.items()}
    assert not (cases["train"] & cases["val"] or cases["train"] & cases["test"] or cases["val"] & cases["test"])
    for slices in per_split.values():
        assert {d["organ"] for d in slices} == set(ORGANS)
        for d in slices[:5]:
            assert d["image"].shape == (1, 48, 48) and d["image"].dtype == np.float32
            assert d["label"].shape == (1, 48, 48) and set(np.unique(d["label"])) <= {0, 1} and d["label"].any()
            assert d["slice_id"] == f"{d['case_id']}#slice_{d['slice_index']:03d}"
    # 6 scans an organ: 4 / 1 / 1
    assert [len({d["case_id"] for d in per_split["train"] if d["organ"] == o}) for o in ORGANS] == [4, 4, 4]


def test_balanced_weights_draw_every_organ_equally():
    datalist = [{"organ": "liver"}] * 6 + [{"organ": "spleen"}] * 2
    weights = group_balanced_weights(datalist)
    assert sum(weights[:6]) == pytest.approx(1.0) and sum(weights[6:]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="has no 'organ' to balance by"):
        group_balanced_weights([{"image": "a"}])


def test_few_label_design_holds_out_the_rest_for_testing(root):
    few = {"spleen": 2, "kidney": 4}
    chosen = {
        s: {d["case_id"] for d in multiorgan_slice_datalist(root, s, organs=["spleen", "kidney"], train_scans=few)}
        for s in ("train", "val", "test")
    }
    spleen = {s: sorted(c for c in ids if c.startswith("spleen")) for s, ids in chosen.items()}
    kidney = {s: sorted(c for c in ids if c.startswith("case")) for s, ids in chosen.items()}
    assert [len(spleen[s]) for s in ("train", "val", "test")] == [1, 1, 4]
    assert [len(kidney[s]) for s in ("train", "val", "test")] == [3, 1, 2]
    with pytest.raises(ValueError, match="has 6 scans: some must be left for the test"):
        multiorgan_slice_datalist(root, "train", train_scans={"spleen": 6})
    with pytest.raises(ValueError, match="train_scans must map organs"):
        multiorgan_slice_datalist(root, "train", train_scans={"spleen": 1})


def test_inference_datalist_one_item_per_volume_and_organ(root, tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    for name in ("b.nii.gz", "a.nii.gz"):
        shutil.copy(next((root / "Task09_Spleen" / "imagesTr").glob("spleen_*.nii.gz")), folder / name)
    items = multiorgan_inference_datalist(folder, {"organ": ["liver", "spleen"]})
    assert [(Path(i["image"]).name, i["organ"]) for i in items] == [
        ("a.nii.gz", "liver"),
        ("a.nii.gz", "spleen"),
        ("b.nii.gz", "liver"),
        ("b.nii.gz", "spleen"),
    ]
    assert [i["organ"] for i in multiorgan_inference_datalist(folder, {"organ": "kidney"})] == ["kidney"] * 2
    with pytest.raises(ValueError, match="pass --organ NAME"):
        multiorgan_inference_datalist(folder, {"organ": None})
    with pytest.raises(ValueError, match=r"organ: expected distinct names .* got \['lung'\]"):
        multiorgan_inference_datalist(folder, {"organ": "lung"})
