"""MetadataConditioned: MONAI networks that read the metadata, every supported family in 2D and 3D."""

import copy

import pytest
import torch
from monai.networks.nets import BasicUNet, DynUNet, FlexibleUNet, SegResNet, SwinUNETR, UNet

from metaseg_monai.networks import CONDITIONINGS, FiLMLayer, MetadataConditioned, MetadataSEBlock, default_stages

# small widths: the tests are about the wiring, not the capacity
FAMILIES = {
    "BasicUNet": lambda d: BasicUNet(d, 1, 2, features=(4, 4, 8, 8, 16, 4)),
    "UNet": lambda d: UNet(d, 1, 2, channels=(4, 8, 16, 16), strides=(2, 2, 2), num_res_units=1),
    "SegResNet": lambda d: SegResNet(d, init_filters=8, in_channels=1, out_channels=2),
    "DynUNet": lambda d: DynUNet(d, 1, 2, [3, 3, 3, 3], [1, 2, 2, 2], [2, 2, 2], filters=[4, 8, 16, 16]),
    "FlexibleUNet": lambda d: FlexibleUNet(
        1, 2, "resnet10", spatial_dims=d, pretrained=False, decoder_channels=(16, 8, 8, 4, 4)
    ),
    "SwinUNETR": lambda d: SwinUNETR(
        in_channels=1, out_channels=2, spatial_dims=d, feature_size=12, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1)
    ),
}
# SwinUNETR's bottleneck is 1/32 of the input, and its instance norm needs more than one pixel there
SIZE = {"SwinUNETR": 64}
ONE_HOT = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def wrapped(family, spatial_dims, conditioning, **kwargs):
    torch.manual_seed(0)
    network = FAMILIES[family](spatial_dims)
    size = SIZE.get(family, 32)
    return MetadataConditioned(network, 3, conditioning, probe_size=size, **kwargs).eval(), size


CASES = [
    pytest.param(f, d, marks=pytest.mark.slow if (f, d) == ("SwinUNETR", 3) else ()) for d in (2, 3) for f in FAMILIES
]


@pytest.mark.parametrize("family, spatial_dims", CASES)
def test_every_family_reads_the_metadata_only_when_conditioned(family, spatial_dims):
    x = torch.randn(2, 1, *([SIZE.get(family, 32)] * spatial_dims))
    plain = None
    for conditioning in CONDITIONINGS:
        net, _ = wrapped(family, spatial_dims, conditioning)
        with torch.no_grad():
            a, b = net(x, ONE_HOT), net(x, ONE_HOT.flip(0))
            if plain is None:
                plain = net.network(x)  # "none" adds no block: the network itself, called directly
        assert a.shape == plain.shape, (family, conditioning)
        assert (not torch.allclose(a, b)) == (conditioning in ("me", "sme", "film")), (family, conditioning)
        if conditioning == "none":
            assert torch.equal(a, plain)
        if conditioning in ("none", "se"):
            with torch.no_grad():
                assert torch.equal(a, net(x))  # the metadata may be left out


@pytest.mark.parametrize("family", FAMILIES)
def test_default_stages_are_modulated_with_one_block_per_feature_map(family):
    net, _ = wrapped(family, 2, "sme")
    assert net.stages == tuple(default_stages(net.network))
    # FlexibleUNet's encoder gives a list of feature maps, one block each
    maps_per_stage = {"FlexibleUNet": {"encoder": 5}}.get(family, {})
    assert len(net.blocks) == sum(maps_per_stage.get(s, 1) for s in net.stages)
    assert all(isinstance(b, MetadataSEBlock) for b in net.blocks.values())
    film, _ = wrapped(family, 2, "film")
    assert all(isinstance(b, FiLMLayer) for b in film.blocks.values()) and film.generator is not None


def test_unet_stages_are_its_down_bottom_and_up_layers_without_the_logits():
    net = UNet(2, 1, 2, channels=(4, 8, 16, 32), strides=(2, 2, 2))
    stages = default_stages(net)
    assert stages[:3] == ["model.0", "model.1.submodule.0", "model.1.submodule.1.submodule.0"]
    assert stages[3] == "model.1.submodule.1.submodule.1.submodule"  # the bottom layer
    assert stages[4:] == ["model.1.submodule.1.submodule.2", "model.1.submodule.2"]
    assert "model.2" not in stages  # the outermost up layer produces the logits


@pytest.mark.parametrize(
    "metadata, message",
    [
        (torch.ones(2, 4), r"metadata must have shape \(batch=2, metadata_dim=3\), got \[2, 4\]"),
        (torch.ones(3, 3), r"metadata must have shape \(batch=2, metadata_dim=3\), got \[3, 3\]"),
        (torch.tensor([[1.0, float("nan"), 0.0], [0.0, 0.0, 1.0]]), "metadata contains NaN or infinite values"),
        (torch.ones(2, 3, dtype=torch.long), "metadata must be a floating point tensor"),
        (None, r"MetadataConditioned\(conditioning='sme'\) needs metadata of shape \(batch=2, metadata_dim=3\)"),
    ],
)
def test_bad_metadata_is_the_same_clear_error(metadata, message):
    net, size = wrapped("BasicUNet", 2, "sme")
    with pytest.raises(ValueError, match=message):
        net(torch.randn(2, 1, size, size), metadata)


def test_bad_stages_and_networks_are_refused():
    with pytest.raises(ValueError, match=r"stages \['down_9'\] are not modules of BasicUNet"):
        MetadataConditioned(BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4)), 3, "sme", stages=["down_9"])
    with pytest.raises(ValueError, match="no default stages for Sequential; pass stages="):
        MetadataConditioned(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), 3, "sme")
    with pytest.raises(ValueError, match="conditioning 'film' needs metadata_dim >= 1"):
        MetadataConditioned(BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4)), 0, "film")
    with pytest.raises(ValueError, match="conditioning must be one of"):
        MetadataConditioned(BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4)), 3, "sme2")
    flat = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten())
    with pytest.raises(ValueError, match=r"stage '1' \(Flatten\) must output a feature map \(B, C, \*spatial\)"):
        MetadataConditioned(flat, 3, "sme", stages=["1"], probe_size=8)
    with pytest.raises(ValueError, match=r"stages \['encoder.avgpool'\] did not run in a forward pass"):
        MetadataConditioned(FAMILIES["FlexibleUNet"](2), 3, "sme", stages=["encoder.avgpool"], probe_size=32)
    network = BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4))
    MetadataConditioned(network, 3, "sme", stages=["down_1"], probe_size=32)
    with pytest.raises(ValueError, match=r"stages \['down_1'\] of this BasicUNet are modulated by another"):
        MetadataConditioned(network, 3, "me", stages=["down_1"], probe_size=32)


def test_custom_stages_and_the_plain_weights_load_into_the_wrapped_network():
    plain = BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4))
    torch.manual_seed(1)
    other = BasicUNet(2, 1, 2, features=(4, 4, 8, 8, 16, 4))
    net = MetadataConditioned(other, 3, "film", stages=["down_4", "upcat_1"], probe_size=32)
    assert set(net.blocks) == {"down_4", "upcat_1"}
    net.network.load_state_dict(plain.state_dict())  # the inner network's parameter names are unchanged
    assert torch.equal(net.network.conv_0.conv_0.conv.weight, plain.conv_0.conv_0.conv.weight)
    with pytest.raises(RuntimeError, match="call the wrapper, forward"):
        net.network(torch.randn(1, 1, 32, 32))


def test_a_copy_modulates_with_its_own_blocks():
    net, size = wrapped("BasicUNet", 2, "me")
    twin = copy.deepcopy(net)
    x = torch.randn(2, 1, size, size)
    with torch.no_grad():
        assert torch.allclose(net(x, ONE_HOT), twin(x, ONE_HOT))
        for p in twin.blocks.parameters():
            p.add_(1.0)
        assert not torch.allclose(net(x, ONE_HOT), twin(x, ONE_HOT))


def test_gradients_reach_the_blocks_and_the_network():
    net, size = wrapped("SegResNet", 2, "film")
    net.train()
    net(torch.randn(2, 1, size, size), ONE_HOT).mean().backward()
    assert all(p.grad is not None for p in net.generator.parameters())
    assert all(p.grad is not None for p in net.blocks.parameters())
    assert net.network.convInit.conv.weight.grad is not None


@pytest.mark.parametrize("family", FAMILIES)
def test_export_round_trip(family, tmp_path):
    """``torch.export`` (save, load, run with other metadata) for every family; ``torch.jit.trace`` too for one."""
    net, size = wrapped(family, 2, "sme")
    x = torch.randn(2, 1, size, size)
    program = torch.export.export(net, (x, ONE_HOT))
    torch.export.save(program, tmp_path / "net.pt2")
    loaded = torch.export.load(tmp_path / "net.pt2").module()
    with torch.no_grad():
        assert torch.allclose(loaded(x, ONE_HOT.flip(0)), net(x, ONE_HOT.flip(0)), atol=1e-5)
    if family == "BasicUNet":
        with torch.no_grad():
            traced = torch.jit.trace(net, (x, ONE_HOT))
        traced.save(str(tmp_path / "net.ts"))
        with torch.no_grad():
            assert torch.allclose(torch.jit.load(str(tmp_path / "net.ts"))(x, ONE_HOT.flip(0)), net(x, ONE_HOT.flip(0)))


def test_inference_writes_in_place_only_where_nothing_else_holds_the_map():
    """In inference the blocks overwrite a stage's fresh output; a stage that returns its input (an Identity here) is
    copied first, so the network's own tensors are never changed, and the result equals the recorded one."""
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Identity(), torch.nn.Conv2d(4, 2, 1))
    net = MetadataConditioned(network, 3, "film", stages=["0", "1"], probe_size=8).eval()
    x = torch.randn(2, 1, 8, 8)
    recorded = net(x, ONE_HOT)  # gradients recorded: nothing is written in place
    with torch.no_grad():
        assert torch.allclose(net(x, ONE_HOT), recorded)
    with torch.inference_mode():
        assert torch.allclose(net(x, ONE_HOT), recorded)
    block = MetadataSEBlock(2, 4, 3, mode="me")  # a standalone block never writes into its input
    features = torch.randn(2, 4, 8, 8)
    kept = features.clone()
    with torch.no_grad():
        block(features, ONE_HOT)
    assert torch.equal(features, kept)


@pytest.mark.parametrize("conditioning", ["me", "sme"])
def test_the_authors_block_form_scale_and_shift(conditioning):
    """``block_modulation="scale_shift"`` with ``hidden_includes_metadata`` (the metadata-SE paper's code)."""
    net, size = wrapped(
        "BasicUNet", 2, conditioning, block_modulation="scale_shift", hidden_includes_metadata=True, block_reduction=2
    )
    block = net.blocks["down_1"]
    assert block.shift and block.excite[-1].out_features == 2 * block.channels
    x = torch.randn(2, 1, size, size)
    with torch.no_grad():
        assert not torch.allclose(net(x, ONE_HOT), net(x, ONE_HOT.flip(0)))
