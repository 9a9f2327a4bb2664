"""The cell_lines_nuclei_segmentation bundle: train, evaluate, infer, resume and the Model Zoo checks on tiny data."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from monai.bundle import ConfigParser, ConfigWorkflow, ckpt_export, verify_metadata, verify_net_in_out
from PIL import Image

import metaseg_monai
from metaseg_monai.data.generate_microscopy import CELL_LINES, generate_cell_lines

# the bundle lists both package dicts on purpose (one per schema); MONAI 1.6 reports the older name as deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Detected deprecated name 'optional_packages_version'")

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "bundles" / "cell_lines_nuclei_segmentation"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")
SCHEMAS = REPO.parent / "shared" / "schemas"
SCHEMA_MD5 = {  # the md5 MONAI's tests record for these release assets (../shared/notes/bundle-conventions.md)
    "meta_schema_20220324.json": "662135097106b71067cd1fc657f8720f",
    "meta_schema_20240725.json": "06954cad2cc5d3784e72077ac76f0fc8",
}
TINY = {"features": [8, 8, 8], "batch_size": 8, "num_workers": 0}  # 2 poolings: trains in about a second an epoch


def _requires_regular_package() -> None:
    # MONAI's `$import metaseg_monai` (optional_import) rejects namespace packages; an editable install made before
    # metaseg_monai/__init__.py existed resolves the top level as one
    if getattr(metaseg_monai, "__file__", None) is None:
        pytest.fail(
            "metaseg_monai imports as a namespace package (stale editable install); the bundle's `$import "
            "metaseg_monai` cannot work. Reinstall with `pip install --no-deps -e .` or set PYTHONPATH to the repo."
        )


def _workflow(config: str | list[str], workflow_type: str, **override) -> ConfigWorkflow:
    files = [str(CONFIGS / c) for c in ([config] if isinstance(config, str) else config)]
    return ConfigWorkflow(
        config_file=files, meta_file=META, workflow_type=workflow_type, bundle_root=str(BUNDLE), **override
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    # 4 images per line: 2 train, 1 val, 1 test each (2 per line would leave the test split empty)
    return generate_cell_lines(tmp_path_factory.mktemp("data") / "cell_lines", images_per_line=4, size=64)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    """One epoch of training; returns its output_dir."""
    _requires_regular_package()
    out = tmp_path_factory.mktemp("train_out")
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), epochs=1, **TINY)
    wf.initialize()
    assert wf.check_properties() == []
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
    out = tmp_path / "resume"
    shutil.copytree(trained, out)
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), epochs=2, **TINY)
    wf.initialize()
    wf.run()
    trainer = wf.parser.get_parsed_content("train#trainer")
    resumer = wf.parser.get_parsed_content("train#handlers")[0]
    assert resumer.resumed_from == out / "checkpoints" / "checkpoint_epoch=1.pt"
    assert trainer.state.epoch == 2 and trainer.state.iteration == 2 * len(trainer.data_loader)
    assert (out / "checkpoints" / "checkpoint_epoch=2.pt").is_file()


def test_evaluate_writes_report(dataset, trained, tmp_path):
    out = tmp_path / "eval_out"
    shutil.copytree(trained, out)
    wf = _workflow(["train.json", "evaluate.json"], "train", dataset_dir=str(dataset), output_dir=str(out), **TINY)
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    with open(out / "eval" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(CELL_LINES)  # one test image per line
    assert sorted(r["cell_line"] for r in rows) == sorted(CELL_LINES)
    assert all(0.0 <= float(r["f1"]) <= 1.0 and r["image"].endswith("_003.tif") for r in rows)
    summary = json.loads((out / "eval" / "summary.json").read_text())
    assert summary["n"] == len(CELL_LINES) and set(summary["per_group"]["cell_line"]) == set(CELL_LINES)
    assert len(list((out / "eval" / "overlays").glob("*.png"))) == len(CELL_LINES)


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
    assert "cell_line must be one of" in repr(err.value.__cause__)


def test_wrong_conditioning_fails_before_training(dataset, tmp_path):
    _requires_regular_package()
    out = tmp_path / "bad"
    with pytest.raises(RuntimeError) as err:
        _workflow(
            "train.json", "train", dataset_dir=str(dataset), output_dir=str(out), conditioning="cbn", **TINY
        ).initialize()
    assert "conditioning must be one of" in repr(err.value.__cause__) and "'cbn'" in repr(err.value.__cause__)
    assert not out.exists()


def test_wrong_metadata_width_fails_before_training(dataset, tmp_path):
    _requires_regular_package()
    out = tmp_path / "bad"
    override = {"network_def#metadata_dim": 5}
    wf = _workflow("train.json", "train", dataset_dir=str(dataset), output_dir=str(out), **TINY, **override)
    with pytest.raises(RuntimeError) as err:
        wf.initialize()
    cause = repr(err.value.__cause__)
    assert "width 5" in cause and "width 7" in cause
    assert not out.exists()


@pytest.mark.parametrize("schema", ["meta_schema_20220324.json", "meta_schema_20240725.json"])
def test_metadata_valid_against_schema(schema, tmp_path):
    if not (SCHEMAS / schema).is_file():
        pytest.skip(f"offline schema copy {SCHEMAS / schema} not available")
    local = tmp_path / schema
    shutil.copy(SCHEMAS / schema, local)  # pre-placed: verify_metadata skips the download
    verify_metadata(meta_file=META, filepath=str(local), hash_val=SCHEMA_MD5[schema])
    meta = json.loads(Path(META).read_text())
    assert meta["version"] in meta["changelog"]


def test_configs_agree_with_metadata():
    meta = json.loads(Path(META).read_text())
    train = json.loads((CONFIGS / "train.json").read_text())
    infer = json.loads((CONFIGS / "inference.json").read_text())
    assert train["metadata_fields"] == infer["metadata_fields"]
    assert train["network_def"] == infer["network_def"] and train["features"] == infer["features"]
    categories = train["metadata_fields"][0]["categories"]
    assert tuple(categories) == CELL_LINES
    fmt = meta["network_data_format"]
    assert list(fmt["inputs"]["metadata"]["channel_def"].values()) == categories
    assert fmt["inputs"]["metadata"]["num_channels"] == len(categories)
    assert fmt["outputs"]["pred"]["num_channels"] == train["network_def"]["out_channels"]
    for name in ("train.json", "evaluate.json", "inference.json", "multi_gpu_train.json", "metadata.json"):
        text = (CONFIGS / name).read_text()
        assert text == json.dumps(json.loads(text), indent=4) + "\n", f"{name} is not formatted with indent=4"


def test_verify_net_in_out_and_export(trained, tmp_path):
    _requires_regular_package()
    config = str(CONFIGS / "inference.json")
    metadata = torch.zeros(1, len(CELL_LINES))
    metadata[0, 0] = 1.0
    # the network needs its metadata input too: the zoo's shape check alone (image only) cannot call it
    verify_net_in_out(
        net_id="network_def",
        meta_file=META,
        config_file=config,
        device="cpu",
        n=2,
        extra_forward_args={"metadata": metadata},
    )
    ts = tmp_path / "model.ts"
    ckpt_export(
        net_id="network_def",
        filepath=str(ts),
        ckpt_file=str(trained / "models" / "model.pt"),
        meta_file=META,
        config_file=config,
        bundle_root=str(BUNDLE),
        features=TINY["features"],
    )
    scripted = torch.jit.load(str(ts))
    parser = ConfigParser()
    parser.read_config(config)
    parser.update({"bundle_root": str(BUNDLE), "features": TINY["features"]})
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True))
    net.eval()
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x, metadata), net(x, metadata))


def test_multi_gpu_config_parses_with_train():
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json"), str(CONFIGS / "multi_gpu_train.json")])
    parser.read_meta(META)
    assert parser["network"]["_target_"] == "torch.nn.parallel.DistributedDataParallel"
    assert parser["train#dataloader#sampler"] == "@train#sampler" and parser["train#dataloader#shuffle"] is False
    assert "LOCAL_RANK" in parser["device"]
    # the rank > 0 slice drops exactly ProgressBar, StatsHandler and TensorBoardStatsHandler
    targets = [h["_target_"] for h in parser["train#handlers"]]
    assert targets[-3:] == ["ignite.handlers.ProgressBar", "StatsHandler", "TensorBoardStatsHandler"]
    assert "[: -3 if dist.get_rank() > 0 else None]" in parser["train#trainer#train_handlers"]
    parser.parse()
    # every @reference in the merged config names an id that exists
    refs = set(re.findall(r"@([A-Za-z_][\w#]*)", json.dumps(parser.get())))
    missing = sorted(r for r in refs if r not in parser)
    assert missing == []


def test_shipped_weights_fit_the_inference_config(dataset, tmp_path):
    """The zoo's directory check, and the shipped models/model.pt loads into the default network and segments."""
    _requires_regular_package()
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
