import pytest
import torch
from monai.inferers import SimpleInferer, SliceInferer, SlidingWindowInferer

from metaseg_monai.inferers import MetadataInferer
from metaseg_monai.networks import CONDITIONINGS, PRESETS, FiLMLayer, MetadataSEBlock, MetaUNet, MultiHeadUNet

SMALL = {"features": (4, 8, 16)}


def small_net(conditioning, spatial_dims=2, metadata_dim=3, **kwargs):
    torch.manual_seed(0)
    return MetaUNet(spatial_dims, 1, 2, metadata_dim=metadata_dim, conditioning=conditioning, **SMALL, **kwargs).eval()


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_shapes(conditioning, spatial_dims):
    net = small_net(conditioning, spatial_dims)
    x = torch.randn(2, 1, *([12] * spatial_dims))
    assert net(x, torch.randn(2, 3)).shape == (2, 2, *([12] * spatial_dims))


@pytest.mark.parametrize("upsample", ["deconv", "nontrainable"])
def test_odd_sizes_keep_shape(upsample):
    net = small_net("sme", upsample=upsample)
    assert net(torch.randn(1, 1, 13, 22), torch.randn(1, 3)).shape == (1, 2, 13, 22)


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_metadata_changes_output_only_when_conditioned(conditioning):
    net = small_net(conditioning)
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        a = net(x, torch.tensor([[1.0, 0.0, 0.0]] * 2))
        b = net(x, torch.tensor([[0.0, 0.0, 1.0]] * 2))
    changed = not torch.allclose(a, b)
    assert changed == (conditioning in ("me", "sme", "film"))
    if conditioning in ("none", "se"):
        assert torch.equal(a, net(x))  # and it may be left out


def test_block_placement_and_stage_flags():
    net = small_net("sme")
    assert sum(isinstance(m, MetadataSEBlock) for m in net.modules()) == 2 * net.depth + 1
    film = small_net("film")
    assert sum(isinstance(m, FiLMLayer) for m in film.modules()) == 2 * net.depth + 2  # and the logits
    flags = [1, 0, 0, 0, 0, 1]  # ivadomed's film_layers convention
    partial = small_net("film", modulated_stages=flags)
    assert sum(isinstance(m, FiLMLayer) for m in partial.modules()) == 2
    assert sum(isinstance(m, MetadataSEBlock) for m in small_net("none").modules()) == 0
    with pytest.raises(ValueError, match="needs 6 flags for depth 2"):
        small_net("film", modulated_stages=[1, 1])
    with pytest.raises(ValueError, match="only 'film' may modulate the logits"):
        small_net("sme", modulated_stages=[1, 1, 1, 1, 1, 1])


def test_presets_reproduce_the_papers():
    code = MetaUNet.from_preset("plutenko_code", 2, 1, 2, metadata_dim=2)
    assert code.depth == 5 and set(code.features) == {64}
    assert len(code.encoder[1].conv) == 3  # three conv-BN-ReLU per stage
    blocks = [m for m in code.modules() if isinstance(m, MetadataSEBlock)]
    assert len(blocks) == 11 and {b.excite[0].out_features for b in blocks} == {33}
    assert {b.excite[-1].out_features for b in blocks} == {128}  # 2C: scale and shift
    text = MetaUNet.from_preset("plutenko_text", 2, 1, 2, metadata_dim=7)
    assert {m.excite[0].out_features * 4 for m in text.modules() if isinstance(m, MetadataSEBlock)} == set(
        text.features
    )
    ivadomed = MetaUNet.from_preset("ivadomed_film", 2, 1, 1, metadata_dim=3)
    assert ivadomed.depth == 4 and ivadomed.generator is not None
    assert sum(isinstance(m, FiLMLayer) for m in ivadomed.modules()) == 10
    assert 19.0e6 < sum(p.numel() for p in ivadomed.parameters()) < 20.0e6  # ivadomed: 19.6 M
    ivadomed3d = MetaUNet.from_preset("ivadomed_film", 3, 1, 1, metadata_dim=3, features=(4, 8, 8))
    assert any(isinstance(m, torch.nn.InstanceNorm3d) for m in ivadomed3d.modules())
    override = MetaUNet.from_preset("plutenko_code", 2, 1, 2, metadata_dim=2, conditioning="none", features=(8, 8))
    assert override.conditioning == "none" and override.depth == 1
    with pytest.raises(ValueError, match="unknown preset 'unet'"):
        MetaUNet.from_preset("unet", 2, 1, 2)
    assert set(PRESETS) == {"plutenko_text", "plutenko_code", "ivadomed_film"}


def test_bad_metadata_raises_clear_errors():
    net = small_net("sme")
    x = torch.randn(2, 1, 16, 16)
    with pytest.raises(ValueError, match=r"metadata must have shape \(batch=2, metadata_dim=3\), got \[2, 4\]"):
        net(x, torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"got \[1, 3\]"):
        net(x, torch.randn(1, 3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        net(x, torch.tensor([[0.0, float("nan"), 1.0]] * 2))
    with pytest.raises(ValueError, match="floating point"):
        net(x, torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"needs metadata of shape \(batch=2, metadata_dim=3\), got None"):
        net(x)
    with pytest.raises(ValueError, match=r"at least 4 \(2\*\*depth\), got \[2, 16\]"):
        net(torch.randn(2, 1, 2, 16), torch.randn(2, 3))
    with pytest.raises(ValueError, match="conditioning must be one of"):
        MetaUNet(2, 1, 2, 3, conditioning="cbn")
    with pytest.raises(ValueError, match="needs metadata_dim >= 1"):
        MetaUNet(2, 1, 2, 0, conditioning="film")


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_torchscript_round_trip(conditioning, tmp_path):
    net = small_net(conditioning)
    x, m = torch.randn(2, 1, 16, 16), torch.randn(2, 3)
    path = tmp_path / "net.ts"
    torch.jit.save(torch.jit.script(net), str(path))
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, m), net(x, m))
    with pytest.raises(torch.jit.Error, match="metadata must have shape"):  # errors survive export
        loaded(x, torch.randn(2, 5))


def test_torchscript_round_trip_3d_and_multi_head(tmp_path):
    for net in (small_net("film", 3), MultiHeadUNet(2, 1, (1, 2), 3, "sme", **SMALL).eval()):
        x = torch.randn(1, 1, *([8] * net.spatial_dims))
        m = torch.randn(1, 3)
        torch.jit.save(torch.jit.script(net), str(tmp_path / "net.ts"))
        with torch.no_grad():
            torch.testing.assert_close(torch.jit.load(str(tmp_path / "net.ts"))(x, m), net(x, m))


def test_multi_head_unet():
    net = MultiHeadUNet(2, 1, head_channels=(1, 1), **SMALL).eval()
    x = torch.randn(3, 1, 16, 16)
    out = net(x)
    assert out.shape == (3, 2, 16, 16)
    nuclei, anomaly = net.split_heads(out)
    assert nuclei.shape == anomaly.shape == (3, 1, 16, 16)
    assert len(net.head.heads) == 2 and net.requires_metadata is False
    with pytest.raises(ValueError, match="head_channels"):
        MultiHeadUNet(2, 1, head_channels=())


@pytest.mark.parametrize("batch", [1, 3])
def test_metadata_inferer_gives_each_window_its_own_metadata(batch):
    net = small_net("sme")
    x, m = torch.randn(batch, 1, 24, 24), torch.randn(batch, 3)
    with torch.no_grad():
        direct = net(x, m)
        windows = MetadataInferer(SlidingWindowInferer(roi_size=(24, 24), sw_batch_size=4))(x, net, m)
        simple = MetadataInferer(SimpleInferer())(x, net, m)
    torch.testing.assert_close(windows, direct)
    torch.testing.assert_close(simple, direct)


def test_metadata_inferer_slices_a_volume():
    net = small_net("film")
    volume, m = torch.randn(2, 1, 16, 16, 5), torch.randn(2, 3)
    with torch.no_grad():
        out = MetadataInferer(SliceInferer(roi_size=(16, 16), spatial_dim=2, sw_batch_size=3))(volume, net, m)
        expected = torch.stack([net(volume[..., k], m) for k in range(5)], dim=-1)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match=r"batch=2, metadata_dim\), got \[3, 3\]"):
        MetadataInferer(SliceInferer(roi_size=(16, 16)))(volume, net, torch.randn(3, 3))


def test_bundle_config_builds_presets_and_ckpt_export_round_trips(tmp_path):
    import json

    from monai.bundle import ConfigParser, ckpt_export

    config = {
        "network_def": {
            "_target_": "metaseg_monai.networks.MetaUNet.from_preset",
            "preset": "plutenko_code",
            "spatial_dims": 2,
            "in_channels": 1,
            "out_channels": 2,
            "metadata_dim": 3,
            "features": [4, 4, 4],
        }
    }
    (tmp_path / "inference.json").write_text(json.dumps(config))
    parser = ConfigParser(config)
    net = parser.get_parsed_content("network_def").eval()
    torch.save(net.state_dict(), tmp_path / "model.pt")
    ckpt_export(
        net_id="network_def",
        filepath=str(tmp_path / "model.ts"),
        ckpt_file=str(tmp_path / "model.pt"),
        config_file=str(tmp_path / "inference.json"),
    )
    exported = torch.jit.load(str(tmp_path / "model.ts"))
    x, m = torch.randn(1, 1, 16, 16), torch.randn(1, 3)
    with torch.no_grad():
        torch.testing.assert_close(exported(x, m), net(x, m))


def test_film_trunk_activation_is_an_option():
    """ivadomed's sigmoid trunk by default; ReLU on request, gamma and beta still in (0, 1)."""
    default = MetaUNet.from_preset("ivadomed_film", 2, 1, 2, metadata_dim=3, features=(8, 8, 8))
    relu = MetaUNet.from_preset("ivadomed_film", 2, 1, 2, metadata_dim=3, features=(8, 8, 8), film_trunk_act="relu")
    assert [type(m).__name__ for m in default.generator.trunk] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    assert [type(m).__name__ for m in relu.generator.trunk] == ["Linear", "ReLU", "Linear", "ReLU"]
    head = relu.encoder[0].modulation.head
    params = head(relu.generator(torch.eye(3)))
    assert type(head[-1]).__name__ == "Sigmoid" and bool(((params > 0) & (params < 1)).all())
    x = torch.rand(3, 1, 16, 16)
    relu.eval()
    with torch.no_grad():
        assert relu(x, torch.eye(3)).shape == (3, 2, 16, 16)
