"""metaseg_monai.data.check_readable: a missing, fake or truncated image fails up front, naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from metaseg_monai.data import check_readable
from metaseg_monai.data.image_io import write_image, write_nifti


def test_readable_images_pass(tmp_path):
    write_image(tmp_path / "a.png", np.arange(16, dtype=np.uint8).reshape(4, 4))
    write_image(tmp_path / "b.TIF", np.zeros((4, 4), dtype=np.uint16))
    write_nifti(tmp_path / "c.nii.gz", np.zeros((8, 8, 4), dtype=np.int16), np.eye(4))
    write_nifti(tmp_path / "d.nii", np.zeros((8, 8, 4), dtype=np.float32), np.eye(4))
    for name in ("a.png", "b.TIF", "c.nii.gz", "d.nii"):
        assert check_readable(tmp_path / name) is None
        check_readable(str(tmp_path / name), "inference input")


def test_missing_file_names_it_and_the_context(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"file not found: '.*nope\.png' \(inference input\)"):
        check_readable(tmp_path / "nope.png", "inference input")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(FileNotFoundError, match=r"folder\.png"):
        check_readable(tmp_path / "folder.png")


def test_a_png_that_holds_text_fails(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("this is not an image\n")
    with pytest.raises(ValueError, match=r"cannot read image '.*fake\.png' \(row 3\)"):
        check_readable(fake, "row 3")


def test_a_truncated_png_fails(tmp_path):
    path = tmp_path / "cut.png"
    write_image(path, np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read image '.*cut\.png'"):
        check_readable(path)


def test_a_truncated_nifti_fails_although_its_header_reads(tmp_path):
    from metaseg_monai.data.image_io import nifti_shape

    path = tmp_path / "case_00001.nii.gz"
    volume = np.random.default_rng(0).normal(size=(32, 32, 16)).astype(np.float32)
    write_nifti(path, volume, np.eye(4))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert nifti_shape(path) == (32, 32, 16)  # the header alone does not show it
    with pytest.raises(ValueError, match=r"cannot read NIfTI '.*case_00001\.nii\.gz' \(image of case_00001\)"):
        check_readable(path, "image of case_00001")


def test_unsupported_suffix_lists_the_supported_ones(tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ValueError, match=r"'.*scan\.jpg'.*suffix '\.jpg'.*\.png, \.tif, \.tiff, \.nii\.gz, \.nii"):
        check_readable(path)
    bare = tmp_path / "README"
    bare.write_text("x")
    with pytest.raises(ValueError, match=r"suffix 'none'"):
        check_readable(bare)
