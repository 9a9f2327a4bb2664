"""Fig. 2A helpers: segmenting one image under a sweep of metadata values, and the figure of the results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metaseg_monai.metrics import CLASS_COLOURS, sweep_metadata, write_sweep_figure
from metaseg_monai.networks import MetaUNet


class SizeNet(torch.nn.Module):
    """A fixed 'network' whose class-1 region is a centred square of half-width ``metadata[:, k] * 10`` pixels."""

    def __init__(self, k: int = 1):
        super().__init__()
        self.k = k
        self.calls: list[tuple[torch.Size, torch.Tensor, bool]] = []

    def forward(self, x: torch.Tensor, metadata: torch.Tensor) -> torch.Tensor:
        self.calls.append((x.shape, metadata.clone(), self.training))
        h, w = x.shape[2:]
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        dist = torch.maximum((yy - h // 2).abs(), (xx - w // 2).abs()).float()
        inside = dist[None] < metadata[:, self.k, None, None] * 10  # (B, H, W)
        return torch.stack([(~inside).float(), inside.float()], dim=1)


def test_sweep_metadata_varies_one_feature():
    net = SizeNet(k=1).train()
    image = torch.rand(1, 16, 16)
    metadata = torch.tensor([0.7, 0.0, -1.0])
    maps = sweep_metadata(net, image, metadata, feature_index=1, values=[0.0, 0.25, 0.5])
    assert maps.shape == (3, 16, 16) and maps.dtype == np.int64
    # squares of half-width < 2.5 and < 5 pixels around (8, 8): 5 x 5 and 9 x 9; value 0: nothing
    assert [int((m == 1).sum()) for m in maps] == [0, 25, 81]
    (shape, vectors, training) = net.calls[-1]
    assert shape == (3, 1, 16, 16) and not training  # one batch, in eval mode
    torch.testing.assert_close(vectors[:, 1], torch.tensor([0.0, 0.25, 0.5]))
    torch.testing.assert_close(vectors[:, [0, 2]], metadata[[0, 2]].expand(3, 2))  # other features untouched
    assert net.training  # the caller's mode is restored


def test_sweep_metadata_with_a_meta_unet():
    torch.manual_seed(0)
    net = MetaUNet.from_preset("plutenko_code", 2, 1, 4, metadata_dim=1, conditioning="me", features=[8, 8, 8])
    maps = sweep_metadata(net, torch.rand(1, 32, 32), torch.tensor([0.3]), 0, [0.1, 0.9])
    assert maps.shape == (2, 32, 32) and maps.min() >= 0 and maps.max() <= 3
    # the same as running the network by hand on each metadata value
    net.eval()
    with torch.no_grad():
        x = torch.rand(1, 1, 32, 32)
        direct = [net(x, torch.tensor([[v]])).argmax(1)[0].numpy() for v in (0.1, 0.9)]
    np.testing.assert_array_equal(sweep_metadata(net, x[0], torch.tensor([0.3]), 0, [0.1, 0.9]), np.stack(direct))


def test_sweep_metadata_errors():
    net = SizeNet(k=0)
    image, metadata = torch.rand(1, 8, 8), torch.zeros(2)
    with pytest.raises(ValueError, match=r"feature_index must lie in \[0, 2\)"):
        sweep_metadata(net, image, metadata, 2, [0.1])
    with pytest.raises(ValueError, match=r"one encoded vector \(M,\)"):
        sweep_metadata(net, image, metadata[None], 0, [0.1])
    with pytest.raises(ValueError, match="non-empty list of finite"):
        sweep_metadata(net, image, metadata, 0, [])
    with pytest.raises(ValueError, match="non-empty list of finite"):
        sweep_metadata(net, image, metadata, 0, [float("nan")])
    with pytest.raises(ValueError, match="channel-first"):
        sweep_metadata(net, torch.rand(8), metadata, 0, [0.1])
    conv = torch.nn.Conv2d(1, 2, 1).to("meta")
    with pytest.raises(ValueError, match="parameters are on 'meta'"):
        sweep_metadata(conv, image, metadata, 0, [0.1])


def test_write_sweep_figure(tmp_path):
    image = torch.linspace(0, 1, 24 * 24).reshape(1, 24, 24)
    maps = np.zeros((3, 24, 24), np.int64)
    maps[1, 8:16, 8:16] = 1
    maps[2, 4:20, 4:20] = 2
    path = write_sweep_figure(tmp_path / "sweep.png", image, maps, ["2 cm", "5 cm", "9 cm"], {1: "kidney", 2: "tumor"})
    assert path == tmp_path / "sweep.png"
    picture = np.asarray(Image.open(path))
    assert picture.ndim == 3 and picture.shape[2] == 3
    assert picture.shape[1] >= 4 * 128  # four panels (image + 3 values), each enlarged to >= 128 pixels
    pixels = {tuple(p) for p in picture.reshape(-1, 3)}
    assert CLASS_COLOURS[0] in pixels and CLASS_COLOURS[1] in pixels  # legend squares of kidney and tumour
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_sweep_figure(path, image, maps, ["a", "b", "c"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(ValueError, match="one value label per prediction"):
        write_sweep_figure(tmp_path / "b.png", image, maps, ["a"])
    with pytest.raises(ValueError, match="same H, W"):
        write_sweep_figure(tmp_path / "c.png", image, maps[:, :10], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"must be a \.png"):
        write_sweep_figure(tmp_path / "d.tif", image, maps, ["a", "b", "c"])
    # without class names the legend names the classes found; a list of maps works too
    write_sweep_figure(tmp_path / "e.png", image[0].numpy(), list(maps), ["a", "b", "c"])
    assert (tmp_path / "e.png").is_file()
