"""The video_nuclei_consistency_segmentation bundle: stage 0 and stage 1 training, resume, the video evaluation
report, video inference to per-frame masks and the area curve, and its errors."""

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
    bundle_workflow,
    check_export_round_trip,
    check_resume_continues,
    read_rows,
    requires_regular_package,
    run_inference,
    train_tiny,
)

from metaseg_monai.sample_data.generate_cells import generate_video_nuclei

pytestmark = IGNORE_DEPRECATED_PACKAGES

BUNDLE = BUNDLES / "video_nuclei_consistency_segmentation"
TINY = {"features": [8, 8, 8], "batch_size": 4, "pair_batch_size": 2, "num_workers": 0, "progress_bar": False}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate_video_nuclei(tmp_path_factory.mktemp("data") / "video", seed=0, num_stills=10, num_frames=8)


@pytest.fixture(scope="module")
def stage0(dataset, tmp_path_factory) -> Path:
    return train_tiny(BUNDLE, dataset, tmp_path_factory.mktemp("stage0"), TINY)


@pytest.fixture(scope="module")
def stage1(dataset, stage0, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stage1")
    tiny = {**TINY, "stage": 1, "stage0_model": str(stage0 / "models" / "model.pt")}
    return train_tiny(BUNDLE, dataset, out, tiny)


def test_stage0_is_supervised_only_and_stage1_starts_from_it(dataset, stage0, tmp_path):
    requires_regular_package()
    wf = bundle_workflow(
        BUNDLE, "train.json", "train", dataset_dir=str(dataset), output_dir=str(tmp_path / "s0"), **TINY
    )
    wf.initialize()
    trainer = wf.parser.get_parsed_content("train#trainer")
    assert trainer.scheduled_batches.schedule == "supervised"
    assert {kind for kind, _ in trainer.scheduled_batches} == {"supervised"}
    stage0_model = stage0 / "models" / "model.pt"
    wf = bundle_workflow(
        BUNDLE,
        "train.json",
        "train",
        dataset_dir=str(dataset),
        output_dir=str(tmp_path / "s1"),
        stage=1,
        stage0_model=str(stage0_model),
        **TINY,
    )
    wf.initialize()
    trainer = wf.parser.get_parsed_content("train#trainer")
    assert {kind for kind, _ in trainer.scheduled_batches} == {"supervised", "consistency"}
    weights = torch.load(stage0_model, map_location="cpu", weights_only=True)  # one object: a bare state dict
    for name, value in wf.parser.get_parsed_content("network").state_dict().items():
        torch.testing.assert_close(value, weights[name])


def test_stage1_trains_and_resumes(dataset, stage0, stage1, tmp_path):
    assert (stage1 / "models" / "model.pt").is_file()
    tiny = {**TINY, "stage": 1, "stage0_model": str(stage0 / "models" / "model.pt")}
    check_resume_continues(BUNDLE, dataset, stage1, tmp_path / "resumed", tiny)


def test_stage1_without_stage0_fails_before_writing(dataset, tmp_path):
    requires_regular_package()
    out = tmp_path / "never"
    wf = bundle_workflow(
        BUNDLE,
        "train.json",
        "train",
        dataset_dir=str(dataset),
        output_dir=str(out),
        stage=1,
        stage0_model=str(tmp_path / "missing.pt"),
        **TINY,
    )
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    assert "no trained model at" in repr(err.value.__cause__) and "--stage0_model" in repr(err.value.__cause__)
    assert not out.exists()
    bad = bundle_workflow(BUNDLE, "train.json", "train", dataset_dir=str(dataset), output_dir=str(out), stage=2, **TINY)
    with pytest.raises(RuntimeError) as err:
        bad.initialize()
    assert "stage must be one of [0, 1]" in repr(err.value.__cause__)


def test_evaluation_reports_stills_and_videos_apart(dataset, stage1, tmp_path):
    out = tmp_path / "eval"
    shutil.copytree(stage1, out)
    wf = bundle_workflow(
        BUNDLE,
        ["train.json", "evaluate.json"],
        "train",
        dataset_dir=str(dataset),
        output_dir=str(out),
        stage=1,
        **TINY,
    )
    wf.initialize()
    wf.run()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["groups"]) == {"dsb2018", "ctc"}
    assert summary["groups"]["dsb2018"]["flicker"] is None  # stills have no successor
    assert set(summary["videos"]) >= {"ctc/01", "ctc/02"}
    for key in ("ap_50", "dsb_score", "seg", "flicker", "area_change"):
        assert key in summary["overall"] and key in summary["videos"]["ctc/01"]
    rows = read_rows(out / "metrics.csv")
    assert len([r for r in rows if r["group"] == "ctc"]) == 16  # every frame of both 8-frame videos
    assert (out / "overlays" / "ctc_01.png").is_file()


def test_video_inference_writes_masks_csv_and_the_area_curves(dataset, stage0, stage1, tmp_path):
    frames = sorted((dataset / "ctc" / "02").glob("t*.tif"))
    video = tmp_path / "movie.tif"
    tifffile.imwrite(video, np.stack([tifffile.imread(f) for f in frames]))  # a multi-page TIFF
    first = tmp_path / "infer0"
    # a video needs no dataset: dataset_dir is left at its default, a folder that does not exist
    wf = bundle_workflow(
        BUNDLE,
        "inference.json",
        "infer",
        output_dir=str(first),
        video=str(video),
        ckpt_path=str(stage0 / "models" / "model.pt"),
        **_infer(),
    )
    wf.initialize()
    assert not Path(wf.parser.get_parsed_content("dataset_dir")).exists()
    wf.run()
    rows = read_rows(first / "metrics.csv")
    assert [int(r["frame"]) for r in rows] == list(range(len(frames)))
    masks = sorted((first / "masks" / "movie").glob("mask*.tif"))
    assert len(masks) == len(frames) and tifffile.imread(masks[0]).dtype == np.uint16
    assert tifffile.imread(masks[0]).shape == tifffile.imread(frames[0]).shape
    second = tmp_path / "infer1"
    run_inference(
        BUNDLE,
        dataset,
        second,
        video=str(video),
        ckpt_path=str(stage1 / "models" / "model.pt"),
        stage=1,
        reference_curves={"stage 0": str(first / "metrics.csv")},
        **_infer(),
    )
    assert (second / "area_curves" / "movie.png").is_file()
    assert not list(tmp_path.glob("infer1/.masks.partial"))
    with pytest.raises(RuntimeError) as err:  # the report exists: refused, nothing overwritten
        run_inference(
            BUNDLE, dataset, second, video=str(video), ckpt_path=str(stage1 / "models" / "model.pt"), **_infer()
        )
    assert "already holds files" in repr(err.value.__cause__)


def _infer() -> dict:
    return {"features": TINY["features"]}


def test_stage_comparison_pairs_the_two_stages_of_each_seed(dataset, tmp_path):
    requires_regular_package()
    from metaseg_monai.cli import compare

    tiny = {k: v for k, v in TINY.items() if k != "progress_bar"}
    compare(str(BUNDLE), str(dataset), str(tmp_path / "cmp"), seeds=1, epochs=1, overrides=tiny)
    out = tmp_path / "cmp"
    rows = read_rows(out / "results.csv")
    assert [(r["stage"], r["seed"]) for r in rows] == [("0", "0"), ("1", "0")]
    assert all(r["stills_ap_50"] != "" and r["flicker"] != "" for r in rows)
    report = (out / "report.md").read_text()
    assert "| AP@0.5, test stills |" in report and "Vanishing rate pooled over seeds" in report
    # stage 1 started from this seed's stage 0
    log = (out / "runs" / "stage1" / "seed0" / "run.log").read_text()
    assert "ConsistencyTrainer" in log
    with pytest.raises(ValueError, match="other settings"):
        compare(str(BUNDLE), str(dataset), str(out), seeds=1, epochs=2, overrides=tiny)


def test_verify_net_in_out_and_export(stage1, tmp_path):
    # a network without metadata: the zoo's checks with an empty metadata vector (width 0)
    check_export_round_trip(BUNDLE, stage1 / "models" / "model.pt", torch.zeros(1, 0), TINY["features"], tmp_path)
