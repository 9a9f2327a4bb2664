"""Fig. 2A: segmenting one image under a sweep of metadata values (the figure: tests/test_visualize.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metaseg_monai.metrics import sweep_metadata
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
