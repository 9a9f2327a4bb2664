"""`metaseg sample-data`: every registered kind writes a layout that its own reader reads back."""

import subprocess
import sys

import pytest

import metaseg_monai.data as data
from metaseg_monai.sample_data import SAMPLE_DATA_KINDS, generate_sample_data

TINY = {
    "cell-lines": {"images_per_line": 2, "size": 48},
    "nuclei-anomaly": {"images_per_line": 2, "size": 48},
    "annotation-styles": {"images_per_line": 3, "size": 48},
    "kits21": {"num_cases": 2, "shape": (16, 32, 32)},
    "kits19": {"num_cases": 2, "shape": (16, 32, 32)},
    "msd-spleen": {"num_cases": 2, "shape": (32, 32, 16)},
    "msd-liver": {"num_cases": 2, "shape": (32, 32, 16)},
    "multi-organ": {"scans_per_organ": 2, "size": 32, "num_slices": 16},
    "tumor-type": {"subjects_per_type": 1},
    "ctc": {"num_frames": 4, "size": (48, 64), "num_cells": 3},
    "dsb": {"num_images": 2},
    "video-nuclei": {"num_stills": 2, "num_frames": 6, "size": (48, 64), "num_cells": 3},
}


@pytest.mark.parametrize("kind", sorted(SAMPLE_DATA_KINDS))
def test_every_kind_is_read_back_by_its_reader(kind, tmp_path):
    root = generate_sample_data(kind, tmp_path / kind, seed=1, **TINY[kind])
    reader = getattr(data, SAMPLE_DATA_KINDS[kind][1])
    datalist = reader(root)
    assert len(datalist) > 0 and all("image" in d for d in datalist)


def test_sample_data_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown sample-data kind 'kits23'"):
        generate_sample_data("kits23", tmp_path / "x")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['sizes'\]"):
        generate_sample_data("cell-lines", tmp_path / "x", sizes=3)


def test_cli_writes_and_refuses_a_non_empty_folder(tmp_path):
    cmd = [sys.executable, "-m", "metaseg_monai.cli", "sample-data", "dsb", str(tmp_path / "dsb"), "--num_images", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "wrote dsb sample data" in out and "load_dsb2018" in out
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "exists and is not empty" in again.stderr


def test_tumor_type_volumes_slice_sagittally_with_their_metadata(tmp_path):
    from metaseg_monai.data import volume_slices_datalist

    root = generate_sample_data("tumor-type", tmp_path / "tt", subjects_per_type=1)
    volumes = data.load_bids_tumor_type(root)
    slices = volume_slices_datalist(volumes, axis=0, labels=(1,))  # the cord runs along z: axis 0 is sagittal
    assert {s["tumor_type"] for s in slices} == {v["tumor_type"] for v in volumes}
    for s in slices:
        assert s["image"].shape == s["label"].shape and s["image"].shape[0] == 1
        assert s["label"].max() == 1  # only slices through the tumour


def test_decathlon_tasks_can_carry_an_organ_field(tmp_path):
    root = generate_sample_data("msd-liver", tmp_path / "msd", num_cases=2, shape=(32, 32, 16))
    datalist = data.load_decathlon(root, extra_fields={"organ": "liver"})
    assert {d["organ"] for d in datalist} == {"liver"}


def test_a_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    import metaseg_monai.sample_data.generate_ct as generate_ct

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(generate_ct, "write_json", broken)  # kits.json is written after the volumes
    with pytest.raises(OSError, match="disk full"):
        generate_sample_data("kits21", tmp_path / "kits", num_cases=2, shape=(16, 32, 32))
    assert list(tmp_path.iterdir()) == []  # neither the dataset folder nor a staging folder


def test_16_bit_colour_png_is_refused_not_truncated(tmp_path):
    import itk
    import numpy as np

    from metaseg_monai.data.image_io import read_image

    rgb16 = np.full((8, 9, 3), 61360, np.uint16)
    itk.imwrite(itk.image_from_array(rgb16, is_vector=True), str(tmp_path / "rgb16.png"))
    with pytest.raises(ValueError, match=r"rgb16\.png' \(row 3\): 16-bit colour PNG is not supported"):
        read_image(tmp_path / "rgb16.png", context="row 3")
    grey16 = np.full((8, 9), 61360, np.uint16)
    itk.imwrite(itk.image_from_array(grey16), str(tmp_path / "grey16.png"))
    assert read_image(tmp_path / "grey16.png").max() == 61360  # 16-bit grey is read in full


def test_table_metadata_cells_are_stripped_and_never_empty_and_encoding_errors_name_the_file(tmp_path):
    root = generate_sample_data("cell-lines", tmp_path / "cl", images_per_line=2, size=48)
    table = root / "metadata.csv"
    lines = table.read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("cell_line")] = " " + first[header.index("cell_line")]
    table.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    assert data.load_table_dataset(root)[0]["cell_line"] == first[header.index("cell_line")].strip()
    first[header.index("cell_line")] = ""
    table.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match=r"row 1 .*metadata column 'cell_line' is empty"):
        data.load_table_dataset(root)
    table.write_bytes("\n".join(lines).encode("utf-8").replace(b"HeLa", "HéLa".encode("latin-1")))
    with pytest.raises(ValueError, match=r"metadata\.csv': expected UTF-8 text, found byte 0xe9"):
        data.load_table_dataset(root)


def test_polygonize_warns_when_the_tolerance_collapses_most_objects(caplog):
    import numpy as np
    from skimage.draw import disk

    from metaseg_monai.transforms import polygonize_mask

    mask = np.zeros((64, 64), np.uint8)
    for centre in ((16, 16), (16, 48), (48, 32)):
        mask[disk(centre, 6)] = 255
    with caplog.at_level("WARNING"):
        out = polygonize_mask(mask, 15.0)
    assert np.array_equal(out, mask) and "3 of 3 objects kept their original pixels" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        polygonize_mask(mask, 2.0)
    assert caplog.text == ""
