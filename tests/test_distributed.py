"""Multi-process training: ``configs/multi_gpu_train.json`` under ``torchrun`` on the CPU (gloo), and its helpers."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from bundle_support import (
    BUNDLE_NAMES,
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    ONE_EPOCH,
    SMALL_DATA,
    requires_regular_package,
)
from monai.handlers import CheckpointSaver, LrScheduleHandler, StatsHandler, TensorBoardStatsHandler

from metaseg_monai.bundle import ddp_device_ids, distributed_device, handlers_for_rank
from metaseg_monai.sample_data import generate_sample_data

pytestmark = IGNORE_DEPRECATED_PACKAGES

TESTS = Path(__file__).resolve().parent


class _Recorder:  # a handler that is not a reporting one
    def attach(self, engine) -> None:
        pass


def test_handlers_for_rank_drops_reporting_handlers_above_rank_0(tmp_path):
    saver = CheckpointSaver(str(tmp_path), {"model": torch.nn.Linear(1, 1)}, save_interval=1)
    lr = LrScheduleHandler(torch.optim.lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1)], lr=1.0), 1))
    stats, board, other = StatsHandler(), TensorBoardStatsHandler(log_dir=str(tmp_path)), _Recorder()
    handlers = [saver, stats, lr, board, other]
    assert handlers_for_rank(handlers, rank=0) == handlers
    assert handlers_for_rank(handlers, rank=1) == [saver, lr, other]
    assert handlers_for_rank(None, rank=1) is None
    assert handlers_for_rank(handlers) == handlers  # no process group: rank 0


def test_ddp_device_ids():
    assert ddp_device_ids("cpu") is None
    assert ddp_device_ids(torch.device("cuda:1")) == [torch.device("cuda:1")]


def test_distributed_device_outside_torchrun_names_the_command(monkeypatch):
    for key in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --standalone --nproc_per_node"):
        distributed_device()


def _torchrun(bundle: str, tmp_path: Path, nproc: int = 2) -> tuple[Path, Path]:
    """Train ``bundle`` for one epoch with ``nproc`` CPU processes; returns (output_dir, dataset_dir)."""
    requires_regular_package()
    meta = json.loads((BUNDLES / bundle / "configs" / "metadata.json").read_text())
    data_options, overrides = SMALL_DATA[bundle]
    data = generate_sample_data(meta["sample_data"], tmp_path / "data", **data_options)
    out = tmp_path / "out"
    probe = tmp_path / "probe.json"  # adds the recorder to the trainer's handlers (MONAI's "+" extends a list)
    recorder = {"_target_": "distributed_probe.SamplerIndexRecorder", "out_dir": "@output_dir"}
    probe.write_text(json.dumps({"+train#handlers": [recorder]}))
    configs = [str(BUNDLES / bundle / "configs" / c) for c in ("train.json", "multi_gpu_train.json")] + [str(probe)]
    args = [f"--{k}={v!r}" for k, v in {**ONE_EPOCH, **overrides}.items()]  # Python literals: fire parses them
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "-m", "monai.bundle", "run", "--config_file", json.dumps(configs),
        "--meta_file", str(BUNDLES / bundle / "configs" / "metadata.json"), "--bundle_root", str(BUNDLES / bundle),
        f"--dataset_dir={data}", f"--output_dir={out}", *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    log = proc.stdout + proc.stderr
    assert "distributed training on the CPU with the gloo backend (2 processes)" in log
    return out, data


def _check_halves(out: Path, nproc: int = 2) -> None:
    seen = [json.loads((out / f"seen_rank{r}.json").read_text())[-1] for r in range(nproc)]
    assert all(s["world_size"] == nproc for s in seen)
    for name, first in seen[0]["loaders"].items():
        n = first["dataset_size"]
        shares = [s["loaders"][name]["indices"] for s in seen]
        assert all(len(share) == math.ceil(n / nproc) for share in shares), name  # each rank drew its share only
        if first["sampler"] == "DistributedSampler":  # a weighted sampler draws with replacement within its shard
            assert set().union(*shares) == set(range(n)), name  # together the ranks covered the dataset
            if n % nproc == 0:
                assert not set(shares[0]) & set(shares[1]), name
        if name == "train":  # a plain trainer: its iterations held exactly the items its sampler gave
            assert all(s["items"] == len(share) for s, share in zip(seen, shares, strict=True))


def _check_one_model(out: Path, bundle: str) -> None:
    models = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pt"))
    assert models == ["checkpoints/checkpoint_epoch=1.pt", "models/model.pt"], models
    state = torch.load(out / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert not any(k.startswith("module.") for k in state)  # the network, not its DDP wrapper
    assert not list(out.rglob(".*partial*"))


def test_torchrun_two_cpu_processes_cell_lines(tmp_path):
    out, _ = _torchrun("cell_lines_nuclei_segmentation", tmp_path)
    _check_halves(out)
    _check_one_model(out, "cell_lines_nuclei_segmentation")


@pytest.mark.slow
@pytest.mark.parametrize("bundle", [b for b in BUNDLE_NAMES if b != "cell_lines_nuclei_segmentation"])
def test_torchrun_two_cpu_processes_every_bundle(bundle, tmp_path):
    out, _ = _torchrun(bundle, tmp_path)
    _check_halves(out)
    _check_one_model(out, bundle)
