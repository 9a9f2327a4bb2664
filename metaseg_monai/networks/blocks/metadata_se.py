"""Squeeze-and-excitation blocks that take image metadata: SE, ME and SME (Plutenko et al., MICCAI DART 2023)."""

import torch
import torch.nn as nn
from monai.networks.layers.factories import Act
from monai.networks.layers.utils import get_act_layer

from metaseg_monai.networks.blocks.channel_modulation import channel_affine, check_metadata

__all__ = ["MODULATIONS", "SE_MODES", "MetadataSEBlock"]

SE_MODES = ("se", "me", "sme")
MODULATIONS = ("scale", "scale_shift")


class MetadataSEBlock(nn.Module):
    """Channel modulation from pooled features, metadata, or both.

    ``mode`` chooses what the excitation MLP sees:

    - ``"se"``: the globally average-pooled features (plain squeeze-and-excitation; metadata is ignored).
    - ``"me"``: the metadata vector alone (metadata-excitation, no squeeze).
    - ``"sme"``: pooled features concatenated with metadata (squeeze-metadata-and-excitation).

    ``modulation`` chooses how the MLP output acts on the features:

    - ``"scale"``: the paper's text; the MLP outputs C values ``a`` and ``out = x * sigmoid(a)``.
    - ``"scale_shift"``: the authors' public code; the MLP outputs 2C values ``a, b`` and
      ``out = x * sigmoid(a) + b`` (``b`` unbounded).

    The hidden width is ``channels // reduction`` (the text: reduction 4). With ``hidden_includes_metadata=True``
    the SME block's hidden width is ``(channels + metadata_dim) // reduction``, i.e. its input width over the
    reduction, as in the authors' code (reduction 2); the code's ME block reduces from ``channels`` as well.

    MONAI's ``ChannelSELayer`` has no metadata input and no shift branch, hence this block; it reuses MONAI's
    activation factory.

    Args:
        spatial_dims: number of spatial dimensions (1, 2 or 3).
        channels: number of feature channels C.
        metadata_dim: width M of the metadata vector; may be 0 for ``mode="se"``.
        mode: ``"se"``, ``"me"`` or ``"sme"``.
        reduction: hidden-width reduction ratio.
        modulation: ``"scale"`` or ``"scale_shift"``.
        hidden_includes_metadata: count the metadata width in the SME hidden width (authors' code).
        act: activation of the hidden layer, any MONAI ``Act`` spec.
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        metadata_dim: int = 0,
        mode: str = "sme",
        reduction: int = 4,
        modulation: str = "scale",
        hidden_includes_metadata: bool = False,
        act: tuple | str = ("relu", {"inplace": True}),
    ) -> None:
        super().__init__()
        if mode not in SE_MODES:
            raise ValueError(f"mode must be one of {SE_MODES}, got {mode!r}.")
        if modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}.")
        if mode != "se" and metadata_dim < 1:
            raise ValueError(f"mode {mode!r} needs metadata_dim >= 1, got {metadata_dim}.")
        if reduction < 1:
            raise ValueError(f"reduction must be >= 1, got {reduction}.")
        in_features = {"se": channels, "me": metadata_dim, "sme": channels + metadata_dim}[mode]
        hidden = (channels + (metadata_dim if mode == "sme" and hidden_includes_metadata else 0)) // reduction
        if hidden < 1:
            raise ValueError(f"hidden width is {hidden} for channels={channels} and reduction={reduction}; lower it.")

        self.mode = mode
        self.channels = channels
        self.metadata_dim = metadata_dim if mode != "se" else 0
        self.shift = modulation == "scale_shift"
        self.squeeze = mode != "me"
        # a mean over the spatial axes, not AdaptiveAvgPool: its backward is a broadcast view, where the pool's
        # writes a full feature map of gradient
        self.spatial_axes = list(range(2, 2 + spatial_dims))
        self.excite = nn.Sequential(
            nn.Linear(in_features, hidden),
            get_act_layer(act),
            nn.Linear(hidden, channels * (2 if self.shift else 1)),
        )
        self.gate = Act["sigmoid"]()
        # networks that check the metadata once per forward pass switch the per-call check off, and networks whose
        # stage outputs are fresh tensors let inference overwrite them
        self.validate = True
        self.inplace = False

    def forward(self, x: torch.Tensor, metadata: torch.Tensor | None = None) -> torch.Tensor:
        """
        Args:
            x: features, shape (B, C, spatial_1[, spatial_2, ...]).
            metadata: shape (B, M); required for ``"me"`` and ``"sme"``, ignored for ``"se"``.

        Returns:
            modulated features, shaped like ``x``.
        """
        b = x.shape[0]
        parts: list[torch.Tensor] = [x.mean(self.spatial_axes)] if self.squeeze else []
        if self.metadata_dim > 0:
            if metadata is None:
                raise ValueError(f"MetadataSEBlock(mode='{self.mode}') needs a metadata tensor, got None.")
            if self.validate:
                check_metadata(metadata, b, self.metadata_dim, check_finite=False)
            parts.append(metadata.to(x.dtype))
        # "se" squeezes, "me" reads the metadata (its width is at least 1), "sme" both
        out = self.excite(parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))
        if self.shift:
            return channel_affine(x, self.gate(out[:, : self.channels]), out[:, self.channels :], self.inplace)
        return channel_affine(x, self.gate(out), None, self.inplace)
