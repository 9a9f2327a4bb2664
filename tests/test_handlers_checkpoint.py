"""Tests for metaseg_monai.handlers.checkpoint: resuming a killed run, checkpoints written atomically."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from ignite.metrics import Metric
from monai.engines import SupervisedEvaluator, SupervisedTrainer
from monai.handlers import LrScheduleHandler, ValidationHandler
from torch.utils.data import DataLoader

from metaseg_monai.handlers import (
    VALIDATION_STATE_KEY,
    AtomicCheckpointSaver,
    AtomicDiskSaver,
    ResumeFromLatestCheckpoint,
    find_latest_checkpoint,
    resumable_checkpoint_handlers,
)
from metaseg_monai.optimizers import paper_cyclic_lr


def _optimizer() -> torch.optim.Adam:
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=1.0)


# ------------------------------------------------------------------------------------------------- resume

STEPS = 3  # iterations per epoch


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    data = [{"image": torch.randn(4, generator=g), "label": torch.randn(2, generator=g)} for _ in range(6)]
    return DataLoader(data, batch_size=2, shuffle=False)


def _make_run(ckpt_dir, max_epochs: int, init_seed: int, log: list | None = None, **handler_kwargs):
    """A fresh network/optimizer/scheduler/trainer with the resume handlers; ``log`` gets (epoch, iteration, lr)."""
    torch.manual_seed(init_seed)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1.0)
    sched = paper_cyclic_lr(opt, steps_per_epoch=STEPS, epochs=4, cycles=2)
    handlers = resumable_checkpoint_handlers(ckpt_dir, net, opt, sched, **handler_kwargs)
    handlers.append(LrScheduleHandler(sched, print_lr=False, epoch_level=False))
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=max_epochs,
        train_data_loader=_loader(),
        network=net,
        optimizer=opt,
        loss_function=torch.nn.MSELoss(),
        train_handlers=handlers,
    )
    if log is not None:

        def record(engine):
            log.append((engine.state.epoch, engine.state.iteration, opt.param_groups[0]["lr"]))

        trainer.add_event_handler(Events.ITERATION_STARTED, record)
    return trainer, net, opt, sched, handlers


def _weights(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_resume_continues_at_next_epoch(tmp_path, caplog):
    # reference: 4 epochs without interruption
    ref_log: list = []
    ref_trainer, ref_net, *_ = _make_run(tmp_path / "ref", 4, init_seed=1, log=ref_log)
    ref_trainer.run()

    # run 1: killed after epoch 2 (same initial weights as the reference)
    ckpt = tmp_path / "ckpt"
    log1: list = []
    trainer1, net1, *_ = _make_run(ckpt, 2, init_seed=1, log=log1)
    trainer1.run()
    assert log1 == ref_log[: 2 * STEPS]
    saved = _weights(net1)
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint_epoch=1.pt", "checkpoint_epoch=2.pt"]
    assert find_latest_checkpoint(ckpt) == ckpt / "checkpoint_epoch=2.pt"
    state = torch.load(ckpt / "checkpoint_epoch=2.pt", weights_only=True)
    assert set(state) == {"network", "optimizer", "lr_scheduler", "trainer"}
    assert state["trainer"]["iteration"] == 2 * STEPS and state["lr_scheduler"]["last_epoch"] == 2 * STEPS

    # run 2: the same command with max_epochs=4 and a differently initialised network
    log2: list = []
    trainer2, net2, opt2, sched2, handlers2 = _make_run(ckpt, 4, init_seed=99, log=log2)
    assert not all(torch.equal(a, b) for a, b in zip(_weights(net2).values(), saved.values(), strict=True))
    loaded: dict = {}
    trainer2.add_event_handler(
        Events.STARTED, lambda e: loaded.update(w=_weights(net2), epoch=e.state.epoch, max_epochs=e.state.max_epochs)
    )
    with caplog.at_level(logging.INFO):
        trainer2.run()
    resumer = handlers2[0]
    assert isinstance(resumer, ResumeFromLatestCheckpoint) and resumer.resumed_from == ckpt / "checkpoint_epoch=2.pt"
    assert "Resumed from checkpoint" in caplog.text and "checkpoint_epoch=2.pt (epoch 2" in caplog.text
    # loaded weights equal the saved ones; the trainer state is epoch 2 with this run's max_epochs
    assert loaded["epoch"] == 2 and loaded["max_epochs"] == 4
    assert all(torch.equal(loaded["w"][k], saved[k]) for k in saved)
    # epochs 3 and 4 ran: 2 * STEPS iterations, numbered on from run 1
    assert [(e, i) for e, i, _ in log2] == [(e, i) for e, i, _ in ref_log[2 * STEPS :]]
    assert log2[0][:2] == (3, 2 * STEPS + 1) and len(log2) == 2 * STEPS
    assert trainer2.state.epoch == 4 and trainer2.state.iteration == 4 * STEPS
    # optimizer and scheduler restored: the LR trace continues, and training ends where the uninterrupted run ends
    assert [lr for *_, lr in log2] == pytest.approx([lr for *_, lr in ref_log[2 * STEPS :]])
    assert sched2.last_epoch == 4 * STEPS
    assert opt2.state_dict()["state"][0]["step"].item() == 4 * STEPS
    for k, v in ref_net.state_dict().items():
        torch.testing.assert_close(net2.state_dict()[k], v)
    # the saver's rotation (n_saved=2) includes the files of the interrupted run
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint_epoch=3.pt", "checkpoint_epoch=4.pt"]
    for path in ckpt.iterdir():
        assert torch.load(path, weights_only=True)["trainer"]["iteration"] in (3 * STEPS, 4 * STEPS)


def test_resume_empty_folder_starts_fresh(tmp_path, caplog):
    log: list = []
    trainer, _, _, _, handlers = _make_run(tmp_path / "missing", 1, init_seed=0, log=log)
    with caplog.at_level(logging.INFO):
        trainer.run()
    assert handlers[0].resumed_from is None
    assert "starting fresh" in caplog.text
    assert log[0][:2] == (1, 1) and len(log) == STEPS
    assert (tmp_path / "missing" / "checkpoint_epoch=1.pt").is_file()


def test_resume_newest_by_number_not_mtime(tmp_path):
    for n in (2, 10, 9):  # written last: 9; newest by number: 10
        (tmp_path / f"checkpoint_epoch={n}.pt").write_bytes(b"")
    (tmp_path / "checkpoint_key_metric=0.9.pt").write_bytes(b"")
    (tmp_path / "tmpabc").write_bytes(b"")
    assert find_latest_checkpoint(tmp_path) == tmp_path / "checkpoint_epoch=10.pt"
    assert find_latest_checkpoint(tmp_path / "nope") is None
    with pytest.raises(ValueError, match="group capturing"):
        find_latest_checkpoint(tmp_path, pattern=r"checkpoint_epoch=\d+")


def test_resume_truncated_checkpoint_names_file(tmp_path):
    trainer, *_ = _make_run(tmp_path, 2, init_seed=0)
    trainer.run()
    newest = tmp_path / "checkpoint_epoch=2.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    trainer2, *_ = _make_run(tmp_path, 4, init_seed=0)
    with pytest.raises(RuntimeError, match=r"Cannot read checkpoint .*checkpoint_epoch=2\.pt.*truncated"):
        trainer2.run()


def test_resume_errors_mismatch_and_max_epochs(tmp_path):
    trainer, *_ = _make_run(tmp_path, 2, init_seed=0)
    trainer.run()
    # checkpoint beyond this run's max_epochs
    trainer_short, *_ = _make_run(tmp_path, 1, init_seed=0)
    with pytest.raises(ValueError, match=r"checkpoint_epoch=2\.pt is at epoch 2, beyond this run's max_epochs \(1\)"):
        trainer_short.run()
    # a different network
    net = torch.nn.Linear(4, 3)
    resumer = ResumeFromLatestCheckpoint(tmp_path, {"network": net}, engine_key=None)
    trainer_other = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=4,
        train_data_loader=_loader(),
        network=net,
        optimizer=torch.optim.Adam(net.parameters()),
        loss_function=torch.nn.MSELoss(),
        train_handlers=[resumer],
    )
    with pytest.raises(RuntimeError, match=r"checkpoint_epoch=2\.pt does not fit"):
        trainer_other.run()
    with pytest.raises(RuntimeError, match=r"has no entries \['ema'\]"):
        ResumeFromLatestCheckpoint(tmp_path, {"network": net, "ema": net}, engine_key=None)(trainer_other)


def test_atomic_saver_is_atomic_and_factory_validates(tmp_path):
    net = torch.nn.Linear(2, 1)
    saver = AtomicCheckpointSaver(str(tmp_path), {"net": net}, save_key_metric=True, key_metric_filename="m.pt")
    handler = saver.key_metric_checkpoint.save_handler
    assert isinstance(handler, AtomicDiskSaver) and handler.filename == "m.pt"
    assert saver.interval_checkpoint is None and saver.final_checkpoint is None
    with pytest.raises(ValueError, match="n_saved must be a positive integer, got 0"):
        resumable_checkpoint_handlers(tmp_path, net, _optimizer(), n_saved=0)
    with pytest.raises(ValueError, match="save_interval must be a positive integer"):
        resumable_checkpoint_handlers(tmp_path, net, _optimizer(), save_interval=0)


def _save_dying_at(real_save, call: int):
    """``torch.save`` that writes part of a file and is killed on its ``call``-th use (a kill during a save)."""
    calls = []

    def dying_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            if hasattr(f, "write"):  # an atomic saver hands a file object
                f.write(b"PK\x03\x04partial")
            else:  # a non-atomic saver writes straight to the final path
                Path(f).write_bytes(b"PK\x03\x04partial")
            raise KeyboardInterrupt("killed while saving")
        return real_save(obj, f, *args, **kwargs)

    return dying_save


def test_interrupted_save_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    trainer, *_ = _make_run(tmp_path, 2, init_seed=0)
    real_save = torch.save
    monkeypatch.setattr(torch, "save", _save_dying_at(real_save, 2))  # the epoch-2 save dies half-way through
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    monkeypatch.setattr(torch, "save", real_save)
    # the checkpoint being written never appears under its final name; the previous one is intact
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["checkpoint_epoch=1.pt"]
    trainer2, *_ = _make_run(tmp_path, 2, init_seed=0)
    trainer2.run()
    assert trainer2.state.epoch == 2 and trainer2.state.iteration == 2 * STEPS


# ------------------------------------------------------------------------- a kill during a save (real and simulated)


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_rotation_removes_the_oldest_checkpoint_only_after_the_new_one_is_in_place(tmp_path, monkeypatch):
    trainer, *_ = _make_run(tmp_path, 3, init_seed=0)  # n_saved=2: the epoch-3 save rotates epoch 1 out
    real_save = torch.save
    monkeypatch.setattr(torch, "save", _save_dying_at(real_save, 3))
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    monkeypatch.setattr(torch, "save", real_save)
    # ignite removes the rotated-out file before saving its successor; here both older checkpoints survive
    assert _visible(tmp_path) == ["checkpoint_epoch=1.pt", "checkpoint_epoch=2.pt"] and _hidden(tmp_path) == []
    for n in (1, 2):
        assert torch.load(tmp_path / f"checkpoint_epoch={n}.pt", weights_only=True)["trainer"]["iteration"] == n * STEPS


_KILLED_SAVE = """
import os, signal, sys
import torch
sys.path.insert(0, {tests!r})
from test_handlers_checkpoint import _make_run

real_save, calls = torch.save, []

def dying_save(obj, f, *args, **kwargs):
    calls.append(1)
    if len(calls) == 3:  # the epoch-3 save: half a file, then SIGKILL (no clean-up code runs)
        if hasattr(f, "write"):
            f.write(b"PK\\x03\\x04partial")
            f.flush()
        else:
            with open(f, "wb") as out:
                out.write(b"PK\\x03\\x04partial")
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, f, *args, **kwargs)

torch.save = dying_save
trainer, *_ = _make_run({ckpt!r}, 3, init_seed=0)
trainer.run()
"""


def test_sigkill_during_a_save_leaves_older_checkpoints_and_a_leftover_the_next_run_removes(tmp_path, caplog):
    from metaseg_monai.utils.atomic import partial_pattern

    ckpt = tmp_path / "checkpoints"
    script = _KILLED_SAVE.format(tests=str(Path(__file__).parent), ckpt=str(ckpt))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert _visible(ckpt) == ["checkpoint_epoch=1.pt", "checkpoint_epoch=2.pt"]
    (leftover,) = _hidden(ckpt)
    assert partial_pattern("checkpoint_epoch=3.pt").match(leftover), leftover
    assert (ckpt / leftover).read_bytes().startswith(b"PK\x03\x04partial")
    # files of other naming are never touched
    for name in ("notes.txt", ".keep", "tmpab12cd34"):
        (ckpt / name).write_text("mine")

    trainer, _, _, _, handlers = _make_run(ckpt, 4, init_seed=0)
    with caplog.at_level(logging.WARNING):
        trainer.run()
    assert handlers[0].resumed_from == ckpt / "checkpoint_epoch=2.pt"
    assert trainer.state.epoch == 4 and trainer.state.iteration == 4 * STEPS
    assert f"Removed '{ckpt / leftover}'" in caplog.text
    assert _hidden(ckpt) == [".keep"]
    assert _visible(ckpt) == ["checkpoint_epoch=3.pt", "checkpoint_epoch=4.pt", "notes.txt", "tmpab12cd34"]


def test_resume_trims_checkpoints_beyond_n_saved_left_by_a_kill(tmp_path):
    trainer, *_ = _make_run(tmp_path, 3, init_seed=0, n_saved=3)
    trainer.run()
    assert _visible(tmp_path) == [f"checkpoint_epoch={n}.pt" for n in (1, 2, 3)]
    # the same run with n_saved=2: three files, as after a kill between a save and its rotation
    trainer2, *_ = _make_run(tmp_path, 4, init_seed=0, n_saved=2)
    trainer2.run()
    assert _visible(tmp_path) == ["checkpoint_epoch=3.pt", "checkpoint_epoch=4.pt"]


def test_best_model_saver_removes_leftovers_at_start_and_writes_usual_permissions(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    stale = models / ".model.pt.partial-ab12cd34.pt"
    stale.write_bytes(b"")
    (models / "tmpab12cd34").write_bytes(b"")  # not of our naming: kept
    net = torch.nn.Linear(4, 2)
    saver = AtomicCheckpointSaver(str(models), {"model": net}, save_key_metric=True, key_metric_filename="model.pt")
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=_loader(),
        network=net,
        key_val_metric={"score": ScriptedScore()},
        val_handlers=[saver],
    )
    old = os.umask(0o027)
    try:
        evaluator.run(global_epoch=1)
    finally:
        os.umask(old)
    assert not stale.exists() and (models / "tmpab12cd34").exists()
    assert sorted(p.name for p in models.iterdir()) == ["model.pt", "tmpab12cd34"]
    assert stat.S_IMODE((models / "model.pt").stat().st_mode) == 0o640  # 0o666 & ~umask, as any written file
    loaded = torch.load(models / "model.pt", weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())


# ------------------------------------------------------------------- resume keeps the best model of the whole run

#: the key metric of validation epoch e, whatever the network: best at epoch 2, then lower
SCRIPT = {1: 0.3, 2: 0.9, 3: 0.5, 4: 0.4, 5: 0.6, 6: 0.95}


class ScriptedScore(Metric):
    """A key metric that scores validation epoch ``e`` as ``SCRIPT[e]`` (the evaluator's epoch is the trainer's)."""

    def reset(self) -> None:
        pass

    def update(self, output) -> None:
        pass

    def compute(self) -> float:
        raise NotImplementedError

    def completed(self, engine, name: str) -> None:
        engine.state.metrics[name] = SCRIPT[engine.state.epoch]


class Killed(BaseException):
    """Stands for SIGKILL: no ignite handler sees it."""


def _train_and_validate(out: Path, max_epochs: int, init_seed: int, kill_in_epoch: int | None = None):
    """Trainer + evaluator wired as the bundles' train.json: [resumer, interval saver, ValidationHandler], the
    best-model saver in the evaluator's handlers. Returns the objects and ``{epoch: weights at its validation}``."""
    torch.manual_seed(init_seed)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    objects = {"network": net, "optimizer": opt}
    best_saver = AtomicCheckpointSaver(
        str(out / "models"), {"model": net}, save_key_metric=True, key_metric_filename="model.pt"
    )
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=_loader(),
        network=net,
        key_val_metric={"score": ScriptedScore()},
        val_handlers=[best_saver],
    )
    resume_dir = out / "checkpoints"
    saver = AtomicCheckpointSaver(
        str(resume_dir), objects, engine_key="trainer", save_interval=1, n_saved=2, epoch_level=True
    )
    resumer = ResumeFromLatestCheckpoint(
        resume_dir, objects, engine_key="trainer", saver=saver, evaluator=evaluator, best_saver=best_saver
    )
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=max_epochs,
        train_data_loader=_loader(),
        network=net,
        optimizer=opt,
        loss_function=torch.nn.MSELoss(),
        train_handlers=[resumer, saver, ValidationHandler(validator=evaluator, epoch_level=True, interval=1)],
    )
    validated: dict[int, dict[str, torch.Tensor]] = {}
    evaluator.add_event_handler(Events.EPOCH_COMPLETED, lambda e: validated.update({e.state.epoch: _weights(net)}))
    if kill_in_epoch is not None:

        def kill(engine):
            if engine.state.epoch == kill_in_epoch and engine.state.iteration == (kill_in_epoch - 1) * STEPS + 2:
                raise Killed

        trainer.add_event_handler(Events.ITERATION_STARTED, kill)
    return trainer, evaluator, best_saver, resumer, validated


def _equal(state: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(state[k], other[k]) for k in other)


def test_resume_restores_best_metric_and_keeps_the_best_model(tmp_path, caplog):
    # run 1: validations score 0.3, 0.9; killed in the middle of epoch 3
    trainer1, evaluator1, _, _, validated1 = _train_and_validate(tmp_path, 5, init_seed=1, kill_in_epoch=3)
    with pytest.raises(Killed):
        trainer1.run()
    assert sorted(validated1) == [1, 2] and evaluator1.state.best_metric == pytest.approx(0.9)
    best = validated1[2]
    model_pt = tmp_path / "models" / "model.pt"
    assert _equal(torch.load(model_pt, weights_only=True), best)
    # the epoch-2 checkpoint is written after epoch 2's validation and holds its result
    state = torch.load(tmp_path / "checkpoints" / "checkpoint_epoch=2.pt", weights_only=True)[VALIDATION_STATE_KEY]
    assert state["best_metric"] == pytest.approx(0.9) and state["best_metric_epoch"] == 2
    assert [score for score, _ in state["best_saver"]["_saved"]] == [pytest.approx(0.9)]

    # run 2: new objects, differently initialised; validations of epochs 3-5 score 0.5, 0.4, 0.6 (< 0.9)
    trainer2, evaluator2, best_saver2, resumer2, validated2 = _train_and_validate(tmp_path, 5, init_seed=7)
    with caplog.at_level(logging.INFO):
        trainer2.run()
    assert resumer2.resumed_from == tmp_path / "checkpoints" / "checkpoint_epoch=2.pt"
    assert "best validation 0.9 at epoch 2" in caplog.text
    assert sorted(validated2) == [3, 4, 5]
    assert _equal(torch.load(model_pt, weights_only=True), best)  # not replaced by a worse model
    assert not any(_equal(validated2[e], best) for e in validated2)  # (the network did change)
    assert evaluator2.state.best_metric == pytest.approx(0.9) and evaluator2.state.best_metric_epoch == 2
    assert [score for score, _ in best_saver2.state_dict()["_saved"]] == [pytest.approx(0.9)]

    # run 3: resumed again for one more epoch whose validation (0.95) beats the best: that model is kept
    trainer3, evaluator3, _, _, validated3 = _train_and_validate(tmp_path, 6, init_seed=3)
    trainer3.run()
    assert sorted(validated3) == [6]
    assert _equal(torch.load(model_pt, weights_only=True), validated3[6])
    assert evaluator3.state.best_metric == pytest.approx(0.95) and evaluator3.state.best_metric_epoch == 6
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["model.pt"]


def test_resume_of_an_old_checkpoint_without_validation_state_warns(tmp_path, caplog):
    out = tmp_path
    trainer, *_ = _make_run(out / "checkpoints", 1, init_seed=0)  # keys: network, optimizer, lr_scheduler, trainer
    trainer.run()
    state = torch.load(out / "checkpoints" / "checkpoint_epoch=1.pt", weights_only=True)
    torch.save({"network": state["network"], "optimizer": {}, "trainer": state["trainer"]}, out / "x.pt")
    net = torch.nn.Linear(4, 2)
    evaluator = SupervisedEvaluator(device=torch.device("cpu"), val_data_loader=_loader(), network=net)
    saver = AtomicCheckpointSaver(str(out / "checkpoints"), {"network": net}, save_interval=1, engine_key="trainer")
    resumer = ResumeFromLatestCheckpoint(out / "checkpoints", {"network": net}, saver=saver, evaluator=evaluator)
    engine = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=2,
        train_data_loader=_loader(),
        network=net,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
        loss_function=torch.nn.MSELoss(),
        train_handlers=[resumer],
    )
    with caplog.at_level(logging.WARNING):
        resumer(engine)
    assert resumer.resumed_from is not None and "holds no 'validation_state'" in caplog.text
    assert evaluator.state.best_metric == -1


def test_resume_validation_state_arguments_are_checked(tmp_path):
    net = torch.nn.Linear(4, 2)
    evaluator = SupervisedEvaluator(device=torch.device("cpu"), val_data_loader=_loader(), network=net)
    with pytest.raises(ValueError, match="evaluator/best_saver need saver"):
        ResumeFromLatestCheckpoint(tmp_path, {"network": net}, evaluator=evaluator)
    interval = AtomicCheckpointSaver(str(tmp_path), {"network": net}, save_interval=1)
    not_best = AtomicCheckpointSaver(str(tmp_path), {"model": net}, save_interval=1)
    with pytest.raises(ValueError, match="save_key_metric=True"):
        ResumeFromLatestCheckpoint(tmp_path, {"network": net}, saver=interval, best_saver=not_best)
    with pytest.raises(ValueError, match="must not use the key 'validation_state'"):
        ResumeFromLatestCheckpoint(tmp_path, {"network": net, VALIDATION_STATE_KEY: net})


def test_a_lone_object_resumes_from_its_unwrapped_checkpoint(tmp_path):
    # ignite writes the state dict of a single saved object as it is, not under its key
    saved = torch.nn.Linear(4, 2)
    torch.save(saved.state_dict(), tmp_path / "checkpoint_epoch=1.pt")
    fresh = torch.nn.Linear(4, 2)
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=1,
        train_data_loader=_loader(),
        network=fresh,
        optimizer=torch.optim.SGD(fresh.parameters(), lr=0.1),
        loss_function=torch.nn.MSELoss(),
    )
    resumer = ResumeFromLatestCheckpoint(tmp_path, {"network": fresh}, engine_key=None)
    resumer(trainer)
    assert resumer.resumed_from == tmp_path / "checkpoint_epoch=1.pt"
    assert torch.equal(fresh.weight, saved.weight) and torch.equal(fresh.bias, saved.bias)
