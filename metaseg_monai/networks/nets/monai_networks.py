"""MONAI's segmentation networks built at matching widths, for the quick checks and benchmarks that compare them.

A bundle names its network in the config (``network_def`` with ``_target_``); this helper serves the command-line
checks (``metaseg shape-switch --network``) and ``benchmarks/conditioning_overhead.py --network``, where one width
list has to mean something comparable for every family.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn as nn
from monai.networks.nets import BasicUNet, DynUNet, FlexibleUNet, SegResNet, SwinUNETR, UNet

__all__ = ["MONAI_FAMILIES", "min_input_size", "monai_network"]

MONAI_FAMILIES = ("basicunet", "unet", "segresnet", "dynunet", "flexibleunet", "swinunetr")


def min_input_size(family: str) -> int:
    """The smallest input side :func:`monai_network` takes for ``family`` at any width list used here: 64 for
    ``flexibleunet`` and ``swinunetr``, which downsample 32-fold and normalise their bottleneck (a single pixel there
    fails in training), 1 for the others (their depth follows ``features``)."""
    return 64 if family in ("flexibleunet", "swinunetr") else 1


def monai_network(
    family: str,
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    features: Sequence[int] = (16, 32, 64, 128, 256),
) -> nn.Module:
    """A MONAI network of ``family`` whose levels are about ``features`` wide (shallow to deep).

    - ``basicunet``: ``BasicUNet`` with ``features`` (padded or cut to its five levels) and the top-level width
      for the last upsampling.
    - ``unet``: ``UNet(channels=features, strides=2, ...)``, two residual units a level (MONAI's tutorial setting).
    - ``segresnet``: ``SegResNet(init_filters=features[0])``, which doubles the width at each of its 3 downsamplings;
      group norm with its default 8 groups (fewer when ``features[0]`` is not a multiple of 8).
    - ``dynunet``: ``DynUNet`` with 3x3 kernels, a stride 2 per level and ``filters=features``.
    - ``flexibleunet``: ``FlexibleUNet`` on a ``resnet10`` encoder (its fixed widths), no pretrained weights,
      ``decoder_channels`` the reversed ``features`` then the first width.
    - ``swinunetr``: ``SwinUNETR(feature_size=features[0] rounded to a multiple of 12)``; the input's sizes must be
      multiples of 32.
    """
    features = [int(f) for f in features]
    if family not in MONAI_FAMILIES:
        raise ValueError(f"unknown network family {family!r}; choose one of {MONAI_FAMILIES}.")
    if len(features) < 2:
        raise ValueError(f"features needs at least two levels, got {features}.")
    if family == "basicunet":
        levels = (features + [features[-1]] * 5)[:5]
        return BasicUNet(spatial_dims, in_channels, out_channels, features=(*levels, levels[0]))
    if family == "unet":
        return UNet(
            spatial_dims,
            in_channels,
            out_channels,
            channels=features,
            strides=[2] * (len(features) - 1),
            num_res_units=2,
        )
    if family == "segresnet":
        return SegResNet(
            spatial_dims,
            init_filters=features[0],
            in_channels=in_channels,
            out_channels=out_channels,
            norm=("group", {"num_groups": math.gcd(8, features[0])}),  # its default 8 groups, or fewer for thin nets
        )
    if family == "dynunet":
        n = len(features)
        return DynUNet(
            spatial_dims, in_channels, out_channels, [3] * n, [1] + [2] * (n - 1), [2] * (n - 1), filters=features
        )
    if family == "flexibleunet":
        decoder = (list(reversed(features)) + [features[0]] * 5)[:5]
        return FlexibleUNet(
            in_channels, out_channels, "resnet10", spatial_dims=spatial_dims, pretrained=False, decoder_channels=decoder
        )
    return SwinUNETR(
        in_channels=in_channels,
        out_channels=out_channels,
        spatial_dims=spatial_dims,
        feature_size=max(12, 12 * round(features[0] / 12)),
    )
