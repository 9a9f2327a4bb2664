"""Grey images from colour ones: the mean of R, G and B, alpha dropped.

The DSB 2018 stills are RGBA PNGs (R = G = B for the fluorescence ones) while Cell Tracking Challenge frames are
grey TIFFs; a network trained on one and run on the other needs one channel. MONAI has no colour-to-grey
transform (``EnsureChannelFirst`` keeps every channel), so this one is written here.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform

from metaseg_monai.utils.colour import COLOUR_CHANNELS, grey_channel

__all__ = ["COLOUR_CHANNELS", "ToGrey", "ToGreyd", "grey_channel"]


class ToGrey(Transform):
    """Channel-first ``(C, *spatial)`` with C in 1, 3, 4 -> ``(1, *spatial)`` float32 grey (see :func:`grey_channel`).

    A ``MetaTensor`` keeps its metadata.
    """

    def __call__(self, img: Any) -> Any:
        return grey_channel(img, 0, "ToGrey")


class ToGreyd(MapTransform):
    """Dictionary version of :class:`ToGrey`."""

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = grey_channel(d[key], 0, f"key {key!r}")
        return d
