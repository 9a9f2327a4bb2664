"""Regression tests of the bundles' settings check (``metaseg_monai.bundle.check_settings``/``check_datalists``):
a wrong input is refused in ``initialize()``, before training or any output file, with a message naming the file
or id, what was expected and what was found; and the runs that must not fail after training do not."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
from bundle_support import (
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    TINY,
    bundle_workflow,
    read_rows,
    requires_regular_package,
)

from metaseg_monai.sample_data.generate_ct import generate_kits21
from metaseg_monai.sample_data.generate_microscopy import CELL_LINES, generate_cell_lines, generate_nuclei_anomaly

pytestmark = IGNORE_DEPRECATED_PACKAGES

CELLS = BUNDLES / "cell_lines_nuclei_segmentation"
KITS = BUNDLES / "kits21_tumor_size_segmentation"
ANOMALY = BUNDLES / "nuclei_anomaly_segmentation"
EVALUATE = ["train.json", "evaluate.json"]


def _files(folder: Path) -> list[tuple[str, int]]:
    """Every file below ``folder`` with its size: what a refused run must leave as it was."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*") if p.is_file())


def _refused(workflow) -> str:
    """The message of the error ``initialize()`` raises (MONAI wraps it in a RuntimeError)."""
    requires_regular_package()
    with pytest.raises(RuntimeError) as err:
        workflow.initialize()
    assert err.value.__cause__ is not None, err.value
    return str(err.value.__cause__)


def _write_table(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> Path:
    # 4 images per line: 2 train, 1 val, 1 test each
    return generate_cell_lines(tmp_path_factory.mktemp("data") / "cell_lines", images_per_line=4, size=64)


@pytest.fixture(scope="module")
def cells_run(cells, tmp_path_factory) -> tuple[Path, float]:
    """One epoch of cell-lines training: its output_dir and the validation's best metric."""
    requires_regular_package()
    out = tmp_path_factory.mktemp("cells_trained")
    wf = bundle_workflow(CELLS, "train.json", "train", dataset_dir=str(cells), output_dir=str(out), epochs=1, **TINY)
    wf.initialize()
    wf.run()
    best = float(wf.parser.get_parsed_content("validate#evaluator").state.best_metric)
    wf.finalize()
    return out, best


@pytest.fixture(scope="module")
def trained(cells_run) -> Path:
    return cells_run[0]


@pytest.fixture(scope="module")
def png_folder(cells, tmp_path_factory) -> Path:
    """Two real PNG images (the sample data's masks), for inference with the cell line given on the command line."""
    folder = tmp_path_factory.mktemp("png_in")
    for name in ("HeLa_000.png", "HeLa_001.png"):
        shutil.copy(cells / "masks" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def kits(tmp_path_factory) -> Path:
    # 6 cases: 4 train, 1 val, 1 test with the default split
    root = tmp_path_factory.mktemp("data") / "kits21"
    return generate_kits21(root, num_cases=6, shape=(20, 64, 64), spacing=(12.5, 4.0, 4.0))


def _infer(data: Path, out: Path, **override):
    return bundle_workflow(
        CELLS,
        "inference.json",
        "infer",
        dataset_dir=str(data),
        output_dir=str(out),
        features=TINY["features"],
        **override,
    )


# 1. an output folder that is, or lies inside, the dataset


@pytest.mark.parametrize("configs", [["train.json"], EVALUATE], ids=["train", "evaluate"])
@pytest.mark.parametrize("inside", [False, True], ids=["same", "inside"])
def test_output_dir_in_dataset_is_refused(cells, configs, inside):
    before = _files(cells)
    out = cells / "output" if inside else cells
    wf = bundle_workflow(CELLS, configs, "train", dataset_dir=str(cells), output_dir=str(out), epochs=1, **TINY)
    message = _refused(wf)
    assert "output_dir" in message and "lies inside, the input folder" in message and str(cells) in message
    assert _files(cells) == before
    assert not (cells / "output").exists()


# 2. evaluation without a trained model


def test_evaluation_without_trained_model_names_the_training_command(cells, tmp_path):
    out = tmp_path / "never_trained"
    wf = bundle_workflow(CELLS, EVALUATE, "train", dataset_dir=str(cells), output_dir=str(out), **TINY)
    message = _refused(wf)
    assert f"no trained model at '{out / 'models' / 'model.pt'}'" in message
    assert "--config_file configs/train.json" in message
    assert not out.exists()


# 3. an unreadable inference input among real ones


def test_inference_refuses_an_unreadable_input(trained, png_folder, tmp_path):
    data = tmp_path / "inputs"
    shutil.copytree(png_folder, data)
    (data / "fake.png").write_text("this is not a PNG image\n")
    out = tmp_path / "masks"
    ckpt = str(trained / "models" / "model.pt")
    message = _refused(_infer(data, out, ckpt_path=ckpt, cell_line="HeLa"))
    assert "fake.png" in message and "inference input" in message
    assert not out.exists()


# 4. an output folder that already holds files


def test_inference_into_a_non_empty_folder_needs_output_overwrite(trained, png_folder, tmp_path):
    out = tmp_path / "masks"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")
    ckpt = str(trained / "models" / "model.pt")
    message = _refused(_infer(png_folder, out, ckpt_path=ckpt, cell_line="HeLa"))
    assert "output_dir" in message and str(out) in message and "--output_overwrite True" in message
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me\n"

    wf = _infer(png_folder, out, ckpt_path=ckpt, cell_line="HeLa", output_overwrite=True)
    wf.initialize()
    wf.run()
    assert sorted(p.name for p in out.iterdir()) == ["HeLa_000_seg.png", "HeLa_001_seg.png", "notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me\n"


# 5. KiTS: a negative tumour size, in kits.json and on the command line


def test_kits_negative_size_in_kits_json_fails_before_training(kits, tmp_path):
    data = tmp_path / "kits21"
    shutil.copytree(kits, data)
    cases = json.loads((data / "kits.json").read_text())
    case = cases[0]["case_id"]
    cases[0]["radiographic_size"] = -3.0
    (data / "kits.json").write_text(json.dumps(cases))
    out = tmp_path / "out"
    wf = bundle_workflow(KITS, "train.json", "train", dataset_dir=str(data), output_dir=str(out), epochs=1, **TINY)
    message = _refused(wf)
    assert case in message and "'radiographic_size'" in message
    assert "valid range [0.0, inf)" in message and "found -3.0" in message
    assert "[[" not in message  # the sample is named by its case and slice, not printed as its pixels
    assert not out.exists()


def test_kits_negative_size_on_the_command_line_is_refused(kits, tmp_path):
    flat = tmp_path / "volumes"
    flat.mkdir()
    shutil.copy(kits / "case_00000" / "imaging.nii.gz", flat / "patient_a.nii.gz")
    out = tmp_path / "labels"
    wf = bundle_workflow(
        KITS,
        "inference.json",
        "infer",
        dataset_dir=str(flat),
        output_dir=str(out),
        radiographic_size=-3,
        load_pretrain=False,
        features=TINY["features"],
    )
    message = _refused(wf)
    assert "metadata given on the command line" in message and "'radiographic_size'" in message
    assert "valid range [0.0, inf)" in message and "found -3.0" in message
    assert not out.exists()


# 6. a checkpoint trained with other metadata


def test_checkpoint_of_another_metadata_width_is_refused(cells, trained, tmp_path):
    spec_file = trained / "models" / "metadata_spec.json"
    assert spec_file.is_file()  # written by training beside models/model.pt
    eight = [{"name": "cell_line", "type": "categorical", "categories": [*CELL_LINES, "U2OS"]}]
    out = tmp_path / "masks"
    ckpt = trained / "models" / "model.pt"
    message = _refused(_infer(cells, out, ckpt_path=str(ckpt), split="test", metadata_fields=eight))
    assert f"the checkpoint '{ckpt}' expects metadata width 7" in message
    assert "the config gives 8" in message and "U2OS" in message and str(spec_file) in message
    assert not out.exists()


# 7. a CUDA device on a machine without one


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["$torch.device('cuda')", "cuda"])
def test_cuda_device_without_cuda_is_refused(cells, tmp_path, device):
    out = tmp_path / "out"
    wf = bundle_workflow(
        CELLS, "train.json", "train", dataset_dir=str(cells), output_dir=str(out), epochs=1, device=device, **TINY
    )
    message = _refused(wf)
    assert "'device' is 'cuda'" in message and "CUDA not available" in message and "available: ['cpu']" in message
    assert not out.exists()


# 8. an evaluation report that already exists


def test_second_evaluation_needs_eval_overwrite(cells, trained, tmp_path):
    out = tmp_path / "trained"
    shutil.copytree(trained, out)
    eval_dir = out / "eval"

    def evaluation(**override):
        return bundle_workflow(
            CELLS,
            EVALUATE,
            "train",
            dataset_dir=str(cells),
            output_dir=str(out),
            eval_dir=str(eval_dir),
            num_overlays=0,
            **TINY,
            **override,
        )

    wf = evaluation()
    wf.initialize()
    wf.run()
    report = _files(eval_dir)
    assert [name for name, _ in report] == ["metrics.csv", "summary.json"]
    metrics = (eval_dir / "metrics.csv").read_bytes()
    message = _refused(evaluation())
    assert str(eval_dir) in message and "metrics.csv" in message and "--eval_overwrite True" in message
    assert (eval_dir / "metrics.csv").read_bytes() == metrics

    wf = evaluation(eval_overwrite=True)
    wf.initialize()
    wf.run()
    assert len(read_rows(eval_dir / "metrics.csv")) == len(CELL_LINES)


# 9. a bad row of the test split fails training before it starts


@pytest.mark.parametrize("bad", ["missing_label", "unknown_cell_line"])
def test_bad_test_row_fails_training_before_it_starts(cells, tmp_path, bad):
    data = tmp_path / "cell_lines"
    shutil.copytree(cells, data)
    with open(data / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    index = next(i for i, r in enumerate(rows) if r["split"] == "test")
    if bad == "missing_label":
        rows[index]["label"] = "masks/missing.png"
    else:
        rows[index]["cell_line"] = "U2OS"
    _write_table(data / "metadata.csv", rows)
    out = tmp_path / "out"
    wf = bundle_workflow(CELLS, "train.json", "train", dataset_dir=str(data), output_dir=str(out), epochs=1, **TINY)
    message = _refused(wf)
    if bad == "missing_label":
        assert "missing.png" in message and f"row {index + 1}" in message and "'label'" in message
    else:
        assert Path(rows[index]["image"]).name in message and "unknown category 'U2OS'" in message
        assert "'cell_line'" in message and "HeLa" in message  # what was expected
    assert not out.exists()


# 10. report fields absent from the data: grouped by those present


def test_report_field_absent_from_the_table_is_not_an_error(tmp_path):
    keep = ("MDCK", "HT1080")
    data = generate_nuclei_anomaly(tmp_path / "nuclei_anomaly", images_per_line=4, size=64)
    with open(data / "metadata.csv", newline="") as f:
        # two lines whose test images both have an anomaly row (fewer rows: a shorter epoch), cell_line dropped
        rows = [{k: v for k, v in r.items() if k != "cell_line"} for r in csv.DictReader(f) if r["cell_line"] in keep]
    _write_table(data / "metadata.csv", rows)
    out = tmp_path / "out"
    requires_regular_package()
    wf = bundle_workflow(ANOMALY, "train.json", "train", dataset_dir=str(data), output_dir=str(out), epochs=1, **TINY)
    wf.initialize()
    wf.run()
    wf.finalize()
    wf = bundle_workflow(ANOMALY, EVALUATE, "train", dataset_dir=str(data), output_dir=str(out), num_overlays=0, **TINY)
    assert wf.parser.get_parsed_content("report_fields") == ["mask_type", "cell_line"]
    wf.initialize()
    wf.run()
    metrics = read_rows(out / "metrics.csv")
    assert len(metrics) == sum(r["split"] == "test" for r in rows) and "cell_line" not in metrics[0]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["per_group"]) == {"mask_type"}
    assert set(summary["per_group"]["mask_type"]) == {"nuclei", "anomaly"}


# 11. resuming restores the best validation score


def test_resume_restores_the_best_validation_score(cells, cells_run, tmp_path):
    from ignite.engine import Events

    trained, first_best = cells_run
    out = tmp_path / "resume"
    shutil.copytree(trained, out)
    wf = bundle_workflow(CELLS, "train.json", "train", dataset_dir=str(cells), output_dir=str(out), epochs=2, **TINY)
    wf.initialize()
    trainer = wf.parser.get_parsed_content("train#trainer")
    evaluator = wf.parser.get_parsed_content("validate#evaluator")
    best_saver = wf.parser.get_parsed_content("validate#best_model_saver")
    seen = []

    @trainer.on(Events.EPOCH_STARTED)
    def _record(engine):  # after the resumer (STARTED), before this run's first validation
        seen.append((engine.state.epoch, evaluator.state.best_metric, evaluator.state.best_metric_epoch))
        seen.append(best_saver.state_dict()["_saved"])

    wf.run()
    assert first_best != -1
    assert seen[0] == (2, pytest.approx(first_best), 1)
    assert [score for score, _ in seen[1]] == [pytest.approx(first_best)]
    resumer = wf.parser.get_parsed_content("train#handlers")[0]
    assert resumer.resumed_from == out / "checkpoints" / "checkpoint_epoch=1.pt"


def test_the_same_seed_trains_the_same_weights(cells, cells_run, tmp_path):
    # the settings check builds the network: the seed must be set before it, or every run starts from other weights
    out = tmp_path / "again"
    wf = bundle_workflow(CELLS, "train.json", "train", dataset_dir=str(cells), output_dir=str(out), epochs=1, **TINY)
    wf.initialize()
    wf.run()
    first = torch.load(cells_run[0] / "models" / "model.pt", weights_only=True)
    again = torch.load(out / "models" / "model.pt", weights_only=True)
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_a_checkpoint_scaled_otherwise_is_refused_though_the_width_matches(tmp_path):
    from metaseg_monai.bundle import check_trained_spec
    from metaseg_monai.transforms import MetadataSpec
    from metaseg_monai.utils import write_json

    size = {"name": "radiographic_size", "type": "continuous", "minimum": 0.0, "maximum": 10.0}
    write_json(tmp_path / "metadata_spec.json", {"fields": [{**size, "valid_min": 0.0}]})
    checkpoint = tmp_path / "model.pt"
    check_trained_spec(checkpoint, MetadataSpec([size]))  # the valid range only refuses values: same encoding
    with pytest.raises(ValueError, match=r"trained with the metadata encoding .*'maximum': 10\.0.*'maximum': 20\.0"):
        check_trained_spec(checkpoint, MetadataSpec([{**size, "maximum": 20.0}]))
