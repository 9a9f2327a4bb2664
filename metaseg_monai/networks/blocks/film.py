"""Feature-wise linear modulation (FiLM) from metadata, as in ivadomed's FiLMed U-Net (Lemay et al., MIDL 2021)."""

import itertools
from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.layers.utils import get_act_layer

from metaseg_monai.networks.blocks.channel_modulation import channel_affine, check_metadata

__all__ = ["FiLMBlock", "FiLMGenerator", "FiLMLayer"]


class FiLMGenerator(nn.Module):
    """The generator trunk: an MLP from metadata to a context vector that every FiLM layer reads.

    ivadomed's generator is ``Linear(M, 64) - sigmoid - Linear(64, 16) - sigmoid`` followed by a per-layer
    ``Linear(16, 2C) - sigmoid``; its first two layers' weights are shared by all FiLM layers (by re-assigning
    Parameters during the forward pass, which leaves dead copies in the optimizer). Here the trunk is one module
    whose output is computed once per forward pass and handed to each :class:`FiLMLayer`; the per-layer
    heads stay separate. Unlike ivadomed, the trunk's biases are shared too.

    Args:
        metadata_dim: width M of the metadata vector.
        hidden_features: widths of the trunk's layers; ivadomed uses ``(64, 16)``.
        act: activation after each trunk layer (MONAI ``Act`` spec); ivadomed uses sigmoid.

    Shapes: ``(B, M) -> (B, hidden_features[-1])``.
    """

    def __init__(self, metadata_dim: int, hidden_features: Sequence[int] = (64, 16), act: tuple | str = "sigmoid"):
        super().__init__()
        if metadata_dim < 1:
            raise ValueError(f"FiLMGenerator needs metadata_dim >= 1, got {metadata_dim}.")
        if len(hidden_features) < 1 or min(hidden_features) < 1:
            raise ValueError(f"hidden_features must be positive widths, got {tuple(hidden_features)}.")
        layers: list[nn.Module] = []
        widths = [metadata_dim, *hidden_features]
        for w_in, w_out in itertools.pairwise(widths):
            layers += [nn.Linear(w_in, w_out), get_act_layer(act)]
        self.metadata_dim = metadata_dim
        self.out_features = int(hidden_features[-1])
        self.trunk = nn.Sequential(*layers)

    def forward(self, metadata: torch.Tensor) -> torch.Tensor:
        return self.trunk(metadata)


class FiLMLayer(nn.Module):
    """One FiLM layer: a head ``Linear(K, 2C) - act`` on the generator's context gives ``gamma, beta`` per channel,
    and ``out = gamma * x + beta``. With ivadomed's sigmoid both ``gamma`` and ``beta`` lie in (0, 1).

    Args:
        context_features: width K of the context (the generator's output).
        channels: number of feature channels C.
        act: activation of the head (MONAI ``Act`` spec); ivadomed uses sigmoid.
    """

    def __init__(self, context_features: int, channels: int, act: tuple | str = "sigmoid"):
        super().__init__()
        self.channels = channels
        self.head = nn.Sequential(nn.Linear(context_features, 2 * channels), get_act_layer(act))
        # networks whose stage outputs are fresh tensors let inference overwrite them
        self.inplace = False

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x: features, shape (B, C, spatial_1[, spatial_2, ...]).
            context: the generator's output, shape (B, K).
        """
        params = self.head(context.to(x.dtype))
        return channel_affine(x, params[:, : self.channels], params[:, self.channels :], self.inplace)


class FiLMBlock(nn.Module):
    """A self-contained FiLM block (its own generator and one layer) with the same call signature as
    :class:`~metaseg_monai.networks.blocks.MetadataSEBlock`: ``forward(x, metadata)``.
    Inside :class:`~metaseg_monai.networks.nets.MetaUNet` the generator is shared instead.

    Args:
        channels: number of feature channels C.
        metadata_dim: width M of the metadata vector.
        hidden_features: widths of the generator trunk.
        act: activation of the generator and head.
    """

    def __init__(
        self, channels: int, metadata_dim: int, hidden_features: Sequence[int] = (64, 16), act: tuple | str = "sigmoid"
    ):
        super().__init__()
        self.metadata_dim = metadata_dim
        self.generator = FiLMGenerator(metadata_dim, hidden_features, act)
        self.layer = FiLMLayer(self.generator.out_features, channels, act)

    def forward(self, x: torch.Tensor, metadata: torch.Tensor | None = None) -> torch.Tensor:
        if metadata is None:
            raise ValueError("FiLMBlock needs a metadata tensor, got None.")
        check_metadata(metadata, x.shape[0], self.metadata_dim, check_finite=False)
        return self.layer(x, self.generator(metadata.to(x.dtype)))
