"""End-to-end: MONAI engines carry the metadata to the network, and metadata decides the task."""

import json

import numpy as np
import pytest

from metaseg_monai.cli import shape_switch
from metaseg_monai.comparison.variants import Variant, parse_variants
from metaseg_monai.sample_data import make_shape_switch_samples
from metaseg_monai.shape_switch_check import train_shape_switch


def test_shape_switch_data_makes_metadata_decisive():
    samples = make_shape_switch_samples(4, 48, seed=3)
    assert [s["target_shape"] for s in samples[:2]] == ["disk", "square"]
    disk, square = samples[0], samples[1]
    assert disk["image"] is square["image"]  # same image, the metadata picks the mask
    assert disk["label"].sum() > 0 and square["label"].sum() > 0
    assert not np.logical_and(disk["label"], square["label"]).any()
    # equal areas and intensities: nothing in the image says which shape is wanted
    assert 0.5 < disk["label"].sum() / square["label"].sum() < 2.0
    again = make_shape_switch_samples(4, 48, seed=3)
    assert all(np.array_equal(a["image"], b["image"]) for a, b in zip(samples, again, strict=True))


def test_sme_learns_the_switch_and_none_cannot():
    sme = train_shape_switch("sme", epochs=40)
    none = train_shape_switch("none", epochs=40)
    assert sme["f1"] > 0.9, sme["f1"]
    assert none["f1"] < 0.75, none["f1"]
    assert min(sme["f1_per_target"].values()) > 0.85


def test_training_is_deterministic_with_a_seed():
    a = train_shape_switch("film", epochs=1, num_train_images=8, num_val_images=4, seed=5)
    b = train_shape_switch("film", epochs=1, num_train_images=8, num_val_images=4, seed=5)
    assert a["f1_per_image"] == b["f1_per_image"] and a["final_loss"] == b["final_loss"]


def test_parse_variants():
    assert parse_variants("none,sme:dummy") == [Variant("none", "none"), Variant("sme:dummy", "sme", "dummy")]
    assert [v.reads_metadata for v in parse_variants(("me", "film", "se", "me:dummy"))] == [True, True, False, False]
    with pytest.raises(ValueError, match="variant 'sme:swap'"):
        parse_variants("sme:swap")
    with pytest.raises(ValueError, match="repeated"):
        parse_variants("sme,sme")


def test_shape_switch_writes_results_and_never_overwrites(tmp_path, capsys):
    shape_switch("none,me:dummy", epochs=1, output_dir=str(tmp_path))
    results = json.loads((tmp_path / "results.json").read_text())
    assert [r["variant"] for r in results] == ["none", "me:dummy"]
    assert "F1 disk" in capsys.readouterr().out
    with pytest.raises(FileExistsError, match=r"results\.json exists"):
        shape_switch("none", epochs=1, output_dir=str(tmp_path))
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.slow
def test_every_conditioning_reads_the_switch_and_metadata_free_arms_cannot():
    for conditioning, mode in [("me", "true"), ("film", "true"), ("se", "true"), ("sme", "dummy")]:
        result = train_shape_switch(conditioning, mode, epochs=40)
        if mode == "true" and conditioning != "se":
            assert result["f1"] > 0.9, (conditioning, result["f1"])
        else:
            assert result["f1"] < 0.75, (conditioning, mode, result["f1"])


@pytest.mark.slow
def test_a_wrapped_monai_network_learns_the_switch_and_its_plain_twin_cannot():
    """``metaseg shape-switch --network basicunet``: MONAI's BasicUNet through MetadataConditioned reads the switch
    as MetaUNet does."""
    sme = train_shape_switch("sme", epochs=40, network="basicunet")
    film = train_shape_switch("film", epochs=40, network="basicunet")
    none = train_shape_switch("none", epochs=40, network="basicunet")
    assert sme["network"] == "basicunet"
    assert sme["f1"] > 0.9 and film["f1"] > 0.9, (sme["f1"], film["f1"])
    assert none["f1"] < 0.75, none["f1"]
    with pytest.raises(ValueError, match="network must be 'metaunet' or one of"):
        train_shape_switch("sme", epochs=1, network="resnet")
