"""The annotation_styles_nuclei_segmentation bundle: train on mixed styles, evaluate as accurate, infer in a style."""

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
)
from PIL import Image

from metaseg_monai.sample_data.generate_microscopy import CELL_LINES, generate_annotation_styles

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "annotation_styles_nuclei_segmentation"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")
STYLES = ("accurate", "fine", "coarse")


def _workflow(config: str | list[str], workflow_type: str, **override):
    return bundle_workflow(BUNDLE, config, workflow_type, **override)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # 4 images per line: 2 train (14 masks in thirds accurate/fine/coarse), 1 val and 1 test (accurate) each
    return generate_annotation_styles(tmp_path_factory.mktemp("data") / "styles", images_per_line=4, size=64)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    """One epoch of training on the mixed styles; returns its output_dir."""
    requires_regular_package()
    out = tmp_path_factory.mktemp("train_out")
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), epochs=1, **TINY)
    wf.initialize()
    assert wf.check_properties() == []
    # training mixes the three styles, each encoded as its own one-hot vector; validation is accurate only
    train = wf.parser.get_parsed_content("train#dataset")
    vectors = {item["annotation_style"]: item["metadata"].tolist() for item in train}
    assert vectors == {"accurate": [1.0, 0.0, 0.0], "fine": [0.0, 1.0, 0.0], "coarse": [0.0, 0.0, 1.0]}
    assert {d["annotation_style"] for d in wf.parser.get_parsed_content("validate#datalist")} == {"accurate"}
    wf.run()
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


def test_evaluate_as_accurate_writes_report(dataset, trained, tmp_path):
    out = tmp_path / "eval_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out)
    assert list(rows[0])[:3] == ["image", "annotation_style", "cell_line"]
    assert len(rows) == len(CELL_LINES)  # one test image per line, evaluated as accurate
    assert {r["annotation_style"] for r in rows} == {"accurate"}
    assert sorted(r["cell_line"] for r in rows) == sorted(CELL_LINES)
    assert all(0.0 <= float(r["f1"]) <= 1.0 and r["image"].endswith("_003.tif") for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == len(CELL_LINES)
    assert set(summary["per_group"]["annotation_style"]) == {"accurate"}
    assert set(summary["per_group"]["cell_line"]) == set(CELL_LINES)
    assert len(list((out / "overlays").glob("*.png"))) == len(CELL_LINES)


def test_evaluate_with_swapped_styles(dataset, trained, tmp_path):
    out = tmp_path / "swap_out"
    rows = evaluate_copy(BUNDLE, dataset, trained, out, check_properties=False, metadata_mode="swap", num_overlays=0)
    # every (accurate) test image drawn in each style, its own included, scored against its accurate mask
    assert len(rows) == 3 * len(CELL_LINES)
    assert sorted(r["annotation_style"] for r in rows) == sorted(["accurate", "fine", "coarse"] * len(CELL_LINES))
    assert {r["swapped_from"] for r in rows} == {"accurate"}
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["per_group"]["annotation_style"]) == {"fine", "coarse"}  # the headline: swapped pairs only
    assert summary["n"] == 2 * len(CELL_LINES)
    matrix = summary["swap_matrix"]["annotation_style"]
    assert matrix["n"][0] == [len(CELL_LINES)] * 3 and matrix["n"][1] == [None] * 3  # only accurate test images


def test_swap_is_refused_for_training(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "bad"
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), metadata_mode="swap", **TINY)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert "metadata_mode must be one of ['true', 'dummy']" in repr(err.value.__cause__)
    assert not out.exists()


def test_inference_from_table_and_with_a_style_for_all(dataset, trained, tmp_path):
    out = tmp_path / "masks"
    ckpt = str(trained / "models" / "model.pt")
    common = {"ckpt_path": ckpt, "features": TINY["features"]}
    wf = _workflow("inference.json", "infer", dataset_dir=str(dataset), output_dir=str(out), split="test", **common)
    wf.initialize()
    assert wf.check_properties() == []
    assert {d["annotation_style"] for d in wf.parser.get_parsed_content("datalist")} == {"accurate"}  # the table's
    wf.run()
    masks = sorted(out.glob("*_seg.tif"))  # TIFF input -> TIFF masks
    assert [m.name for m in masks] == sorted(f"{line}_003_seg.tif" for line in CELL_LINES)
    mask = tifffile.imread(masks[0])
    assert mask.shape == (64, 64) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert not list(dataset.rglob("*_seg*"))  # nothing written beside the inputs

    # every image of a folder drawn in the style given on the command line; PNG in -> PNG out, same geometry
    png_dir = tmp_path / "png_in"
    png_dir.mkdir()
    for name in ("HeLa_000", "MDCK_000"):
        image = tifffile.imread(dataset / "images" / f"{name}.tif")
        Image.fromarray((image // 256).astype(np.uint8)).save(png_dir / f"{name}.png")  # 16-bit TIFF -> 8-bit PNG
    out_png = tmp_path / "masks_png"
    style = {"annotation_style": "coarse"}
    wf = _workflow("inference.json", "infer", dataset_dir=str(png_dir), output_dir=str(out_png), **style, **common)
    wf.initialize()
    assert [d["annotation_style"] for d in wf.parser.get_parsed_content("datalist")] == ["coarse", "coarse"]
    wf.run()
    assert sorted(p.name for p in out_png.iterdir()) == ["HeLa_000_seg.png", "MDCK_000_seg.png"]
    assert np.asarray(Image.open(out_png / "HeLa_000_seg.png")).shape == (64, 64)


def test_inference_needs_a_known_style_or_a_table(dataset, tmp_path):
    requires_regular_package()
    png_dir = tmp_path / "png_in"
    png_dir.mkdir()
    shutil.copy(dataset / "images" / "HeLa_000.tif", png_dir / "HeLa_000.tif")
    out = tmp_path / "never"
    base = {"dataset_dir": str(png_dir), "output_dir": str(out), "load_pretrain": False, "features": TINY["features"]}
    with pytest.raises(RuntimeError) as err:
        _workflow("inference.json", "infer", annotation_style="polygon", **base).initialize()
    assert (
        "field 'annotation_style' has unknown category 'polygon'; expected one of ['accurate', 'fine', 'coarse']"
        in (repr(err.value.__cause__))
    )
    # no style given and no table: no silent default style, the user is asked for one
    with pytest.raises(RuntimeError) as err:
        _workflow("inference.json", "infer", **base).initialize()
    assert "can instead be given on the command line" in repr(err.value.__cause__)
    # a table without the style column names the missing column
    (png_dir / "metadata.csv").write_text("image,cell_line\nHeLa_000.tif,HeLa\n")
    with pytest.raises(RuntimeError) as err:
        _workflow("inference.json", "infer", **base).initialize()
    assert "lacks requested metadata column(s) ['annotation_style']" in repr(err.value.__cause__)
    assert not out.exists()


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
    override = {"network_def#metadata_dim": 7}  # e.g. cell-lines weights' width instead of the 3 styles
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), **TINY, **override)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    cause = repr(err.value.__cause__)
    assert "width 7" in cause and "width 3" in cause
    assert not out.exists()


def test_configs_agree_with_metadata():
    meta = json.loads(Path(META).read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    assert [f["name"] for f in train["metadata_fields"]] == ["annotation_style"]
    categories = train["metadata_fields"][0]["categories"]
    assert tuple(categories) == STYLES
    fmt = meta["network_data_format"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == categories
    assert fmt["inputs"]["metadata"]["num_channels"] == len(categories)
    assert json.loads((CONFIGS / "inference.json").read_text())["annotation_style"] is None  # no default style


def test_verify_net_in_out_and_export(trained, tmp_path):
    metadata = torch.tensor([[1.0, 0.0, 0.0]])  # accurate
    check_export_round_trip(BUNDLE, trained / "models" / "model.pt", metadata, TINY["features"], tmp_path)


def test_shipped_weights_segment_in_the_style_asked(dataset, tmp_path):
    """The zoo's directory check; the shipped models/model.pt segments, and draws coarse masks smaller."""
    requires_regular_package()
    for name in ("LICENSE", "configs/metadata.json", "configs/inference.json", "models/model.pt", "docs/README.md"):
        assert (BUNDLE / name).is_file(), name
    images = tmp_path / "images"
    shutil.copytree(dataset / "images", images, ignore=lambda _, names: [n for n in names if "_003" not in n])
    masks = {}
    for style in ("accurate", "coarse"):
        out = tmp_path / style
        wf = _workflow("inference.json", "infer", dataset_dir=str(images), output_dir=str(out), annotation_style=style)
        wf.initialize()  # loads models/model.pt (default ckpt_path) into the default 16-channel network
        wf.run()
        masks[style] = {line: tifffile.imread(out / f"{line}_003_seg.tif") > 0 for line in CELL_LINES}
    truth = {line: np.asarray(Image.open(dataset / "masks" / f"{line}_003.png")) > 0 for line in CELL_LINES}
    dice = {
        style: np.mean([2 * (m[k] & truth[k]).sum() / max(1, m[k].sum() + truth[k].sum()) for k in CELL_LINES])
        for style, m in masks.items()
    }
    assert dice["accurate"] > 0.8, dice  # trained on the same generator (larger images), about 0.90 here
    # the paper's Fig. S3: the coarse style draws smaller masks (coarse polygons cut the nuclei's outline), which
    # fit the accurate ground truth worse (about 0.81 here)
    area = {style: sum(m.sum() for m in masks[style].values()) for style in masks}
    assert area["coarse"] < area["accurate"] and dice["coarse"] < dice["accurate"], (area, dice)
