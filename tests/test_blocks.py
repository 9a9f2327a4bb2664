import pytest
import torch

from metaseg_monai.networks.blocks import FiLMBlock, FiLMGenerator, FiLMLayer, MetadataSEBlock, channel_affine


def hidden_width(block: MetadataSEBlock) -> int:
    return block.excite[0].out_features


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("mode", ["se", "me", "sme"])
@pytest.mark.parametrize("modulation", ["scale", "scale_shift"])
def test_se_block_shapes(spatial_dims, mode, modulation):
    block = MetadataSEBlock(spatial_dims, 16, metadata_dim=3, mode=mode, modulation=modulation)
    x = torch.randn(2, 16, *([6] * spatial_dims))
    out = block(x, torch.randn(2, 3))
    assert out.shape == x.shape
    assert block.excite[-1].out_features == (32 if modulation == "scale_shift" else 16)


def test_hidden_widths_follow_text_and_code():
    # the text: C/4 for every block; the authors' code: (C + M) // 2 for SME, C // 2 for ME and SE
    assert hidden_width(MetadataSEBlock(2, 64, 7, "sme", reduction=4)) == 16
    assert hidden_width(MetadataSEBlock(2, 64, 7, "me", reduction=4)) == 16
    code = {"reduction": 2, "modulation": "scale_shift", "hidden_includes_metadata": True}
    assert hidden_width(MetadataSEBlock(2, 64, 2, "sme", **code)) == 33
    assert hidden_width(MetadataSEBlock(2, 64, 2, "me", **code)) == 32
    assert hidden_width(MetadataSEBlock(2, 64, 0, "se", **code)) == 32
    assert MetadataSEBlock(2, 64, 2, "me").excite[0].in_features == 2
    assert MetadataSEBlock(2, 64, 2, "sme").excite[0].in_features == 66


def test_scale_only_never_amplifies_and_shift_can():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 5, 5)
    m = torch.randn(4, 2)
    scaled = MetadataSEBlock(2, 8, 2, "sme", reduction=2)(x, m)
    assert torch.all(scaled.abs() <= x.abs() + 1e-6)
    shift = MetadataSEBlock(2, 8, 2, "me", reduction=2, modulation="scale_shift")
    out = shift(torch.zeros(4, 8, 5, 5), m)
    assert out.abs().max() > 0  # the additive branch acts even on zero features


def test_se_ignores_metadata_and_me_reads_only_metadata():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 6)
    se = MetadataSEBlock(2, 8, 0, "se", reduction=2)
    assert torch.equal(se(x, torch.randn(2, 5)), se(x))
    me = MetadataSEBlock(2, 8, 2, "me", reduction=2).eval()
    m = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    scales = me(torch.ones(2, 8, 3, 3), m)
    assert torch.allclose(scales[0], scales[1])  # same metadata, same modulation, whatever the image
    assert not torch.allclose(me(x, m), me(x, torch.tensor([[0.0, 1.0], [0.0, 1.0]])))


def test_se_block_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        MetadataSEBlock(2, 8, 2, "xx")
    with pytest.raises(ValueError, match="modulation must be one of"):
        MetadataSEBlock(2, 8, 2, "sme", modulation="shift")
    with pytest.raises(ValueError, match="needs metadata_dim >= 1"):
        MetadataSEBlock(2, 8, 0, "me")
    with pytest.raises(ValueError, match="hidden width is 0"):
        MetadataSEBlock(2, 3, 1, "me", reduction=4)
    block = MetadataSEBlock(2, 8, 2, "sme")
    with pytest.raises(ValueError, match="needs a metadata tensor, got None"):
        block(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(batch=1, metadata_dim=2\), got \[1, 3\]"):
        block(torch.randn(1, 8, 4, 4), torch.randn(1, 3))


def test_film_generator_and_layer_follow_ivadomed():
    generator = FiLMGenerator(metadata_dim=3)
    assert [layer.out_features for layer in generator.trunk if isinstance(layer, torch.nn.Linear)] == [64, 16]
    context = generator(torch.randn(5, 3))
    assert context.shape == (5, 16)
    layer = FiLMLayer(16, channels=4)
    # gamma and beta are sigmoids: on zero features the output is beta, in (0, 1)
    beta = layer(torch.zeros(5, 4, 3, 3), context)
    assert beta.shape == (5, 4, 3, 3)
    assert beta.min() > 0 and beta.max() < 1
    ones = layer(torch.ones(5, 4, 3, 3), context)
    assert (ones - beta).min() > 0 and (ones - beta).max() < 1  # gamma in (0, 1)


def test_film_block_standalone():
    block = FiLMBlock(channels=6, metadata_dim=2)
    x = torch.randn(3, 6, 4, 4, 4)
    a = block(x, torch.tensor([[1.0, 0.0]] * 3))
    b = block(x, torch.tensor([[0.0, 1.0]] * 3))
    assert a.shape == x.shape and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="needs a metadata tensor"):
        block(x)
    with pytest.raises(ValueError, match="FiLMGenerator needs metadata_dim >= 1"):
        FiLMGenerator(0)


def test_channel_affine_broadcasts_per_sample_and_channel():
    x = torch.ones(2, 3, 4, 5)
    scale = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = channel_affine(x, scale, -scale)
    assert torch.all(out == 0)
    assert torch.equal(channel_affine(x, scale)[1, 2], torch.full((4, 5), 6.0))
