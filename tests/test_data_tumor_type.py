"""The FiLM paper's tumour-type data: Gd-enhanced T1w + T2w as two channels, sagittal slices split per subject."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from monai.transforms import EnsureChannelFirstd, LoadImaged

from metaseg_monai.data import (
    iter_volume_slices,
    load_bids_multicontrast,
    load_bids_tumor_type,
    split_cases,
    tumor_type_slice_datalist,
)
from metaseg_monai.data.image_io import read_nifti, write_nifti
from metaseg_monai.sample_data.generate_tumor_type import GD_T1W, TUMOR_TYPES, generate_tumor_type

SHAPE = (32, 64, 48)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return generate_tumor_type(tmp_path_factory.mktemp("tt") / "data", seed=0, subjects_per_type=2)


def _copy(root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(root, tmp_path / "copy"))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- generator


def test_gd_t1w_is_written_per_subject_in_the_t2w_space(root):
    subjects = sorted(p.name for p in root.glob("sub-*"))
    assert len(subjects) == 6
    for subject in subjects:
        gd, gd_affine = read_nifti(root / subject / "anat" / f"{subject}_ce-gad_T1w.nii.gz")
        t2, t2_affine = read_nifti(root / subject / "anat" / f"{subject}_T2w.nii.gz")
        assert gd.shape == t2.shape == SHAPE and gd.dtype == np.float32
        assert np.array_equal(gd_affine, t2_affine) and not np.allclose(gd, t2)
        labels = root / "derivatives/labels" / subject / "anat"
        gd_label = read_nifti(labels / f"{subject}_{GD_T1W}_seg-tumor.nii.gz")[0]
        assert np.array_equal(gd_label, read_nifti(labels / f"{subject}_T2w_seg-tumor.nii.gz")[0])


def test_adding_gd_t1w_leaves_the_other_files_byte_identical(tmp_path, root):
    t2_only = _files(generate_tumor_type(tmp_path / "t2", seed=0, subjects_per_type=2, contrasts=("T2w",)))
    both = _files(root)
    assert t2_only == {name: data for name, data in both.items() if "ce-gad" not in name}
    assert _files(generate_tumor_type(tmp_path / "again", seed=0, subjects_per_type=2)) == both


def _dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    return 2 * float((prediction & truth).sum()) / float(prediction.sum() + truth.sum())


def test_the_tumour_type_decides_what_of_the_lesion_is_core(root):
    """The image alone is ambiguous, as in the paper: a non-enhancing T2w-bright region around an enhancing part is
    tumour in an astrocytoma and cyst / oedema in a hemangioblastoma. A rule that knows the type finds every core; no
    rule that ignores it does, and the whole lesion needs both channels."""
    whole, enhancing, channel_best = {t: [] for t in TUMOR_TYPES}, {t: [] for t in TUMOR_TYPES}, []
    levels = np.linspace(0.0, 1.2, 13)
    for item in load_bids_multicontrast(root):
        gd, t2 = (read_nifti(path)[0] for path in item["image"])
        label = read_nifti(item["label"])[0] > 0
        whole[item["tumor_type"]].append(_dice((t2 > 0.6) & (gd > 0.42), label))  # enhancing and non-enhancing
        enhancing[item["tumor_type"]].append(_dice(gd > 0.6, label))
        if item["tumor_type"] == "astrocytoma":
            both = whole["astrocytoma"][-1]
            best = max(
                _dice((x >= lo) & (x < hi), label) for x in (gd, t2) for lo in levels for hi in levels if hi > lo
            )
            channel_best.append((both, best))
    mean = {
        rule: {t: float(np.mean(v)) for t, v in scores.items()}
        for rule, scores in (("whole", whole), ("enh", enhancing))
    }
    informed = {"astrocytoma": mean["whole"]["astrocytoma"], **{t: mean["enh"][t] for t in TUMOR_TYPES[1:]}}
    assert min(informed.values()) > 0.85
    for rule in mean.values():  # one rule for all types: one of the two look-alike types fails
        assert min(rule["astrocytoma"], rule["hemangioblastoma"]) < 0.45
    assert all(both > best + 0.05 for both, best in channel_best)


# ---------------------------------------------------------------- multi-contrast datalist


def test_one_two_channel_sample_per_subject(root):
    datalist = load_bids_multicontrast(root, contrasts=("ce-gad_T1w", "T2w"), reference_contrast="T2w")
    assert len(datalist) == 6
    first = datalist[0]
    anat = root / "sub-001" / "anat"
    assert first["image"] == [str(anat / "sub-001_ce-gad_T1w.nii.gz"), str(anat / "sub-001_T2w.nii.gz")]
    assert first["label"] == str(root / "derivatives/labels/sub-001/anat/sub-001_T2w_seg-tumor.nii.gz")
    assert first["case_id"] == first["participant_id"] == "sub-001" and first["contrasts"] == ["ce-gad_T1w", "T2w"]
    single = {d["participant_id"]: d["tumor_type"] for d in load_bids_tumor_type(root)}
    assert {d["participant_id"]: d["tumor_type"] for d in datalist} == single
    # the order of contrasts is the channel order; the label follows the reference contrast
    swapped = load_bids_multicontrast(root, contrasts=("T2w", "ce-gad_T1w"), reference_contrast=GD_T1W)[0]
    assert swapped["image"] == first["image"][::-1] and swapped["label"].endswith("sub-001_ce-gad_T1w_seg-tumor.nii.gz")


def test_monai_loads_the_contrasts_as_channels(root):
    item = load_bids_multicontrast(root)[0]
    data = LoadImaged(["image", "label"], image_only=True)(item)
    data = EnsureChannelFirstd(["image", "label"])(data)
    assert tuple(data["image"].shape) == (2, *SHAPE) and tuple(data["label"].shape) == (1, *SHAPE)
    gd, t2 = (read_nifti(path)[0] for path in item["image"])
    assert np.allclose(data["image"][0].numpy(), gd, atol=1e-6) and np.allclose(data["image"][1].numpy(), t2, atol=1e-6)
    assert not np.allclose(data["image"][0].numpy(), data["image"][1].numpy())
    assert data["tumor_type"] == item["tumor_type"]


def test_multicontrast_errors(tmp_path, root):
    copy = _copy(root, tmp_path)
    with pytest.raises(
        ValueError, match=r"reference_contrast 'T1w' .* must be one of contrasts \['ce-gad_T1w', 'T2w'\]"
    ):
        load_bids_multicontrast(copy, reference_contrast="T1w")
    with pytest.raises(ValueError, match="contrasts must be unique"):
        load_bids_multicontrast(copy, contrasts=("T2w", "T2w"))
    gd = copy / "sub-002/anat/sub-002_ce-gad_T1w.nii.gz"
    gd.unlink()
    with pytest.raises(
        FileNotFoundError,
        match=r"participant 'sub-002', contrast 'ce-gad_T1w' not found: expected .*sub-002_ce-gad_T1w",
    ):
        load_bids_multicontrast(copy)
    assert len(load_bids_multicontrast(copy, contrasts=("T2w",))) == 6  # a single channel is allowed
    write_nifti(gd, np.zeros((32, 64, 47), np.float32), np.eye(4))
    with pytest.raises(ValueError, match=r"sub-002_ce-gad_T1w.* has shape \(32, 64, 47\) but label .*\(32, 64, 48\)"):
        load_bids_multicontrast(copy)
    assert len(load_bids_multicontrast(copy, check_files=False)) == 6
    label = copy / "derivatives/labels/sub-003/anat/sub-003_T2w_seg-tumor.nii.gz"
    label.unlink()
    with pytest.raises(FileNotFoundError, match=r"label of .*sub-003_T2w.nii.gz' not found: expected .*_seg-tumor"):
        load_bids_multicontrast(copy, check_files=False)


def test_only_the_reference_contrast_needs_a_label(tmp_path, root):
    copy = _copy(root, tmp_path)
    for label in (copy / "derivatives/labels").rglob("*_ce-gad_T1w_seg-tumor.nii.gz"):
        label.unlink()
    assert len(load_bids_multicontrast(copy, reference_contrast="T2w")) == 6
    with pytest.raises(FileNotFoundError, match=r"label of .*sub-001_ce-gad_T1w.nii.gz' not found"):
        load_bids_multicontrast(copy, reference_contrast=GD_T1W)


def test_multicontrast_shares_the_dataset_checks(tmp_path, root):
    copy = _copy(root, tmp_path)
    (copy / "sub-001" / "ses-01").mkdir()
    with pytest.raises(ValueError, match="sub-001' has session folders"):
        load_bids_multicontrast(copy)
    with pytest.raises(ValueError, match="clashes with a datalist key"):
        load_bids_multicontrast(root, metadata_column="contrasts")


# ---------------------------------------------------------------- sagittal slices, split per subject


def test_sagittal_two_channel_slices_split_per_subject_and_type(tmp_path):
    three = generate_tumor_type(tmp_path / "three", seed=0, subjects_per_type=3)
    subjects = {d["participant_id"]: d["tumor_type"] for d in load_bids_multicontrast(three)}
    per_split = {split: tumor_type_slice_datalist(three, split, seed=3) for split in ("train", "val", "test")}
    cases = {split: {s["case_id"] for s in slices} for split, slices in per_split.items()}
    # each type split on its own: one subject of each type in every split
    expected = {split: set() for split in cases}
    for tumor_type in TUMOR_TYPES:
        for split, ids in split_cases([c for c, t in subjects.items() if t == tumor_type], seed=3).items():
            expected[split] |= set(ids)
    assert cases == expected
    assert all(sorted(subjects[c] for c in ids) == sorted(TUMOR_TYPES) for ids in cases.values())
    assert not (cases["train"] & cases["val"] or cases["train"] & cases["test"] or cases["val"] & cases["test"])
    assert set().union(*cases.values()) == set(subjects)
    for slices in per_split.values():
        for s in slices:
            assert s["image"].shape == (2, SHAPE[1], SHAPE[2]) and s["image"].dtype == np.float32
            assert s["label"].shape == (1, SHAPE[1], SHAPE[2]) and s["label"].max() == 1
            assert s["tumor_type"] == subjects[s["case_id"]] and s["contrasts"] == ["ce-gad_T1w", "T2w"]
            assert s["slice_id"] == f"{s['case_id']}#slice_{s['slice_index']:03d}"
    sample = per_split["train"][0]
    gd, t2 = (
        read_nifti(three / sample["case_id"] / "anat" / f"{sample['case_id']}_{c}.nii.gz")[0]
        for c in sample["contrasts"]
    )
    assert np.allclose(sample["image"][0], gd[sample["slice_index"]]) and np.allclose(
        sample["image"][1], t2[sample["slice_index"]]
    )
    assert not np.allclose(sample["image"][0], sample["image"][1])


def test_slice_datalist_errors(tmp_path, root):
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\], got 'training'"):
        tumor_type_slice_datalist(root, "training")
    copy = _copy(root, tmp_path)
    (copy / "sub-004/anat/sub-004_ce-gad_T1w.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"participant 'sub-004', contrast 'ce-gad_T1w' not found"):
        tumor_type_slice_datalist(copy, "train")
    with pytest.raises(ValueError, match=r"split 'val' has no case"):
        tumor_type_slice_datalist(root, "val", fractions=(0.8, 0.0, 0.2))


def test_volume_slices_of_a_channel_list(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.random((8, 6, 5), dtype=np.float32), rng.random((8, 6, 5), dtype=np.float32)
    label = np.zeros((8, 6, 5), np.uint8)
    label[2:4, 1:3, 1:3] = 1
    item = {"image": [a, np.asfortranarray(b)], "label": label, "case_id": "c", "tumor_type": "ependymoma"}
    slices = list(iter_volume_slices([item], axis=0))
    assert [s["slice_index"] for s in slices] == [2, 3]
    assert slices[0]["image"].shape == (2, 6, 5) and np.array_equal(slices[0]["image"], np.stack([a[2], b[2]]))
    along_z = list(iter_volume_slices([item], axis=2))
    assert along_z[0]["image"].shape == (2, 8, 6) and np.array_equal(along_z[0]["image"][1], b[:, :, 1])
    # files and the cache: the cached slices equal the first pass
    paths = [tmp_path / "a.nii.gz", tmp_path / "b.nii.gz"]
    for path, volume in zip(paths, (a, b), strict=True):
        write_nifti(path, volume, np.eye(4))
    write_nifti(tmp_path / "label.nii.gz", label, np.eye(4))
    on_disk = {"image": [str(p) for p in paths], "label": str(tmp_path / "label.nii.gz"), "case_id": "c"}
    first = list(iter_volume_slices([on_disk], cache_dir=tmp_path / "cache"))
    again = list(iter_volume_slices([on_disk], cache_dir=tmp_path / "cache"))
    assert len(list((tmp_path / "cache").iterdir())) == 3
    for x, y in zip(first, again, strict=True):
        assert np.array_equal(x["image"], y["image"]) and x["image"].shape == (2, 6, 5)
    single = list(iter_volume_slices([{**on_disk, "image": str(paths[0])}], cache_dir=tmp_path / "cache"))
    assert single[0]["image"].shape == (1, 6, 5)  # a single image is cached apart from the stack
    with pytest.raises(ValueError, match=r"case 'c': 'image' channel 1 \(an array\) has shape \(8, 6, 4\), expected"):
        list(iter_volume_slices([{**item, "image": [a, b[..., :4]]}]))
    with pytest.raises(ValueError, match="is an empty list"):
        list(iter_volume_slices([{**item, "image": []}]))
    with pytest.raises(ValueError, match="has shape"):
        list(iter_volume_slices([{**item, "label": label[..., :4]}]))
