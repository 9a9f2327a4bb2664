"""The cell_lines_nuclei_segmentation bundle: train, evaluate, infer, resume and the Model Zoo checks on tiny data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from bundle_support import (
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    TINY,
    bundle_workflow,
    check_export_round_trip,
    check_resume_continues,
    evaluate_copy,
    requires_regular_package,
    train_tiny,
)
from PIL import Image

from metaseg_monai.sample_data.generate_microscopy import CELL_LINES, generate_cell_lines

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "cell_lines_nuclei_segmentation"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")


def _workflow(config: str | list[str], workflow_type: str, **override):
    return bundle_workflow(BUNDLE, config, workflow_type, **override)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # 4 images per line: 2 train, 1 val, 1 test each (2 per line would leave the test split empty)
    return generate_cell_lines(tmp_path_factory.mktemp("data") / "cell_lines", images_per_line=4, size=64)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    """One epoch of training; returns its output_dir."""
    return train_tiny(BUNDLE, dataset, tmp_path_factory.mktemp("train_out"), TINY)


def test_train_writes_checkpoints(trained):
    assert (trained / "models" / "model.pt").is_file()
    assert (trained / "checkpoints" / "checkpoint_epoch=1.pt").is_file()
    assert any((trained / "logs").glob("events.out.tfevents.*"))
    state = torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert "head.weight" in state  # a plain state dict of the network


def test_resume_continues_from_checkpoint(dataset, trained, tmp_path):
    check_resume_continues(BUNDLE, dataset, trained, tmp_path / "resume", TINY)


def test_evaluate_writes_report(dataset, trained, tmp_path):
    out = tmp_path / "eval_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out)
    assert len(rows) == len(CELL_LINES)  # one test image per line
    assert sorted(r["cell_line"] for r in rows) == sorted(CELL_LINES)
    assert all(0.0 <= float(r["f1"]) <= 1.0 and r["image"].endswith("_003.tif") for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(CELL_LINES) and set(summary["per_group"]["cell_line"]) == set(CELL_LINES)
    assert len(list((out / "overlays").glob("*.png"))) == len(CELL_LINES)


def test_evaluate_with_swapped_metadata(dataset, trained, tmp_path):
    out = tmp_path / "swap_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out, check_properties=False, metadata_mode="swap", num_overlays=0)
    # every test image once with each of the 7 lines: 6 swapped and its own (the matrix's diagonal)
    assert len(rows) == len(CELL_LINES) ** 2
    assert sum(r["cell_line"] == r["swapped_from"] for r in rows) == len(CELL_LINES)
    assert sorted({r["swapped_from"] for r in rows}) == sorted(CELL_LINES)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(CELL_LINES) * (len(CELL_LINES) - 1)  # the headline: swapped pairs only
    matrix = summary["swap_matrix"]["cell_line"]
    assert matrix["categories"] == list(CELL_LINES)  # the spec's order
    assert all(n == 1 for row in matrix["n"] for n in row)  # one test image per line


def test_swap_is_refused_for_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), metadata_mode="swap", **TINY)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert "metadata_mode must be one of ['true', 'dummy']" in repr(err.value.__cause__)
    assert not out.exists()


def test_inference_from_table_and_from_command_line(dataset, trained, tmp_path):
    out = tmp_path / "masks"
    ckpt = str(trained / "models" / "model.pt")
    wf = _workflow(
        "inference.json",
        "infer",
        dataset_dir=str(dataset),
        output_dir=str(out),
        ckpt_path=ckpt,
        split="test",
        features=TINY["features"],
    )
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    masks = sorted(out.glob("*_seg.tif"))  # TIFF input -> TIFF masks
    assert [m.name for m in masks] == sorted(f"{line}_003_seg.tif" for line in CELL_LINES)
    mask = tifffile.imread(masks[0])
    assert mask.shape == (64, 64) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert not list((dataset / "images").glob("*_seg*"))  # nothing written beside the inputs

    # all PNGs of a folder with one cell line given for all of them; PNG in -> PNG out, same geometry
    png_dir = tmp_path / "png_in"
    png_dir.mkdir()
    shutil.copy(dataset / "masks" / "HeLa_000.png", png_dir / "HeLa_000.png")
    out_png = tmp_path / "masks_png"
    wf = _workflow(
        "inference.json",
        "infer",
        dataset_dir=str(png_dir),
        output_dir=str(out_png),
        ckpt_path=ckpt,
        cell_line="HeLa",
        features=TINY["features"],
    )
    wf.initialize()
    wf.run()
    assert [p.name for p in out_png.iterdir()] == ["HeLa_000_seg.png"]
    with pytest.raises(RuntimeError) as err:
        _workflow(
            "inference.json",
            "infer",
            dataset_dir=str(png_dir),
            output_dir=str(out_png),
            cell_line="Foo",
            load_pretrain=False,
            features=TINY["features"],
        ).initialize()
    assert "field 'cell_line' has unknown category 'Foo'" in repr(err.value.__cause__)


def test_wrong_conditioning_fails_before_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    with pytest.raises(RuntimeError) as err:
        _workflow(
            "train.json", "train", dataset_dir=str(dataset), output_dir=str(out), conditioning="cbn", **TINY
        ).initialize()
    assert "conditioning must be one of" in repr(err.value.__cause__) and "'cbn'" in repr(err.value.__cause__)
    assert not out.exists()


def test_wrong_metadata_width_fails_before_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    override = {"metaunet_def#metadata_dim": 5}
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), **TINY, **override)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    cause = repr(err.value.__cause__)
    assert "width 5" in cause and "width 7" in cause
    assert not out.exists()


def test_configs_agree_with_metadata():
    meta = json.loads(Path(META).read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    categories = train["metadata_fields"][0]["categories"]
    assert tuple(categories) == CELL_LINES
    fmt = meta["network_data_format"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == categories
    assert fmt["inputs"]["metadata"]["num_channels"] == len(categories)


def test_verify_net_in_out_and_export(trained, tmp_path):
    metadata = torch.zeros(1, len(CELL_LINES))
    metadata[0, 0] = 1.0
    check_export_round_trip(BUNDLE, trained / "models" / "model.pt", metadata, TINY["features"], tmp_path)


def test_shipped_weights_fit_the_inference_config(dataset, tmp_path):
    """The zoo's directory check, and the shipped models/model.pt loads into the default network and segments."""
    requires_regular_package()
    for name in ("LICENSE", "configs/metadata.json", "configs/inference.json", "models/model.pt", "docs/README.md"):
        assert (BUNDLE / name).is_file(), name
    out = tmp_path / "shipped"
    wf = _workflow("inference.json", "infer", dataset_dir=str(dataset), output_dir=str(out), split="test")
    wf.initialize()  # loads models/model.pt (default ckpt_path) into the default 16-channel network
    wf.run()
    scores = []
    for line in CELL_LINES:
        pred = tifffile.imread(out / f"{line}_003_seg.tif") > 0
        truth = np.asarray(Image.open(dataset / "masks" / f"{line}_003.png")) > 0
        scores.append(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))
    assert np.mean(scores) > 0.8, scores  # trained on the same generator (larger images), about 0.94 here


def test_val_interval_beyond_epochs_fails_before_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), epochs=2, val_interval=5)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert "val_interval=5 exceeds epochs=2" in repr(err.value.__cause__)
    assert not out.exists()


def test_network_family_swaps_in_a_wrapped_monai_basicunet(dataset, tmp_path):
    """``network_family="basicunet"``: MONAI's BasicUNet read the cell line through MetadataConditioned; training,
    evaluation and the metadata width check work unchanged."""
    from metaseg_monai.networks import MetadataConditioned

    family = {"network_family": "basicunet", "features": [8, 8, 8, 8, 8, 8], "batch_size": 8, "num_workers": 0}
    trained = train_tiny(BUNDLE, dataset, tmp_path / "train", family)
    state = torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert "network.conv_0.conv_0.conv.weight" in state and any(k.startswith("blocks.") for k in state)
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(tmp_path / "x"), **family)
    net = wf.parser.get_parsed_content("network_def")
    assert isinstance(net, MetadataConditioned) and type(net.network).__name__ == "BasicUNet"
    assert net.conditioning == "sme" and net.metadata_dim == len(CELL_LINES)
    rows = evaluate_copy(
        BUNDLE, dataset, trained, tmp_path / "eval", network_family="basicunet", features=family["features"]
    )
    assert len(rows) == len(CELL_LINES)

    bad = _workflow(
        "train.json", "train", dataset_dir=str(dataset), output_dir=str(tmp_path / "bad"), network_family="swin"
    )
    with pytest.raises(RuntimeError) as err:
        bad.initialize()
    assert "network_family must be one of ['metaunet', 'basicunet']" in repr(err.value.__cause__)
    assert not (tmp_path / "bad").exists()
