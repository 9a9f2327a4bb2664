"""The one place that turns a ``conditioning`` name into the block that modulates a stage's feature maps."""

from __future__ import annotations

import torch.nn as nn

from metaseg_monai.networks.blocks.film import FiLMLayer
from metaseg_monai.networks.blocks.metadata_se import MetadataSEBlock

__all__ = ["CONDITIONINGS", "check_conditioning", "conditioning_block"]

#: the conditionings a network here can be built with ("none": the metadata-free twin)
CONDITIONINGS = ("none", "se", "me", "sme", "film")


def check_conditioning(conditioning: str, metadata_dim: int) -> None:
    """Refuse an unknown ``conditioning``, or one that reads metadata with ``metadata_dim < 1``."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}.")
    if conditioning in ("me", "sme", "film") and metadata_dim < 1:
        raise ValueError(f"conditioning {conditioning!r} needs metadata_dim >= 1, got {metadata_dim}.")


def conditioning_block(
    conditioning: str,
    spatial_dims: int,
    channels: int,
    metadata_dim: int,
    context_features: int = 0,
    block_reduction: int = 4,
    block_modulation: str = "scale",
    hidden_includes_metadata: bool = False,
) -> nn.Module:
    """The block for one stage of ``channels`` feature maps, ``forward(x, context)``.

    ``"film"``: a :class:`FiLMLayer` reading a shared generator's output of width ``context_features``;
    ``"se"``/``"me"``/``"sme"``: a :class:`MetadataSEBlock` reading the metadata (width ``metadata_dim``) itself,
    with its per-call metadata check off, because the networks that build blocks here check the metadata once per
    forward pass. Either block may overwrite its input in inference (``inplace``): the networks hand it a stage's
    fresh output, which nothing else holds.
    """
    if conditioning == "film":
        layer = FiLMLayer(context_features, channels)
        layer.inplace = True
        return layer
    block = MetadataSEBlock(
        spatial_dims,
        channels,
        metadata_dim,
        mode=conditioning,
        reduction=block_reduction,
        modulation=block_modulation,
        hidden_includes_metadata=hidden_includes_metadata,
    )
    block.validate, block.inplace = False, True
    return block
