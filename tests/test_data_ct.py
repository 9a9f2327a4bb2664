"""CT datasets: KiTS21/KiTS19/MSD generators and readers, their errors, and the 3D-to-2D slice path."""

import json
import logging
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from metaseg_monai.data.decathlon import decathlon_labels, load_decathlon
from metaseg_monai.data.image_io import write_nifti
from metaseg_monai.data.kits import KITS21_LABELS, load_kits19, load_kits21
from metaseg_monai.data.slices import (
    VolumeSliceDataset,
    iter_volume_slices,
    slices_containing,
    stack_slices,
    take_slices,
    volume_slices_datalist,
)
from metaseg_monai.sample_data import generate_ct
from metaseg_monai.sample_data.generate_ct import (
    generate_kits19,
    generate_kits21,
    generate_msd_liver,
    generate_msd_spleen,
)

SMALL = {"shape": (24, 32, 32), "spacing": (3.0, 2.0, 2.0)}
MSD_SMALL = {"shape": (32, 32, 20), "spacing": (2.0, 2.0, 3.0)}


def _array(path) -> np.ndarray:
    return np.asanyarray(nib.load(str(path)).dataobj)


@pytest.fixture(scope="module")
def kits21(tmp_path_factory) -> Path:
    return generate_kits21(tmp_path_factory.mktemp("k21") / "data", seed=0, num_cases=6, **SMALL)


def _copy(root: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(root, target)
    return target


def _edit_kits_json(root: Path, edit) -> None:
    records = json.loads((root / "kits.json").read_text())
    edit(records)
    (root / "kits.json").write_text(json.dumps(records))


# ---------------------------------------------------------------- KiTS21 layout, reader and content


def test_kits21_layout_reader_and_axis_conventions(kits21):
    datalist = load_kits21(kits21)
    assert [d["case_id"] for d in datalist] == [f"case_{i:05d}" for i in range(6)]
    for item in datalist:
        assert set(item) == {"image", "label", "case_id", "radiographic_size", "pathologic_size"}
        assert item["image"].endswith(f"{item['case_id']}/imaging.nii.gz")
        assert item["label"].endswith(f"{item['case_id']}/aggregated_MAJ_seg.nii.gz")
        image_nii, label_nii = nib.load(item["image"]), nib.load(item["label"])
        assert image_nii.shape == label_nii.shape == SMALL["shape"]  # (num_slices, H, W): slices on axis 0
        assert image_nii.get_data_dtype() == np.int16 and label_nii.get_data_dtype() == np.uint8
        # the affine encodes the spacing, array axis 0 along world z (KiTS19-style)
        zooms = np.sqrt((image_nii.affine[:3, :3] ** 2).sum(axis=0))
        np.testing.assert_allclose(zooms, SMALL["spacing"])
        assert abs(image_nii.affine[2, 0]) == SMALL["spacing"][0]
        image, label = _array(item["image"]), _array(item["label"])
        assert set(np.unique(label)) <= set(KITS21_LABELS) | {0}
        assert (label == 1).any() and ((label == 2).any() != (label == 3).any())  # tumour XOR cyst
        # HU-like intensities: air outside, contrast-enhanced kidney brighter than soft tissue
        assert image[0, 0, 0] < -900 and 100 < np.median(image[label == 1]) < 200
        # kidneys occupy a range of axial slices, not all of them
        kidney_slices = (label == 1).any(axis=(1, 2))
        assert 0 < kidney_slices.sum() < label.shape[0]
    lesions = [("tumor" if (_array(d["label"]) == 2).any() else "cyst") for d in datalist]
    assert "tumor" in lesions and "cyst" in lesions
    records = {r["case_id"]: r for r in json.loads((kits21 / "kits.json").read_text())}
    for item, lesion in zip(datalist, lesions, strict=True):
        record = records[item["case_id"]]
        assert record["malignant"] == (lesion == "tumor")
        assert record["voxel_spacing"] == {"x_spacing": 2.0, "y_spacing": 2.0, "z_spacing": 3.0}
        assert isinstance(record["tumor_histologic_subtype"], str)


def test_kits_size_metadata_is_informative_and_consistent_with_labels(tmp_path):
    root = generate_kits19(tmp_path / "k19", seed=1, num_cases=10, **SMALL)
    datalist = load_kits19(root, metadata_fields=("radiographic_size", "pathologic_size"))
    voxel_mm3 = float(np.prod(SMALL["spacing"]))
    sizes, counts = [], []
    for item in datalist:
        label = _array(item["label"])
        assert set(np.unique(label)) <= {0, 1, 2} and (label == 2).any()
        count = int((label == 2).sum())
        sizes.append(item["radiographic_size"])
        counts.append(count)
        # the recorded diameter (cm) matches the labelled lesion volume (a sphere; lesions may cover kidney only)
        diameter_cm = (6 * count * voxel_mm3 / np.pi) ** (1 / 3) / 10
        assert diameter_cm == pytest.approx(item["radiographic_size"], rel=0.35)
        assert item["pathologic_size"] == pytest.approx(item["radiographic_size"], rel=0.3)
    assert np.ptp(sizes) > 0.5  # sizes vary across cases
    assert np.corrcoef(sizes, counts)[0, 1] > 0.8
    # pathologic size differs from radiographic size on some case, as a separate measurement would
    assert any(d["pathologic_size"] != d["radiographic_size"] for d in datalist)


def test_kits21_lesion_size_correlates_with_lesion_voxels(kits21):
    datalist = load_kits21(kits21)
    counts = [int(np.isin(_array(d["label"]), (2, 3)).sum()) for d in datalist]
    assert np.corrcoef([d["radiographic_size"] for d in datalist], counts)[0, 1] > 0.8


def test_generators_are_deterministic_per_seed(tmp_path):
    a = generate_kits21(tmp_path / "a", seed=3, num_cases=2, **SMALL)
    b = generate_kits21(tmp_path / "b", seed=3, num_cases=2, **SMALL)
    c = generate_kits21(tmp_path / "c", seed=4, num_cases=2, **SMALL)
    assert (a / "kits.json").read_text() == (b / "kits.json").read_text()
    for name in ("imaging.nii.gz", "aggregated_MAJ_seg.nii.gz"):
        np.testing.assert_array_equal(_array(a / "case_00001" / name), _array(b / "case_00001" / name))
    assert not np.array_equal(_array(a / "case_00001/imaging.nii.gz"), _array(c / "case_00001/imaging.nii.gz"))
    with pytest.raises(FileExistsError, match="not empty"):
        generate_kits21(a, seed=3, num_cases=1, **SMALL)


@pytest.mark.parametrize("margin", ["soft", "sharp"])
def test_kits_lesion_margin_decides_whether_the_image_shows_the_labelled_extent(tmp_path, monkeypatch, margin):
    """Same seed, only the labelled diameters changed (a narrower range drawn from the same random numbers)."""
    shape, spacing = (32, 96, 96), (12.5, 4.0, 4.0)  # the bundle's sample-data geometry
    small = generate_kits21(tmp_path / "small", seed=5, num_cases=3, shape=shape, spacing=spacing, lesion_margin=margin)
    monkeypatch.setattr(generate_ct, "LESION_DIAMETER_FRACTION", (0.2, 0.25))  # the same draws give larger lesions
    large = generate_kits21(tmp_path / "large", seed=5, num_cases=3, shape=shape, spacing=spacing, lesion_margin=margin)
    sizes_small = [r["radiographic_size"] for r in json.loads((small / "kits.json").read_text())]
    sizes_large = [r["radiographic_size"] for r in json.loads((large / "kits.json").read_text())]
    voxel_mm3 = float(np.prod(spacing))
    for case, size_small, size_large in zip(
        ("case_00000", "case_00001", "case_00002"), sizes_small, sizes_large, strict=True
    ):
        assert size_large > size_small
        lesions = []
        for root, size in ((small, size_small), (large, size_large)):
            label = _array(root / case / "aggregated_MAJ_seg.nii.gz")
            lesions.append(int(np.isin(label, (2, 3)).sum()))
            # the label stays truthful to kits.json: its sphere-equivalent diameter is the recorded size
            assert (6 * lesions[-1] * voxel_mm3 / np.pi) ** (1 / 3) / 10 == pytest.approx(size, rel=0.15)
        assert lesions[1] > lesions[0]
        images = [_array(root / case / "imaging.nii.gz") for root in (small, large)]
        if margin == "soft":  # the image shows where the lesion is, not its labelled extent: identical pictures
            np.testing.assert_array_equal(images[0], images[1])
        else:  # the labelled sphere is painted: the larger lesion changes the picture
            assert (images[0] != images[1]).sum() > 0.5 * (lesions[1] - lesions[0])


def test_kits_soft_lesion_is_visible_beyond_its_label_and_bad_margin_fails(tmp_path):
    rng = np.random.default_rng(0)
    shape, spacing = (32, 96, 96), (12.5, 4.0, 4.0)
    labelled, visible = [], []
    for _ in range(12):
        image, label, info = generate_ct._render_case(rng, shape, spacing, "kits21", "cyst", "soft")
        labelled.append(info["diameter_mm"])
        visible.append(info["visible_diameter_mm"])
        # a cyst (10 HU) in contrast-enhanced kidney (150 HU): it darkens the kidney just outside its label too
        lesion = label == 3
        ring = np.zeros_like(lesion)
        for axis in (1, 2):
            for step in (-1, 1):
                ring |= np.roll(lesion, step, axis=axis)
        ring &= label == 1
        assert lesion.any() and ring.any() and image[ring].mean() < 130
    assert all(v > d for v, d in zip(visible, labelled, strict=True))  # the visible blob always encloses the label
    assert abs(np.corrcoef(labelled, visible)[0, 1]) < 0.6  # drawn independently
    with pytest.raises(ValueError, match=r"lesion_margin must be one of \('soft', 'sharp'\), got 'blurry'"):
        generate_kits21(tmp_path / "bad", num_cases=1, **SMALL, lesion_margin="blurry")
    assert not (tmp_path / "bad").exists()


def test_kits_reader_selects_cases_and_ignores_other_folders(kits21, tmp_path):
    root = _copy(kits21, tmp_path)
    (root / "._case_00000").mkdir()
    (root / "case_7").mkdir()
    (root / "notes").mkdir()
    assert len(load_kits21(root)) == 6
    assert [d["case_id"] for d in load_kits21(root, cases=[3, "case_00001"])] == ["case_00001", "case_00003"]
    fields = ("tumor_histologic_subtype", "malignant", "radiographic_size")
    item = load_kits21(root, cases=[0], metadata_fields=fields)[0]
    assert isinstance(item["tumor_histologic_subtype"], str) and isinstance(item["malignant"], bool)
    assert [d["case_id"] for d in load_kits21(root, cases="case_00002")] == ["case_00002"]
    with pytest.raises(FileNotFoundError, match=r"case_00042"):
        load_kits21(root, cases=[42])


def test_kits19_reader_without_kits_json(tmp_path):
    root = generate_kits19(tmp_path / "k19", seed=0, num_cases=2, **SMALL)
    (root / "kits.json").unlink()
    datalist = load_kits19(root)
    assert [set(d) for d in datalist] == [{"image", "label", "case_id"}] * 2
    assert datalist[0]["label"].endswith("segmentation.nii.gz")
    with pytest.raises(FileNotFoundError, match=r"kits\.json"):
        load_kits19(root, metadata_fields=("radiographic_size",))


# ---------------------------------------------------------------- KiTS errors


def test_kits_json_missing_or_malformed(kits21, tmp_path):
    root = _copy(kits21, tmp_path)
    (root / "kits.json").write_text('[{"case_id": "case_00000", ')
    with pytest.raises(ValueError, match=r"kits\.json.*malformed JSON"):
        load_kits21(root)
    (root / "kits.json").write_text('{"case_id": "case_00000"}')
    with pytest.raises(ValueError, match=r"kits\.json.*expected a JSON list"):
        load_kits21(root)
    (root / "kits.json").write_text('[{"radiographic_size": 2.0}]')
    with pytest.raises(ValueError, match=r"kits\.json' entry 0: expected an object with a string 'case_id'"):
        load_kits21(root)
    (root / "kits.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"kits\.json"):
        load_kits21(root)


def test_kits_json_without_the_case(kits21, tmp_path):
    root = _copy(kits21, tmp_path)
    _edit_kits_json(root, lambda records: records.pop(2))
    with pytest.raises(ValueError, match=r"case_00002.*no entry in '.*kits\.json'"):
        load_kits21(root)


def test_kits_null_size_errors_or_skips_with_warning(kits21, tmp_path, caplog):
    root = _copy(kits21, tmp_path)

    def edit(records):
        records[1]["pathologic_size"] = None
        del records[4]["radiographic_size"]

    _edit_kits_json(root, edit)
    with pytest.raises(ValueError, match=r"case 'case_00001' field 'pathologic_size': expected a value, found none"):
        load_kits21(root)
    with caplog.at_level(logging.WARNING, logger="metaseg_monai.data.kits"):
        datalist = load_kits21(root, on_missing_metadata="skip")
    assert [d["case_id"] for d in datalist] == ["case_00000", "case_00002", "case_00003", "case_00005"]
    assert "case_00001 (pathologic_size)" in caplog.text and "case_00004 (radiographic_size)" in caplog.text
    # a field not requested does not matter
    assert len(load_kits21(root, metadata_fields=("malignant",))) == 6
    with pytest.raises(ValueError, match="on_missing_metadata"):
        load_kits21(root, on_missing_metadata="fill")


def test_kits_non_numeric_size_is_an_error_even_when_skipping(kits21, tmp_path):
    root = _copy(kits21, tmp_path)
    _edit_kits_json(root, lambda records: records[3].update(radiographic_size="large"))
    for mode in ("error", "skip"):
        with pytest.raises(ValueError, match=r"case 'case_00003' field 'radiographic_size': expected a finite number"):
            load_kits21(root, on_missing_metadata=mode)
    _edit_kits_json(root, lambda records: records[3].update(radiographic_size=2.0, voxel_spacing={"x": 1}))
    with pytest.raises(ValueError, match=r"field 'voxel_spacing': expected a scalar"):
        load_kits21(root, metadata_fields=("voxel_spacing",))


def test_kits_missing_image_or_label_file(kits21, tmp_path):
    root = _copy(kits21, tmp_path)
    (root / "case_00005" / "aggregated_MAJ_seg.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"case_00005/aggregated_MAJ_seg\.nii\.gz.*label of case 'case_00005'"):
        load_kits21(root)
    assert len(load_kits21(root, check_files=False)) == 6
    (root / "case_00000" / "imaging.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"case_00000/imaging\.nii\.gz"):
        load_kits21(root)


def test_kits_root_without_cases(tmp_path):
    (tmp_path / "kits21" / "data").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no case_XXXXX folders.*did you mean"):
        load_kits21(tmp_path / "kits21")
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        load_kits21(tmp_path / "nowhere")


# ---------------------------------------------------------------- Medical Segmentation Decathlon


@pytest.mark.parametrize(
    ("generate", "task", "labels"),
    [
        (generate_msd_spleen, "Task09_Spleen", {0: "background", 1: "spleen"}),
        (generate_msd_liver, "Task03_Liver", {0: "background", 1: "liver", 2: "cancer"}),
    ],
)
def test_msd_layout_and_reader(tmp_path, generate, task, labels):
    root = generate(tmp_path / "msd", seed=0, num_cases=3, num_test=2, **MSD_SMALL)
    assert root == tmp_path / "msd" / task
    assert decathlon_labels(root) == labels
    content = json.loads((root / "dataset.json").read_text())
    assert {"name", "modality", "labels", "numTraining", "numTest", "training", "test"} <= set(content)
    assert content["modality"] == {"0": "CT"} and content["numTraining"] == 3 and content["numTest"] == 2
    assert content["training"][0]["image"].startswith("./imagesTr/")
    # the AppleDouble files of the public tarballs are there, and not read
    assert list((root / "imagesTr").glob("._*")) and list((root / "labelsTr").glob("._*"))
    training = load_decathlon(root)
    assert len(training) == 3 and all(Path(d["image"]).is_absolute() for d in training)
    assert not any(Path(d[k]).name.startswith("._") for d in training for k in ("image", "label"))
    numbers = [int(d["case_id"].split("_")[1]) for d in training]
    assert numbers == sorted(numbers)
    for item in training:
        label = _array(item["label"])
        assert label.shape == _array(item["image"]).shape == MSD_SMALL["shape"]  # (X, Y, slices)
        assert set(np.unique(label)) == set(labels)
        assert 0 < (label == 1).any(axis=(0, 1)).sum() < MSD_SMALL["shape"][2]  # organ on some axial slices
    test = load_decathlon(root, section="test")
    assert len(test) == 2 and all(set(d) == {"image", "case_id"} for d in test)
    assert "imagesTs" in test[0]["image"]


def test_msd_errors(tmp_path, caplog):
    root = generate_msd_spleen(tmp_path / "msd", seed=0, num_cases=2, num_test=1, **MSD_SMALL)
    content = json.loads((root / "dataset.json").read_text())
    with pytest.raises(ValueError, match=r"dataset\.json' has no list 'validation'; sections found: \['test', 'tr"):
        load_decathlon(root, section="validation")
    # an AppleDouble entry listed in dataset.json is skipped with a warning
    name = Path(content["training"][0]["image"]).name
    listed = dict(
        content, training=[*content["training"], {"image": f"./imagesTr/._{name}", "label": f"./labelsTr/._{name}"}]
    )
    (root / "dataset.json").write_text(json.dumps(listed))
    with caplog.at_level(logging.WARNING, logger="metaseg_monai.data.decathlon"):
        assert len(load_decathlon(root)) == 2
    assert "._" in caplog.text
    # a listed file that is missing
    Path(root / content["training"][1]["label"]).unlink()
    (root / "dataset.json").write_text(json.dumps(content))
    with pytest.raises(
        FileNotFoundError, match=r"labelsTr/spleen_\d+\.nii\.gz.*label of '.*dataset\.json' training\[1\]"
    ):
        load_decathlon(root)
    bad = dict(content, training=[{"label": "./labelsTr/x.nii.gz"}])
    (root / "dataset.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"dataset\.json' training\[0\]: expected a path or an object with 'image'"):
        load_decathlon(root)
    (root / "dataset.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"dataset\.json.*malformed JSON"):
        load_decathlon(root)
    with pytest.raises(ValueError, match=r"dataset\.json.*malformed JSON"):
        decathlon_labels(root)
    (root / "dataset.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"dataset\.json"):
        load_decathlon(root)


# ---------------------------------------------------------------- 3D to 2D


def test_slices_containing_and_take_slices():
    label = np.zeros((6, 4, 5), np.uint8)
    label[1, 0, 0] = 1
    label[3, 2, 2] = 2
    label[4, 3, 4] = 3
    np.testing.assert_array_equal(slices_containing(label, 0, (1,)), [1])
    np.testing.assert_array_equal(slices_containing(label, 0, (1, 2)), [1, 3])
    np.testing.assert_array_equal(slices_containing(label, -1, (2, 3)), [2, 4])
    for volume in (label, np.asfortranarray(label)):  # both memory orders give the same slices
        for axis in range(3):
            block = take_slices(volume, [0, 2], axis, dtype=np.float32)
            np.testing.assert_array_equal(block, np.moveaxis(label, axis, 0)[[0, 2]].astype(np.float32))
            assert block.flags.c_contiguous and block.dtype == np.float32
    with pytest.raises(ValueError, match="out of range"):
        slices_containing(label, 3, (1,))


def test_volume_slices_from_kits21(kits21, tmp_path):
    datalist = load_kits21(kits21, metadata_fields=("radiographic_size", "pathologic_size", "malignant"))
    cache_dir = tmp_path / "cache"
    slices = volume_slices_datalist(datalist, axis=0, labels=(1,), cache_dir=cache_dir)
    for item in datalist:
        label = _array(item["label"])
        image = _array(item["image"])
        mine = [s for s in slices if s["case_id"] == item["case_id"]]
        kidney = np.flatnonzero((label == 1).any(axis=(1, 2)))
        assert [s["slice_index"] for s in mine] == kidney.tolist()  # only kidney slices, in order
        for s in mine:
            assert s["image"].shape == (1, 32, 32) and s["image"].dtype == np.float32
            assert s["label"].shape == (1, 32, 32) and (s["label"] == 1).any()
            np.testing.assert_array_equal(s["image"][0], image[s["slice_index"]])
            for field in ("radiographic_size", "pathologic_size", "malignant"):
                assert s[field] == item[field]
        # reassembly: only non-kidney slices are missing, and those hold no kidney
        rebuilt = stack_slices([s["label"] for s in mine], [s["slice_index"] for s in mine], label.shape, axis=0)
        np.testing.assert_array_equal(rebuilt[kidney], label[kidney])
        assert (rebuilt == 1).sum() == (label == 1).sum()
    # the cached pass gives the same dicts, from the .npy cache
    assert len(list(cache_dir.glob("*-indices.npy"))) == len(datalist)
    again = volume_slices_datalist(datalist, axis=0, labels=(1,), cache_dir=cache_dir)
    assert [(s["case_id"], s["slice_index"]) for s in again] == [(s["case_id"], s["slice_index"]) for s in slices]
    for a, b in zip(again, slices, strict=True):
        np.testing.assert_array_equal(a["image"], b["image"])
        np.testing.assert_array_equal(a["label"], b["label"])
        assert isinstance(a["image"], np.ndarray) and not isinstance(a["image"], np.memmap)


def test_round_trip_every_slice_equals_original(kits21):
    item = load_kits21(kits21, cases=[0])[0]
    label = _array(item["label"])
    slices = list(iter_volume_slices([item], axis=0, labels=None))
    assert len(slices) == label.shape[0]
    rebuilt = stack_slices(np.stack([s["label"] for s in slices]), [s["slice_index"] for s in slices], label.shape)
    np.testing.assert_array_equal(rebuilt, label)
    # with the kidney selection, filling the rest with background also restores a kidney-only label exactly
    kidney_only = np.where(label == 1, 1, 0).astype(np.uint8)
    picked = list(iter_volume_slices([{"image": _array(item["image"]), "label": kidney_only}], labels=(1,)))
    rebuilt = stack_slices(
        [torch.as_tensor(s["label"]) for s in picked], [s["slice_index"] for s in picked], label.shape
    )
    np.testing.assert_array_equal(rebuilt, kidney_only)
    with pytest.raises(ValueError, match="expected 2 slices of shape"):
        stack_slices(np.zeros((2, 5, 5)), [0, 1], label.shape)
    with pytest.raises(ValueError, match="unique"):
        stack_slices(np.zeros((2, 32, 32)), [1, 1], label.shape)


def test_msd_slices_on_last_axis_and_dataset(tmp_path):
    root = generate_msd_spleen(tmp_path / "msd", seed=0, num_cases=2, num_test=0, **MSD_SMALL)
    datalist = load_decathlon(root)
    dataset = VolumeSliceDataset(datalist, axis=2, labels=(1,), transform=lambda d: {**d, "seen": True})
    slices = list(dataset)
    assert slices and all(s["seen"] and s["image"].shape == (1, 32, 32) for s in slices)
    for item in datalist:
        label = _array(item["label"])
        indices = [s["slice_index"] for s in slices if s["case_id"] == item["case_id"]]
        assert indices == np.flatnonzero((label == 1).any(axis=(0, 1))).tolist()


def test_slices_errors_name_the_file(kits21, tmp_path):
    item = load_kits21(kits21, cases=[0])[0]
    short = tmp_path / "short.nii.gz"
    write_nifti(short, _array(item["label"])[:-1], np.eye(4))
    with pytest.raises(ValueError, match=r"imaging\.nii\.gz' has shape \(24, 32, 32\) but label '.*short\.nii\.gz'"):
        list(iter_volume_slices([dict(item, label=str(short))]))
    with pytest.raises(FileNotFoundError, match=r"gone\.nii\.gz.*image of case 'case_00000'"):
        list(iter_volume_slices([dict(item, image=str(tmp_path / "gone.nii.gz"))], cache_dir=tmp_path / "c"))
    with pytest.raises(ValueError, match="has no 'label'"):
        list(iter_volume_slices([{"image": item["image"]}]))


def test_readers_catch_image_label_shape_mismatch_from_headers(tmp_path):
    import numpy as np

    from metaseg_monai.data.image_io import write_nifti

    root = generate_kits21(tmp_path / "kits", num_cases=2)
    label = root / "case_00001" / "aggregated_MAJ_seg.nii.gz"
    label.unlink()
    write_nifti(label, np.zeros((3, 4, 5), np.uint8), np.eye(4))
    with pytest.raises(
        ValueError, match=r"case_00001/imaging\.nii\.gz' has shape .* but label .* has shape \(3, 4, 5\)"
    ):
        load_kits21(root)
