"""Video input for inference (a folder of frames or a multi-page TIFF) and the per-frame area curve."""

import numpy as np
import pytest
import tifffile
import torch

from metaseg_monai.data import load_video_frames
from metaseg_monai.data.image_io import write_image
from metaseg_monai.sample_data import generate_sample_data
from metaseg_monai.visualize import write_area_curve


def test_a_ctc_sequence_folder_is_read_in_time_order(tmp_path):
    root = generate_sample_data("ctc", tmp_path / "ctc", seed=0)
    frames = load_video_frames(root / "01")
    assert [f["frame"] for f in frames] == list(range(len(frames))) and len(frames) >= 2
    assert frames[0]["source"].endswith("t000.tif") and frames[-1]["video"] == "01"
    assert frames[0]["image"].shape[0] == 1 and frames[0]["image"].dtype == np.float32


def test_natural_order_multipage_tiff_and_colour(tmp_path):
    folder = tmp_path / "frames"
    for t in (10, 2, 1):  # natural order: 1, 2, 10
        write_image(folder / f"f{t}.png", np.full((8, 9, 3), t, np.uint8))
    assert [float(f["image"].max()) for f in load_video_frames(folder)] == [1.0, 2.0, 10.0]
    stack = np.stack([np.full((8, 9), t, np.uint16) for t in range(4)])
    tifffile.imwrite(tmp_path / "movie.tif", stack, photometric="minisblack")
    frames = load_video_frames(tmp_path / "movie.tif")
    assert len(frames) == 4 and frames[3]["image"].shape == (1, 8, 9) and frames[3]["source"].endswith("#page3")
    assert frames[0]["video"] == "movie"
    colour = np.stack([np.full((8, 9, 3), t, np.uint8) for t in range(3)])
    tifffile.imwrite(tmp_path / "colour.tif", colour, photometric="rgb")
    assert [float(f["image"].max()) for f in load_video_frames(tmp_path / "colour.tif")] == [0.0, 1.0, 2.0]
    tifffile.imwrite(
        tmp_path / "channels.tif", np.zeros((3, 2, 8, 9), np.uint16), imagej=True, metadata={"axes": "TCYX"}
    )
    with pytest.raises(ValueError, match="channel axis"):
        load_video_frames(tmp_path / "channels.tif")


def test_bad_videos_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_video_frames(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no frame images"):
        load_video_frames(tmp_path / "empty")
    write_image(tmp_path / "mixed" / "t0.png", np.zeros((8, 8), np.uint8))
    write_image(tmp_path / "mixed" / "t1.png", np.zeros((8, 9), np.uint8))
    with pytest.raises(ValueError, match=r"frames differ in shape.*t1.png"):
        load_video_frames(tmp_path / "mixed")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match="cannot read video"):
        load_video_frames(tmp_path / "broken.tif")


def test_area_curve_png(tmp_path):
    path = write_area_curve(tmp_path / "area.png", {"stage 0": [5, 9, 4, 8], "stage 1": [6, 6, 7, 6]}, title="01")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError):
        write_area_curve(path, {"stage 0": [1, 2]})
    with pytest.raises(ValueError, match="no frames"):
        write_area_curve(tmp_path / "b.png", {"stage 0": []})


def test_grey_transform_averages_rgb_and_refuses_other_channels():
    from metaseg_monai.transforms import ToGrey, ToGreyd

    rgba = np.stack([np.full((4, 5), v, np.uint8) for v in (30, 60, 90, 255)])
    grey = ToGrey()(rgba)
    assert grey.shape == (1, 4, 5) and grey.dtype == np.float32 and np.allclose(grey, 60.0)
    tensor = ToGreyd("image")({"image": torch.as_tensor(rgba[:3])})["image"]
    assert tensor.shape == (1, 4, 5) and torch.allclose(tensor, torch.full((1, 4, 5), 60.0))
    assert ToGrey()(np.ones((1, 4, 5))).shape == (1, 4, 5)
    with pytest.raises(ValueError, match="key 'image': expected a grey, RGB or RGBA image"):
        ToGreyd("image")({"image": np.ones((2, 4, 5))})
