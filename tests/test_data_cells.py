"""Readers and generators of the tumour-type BIDS data, Cell Tracking Challenge sequences and DSB 2018."""

from __future__ import annotations

import itertools
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from monai.transforms import EnsureChannelFirstd, LoadImaged

from metaseg_monai.data.bids import load_bids_tumor_type
from metaseg_monai.data.ctc import consecutive_frame_pairs, load_ctc_sequence
from metaseg_monai.data.dsb import LoadDSBInstanceLabeld, dsb_instance_label, load_dsb2018
from metaseg_monai.data.image_io import read_image, read_nifti, write_image, write_nifti
from metaseg_monai.sample_data.generate_cells import generate_ctc, generate_dsb
from metaseg_monai.sample_data.generate_tumor_type import TUMOR_TYPES, generate_tumor_type
from metaseg_monai.transforms.metadata import EncodeMetadatad


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory) -> Path:
    return generate_tumor_type(
        tmp_path_factory.mktemp("bids") / "data", seed=0, subjects_per_type=4, contrasts=("T1w", "T2w")
    )


@pytest.fixture(scope="module")
def ctc_root(tmp_path_factory) -> Path:
    return generate_ctc(tmp_path_factory.mktemp("ctc") / "data", seed=0)


@pytest.fixture(scope="module")
def dsb_root(tmp_path_factory) -> Path:
    return generate_dsb(tmp_path_factory.mktemp("dsb") / "data", seed=0)


def _copy(root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(root, tmp_path / "copy"))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- BIDS tumour type


def test_bids_one_dict_per_subject_and_contrast(bids_root):
    datalist = load_bids_tumor_type(bids_root, contrasts=("T1w", "T2w"))
    assert len(datalist) == 3 * 4 * 2
    first = datalist[0]
    assert first["participant_id"] == "sub-001" and first["contrast"] == "T1w" and first["case_id"] == "sub-001_T1w"
    assert first["image"] == str(bids_root / "sub-001" / "anat" / "sub-001_T1w.nii.gz")
    assert first["label"] == str(bids_root / "derivatives/labels/sub-001/anat/sub-001_T1w_seg-tumor.nii.gz")
    assert [d["participant_id"] for d in datalist] == sorted(d["participant_id"] for d in datalist)
    types = {d["participant_id"]: d["tumor_type"] for d in datalist}
    assert sorted(types.values()) == sorted(TUMOR_TYPES * 4)
    # the table and the datalist agree
    rows = (bids_root / "participants.tsv").read_text().splitlines()
    assert rows[0] == "participant_id\ttumor_type"
    assert dict(r.split("\t") for r in rows[1:]) == types
    assert len(load_bids_tumor_type(bids_root)) == 12  # T2w only by default


def test_tumor_type_is_informative(bids_root):
    volume, height = defaultdict(list), defaultdict(list)
    for item in load_bids_tumor_type(bids_root, contrasts=("T2w",)):
        label, _ = read_nifti(item["label"])
        assert set(np.unique(label)) == {0, 1}
        volume[item["tumor_type"]].append(int(label.sum()))
        height[item["tumor_type"]].append(np.argwhere(label)[:, 2].mean() / label.shape[2])
    v = {t: np.median(volume[t]) for t in TUMOR_TYPES}
    assert v["astrocytoma"] > 1.5 * v["ependymoma"] and v["ependymoma"] > 1.2 * v["hemangioblastoma"]
    # every type sits in the middle of the cord: the height along it says nothing of the type
    ranges = [(min(height[t]), max(height[t])) for t in TUMOR_TYPES]
    assert max(low for low, _ in ranges) < min(high for _, high in ranges)


def test_tumor_type_feeds_the_metadata_encoder(bids_root):
    encode = EncodeMetadatad([{"name": "tumor_type", "type": "categorical", "categories": list(TUMOR_TYPES)}])
    for item in load_bids_tumor_type(bids_root):
        vector = encode(item)["metadata"]
        assert vector.tolist() == [float(item["tumor_type"] == t) for t in TUMOR_TYPES]


def test_readers_do_not_write(bids_root, ctc_root, dsb_root):
    before = [_files(root) for root in (bids_root, ctc_root, dsb_root)]
    load_bids_tumor_type(bids_root, contrasts=("T1w", "T2w"))
    load_ctc_sequence(ctc_root, truth="ST")
    consecutive_frame_pairs(ctc_root)
    for item in load_dsb2018(dsb_root):
        LoadDSBInstanceLabeld("label")(item)
    assert [_files(root) for root in (bids_root, ctc_root, dsb_root)] == before


def test_bids_contrasts_differ_and_monai_loads_nifti(bids_root):
    t1, _ = read_nifti(bids_root / "sub-001/anat/sub-001_T1w.nii.gz")
    t2, _ = read_nifti(bids_root / "sub-001/anat/sub-001_T2w.nii.gz")
    assert t1.shape == t2.shape == (32, 64, 48) and t2.dtype == np.float32
    assert not np.allclose(t1, t2)
    item = load_bids_tumor_type(bids_root)[0]
    data = LoadImaged(["image", "label"], ensure_channel_first=True, image_only=True)(item)
    assert tuple(data["image"].shape) == tuple(data["label"].shape) == (1, 32, 64, 48)
    assert np.allclose(data["image"][0].numpy(), t2, atol=1e-6)
    assert data["tumor_type"] == item["tumor_type"]


def test_bids_generator_deterministic_and_refuses_non_empty(tmp_path, bids_root):
    a = generate_tumor_type(tmp_path / "a", seed=0, subjects_per_type=4, contrasts=("T1w", "T2w"))
    assert _files(a) == _files(bids_root)
    b = generate_tumor_type(tmp_path / "b", seed=1)
    name = "sub-001/anat/sub-001_T2w.nii.gz"
    assert not np.array_equal(read_nifti(a / name)[0], read_nifti(b / name)[0])
    with pytest.raises(FileExistsError, match="not empty"):
        generate_tumor_type(a)


def test_bids_table_errors(tmp_path, bids_root):
    root = _copy(bids_root, tmp_path)
    table = root / "participants.tsv"
    good = table.read_text()
    table.unlink()
    with pytest.raises(FileNotFoundError, match=r"participants table '.*participants.tsv' not found"):
        load_bids_tumor_type(root)
    table.write_text("")
    with pytest.raises(ValueError, match=r"participants.tsv' is empty"):
        load_bids_tumor_type(root)
    table.write_text("participant_id\tage\nsub-001\t40\n")
    with pytest.raises(ValueError, match=r"no column 'tumor_type'; found columns \['participant_id', 'age'\]"):
        load_bids_tumor_type(root)
    table.write_text("participant_id\ttumor_type\n")
    with pytest.raises(ValueError, match="no participant rows"):
        load_bids_tumor_type(root)
    lines = good.splitlines()
    table.write_text("\n".join([lines[0], lines[1].split("\t")[0] + "\tn/a", *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=r"line 2 \(participant 'sub-001'\): column 'tumor_type' is empty"):
        load_bids_tumor_type(root)
    table.write_text("\n".join([lines[0], lines[1] + "\textra", *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match="line 2: expected 2 tab-separated cells"):
        load_bids_tumor_type(root)
    table.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(ValueError, match="'sub-001' is listed twice"):
        load_bids_tumor_type(root)
    table.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # sub-001 dropped from the table
    with pytest.raises(ValueError, match=r"subject folder\(s\) \['sub-001'\] .* not listed"):
        load_bids_tumor_type(root)
    table.write_text(good + "sub-099\tependymoma\n")
    with pytest.raises(FileNotFoundError, match=r"participant\(s\) \['sub-099'\] .* have no subject folder"):
        load_bids_tumor_type(root)
    table.write_text("\ufeff" + good, encoding="utf-8")  # a spreadsheet's byte-order mark is tolerated
    assert len(load_bids_tumor_type(root)) == 12
    table.write_text(good.replace("sub-001", "001"))
    with pytest.raises(ValueError, match=r"line .*: participant_id must look like 'sub-XXX', found '001'"):
        load_bids_tumor_type(root)
    table.write_text(good)
    with pytest.raises(ValueError, match="must start with '_'"):
        load_bids_tumor_type(root, label_suffix="seg-tumor")
    with pytest.raises(ValueError, match="clashes with a datalist key"):
        load_bids_tumor_type(root, metadata_column="label")
    with pytest.raises(FileNotFoundError, match="BIDS dataset folder"):
        load_bids_tumor_type(root / "nope")


def test_bids_file_errors(tmp_path, bids_root):
    root = _copy(bids_root, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"contrast 'FLAIR' not found: expected .*sub-001_FLAIR.nii.gz"):
        load_bids_tumor_type(root, contrasts=("T2w", "FLAIR"))
    label = root / "derivatives/labels/sub-002/anat/sub-002_T2w_seg-tumor.nii.gz"
    label.unlink()
    with pytest.raises(FileNotFoundError, match=r"label of .*sub-002_T2w.nii.gz' not found: expected .*_seg-tumor"):
        load_bids_tumor_type(root)
    write_nifti(label, np.zeros((32, 64, 47), np.uint8), np.eye(4))
    with pytest.raises(
        ValueError, match=r"has shape \(32, 64, 48\) but label .*sub-002_T2w_seg-tumor.* \(32, 64, 47\)"
    ):
        load_bids_tumor_type(root)
    assert len(load_bids_tumor_type(root, check_files=False)) == 12  # the shape check needs check_files
    label.write_bytes(b"not a nifti")
    with pytest.raises(ValueError, match=r"cannot read NIfTI .*sub-002_T2w_seg-tumor"):
        load_bids_tumor_type(root)
    sessions = _copy(bids_root, tmp_path / "sessions")
    (sessions / "sub-003" / "ses-01").mkdir()
    with pytest.raises(ValueError, match="sub-003' has session folders"):
        load_bids_tumor_type(sessions)


# ---------------------------------------------------------------- Cell Tracking Challenge


def test_ctc_gold_and_silver(ctc_root):
    gold = load_ctc_sequence(ctc_root)
    silver = load_ctc_sequence(ctc_root, truth="ST")
    assert [d["frame"] for d in gold] == [0, 5, 10]
    assert [d["frame"] for d in silver] == list(range(12))
    assert gold[1] == {
        "image": str(ctc_root / "01" / "t005.tif"),
        "frame": 5,
        "sequence": "01",
        "label": str(ctc_root / "01_GT" / "SEG" / "man_seg005.tif"),
    }
    every = load_ctc_sequence(ctc_root, truth="GT", require_label=False)
    assert len(every) == 12 and [d["frame"] for d in every if "label" in d] == [0, 5, 10]
    frame = read_image(gold[0]["image"])
    assert frame.dtype == np.uint16 and frame.shape == (96, 128)
    # silver is close to, but not the same as, gold
    g, s = read_image(gold[0]["label"]), read_image(silver[0]["label"])
    assert g.dtype == s.dtype == np.uint16
    assert set(np.unique(g)) == set(np.unique(s))
    assert not np.array_equal(g, s) and ((g > 0) == (s > 0)).mean() > 0.95


def test_ctc_moves_divides_and_blinks(ctc_root):
    labels = [read_image(d["label"]) for d in load_ctc_sequence(ctc_root, truth="ST")]
    images = [read_image(d["image"]).astype(float) for d in load_ctc_sequence(ctc_root, truth="ST")]
    ids = [set(np.unique(label[label > 0]).tolist()) for label in labels]
    assert ids[0] == set(range(1, 9))
    assert max(max(i) for i in ids) > 8 and len(ids[-1]) > len(ids[0])  # divisions add new ids
    # ids persist from frame to frame (consistent tracking), and objects move
    assert all(len(a & b) >= len(a) // 2 for a, b in itertools.pairwise(ids))
    survivors = sorted(ids[0] & ids[-1])
    assert survivors
    moved = [
        np.hypot(*(np.argwhere(labels[0] == obj).mean(0) - np.argwhere(labels[-1] == obj).mean(0))) for obj in survivors
    ]
    assert max(moved) > 3
    # blinking: some object is much dimmer in one frame than its own median
    dips = []
    for obj in set().union(*ids):
        means = [img[lab == obj].mean() for img, lab in zip(images, labels, strict=True) if (lab == obj).sum() > 5]
        if len(means) >= 3:
            dips.append(min(means) / np.median(means))
    assert min(dips) < 0.6


def test_ctc_pairs(ctc_root, tmp_path):
    pairs = consecutive_frame_pairs(ctc_root)
    assert len(pairs) == 11
    assert pairs[0] == {
        "image_t": str(ctc_root / "01" / "t000.tif"),
        "image_t1": str(ctc_root / "01" / "t001.tif"),
        "frame": 0,
        "sequence": "01",
    }
    assert len(consecutive_frame_pairs(ctc_root, step=2)) == 10
    with pytest.raises(ValueError, match="step must be an integer >= 1"):
        consecutive_frame_pairs(ctc_root, step=0)
    root = _copy(ctc_root, tmp_path)
    (root / "01" / "t004.tif").unlink()
    (root / "01" / "t007.tif").unlink()
    with pytest.raises(ValueError, match=r"gaps: frame number\(s\) \[4, 7\] are missing between 0 and 11"):
        consecutive_frame_pairs(root)
    for path in sorted((root / "01").glob("t*.tif"))[1:]:
        path.unlink()
    with pytest.raises(ValueError, match="has 1 frame"):
        consecutive_frame_pairs(root)
    data = LoadImaged(["image_t", "image_t1"], ensure_channel_first=True)(pairs[0])
    assert data["image_t"].shape == data["image_t1"].shape == (1, 128, 96)  # MONAI's reader order is (W, H)


def test_ctc_matches_by_digits(tmp_path):
    root = tmp_path / "ctc"
    for t in (8, 9, 10):
        write_image(root / "02" / f"t{t:04d}.tif", np.full((40, 50), t, np.uint16))
    write_image(root / "02_GT" / "SEG" / "man_seg009.tif", np.ones((40, 50), np.uint16))
    write_image(root / "02_GT" / "SEG" / "man_seg0010.tif", 2 * np.ones((40, 50), np.uint16))
    (root / "02_GT" / "SEG" / "readme.txt").write_text("not a tif")  # ignored
    datalist = load_ctc_sequence(root, sequence="02")
    assert [(d["frame"], Path(d["image"]).name, Path(d["label"]).name) for d in datalist] == [
        (9, "t0009.tif", "man_seg009.tif"),
        (10, "t0010.tif", "man_seg0010.tif"),
    ]
    assert [p["frame"] for p in consecutive_frame_pairs(root, sequence="02")] == [8, 9]
    # MONAI's default reader loads the TIFF
    data = LoadImaged("image", image_only=True)(datalist[0])
    assert data["image"].shape == (50, 40) and float(data["image"].max()) == 9


def test_ctc_errors(ctc_root, tmp_path):
    with pytest.raises(ValueError, match=r"truth must be one of \('GT', 'ST'\)"):
        load_ctc_sequence(ctc_root, truth="gold")
    with pytest.raises(FileNotFoundError, match=r"CTC folder '.*02' not found"):
        load_ctc_sequence(ctc_root, sequence="02")
    root = _copy(ctc_root, tmp_path)
    shutil.rmtree(root / "01_GT")
    with pytest.raises(FileNotFoundError, match=r"CTC folder '.*01_GT/SEG' not found"):
        load_ctc_sequence(root)
    write_image(root / "01_ST" / "SEG" / "man_seg012.tif", np.zeros((96, 128), np.uint16))
    with pytest.raises(ValueError, match=r"label\(s\) \['man_seg012.tif'\] .* have no frame .*frames 0..11"):
        load_ctc_sequence(root, truth="ST")
    (root / "01_ST" / "SEG" / "man_seg012.tif").unlink()
    write_image(root / "01_ST" / "SEG" / "man_seg_003_001.tif", np.zeros((96, 128), np.uint16))
    with pytest.raises(ValueError, match=r"unexpected file '.*man_seg_003_001.tif'.*look like 'man_seg000.tif'"):
        load_ctc_sequence(root, truth="ST")
    (root / "01_ST" / "SEG" / "man_seg_003_001.tif").unlink()
    shutil.copy(root / "01" / "t003.tif", root / "01" / "t0003.tif")
    with pytest.raises(ValueError, match="both have frame number 3"):
        load_ctc_sequence(root, truth="ST")
    (root / "01" / "t0003.tif").unlink()
    (root / "01_ST" / "SEG" / "man_seg004.tif").unlink()
    write_image(root / "01_ST" / "SEG" / "man_seg004.tif", np.zeros((96, 120), np.uint16))
    with pytest.raises(ValueError, match=r"t004.tif' has shape \(96, 128\) but label .*man_seg004.tif' has shape"):
        load_ctc_sequence(root, truth="ST")
    (root / "01_ST" / "SEG" / "man_seg004.tif").unlink()
    write_image(root / "01_ST" / "SEG" / "man_seg004.tif", np.zeros((96, 128), np.float32))
    with pytest.raises(ValueError, match=r"man_seg004.tif' must hold integer ids, found dtype float32"):
        load_ctc_sequence(root, truth="ST")
    (root / "01" / "t002.tif").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"cannot read image '.*t002.tif' \(CTC frame 2\)"):
        load_ctc_sequence(root, truth="ST", require_label=False)
    for path in (root / "01").iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match=r"has no frames 'tNNN.tif'"):
        load_ctc_sequence(root, truth="ST")


def test_ctc_generator_deterministic_and_refuses_non_empty(tmp_path, ctc_root):
    a = generate_ctc(tmp_path / "a", seed=0)
    assert _files(a) == _files(ctc_root)
    b = generate_ctc(tmp_path / "b", seed=1)
    assert _files(b).keys() == _files(a).keys() and _files(b) != _files(a)
    with pytest.raises(FileExistsError, match="not empty"):
        generate_ctc(a)
    with pytest.raises(ValueError, match=r"gold_frames \[12\]"):
        generate_ctc(tmp_path / "c", gold_frames=(0, 12))
    short = generate_ctc(tmp_path / "d", num_frames=4, size=(32, 40), num_cells=2)  # default gold frames fit
    assert [d["frame"] for d in load_ctc_sequence(short)] == [0]


# ---------------------------------------------------------------- DSB 2018


def test_dsb_layout_and_instance_maps(dsb_root):
    datalist = load_dsb2018(dsb_root)
    assert len(datalist) == 6
    assert [d["image_id"] for d in datalist] == sorted(d["image_id"] for d in datalist)
    shapes, grey, colour = set(), 0, 0
    for item in datalist:
        sample = dsb_root / "stage1_train" / item["image_id"]
        assert item["image"] == str(sample / "images" / f"{item['image_id']}.png")
        assert item["label"] == str(sample / "masks") and len(item["image_id"]) == 64
        image = read_image(item["image"])
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4 and (image[..., 3] == 255).all()
        is_grey = np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
        grey, colour = grey + is_grey, colour + (not is_grey)
        shapes.add(image.shape[:2])
        masks = sorted((sample / "masks").glob("*.png"))
        label = dsb_instance_label(sample)
        assert label.shape == image.shape[:2]
        assert sorted(np.unique(label[label > 0]).tolist()) == list(range(1, len(masks) + 1))
        first = read_image(masks[0])
        assert set(np.unique(first)) == {0, 255} and np.array_equal(first > 0, label == 1)
        assert 64 <= min(image.shape[:2]) and max(image.shape[:2]) <= 128
    assert len(shapes) == 6 and grey >= 1 and colour >= 1


def test_dsb_transform_matches_monai_image_order(dsb_root):
    item = load_dsb2018(dsb_root)[0]
    data = LoadImaged("image", image_only=True)(item)
    data = EnsureChannelFirstd("image")(data)
    data = LoadDSBInstanceLabeld("label")(data)
    label = data["label"]
    assert data["image"].shape[0] == 4 and tuple(label.shape[1:]) == tuple(data["image"].shape[1:])
    expected = dsb_instance_label(Path(item["label"]).parent)
    assert np.array_equal(label[0].numpy(), expected.T) and label.meta["filename_or_obj"] == item["label"]
    # nuclei are where the image differs from its background
    image = data["image"][:3].float().mean(0).numpy()
    assert abs(image[label[0].numpy() > 0].mean() - image[label[0].numpy() == 0].mean()) > 40
    plain = LoadDSBInstanceLabeld("label", reverse_indexing=False)(item)["label"]
    assert np.array_equal(plain[0].numpy(), expected) and plain.dtype == label.dtype
    with pytest.raises(TypeError, match="must hold a DSB masks folder or label image path"):
        LoadDSBInstanceLabeld("label")({"label": 3})


def test_dsb_errors(dsb_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"DSB stage folder '.*stage1_test' not found"):
        load_dsb2018(dsb_root, stage="stage1_test")
    root = _copy(dsb_root, tmp_path)
    samples = sorted((root / "stage1_train").iterdir())
    sample = samples[0]
    masks = sorted((sample / "masks").glob("*.png"))
    # overlap: a copy of the first mask under another name
    shutil.copy(masks[0], sample / "masks" / "ffff.png")
    with pytest.raises(ValueError, match=rf"mask '.*ffff.png' overlaps mask '{masks[0].name}' on \d+ pixel"):
        load_dsb2018(root)
    with pytest.raises(ValueError, match=r"ffff.png' overlaps"):
        LoadDSBInstanceLabeld("label")({"label": str(sample / "masks")})
    assert len(load_dsb2018(root, check_files=False)) == 6
    (sample / "masks" / "ffff.png").unlink()
    height, width = read_image(masks[0]).shape
    write_image(sample / "masks" / "ffff.png", np.zeros((height + 1, width), np.uint8), overwrite=True)
    with pytest.raises(ValueError, match=r"but label '.*ffff.png' has shape"):
        load_dsb2018(root)
    write_image(sample / "masks" / "ffff.png", np.zeros((height, width), np.uint8), overwrite=True)
    with pytest.raises(ValueError, match=r"ffff.png' has no foreground pixels"):
        load_dsb2018(root)
    write_image(sample / "masks" / "ffff.png", np.zeros((height, width, 3), np.uint8), overwrite=True)
    with pytest.raises(ValueError, match=r"ffff.png' must be a single-channel binary PNG"):
        load_dsb2018(root)
    (sample / "masks" / "ffff.png").unlink()
    # no masks: an error unless allowed, and then no label key
    shutil.rmtree(samples[1] / "masks")
    with pytest.raises(FileNotFoundError, match=f"sample '.*{samples[1].name}' has no mask PNGs.*allow_no_masks"):
        load_dsb2018(root)
    allowed = load_dsb2018(root, allow_no_masks=True)
    assert "label" not in allowed[1] and "label" in allowed[0] and len(allowed) == 6
    # missing images
    (samples[2] / "images" / f"{samples[2].name}.png").rename(samples[2] / "images" / "other.png")
    with pytest.raises(FileNotFoundError, match=f"DSB image '.*{samples[2].name}.png' not found"):
        load_dsb2018(root, allow_no_masks=True)
    shutil.rmtree(samples[2] / "images")
    with pytest.raises(FileNotFoundError, match="has no 'images' folder"):
        load_dsb2018(root, allow_no_masks=True)
    empty = tmp_path / "empty"
    (empty / "stage1_train").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="has no sample folders"):
        load_dsb2018(empty)


def test_dsb_generator_deterministic_and_refuses_non_empty(tmp_path, dsb_root):
    a = generate_dsb(tmp_path / "a", seed=0)
    assert _files(a) == _files(dsb_root)
    b = generate_dsb(tmp_path / "b", seed=1)
    assert _files(b).keys() != _files(a).keys()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_dsb(tmp_path / "c")
    assert os.listdir(tmp_path / "c") == ["x"]
