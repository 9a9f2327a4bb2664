"""The Siamese-consistency data: DSB fluorescence stills beside CTC videos, one reader for both."""

import numpy as np
import pytest

from metaseg_monai.data import load_video_nuclei
from metaseg_monai.data.image_io import read_image
from metaseg_monai.sample_data import generate_sample_data
from metaseg_monai.sample_data.generate_cells import generate_video_nuclei


def test_stills_and_both_sequences(tmp_path):
    root = generate_sample_data("video-nuclei", tmp_path / "vn", num_stills=3, num_frames=7, size=(48, 64))
    items = load_video_nuclei(root)
    stills = [i for i in items if i["source"] == "dsb2018"]
    frames = [i for i in items if i["source"] == "ctc"]
    assert len(stills) == 3 and all("label" in s for s in stills)
    for still in stills:  # every still is grey fluorescence: R = G = B, bright nuclei on dark
        rgba = read_image(still["image"])
        assert np.array_equal(rgba[..., 0], rgba[..., 1]) and np.array_equal(rgba[..., 1], rgba[..., 2])
    assert [(f["sequence"], f["frame"]) for f in frames] == [(s, t) for s in ("01", "02") for t in range(7)]
    assert [f["frame"] for f in frames if "label" in f and f["sequence"] == "01"] == [0, 5]  # gold every 5th
    silver = load_video_nuclei(root, sequences=["02"], truth="ST")
    assert all("label" in f for f in silver if f["source"] == "ctc")
    first = read_image(frames[0]["image"])
    other = read_image(frames[7]["image"])
    assert first.shape == other.shape and not np.array_equal(first, other)  # two different videos


def test_missing_folders_are_named(tmp_path):
    (tmp_path / "dsb2018").mkdir()
    with pytest.raises(FileNotFoundError, match=r"ctc' not found: .* must hold ctc/"):
        load_video_nuclei(tmp_path)
    with pytest.raises(ValueError, match="truth must be one of"):
        load_video_nuclei(tmp_path, truth="gold")


def test_the_bundle_datalists_split_stills_and_pair_frames(tmp_path):
    from metaseg_monai.data import (
        video_nuclei_evaluation_datalist,
        video_nuclei_frames,
        video_nuclei_pairs,
        video_nuclei_stills,
    )

    root = generate_video_nuclei(tmp_path / "d", seed=0, num_stills=10, num_frames=6)
    splits = {s: video_nuclei_stills(root, s) for s in ("train", "val", "test")}
    ids = [{i["image_id"] for i in items} for items in splits.values()]
    assert sum(map(len, ids)) == 10 and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert all(i["frame"] == 0 and i["video"] == f"dsb2018/{i['image_id']}" for i in splits["test"])
    pairs = video_nuclei_pairs(root, ["01", "02"])
    assert len(pairs) == 10 and pairs[0]["image_t"].endswith("t000.tif") and pairs[0]["image_t1"].endswith("t001.tif")
    frames = video_nuclei_frames(root, ["02"])
    assert [f["frame"] for f in frames] == list(range(6)) and {f["video"] for f in frames} == {"ctc/02"}
    assert "label" in frames[0] and "label" not in frames[1]  # gold masks every fifth frame
    evaluation = video_nuclei_evaluation_datalist(root, sequences=["01"])
    assert [i["source"] for i in evaluation] == ["dsb2018"] * len(splits["test"]) + ["ctc"] * 6
    with pytest.raises(ValueError, match="at least one CTC sequence"):
        video_nuclei_pairs(root, [])
