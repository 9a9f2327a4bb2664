"""Tests for metaseg_monai.handlers.checkpoint: resuming a killed run, checkpoints written atomically."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from monai.engines import SupervisedTrainer
from monai.handlers import LrScheduleHandler
from torch.utils.data import DataLoader

from metaseg_monai.handlers import (
    AtomicCheckpointSaver,
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
    handler = saver._key_metric_checkpoint.save_handler
    assert handler._atomic and handler.filename == "m.pt"
    with pytest.raises(ValueError, match="n_saved must be a positive integer, got 0"):
        resumable_checkpoint_handlers(tmp_path, net, _optimizer(), n_saved=0)
    with pytest.raises(ValueError, match="save_interval must be a positive integer"):
        resumable_checkpoint_handlers(tmp_path, net, _optimizer(), save_interval=0)


def test_interrupted_save_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    trainer, *_ = _make_run(tmp_path, 2, init_seed=0)
    real_save = torch.save
    calls = []

    def dying_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the epoch-2 save dies half-way through writing
            if hasattr(f, "write"):
                f.write(b"PK\x03\x04partial")
            else:  # a non-atomic saver writes straight to the final path
                Path(f).write_bytes(b"PK\x03\x04partial")
            raise KeyboardInterrupt("killed while saving")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    monkeypatch.setattr(torch, "save", real_save)
    # the checkpoint being written never appears under its final name; the previous one is intact
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["checkpoint_epoch=1.pt"]
    trainer2, *_ = _make_run(tmp_path, 2, init_seed=0)
    trainer2.run()
    assert trainer2.state.epoch == 2 and trainer2.state.iteration == 2 * STEPS
