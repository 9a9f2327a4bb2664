"""One U-Net body with a separate output head per task: the metadata-SE paper's "two heads" baseline."""

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from monai.networks.layers.factories import Conv

from metaseg_monai.networks.nets.meta_unet import MetaUNet

__all__ = ["MultiHeadUNet"]


class _Heads(nn.Module):
    def __init__(self, heads: Sequence[nn.Module]):
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        for head in self.heads:
            outputs.append(head(x))
        return torch.cat(outputs, dim=1)


class MultiHeadUNet(MetaUNet):
    """A :class:`MetaUNet` whose encoder and decoder are shared by several tasks, each with its own head
    (a 3x3 convolution unit and a 1x1 output convolution) on the last decoder features.

    The heads' logits are concatenated along the channel axis, so the network plugs into MONAI's engines, losses and
    inferers like any single-output network; :meth:`split_heads` cuts the output back into one tensor per task.
    The paper's two-heads baseline is ``MultiHeadUNet(2, 1, head_channels=(1, 1))`` (nuclei, anomaly), without
    metadata; any conditioning of :class:`MetaUNet` can be combined with it.

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels.
        head_channels: output channels of each head, e.g. ``(1, 1)``.
        metadata_dim, conditioning, kwargs: as for :class:`MetaUNet` (``conditioning`` defaults to ``"none"``).

    Output: (B, sum(head_channels), *spatial). TorchScript: exports with ``torch.jit.script``.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        head_channels: Sequence[int],
        metadata_dim: int = 0,
        conditioning: str = "none",
        **kwargs: Any,
    ) -> None:
        if len(head_channels) < 1 or min(head_channels) < 1:
            raise ValueError(f"head_channels must list one positive width per task, got {tuple(head_channels)}.")
        super().__init__(spatial_dims, in_channels, sum(head_channels), metadata_dim, conditioning, **kwargs)
        self.head_channels = tuple(int(c) for c in head_channels)
        width = self.features[0]
        self.head = _Heads(
            [
                nn.Sequential(self.conv_unit(width, width, 1), Conv[Conv.CONV, spatial_dims](width, c, kernel_size=1))
                for c in self.head_channels
            ]
        )

    @torch.jit.unused
    def split_heads(self, output: torch.Tensor) -> list[torch.Tensor]:
        """Split a (B, sum(head_channels), ...) output into one tensor per head."""
        return list(torch.split(output, self.head_channels, dim=1))
