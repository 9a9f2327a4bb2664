"""Tests for metaseg_monai.bundle.preflight: the network and output-folder checks run before any work."""

from __future__ import annotations

import pytest
import torch

from metaseg_monai.bundle.preflight import check_metadata_width, check_output_dir
from metaseg_monai.networks import MetaUNet


def test_check_metadata_width():
    net = MetaUNet(2, 1, 1, metadata_dim=7, conditioning="sme", features=(4, 8))
    assert check_metadata_width(net, 7) is net

    class Wrapper(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    wrapped = Wrapper(net)
    assert check_metadata_width(wrapped, 7) is wrapped
    with pytest.raises(ValueError, match=r"width 7 .*produces width 3 .*\(configs/train\.json\).*metadata_dim=3"):
        check_metadata_width(wrapped, 3, where="configs/train.json")
    # a network that ignores metadata and was built without a width accepts any encoder
    plain = MetaUNet(2, 1, 1, metadata_dim=0, conditioning="none", features=(4, 8))
    assert check_metadata_width(plain, 5) is plain
    with pytest.raises(ValueError, match="width 2"):
        check_metadata_width(MetaUNet(2, 1, 1, metadata_dim=2, conditioning="none", features=(4, 8)), 5)
    with pytest.raises(TypeError, match="Linear declares no `metadata_dim`"):
        check_metadata_width(torch.nn.Linear(2, 2), 2)
    with pytest.raises(ValueError, match="non-negative integer"):
        check_metadata_width(net, -1)


def test_check_output_dir_refuses_the_input_folder_and_inside_it(tmp_path):

    data = tmp_path / "data"
    data.mkdir()
    assert check_output_dir(tmp_path / "out", data) == str(tmp_path / "out")
    for bad in (data, data / "masks", tmp_path / "data" / ".." / "data"):
        with pytest.raises(ValueError, match="lies inside, the input folder"):
            check_output_dir(bad, data)
