"""Otsu threshold, binary opening and connected components: probabilities to instance labels."""

import numpy as np
import pytest
import torch
from monai.transforms import Compose

from metaseg_monai.transforms import (
    BinaryOpening,
    ConnectedComponents,
    ConnectedComponentsd,
    OtsuThreshold,
    OtsuThresholdd,
)


def _two_blobs_and_speck():
    prob = np.full((1, 24, 24), 0.1, np.float32)
    prob[0, 2:8, 2:8] = 0.8
    prob[0, 12:20, 12:20] = 0.7
    prob[0, 22, 2] = 0.9  # one-pixel speck: opened away
    return prob


def test_pipeline_gives_consecutive_instance_labels():
    pipeline = Compose([OtsuThreshold(), BinaryOpening(radius=1), ConnectedComponents()])
    labels = pipeline(torch.from_numpy(_two_blobs_and_speck()))
    assert isinstance(labels, torch.Tensor) and labels.dtype == torch.int32 and labels.shape == (1, 24, 24)
    assert sorted(torch.unique(labels).tolist()) == [0, 1, 2]
    # the disk of radius 1 is a cross: opening trims the squares' four corners
    assert int((labels == 1).sum()) == 36 - 4 and int((labels == 2).sum()) == 64 - 4


def test_otsu_on_a_flat_image_uses_the_fallback():
    assert OtsuThreshold()(np.full((1, 4, 4), 0.9, np.float32)).all()
    assert not OtsuThreshold()(np.zeros((1, 4, 4), np.float32)).any()
    with pytest.raises(ValueError, match="NaN"):
        OtsuThreshold()(np.full((1, 4, 4), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"channel-first .* found shape \(4, 4\)"):
        OtsuThreshold()(np.zeros((4, 4), np.float32))


def test_connected_components_min_size_and_dictionary_versions():
    mask = (_two_blobs_and_speck() > 0.5).astype(np.float32)
    assert ConnectedComponents()(mask).max() == 3
    kept = ConnectedComponents(min_size=2)(mask)
    assert kept.max() == 2 and kept[0, 22, 2] == 0
    out = Compose([OtsuThresholdd("pred"), ConnectedComponentsd("pred", min_size=2)])({"pred": _two_blobs_and_speck()})
    assert out["pred"].max() == 2
    many = np.zeros((1, 64, 64), bool)
    many[0, ::3, ::3] = True  # 484 separate pixels: labels beyond 255, whatever the input's dtype
    assert ConnectedComponents()(many).dtype == np.int32 and ConnectedComponents()(many).max() == 484
    full = np.ones((1, 8, 8), np.float32)
    assert BinaryOpening(1)(full).all()  # objects touching the border keep their corners
    volume = np.zeros((1, 6, 6, 6), np.float32)
    volume[0, 1:4, 1:4, 1:4] = 1
    assert BinaryOpening(1)(volume).sum() > 0 and ConnectedComponents()(volume).max() == 1


def test_touching_nuclei_are_split_only_when_asked():
    from metaseg_monai.transforms import ConnectedComponents, ConnectedComponentsd

    yy, xx = np.mgrid[:40, :40]
    pair = ((yy - 20) ** 2 + (xx - 12) ** 2 <= 49) | ((yy - 20) ** 2 + (xx - 25) ** 2 <= 49)
    single = (yy - 20) ** 2 + (xx - 20) ** 2 <= 49
    assert ConnectedComponents()(pair[None].astype(np.float32)).max() == 1
    split = ConnectedComponents(split_min_distance=4)(pair[None].astype(np.float32))
    assert split.max() == 2 and (split[0] > 0).sum() == pair.sum()  # every foreground pixel kept
    left, right = split[0, 20, 12], split[0, 20, 25]
    assert left != right and left > 0 and right > 0
    assert ConnectedComponentsd("m", split_min_distance=4)({"m": single[None].astype(np.float32)})["m"].max() == 1
    with pytest.raises(ValueError, match="split_min_distance must be None, 'auto' or a whole number >= 1"):
        ConnectedComponents(split_min_distance=0)


@pytest.mark.parametrize("scale", [1, 3])
def test_automatic_split_distance_follows_the_objects_scale(scale):
    """Two touching round nuclei and one elongated nucleus, drawn at two magnifications: ``"auto"`` splits the pair
    and keeps the elongated one whole at both, where a fixed distance (4) suits one scale only."""
    from metaseg_monai.transforms import ConnectedComponents

    yy, xx = np.mgrid[: 60 * scale, : 60 * scale] / scale
    pair = ((yy - 20) ** 2 + (xx - 12) ** 2 <= 49) | ((yy - 20) ** 2 + (xx - 25) ** 2 <= 49)
    elongated = ((yy - 45) / 4) ** 2 + ((xx - 30) / 14) ** 2 <= 1
    mask = (pair | elongated)[None].astype(np.float32)
    auto = ConnectedComponents(split_min_distance="auto")
    labels = auto(mask)[0]
    assert labels.max() == 3
    assert len({labels[20 * scale, 12 * scale], labels[20 * scale, 25 * scale], labels[45 * scale, 30 * scale]}) == 3
    # the distance is the median equivalent radius of the unsplit components, so it grows with the magnification
    unsplit = ConnectedComponents()(mask)[0]
    assert auto.split_distance(unsplit) == round(np.median(np.sqrt(np.bincount(unsplit.ravel())[1:] / np.pi)))
    assert ConnectedComponents(split_min_distance=4)(mask).max() > 3  # the fixed distance cuts the elongated one
    assert auto.split_distance(np.zeros((8, 8), np.int32)) == 1
