"""The Siamese-consistency data: DSB fluorescence stills beside CTC videos, one reader for both."""

import numpy as np
import pytest

from metaseg_monai.data import load_video_nuclei
from metaseg_monai.data.image_io import read_image
from metaseg_monai.sample_data import generate_sample_data


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
