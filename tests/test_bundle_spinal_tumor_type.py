"""The spinal_tumor_type_film_segmentation bundle: train, early stopping, resume, evaluate with the swapped-metadata
matrix, inference to NIfTI and the Model Zoo checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from bundle_support import (
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    TINY,
    bundle_workflow,
    check_export_round_trip,
    check_inference_refuses,
    check_mask_volume,
    check_resume_continues,
    evaluate_copy,
    read_rows,
    requires_regular_package,
    run_inference,
    train_tiny,
)
from monai.bundle import ConfigParser

from metaseg_monai.data import load_bids_multicontrast
from metaseg_monai.sample_data.generate_tumor_type import TUMOR_TYPES, generate_tumor_type

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "spinal_tumor_type_film_segmentation"
CONFIGS = BUNDLE / "configs"


def _workflow(config: str | list[str], workflow_type: str, **override):
    return bundle_workflow(BUNDLE, config, workflow_type, **override)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # 15 subjects, 5 per type: 60/20/20 within each type gives 3 / 1 / 1, so every split holds every type
    return generate_tumor_type(tmp_path_factory.mktemp("data") / "bids", seed=0, subjects_per_type=5)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    return train_tiny(BUNDLE, dataset, tmp_path_factory.mktemp("train_out"), TINY)


def test_train_writes_checkpoints_with_the_early_stopping_state(trained):
    assert (trained / "models" / "model.pt").is_file()
    checkpoint = torch.load(trained / "checkpoints" / "checkpoint_epoch=1.pt", map_location="cpu", weights_only=True)
    assert {"counter", "best_score"} <= set(checkpoint["early_stopping"])
    state = torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert state["encoder.0.conv.0.conv.weight"].shape[1] == 2  # Gd-enhanced T1w and T2w
    assert any(k.startswith("generator.") for k in state)  # the shared FiLM generator
    spec = json.loads((trained / "models" / "metadata_spec.json").read_text())
    assert spec["fields"][0]["categories"] == list(TUMOR_TYPES)


def test_every_split_holds_every_type_and_no_subject_twice(dataset):
    requires_regular_package()
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json")])
    parser.update({"bundle_root": str(BUNDLE), "dataset_dir": str(dataset)})
    seen = {}
    for split in ("train", "validate", "test"):
        slices = parser.get_parsed_content(f"{split}#datalist")
        seen[split] = {s["case_id"] for s in slices}
        assert {s["tumor_type"] for s in slices} == set(TUMOR_TYPES)
        assert all(s["image"].shape == (2, 64, 48) for s in slices)
    assert not (seen["train"] & seen["validate"] or seen["train"] & seen["test"] or seen["validate"] & seen["test"])
    types = {d["case_id"]: d["tumor_type"] for d in load_bids_multicontrast(dataset)}
    assert [sum(types[c] == t for c in seen["train"]) for t in TUMOR_TYPES] == [3, 3, 3]


def test_early_stopping_stops_on_the_validation_loss(dataset, tmp_path):
    """A min_delta no loss can beat: the first validation sets the best score, the next one stops training."""
    out = tmp_path / "stopped"
    wf = _workflow(
        "train.json",
        "train",
        dataset_dir=str(dataset),
        output_dir=str(out),
        epochs=5,
        early_stop_patience=1,
        early_stop_min_delta=10.0,
        **TINY,
    )
    wf.initialize()
    wf.run()
    trainer = wf.parser.get_parsed_content("train#trainer")
    evaluator = wf.parser.get_parsed_content("validate#evaluator")
    assert trainer.state.epoch == 2 and "val_loss" in evaluator.state.metrics
    assert 0.0 <= evaluator.state.metrics["val_loss"] <= 1.0  # the Dice loss of the training, on validation
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_epoch=1.pt", "checkpoint_epoch=2.pt"]


def test_resume_continues_from_checkpoint(dataset, trained, tmp_path):
    check_resume_continues(BUNDLE, dataset, trained, tmp_path / "resume", TINY)


def test_evaluate_reports_dice_per_tumour_type(dataset, trained, tmp_path):
    rows = evaluate_copy(BUNDLE, dataset, trained, tmp_path / "eval")
    assert list(rows[0])[:5] == ["image", "case_id", "tumor_type", "f1", "dice"]
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert sorted(summary["per_group"]["tumor_type"]) == sorted(TUMOR_TYPES)
    assert "swap_matrix" not in summary


def test_swapped_evaluation_gives_the_whole_matrix(dataset, trained, tmp_path):
    out = tmp_path / "swap"
    rows = evaluate_copy(BUNDLE, dataset, trained, out, check_properties=False, metadata_mode="swap")
    true_rows = evaluate_copy(BUNDLE, dataset, trained, tmp_path / "true")
    assert len(rows) == 3 * len(true_rows)  # every slice with each of the three types
    assert {r["swapped_field"] for r in rows} == {"tumor_type"}
    summary = json.loads((out / "summary.json").read_text())
    swapped = [r for r in rows if r["tumor_type"] != r["swapped_from"]]
    assert summary["n"] == len(swapped) == 2 * len(true_rows)  # the headline: the swapped pairs only
    matrix = summary["swap_matrix"]["tumor_type"]
    assert matrix["categories"] == list(TUMOR_TYPES)
    for i, true in enumerate(TUMOR_TYPES):
        for j, given in enumerate(TUMOR_TYPES):
            cell = [float(r["f1"]) for r in rows if r["swapped_from"] == true and r["tumor_type"] == given]
            assert matrix["n"][i][j] == len(cell) and matrix["mean_f1"][i][j] == pytest.approx(np.mean(cell))
    # the diagonal is the evaluation with the true metadata
    truth = {r["image"]: float(r["f1"]) for r in true_rows}
    diagonal = {r["image"]: float(r["f1"]) for r in rows if r["tumor_type"] == r["swapped_from"]}
    assert diagonal == pytest.approx(truth)
    table = read_rows(out / "swap_matrix.csv")
    assert len(table) == 9 and list(table[0]) == ["field", "true", "given", "n", "mean_f1", "pooled_f1"]
    assert (out / "swap_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inference_writes_a_mask_per_subject(dataset, trained, tmp_path):
    common = {"ckpt_path": str(trained / "models" / "model.pt"), "features": TINY["features"]}
    inputs = sorted(dataset.rglob("*"))
    out = tmp_path / "labels"
    run_inference(BUNDLE, dataset, out, split="test", **common)
    written = sorted(out.rglob("*.nii.gz"))
    assert len(written) == len({p.parts[-3] for p in written}) == 3  # one per test subject, in the BIDS folders
    for path in written:
        subject = path.parts[-3]
        assert path.name == f"{subject}_ce-gad_T1w_seg.nii.gz"
        check_mask_volume(path, dataset / subject / "anat" / f"{subject}_T2w.nii.gz")
    assert sorted(dataset.rglob("*")) == inputs

    # the type given on the command line for every subject; participants.tsv is not needed then
    run_inference(BUNDLE, dataset, tmp_path / "labels_given", tumor_type="ependymoma", **common)
    assert len(list((tmp_path / "labels_given").rglob("*.nii.gz"))) == 15
    cases = (
        ({"tumor_type": "glioma"}, "'glioma'"),
        ({"tumor_type": "ependymoma", "split": "test"}, "cannot be used with metadata"),
    )
    check_inference_refuses(BUNDLE, dataset, tmp_path, cases, load_pretrain=False, features=TINY["features"])


def test_configs_agree_with_metadata():
    meta = json.loads((CONFIGS / "metadata.json").read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    fmt = meta["network_data_format"]
    assert fmt["inputs"]["image"]["num_channels"] == train["network_def"]["in_channels"] == 2
    assert list(fmt["inputs"]["image"]["channel_def"].values()) == train["contrasts"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == train["metadata_fields"][0]["categories"]
    assert train["preset"] == "ivadomed_film" and len(train["features"]) == 5  # depth 4, as the paper's


def test_verify_net_in_out_and_export(trained, tmp_path):
    metadata = torch.tensor([[0.0, 1.0, 0.0]])
    check_export_round_trip(BUNDLE, trained / "models" / "model.pt", metadata, TINY["features"], tmp_path, 2)
