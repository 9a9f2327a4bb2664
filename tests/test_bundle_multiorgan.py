"""The multiorgan_film_segmentation bundle: balanced training, Dice per organ, the swapped-organ matrix, the
multi-class and single-class baselines as overlays, per-organ NIfTI inference and the Model Zoo checks."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

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
    evaluate_copy,
    requires_regular_package,
    run_inference,
    train_tiny,
)

from metaseg_monai.data import ORGANS
from metaseg_monai.sample_data.generate_ct import generate_multiorgan

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "multiorgan_film_segmentation"
CONFIGS = BUNDLE / "configs"
SMALL = {**TINY, "slice_size": [48, 48]}


def _workflow(config: str | list[str], workflow_type: str, **override):
    return bundle_workflow(BUNDLE, config, workflow_type, **override)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate_multiorgan(
        tmp_path_factory.mktemp("data") / "mo", seed=0, scans_per_organ=5, size=48, num_slices=16
    )


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    return train_tiny(BUNDLE, dataset, tmp_path_factory.mktemp("train_out"), SMALL)


def test_training_samples_the_organs_evenly(dataset, trained):
    requires_regular_package()
    assert (trained / "models" / "model.pt").is_file()
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(trained), **SMALL)
    datalist = wf.parser.get_parsed_content("train#datalist")
    sampler = wf.parser.get_parsed_content("train#sampler")
    counts = Counter(d["organ"] for d in datalist)
    assert len(set(counts.values())) > 1  # the organs have different numbers of slices ...
    torch.manual_seed(0)
    drawn = Counter(datalist[i]["organ"] for _ in range(20) for i in sampler)
    share = {organ: n / sum(drawn.values()) for organ, n in drawn.items()}
    assert all(abs(s - 1 / 3) < 0.05 for s in share.values()), share  # ... but are drawn equally often


def test_evaluate_reports_dice_by_organ_and_the_swap_matrix(dataset, trained, tmp_path):
    rows = evaluate_copy(BUNDLE, dataset, trained, tmp_path / "eval", **{"slice_size": [48, 48]})
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["mean_dice"] == summary["mean_f1"]
    assert sorted(summary["dice_by_organ"]) == sorted(ORGANS)
    assert summary["dice_by_organ"]["liver"] == summary["per_group"]["organ"]["liver"]["mean_f1"]
    assert len(rows) == summary["n"] and {r["organ"] for r in rows} == set(ORGANS)
    out = tmp_path / "swap"
    swapped = evaluate_copy(
        BUNDLE, dataset, trained, out, check_properties=False, metadata_mode="swap", slice_size=[48, 48]
    )
    assert len(swapped) == 3 * len(rows)
    matrix = json.loads((out / "summary.json").read_text())["swap_matrix"]["organ"]
    assert matrix["categories"] == list(ORGANS) and all(None not in row for row in matrix["mean_f1"])
    assert (out / "swap_matrix.png").is_file() and (out / "swap_matrix.csv").is_file()


def test_multiclass_baseline_trains_on_the_same_missing_labels(dataset, tmp_path):
    """One output channel per organ plus background; scored on the scan's own organ, as the FiLMed network."""
    requires_regular_package()
    out = tmp_path / "multiclass"
    wf = _workflow(
        ["train.json", "multiclass.json"], "train", dataset_dir=str(dataset), output_dir=str(out), epochs=1, **SMALL
    )
    wf.initialize()
    sample = wf.parser.get_parsed_content("train#dataset")[0]
    index = 1 + list(ORGANS).index(sample["organ"])
    assert set(torch.unique(sample["label"]).tolist()) == {0, index}  # the organ's class, the rest background
    wf.run()
    state = torch.load(out / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert state["head.weight"].shape[0] == 4 and not any(k.startswith("generator.") for k in state)
    rows = evaluate_copy(BUNDLE, dataset, out, tmp_path / "mc_eval", ["multiclass.json"], slice_size=[48, 48])
    assert {r["organ"] for r in rows} == set(ORGANS)
    summary = json.loads((tmp_path / "mc_eval" / "summary.json").read_text())
    assert 0.0 <= summary["mean_dice"] <= 1.0


def test_single_class_baseline_sees_one_organ(dataset, tmp_path):
    requires_regular_package()
    wf = _workflow(
        ["train.json", "single_class.json"],
        "train",
        dataset_dir=str(dataset),
        output_dir=str(tmp_path / "liver"),
        organ="kidney",
        **SMALL,
    )
    for split in ("train#datalist", "validate#datalist", "test#datalist"):
        assert {d["organ"] for d in wf.parser.get_parsed_content(split)} == {"kidney"}
    assert wf.parser.get_parsed_content("network_def").conditioning == "none"


def test_inference_writes_one_mask_per_organ_with_the_input_affine(dataset, trained, tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    shutil.copy(next((dataset / "kits19").glob("case_*/imaging.nii.gz")), folder / "patient.nii.gz")
    out = tmp_path / "masks"
    ckpt = str(trained / "models" / "model.pt")
    run_inference(BUNDLE, folder, out, ckpt_path=ckpt, organ=["liver", "kidney"], features=TINY["features"])
    assert sorted(p.name for p in out.iterdir()) == ["patient_kidney.nii.gz", "patient_liver.nii.gz"]
    for path in out.iterdir():  # reoriented for the network, written back in KiTS19's (z, y, x) as given
        check_mask_volume(path, folder / "patient.nii.gz")
    cases = (({"organ": None}, "pass --organ NAME"), ({"organ": "lung"}, "'lung'"))
    check_inference_refuses(BUNDLE, folder, tmp_path, cases, load_pretrain=False, features=TINY["features"])


def test_configs_agree_with_metadata():
    meta = json.loads((CONFIGS / "metadata.json").read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    fmt = meta["network_data_format"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == train["organs"] == list(ORGANS)
    assert train["metadata_fields"][0]["categories"] == list(ORGANS)
    assert train["preset"] == "ivadomed_film" and len(train["features"]) == 6  # depth 5, as the paper's for CT


def test_verify_net_in_out_and_export(trained, tmp_path):
    check_export_round_trip(
        BUNDLE, trained / "models" / "model.pt", torch.tensor([[0.0, 0.0, 1.0]]), TINY["features"], tmp_path
    )


def test_few_label_design_runs_both_arms_and_draws_the_figure(dataset, tmp_path):
    """Fig. 2 in miniature: 2 scans of the rarer organ (1 train, 1 val), 2 of the other, tested on the other 3."""
    requires_regular_package()
    from metaseg_monai.comparison import run_few_label_design

    lines: list[str] = []
    result = run_few_label_design(
        BUNDLE, dataset, tmp_path / "fig2", sizes=[2], others=2, epochs=1, overrides=SMALL, say=lines.append
    )
    rows = result["rows"]
    assert sorted((r["organ"], r["arm"]) for r in rows) == [
        ("kidney", "film"),
        ("kidney", "single_class"),
        ("spleen", "film"),
        ("spleen", "single_class"),
    ]
    assert all(r["scans"] == 2 and 0.0 <= r["dice"] <= 1.0 for r in rows)
    assert result["figure"].read_bytes()[:4] == b"\x89PNG"
    report = result["report"].read_text()
    assert "| 2 |" in report and "## spleen" in report and "## kidney" in report
    # the single-class network saw only the rarer organ; the FiLMed one both, and was tested on held-out scans
    single = tmp_path / "fig2" / "spleen" / "n2" / "single_class" / "runs" / "single_class-organ-spleen" / "split0"
    tested = {r["organ"] for r in _rows(single / "metrics.csv")}
    assert tested == {"spleen"}
    film_rows = _rows(tmp_path / "fig2" / "spleen" / "n2" / "film" / "runs" / "film" / "split0" / "metrics.csv")
    assert {r["organ"] for r in film_rows} == {"spleen", "kidney"}
    assert len({r["case_id"] for r in film_rows if r["organ"] == "spleen"}) == 3  # 5 scans - 2 for train and val


def _rows(path: Path) -> list[dict]:
    from bundle_support import read_rows

    return read_rows(path)
