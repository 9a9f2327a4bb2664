"""The nuclei_anomaly_segmentation bundle: train, evaluate (true and swapped metadata), the two-heads overlay,
inference, resume and the Model Zoo checks on tiny data."""

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
    read_rows,
    requires_regular_package,
    train_tiny,
)
from PIL import Image

from metaseg_monai.data import load_table_dataset
from metaseg_monai.networks import MultiHeadUNet
from metaseg_monai.sample_data.generate_microscopy import CELL_LINES, generate_nuclei_anomaly
from metaseg_monai.transforms import SelectHeadd

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "nuclei_anomaly_segmentation"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")
MASK_TYPES = ["nuclei", "anomaly"]
TWO_HEADS = ["train.json", "two_heads.json"]


def _workflow(config: str | list[str], workflow_type: str, **override):
    return bundle_workflow(BUNDLE, config, workflow_type, **override)


def _key(row: dict) -> tuple[str, str]:
    return row["image"], row["mask_type"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # 4 images per line (2 train, 1 val, 1 test), half with anomalies: 3 of the 7 test images carry an anomaly row
    return generate_nuclei_anomaly(tmp_path_factory.mktemp("data") / "nuclei_anomaly", images_per_line=4, size=64)


@pytest.fixture(scope="module")
def test_rows(dataset) -> list[tuple[str, str]]:
    rows = [(r["image"], r["mask_type"]) for r in load_table_dataset(dataset, split="test", check_files=False)]
    assert {t for _, t in rows} == set(MASK_TYPES)  # both tasks are tested
    return rows


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    """One epoch of training; returns its output_dir."""
    return train_tiny(BUNDLE, dataset, tmp_path_factory.mktemp("train_out"), TINY)


@pytest.fixture(scope="module")
def two_heads_trained(dataset, tmp_path_factory) -> Path:
    """One epoch of the two-heads baseline (``--conditioning sme`` given on purpose: the overlay ignores it)."""
    requires_regular_package()
    out = tmp_path_factory.mktemp("two_heads_out")
    wf = _workflow(
        TWO_HEADS, "train", dataset_dir=str(dataset), output_dir=str(out), epochs=1, conditioning="sme", **TINY
    )
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    net = wf.parser.get_parsed_content("network")
    assert isinstance(net, MultiHeadUNet) and net.conditioning == "none" and net.head_channels == (1, 1)
    # the multilabel subset: one sample per train image that has both masks, with a 2-channel label
    trainer = wf.parser.get_parsed_content("train#trainer")
    train_rows = load_table_dataset(dataset, split="train", check_files=False)
    with_anomaly = [r["image"] for r in train_rows if r["mask_type"] == "anomaly"]
    assert [d["image"] for d in trainer.data_loader.dataset.data] == with_anomaly
    assert trainer.data_loader.dataset[0]["label"].shape == (2, 64, 64)
    wf.finalize()
    return out


def test_train_writes_checkpoints(trained):
    assert (trained / "models" / "model.pt").is_file()
    assert (trained / "checkpoints" / "checkpoint_epoch=1.pt").is_file()
    assert any((trained / "logs").glob("events.out.tfevents.*"))
    state = torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert "head.weight" in state  # a plain state dict of the network


def test_resume_continues_from_checkpoint(dataset, trained, tmp_path):
    check_resume_continues(BUNDLE, dataset, trained, tmp_path / "resume", TINY)


def test_evaluate_writes_report_per_row(dataset, trained, test_rows, tmp_path):
    out = tmp_path / "eval_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out)
    assert list(rows[0]) == ["image", "mask_type", "cell_line", "f1", "dice", "tp", "fp", "fn"]
    assert [_key(r) for r in rows] == test_rows  # an image with an anomaly mask is scored once per mask
    assert all(0.0 <= float(r["f1"]) <= 1.0 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(test_rows)
    assert set(summary["per_group"]["mask_type"]) == set(MASK_TYPES)
    assert set(summary["per_group"]["cell_line"]) == set(CELL_LINES)


def test_evaluate_with_swapped_metadata(dataset, trained, test_rows, tmp_path):
    out = tmp_path / "swap_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out, check_properties=False, metadata_mode="swap", num_overlays=0)
    # every test row with each mask type as metadata, its own (the diagonal) and the other, its true mask as label
    swapped = [r for r in rows if r["mask_type"] != r["swapped_from"]]
    assert [(r["image"], r["swapped_from"]) for r in swapped] == test_rows
    assert len(rows) == 2 * len(test_rows) and list(rows[0])[-6:] == ["swapped_field", "f1", "dice", "tp", "fp", "fn"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(test_rows)  # the headline: the swapped pairs only
    assert summary["swap_matrix"]["mask_type"]["categories"] == list(MASK_TYPES)
    assert json.loads((CONFIGS / "train.json").read_text())["swap_fields"] == ["mask_type"]


def test_swap_is_refused_for_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), metadata_mode="swap", **TINY)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert "metadata_mode must be one of ['true', 'dummy']" in repr(err.value.__cause__)
    assert not out.exists()


def test_two_heads_evaluates_the_same_rows(dataset, two_heads_trained, test_rows, tmp_path):
    """Two heads scored row by row on the head of the row's mask type: its rows pair with the single head's."""
    assert (two_heads_trained / "checkpoints" / "checkpoint_epoch=1.pt").is_file()
    state = torch.load(two_heads_trained / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert "head.heads.1.1.weight" in state and "head.weight" not in state
    layers = [*TWO_HEADS, "evaluate.json"]
    out = tmp_path / "two_heads_eval"
    shutil.copytree(two_heads_trained, out)
    wf = _workflow(layers, "train", dataset_dir=str(dataset), output_dir=str(out), **TINY)
    wf.initialize()
    assert wf.check_properties() == []
    # evaluate.json keeps the overlay's network and per-row head selection
    post = wf.parser.get_parsed_content("validate#postprocessing")
    assert any(isinstance(t, SelectHeadd) for t in post.transforms)
    wf.run()
    rows = read_rows(out / "metrics.csv")
    assert list(rows[0]) == ["image", "mask_type", "cell_line", "f1", "dice", "tp", "fp", "fn"]
    assert [_key(r) for r in rows] == test_rows  # the single head's rows too (test_evaluate_writes_report_per_row)
    # swapped: each row scored on the other task's head
    wf = _workflow(
        layers,
        "train",
        dataset_dir=str(dataset),
        output_dir=str(out),
        eval_dir=str(out / "swap"),
        metadata_mode="swap",
        num_overlays=0,
        **TINY,
    )
    wf.initialize()
    wf.run()
    swapped = [r for r in read_rows(out / "swap" / "metrics.csv") if r["mask_type"] != r["swapped_from"]]
    assert [(r["image"], r["swapped_from"]) for r in swapped] == test_rows


def test_inference_from_table_and_from_command_line(dataset, trained, test_rows, tmp_path):
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
    # TIFF input -> TIFF masks, one per table row: an image with both masks gets both, named by mask type
    expected = sorted(f"{Path(image).stem}_{mask_type}.tif" for image, mask_type in test_rows)
    assert sorted(p.name for p in out.iterdir()) == expected
    mask = tifffile.imread(out / expected[0])
    assert mask.shape == (64, 64) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert not list((dataset / "images").glob("*_nuclei*"))  # nothing written beside the inputs

    # all PNGs of a folder with one mask type given for all of them; PNG in -> PNG out, same geometry
    png_dir = tmp_path / "png_in"
    png_dir.mkdir()
    shutil.copy(dataset / "masks" / "nuclei" / "HeLa_000.png", png_dir / "HeLa_000.png")
    out_png = tmp_path / "masks_png"
    wf = _workflow(
        "inference.json",
        "infer",
        dataset_dir=str(png_dir),
        output_dir=str(out_png),
        ckpt_path=ckpt,
        mask_type="anomaly",
        features=TINY["features"],
    )
    wf.initialize()
    wf.run()
    assert [p.name for p in out_png.iterdir()] == ["HeLa_000_anomaly.png"]
    assert np.asarray(Image.open(out_png / "HeLa_000_anomaly.png")).shape == (64, 64)


@pytest.mark.parametrize(
    ("config", "workflow_type", "override", "message"),
    [
        ("train.json", "train", {"conditioning": "cbn"}, "conditioning must be one of"),
        ("train.json", "train", {"network_def#metadata_dim": 5}, "width 5"),
        (TWO_HEADS, "train", {"lr_mode": "exp"}, "lr_mode must be one of"),
        (
            "inference.json",
            "infer",
            {"mask_type": "debris", "load_pretrain": False},
            "field 'mask_type' has unknown category 'debris'",
        ),
    ],
)
def test_wrong_override_fails_before_training(dataset, tmp_path, config, workflow_type, override, message):
    requires_regular_package()
    out = tmp_path / "bad"
    data = dataset
    if workflow_type == "infer":  # metadata on the command line: a folder of images
        data = tmp_path / "images"
        data.mkdir()
        shutil.copy(dataset / "images" / "HeLa_000.tif", data / "HeLa_000.tif")
    wf = _workflow(config, workflow_type, dataset_dir=str(data), output_dir=str(out), **TINY, **override)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert message in repr(err.value.__cause__)
    assert not out.exists()


def test_configs_agree_with_metadata():
    meta = json.loads(Path(META).read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    infer = json.loads((CONFIGS / "inference.json").read_text())
    assert train["metadata_fields"] == [{"name": "mask_type", "type": "categorical", "categories": MASK_TYPES}]
    fmt = meta["network_data_format"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == MASK_TYPES
    assert fmt["inputs"]["metadata"]["num_channels"] == len(MASK_TYPES)
    # one saver per mask type, each naming its files after the mask type
    savers = [t for t in infer["postprocessing"]["transforms"] if t["_target_"] == "SaveImaged"]
    assert [(s["keys"], s["output_postfix"]) for s in savers] == [(f"pred_{t}", t) for t in MASK_TYPES]
    # evaluate.json must not clobber what the two-heads overlay sets
    overlay = json.loads((CONFIGS / "two_heads.json").read_text())
    evaluate = json.loads((CONFIGS / "evaluate.json").read_text())
    assert set(overlay) & set(evaluate) == set()


def test_verify_net_in_out_and_export(trained, tmp_path):
    metadata = torch.tensor([[0.0, 1.0]])
    check_export_round_trip(BUNDLE, trained / "models" / "model.pt", metadata, TINY["features"], tmp_path)


def test_shipped_weights_segment_each_mask_type(dataset, test_rows, tmp_path):
    """The zoo's directory check, and the shipped models/model.pt loads into the default network and segments what
    the metadata asks for: nuclei with 'nuclei', the anomalies with 'anomaly'."""
    requires_regular_package()
    for name in ("LICENSE", "configs/metadata.json", "configs/inference.json", "models/model.pt", "docs/README.md"):
        assert (BUNDLE / name).is_file(), name
    assert (BUNDLE / "models" / "model.pt").stat().st_size < 1_000_000
    out = tmp_path / "shipped"
    wf = _workflow("inference.json", "infer", dataset_dir=str(dataset), output_dir=str(out), split="test")
    wf.initialize()  # loads models/model.pt (default ckpt_path) into the default 16-channel network
    wf.run()

    def dice(pred_name: str, truth_type: str, stem: str) -> float:
        pred = tifffile.imread(out / pred_name) > 0
        truth = np.asarray(Image.open(dataset / "masks" / truth_type / f"{stem}.png")) > 0
        return 2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum())

    scores: dict[str, list[float]] = {t: [] for t in MASK_TYPES}
    for image, mask_type in test_rows:
        scores[mask_type].append(dice(f"{Path(image).stem}_{mask_type}.tif", mask_type, Path(image).stem))
    means = {t: float(np.mean(s)) for t, s in scores.items()}
    # trained on the same generator (96 x 96 images), about 0.82 and 0.79 here
    assert means["nuclei"] > 0.7 and means["anomaly"] > 0.6, means
    # the switch: an image's anomaly mask is not its nuclei mask
    crossed = [dice(f"{Path(i).stem}_anomaly.tif", "nuclei", Path(i).stem) for i, t in test_rows if t == "anomaly"]
    assert max(crossed) < 0.3, crossed
