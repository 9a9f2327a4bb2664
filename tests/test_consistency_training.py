"""Siamese temporal-consistency training: the schedule, the consistency loss and the trainer on MONAI's engine."""

import numpy as np
import pytest
import torch
from ignite.engine import Events
from monai.transforms import Compose, RandAffined, RandGaussianNoised, RandScaleIntensityd

from metaseg_monai.engines import ConsistencyTrainer, ScheduledBatches
from metaseg_monai.losses import TemporalConsistencyLoss


def test_schedules_interleave_and_cycle_the_pairs():
    labelled, pairs = [f"L{i}" for i in range(5)], [f"P{i}" for i in range(3)]
    ratio = ScheduledBatches(labelled, pairs, "batch_ratio", supervised_batches=2, consistency_batches=1)
    first = list(ratio)
    assert len(ratio) == len(first) == 8
    assert [b for _, b in first] == ["L0", "L1", "P0", "L2", "L3", "P1", "L4", "P2"]
    assert [b for _, b in list(ratio)][2] == "P0"  # the pair loader was used up exactly; it starts again
    epochs = ScheduledBatches(labelled, pairs, "epoch_ratio", supervised_epochs=2, consistency_epochs=1)
    kinds = [k for k, _ in epochs]
    assert len(epochs) == len(kinds) == 13 and kinds == ["supervised"] * 10 + ["consistency"] * 3
    joint = list(ScheduledBatches(labelled, pairs, "loss_weight"))
    assert [k for k, _ in joint] == ["joint"] * 5 and joint[3][1] == ("L3", "P0")
    with pytest.raises(ValueError, match="schedule must be one of"):
        ScheduledBatches(labelled, pairs, "ratio")
    with pytest.raises(ValueError, match="0 pair"):
        ScheduledBatches(labelled, [], "batch_ratio")


def test_consistency_loss_is_the_soft_dice_of_the_two_frames():
    torch.manual_seed(0)
    logits_t = torch.randn(2, 2, 8, 8, requires_grad=True)
    logits_t1 = torch.randn(2, 2, 8, 8, requires_grad=True)
    loss = TemporalConsistencyLoss()(logits_t, logits_t1)
    a, b = logits_t.softmax(1)[:, 1], logits_t1.softmax(1)[:, 1]
    whole_batch = 1 - (2 * (a * b).sum() + 1) / (a.sum() + b.sum() + 1)  # the authors' code: one ratio per batch
    assert loss.item() == pytest.approx(whole_batch.item(), rel=1e-6)
    per_pair = (1 - (2 * (a * b).sum((1, 2)) + 1) / (a.sum((1, 2)) + b.sum((1, 2)) + 1)).mean()
    assert TemporalConsistencyLoss(batch=False)(logits_t, logits_t1).item() == pytest.approx(per_pair.item(), rel=1e-6)
    loss.backward()
    assert logits_t.grad.abs().sum() > 0 and logits_t1.grad.abs().sum() > 0  # through both frames
    detached = torch.randn(2, 2, 8, 8, requires_grad=True)
    TemporalConsistencyLoss(detach_second=True)(logits_t.detach().requires_grad_(), detached).backward()
    assert detached.grad is None
    area = TemporalConsistencyLoss(mode="area", activation="sigmoid")
    shifted = torch.roll(logits_t[:, :1].detach(), 3, dims=-1)  # moved, same area: no area loss
    assert area(logits_t[:, :1].detach(), shifted).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="differ in shape"):
        TemporalConsistencyLoss()(logits_t, logits_t1[:, :, :4])
    with pytest.raises(ValueError, match="smooth must be > 0"):
        TemporalConsistencyLoss(smooth=0.0)
    with pytest.raises(ValueError, match="one channel"):
        TemporalConsistencyLoss(activation="sigmoid")(logits_t, logits_t1)


def test_pair_augmentation_draws_once_for_both_frames():
    # MONAI's dictionary transforms randomise once per call and apply the draw to every key
    frame = np.random.default_rng(0).random((1, 16, 16)).astype(np.float32)
    augment = Compose(
        [
            RandAffined(["image_t", "image_t1"], prob=1.0, rotate_range=0.5, translate_range=3),
            RandScaleIntensityd(["image_t", "image_t1"], factors=0.3, prob=1.0),
            RandGaussianNoised(["image_t", "image_t1"], prob=1.0, std=0.1),
        ]
    ).set_random_state(1)
    out = augment({"image_t": frame.copy(), "image_t1": frame.copy()})
    assert not np.allclose(np.asarray(out["image_t"]), frame)
    np.testing.assert_allclose(np.asarray(out["image_t"]), np.asarray(out["image_t1"]))


def _loaders():
    g = torch.Generator().manual_seed(0)
    labelled = [
        {"image": torch.rand(2, 1, 8, 8, generator=g), "label": torch.randint(0, 2, (2, 1, 8, 8), generator=g)}
        for _ in range(4)
    ]
    pairs = [{"image_t": torch.rand(2, 1, 8, 8, generator=g), "image_t1": torch.rand(2, 1, 8, 8, generator=g)}]
    return labelled, pairs * 3


def _trainer(network, **kwargs):
    from monai.losses import DiceLoss

    labelled, pairs = _loaders()
    return ConsistencyTrainer(
        device="cpu",
        max_epochs=kwargs.pop("max_epochs", 2),
        labelled_loader=labelled,
        pair_loader=pairs,
        network=network,
        optimizer=kwargs.pop("optimizer", None) or torch.optim.Adam(network.parameters(), 1e-2),
        loss_function=DiceLoss(to_onehot_y=True, softmax=True),
        consistency_loss=TemporalConsistencyLoss(),
        **kwargs,
    )


def test_trainer_alternates_supervised_and_consistency_iterations():
    torch.manual_seed(0)
    network = torch.nn.Conv2d(1, 2, 3, padding=1)
    trainer = _trainer(network, supervised_batches=2, consistency_batches=1)
    kinds = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: kinds.append(e.state.output["kind"]))
    before = network.weight.detach().clone()
    trainer.run()
    assert kinds == ["supervised", "supervised", "consistency"] * 4  # 2 epochs of 6
    assert trainer.state.epoch_length == 6 and not torch.equal(before, network.weight)
    assert np.isfinite(trainer.state.output["loss"].item())


def test_consistency_optimizer_steps_only_the_consistency_iterations():
    torch.manual_seed(0)
    network = torch.nn.Conv2d(1, 2, 3, padding=1)
    frozen = torch.optim.SGD(network.parameters(), lr=0.0)  # consistency steps change nothing
    trainer = _trainer(network, max_epochs=1, schedule="epoch_ratio", supervised_epochs=0, consistency_optimizer=frozen)
    before = network.weight.detach().clone()
    trainer.run()
    assert trainer.state.iteration == 3 and torch.equal(before, network.weight)


def test_loss_weight_schedule_and_bad_arguments():
    torch.manual_seed(0)
    network = torch.nn.Conv2d(1, 2, 3, padding=1)
    trainer = _trainer(network, max_epochs=1, schedule="loss_weight", consistency_weight=0.5)
    trainer.run()
    assert trainer.state.output["kind"] == "joint" and trainer.state.iteration == 4
    assert "pred" in trainer.state.output and "consistency_loss" in trainer.state.output
    with pytest.raises(ValueError, match="does not take 'key_train_metric'"):
        _trainer(network, key_train_metric={"dice": object()})
    with pytest.raises(ValueError, match="consistency_weight"):
        _trainer(network, consistency_weight=-1.0)
    with pytest.raises(ValueError, match="accumulation_steps must be 1"):
        _trainer(network, accumulation_steps=2)
    with pytest.raises(ValueError, match="no iterations"):
        _trainer(network, schedule="epoch_ratio", supervised_epochs=0, consistency_epochs=0)


def test_resume_continues_a_consistency_training(tmp_path):
    from metaseg_monai.handlers import resumable_checkpoint_handlers

    def run(max_epochs, ckpt_dir, init_seed):
        torch.manual_seed(init_seed)
        network = torch.nn.Conv2d(1, 2, 3, padding=1)
        optimizer = torch.optim.Adam(network.parameters(), 1e-2)
        handlers = resumable_checkpoint_handlers(ckpt_dir, network, optimizer) if ckpt_dir else None
        trainer = _trainer(network, max_epochs=max_epochs, optimizer=optimizer, train_handlers=handlers)
        trainer.run()
        return trainer, network

    _, reference = run(4, None, init_seed=1)
    run(2, tmp_path, init_seed=1)  # interrupted after 2 epochs
    resumed_trainer, resumed = run(4, tmp_path, init_seed=7)  # the same command again, other initial weights
    assert resumed_trainer.state.iteration == 4 * 9  # 4 labelled batches, then 5 consistency batches (7:5)
    # a resumed run starts a fresh pass over the pair loader (documented); with identical pair batches that makes
    # no difference, so the resumed run ends exactly where the uninterrupted one does
    torch.testing.assert_close(resumed.weight, reference.weight)
    saved = torch.load(tmp_path / "checkpoint_epoch=4.pt", weights_only=True)
    assert saved["trainer"]["epoch_length"] == 9


def test_supervised_schedule_is_the_warm_up_without_pairs():
    labelled = [f"L{i}" for i in range(3)]
    warm_up = ScheduledBatches(labelled, None, "supervised")
    assert len(warm_up) == 3 and list(warm_up) == [("supervised", b) for b in labelled]
    with pytest.raises(ValueError, match="needs a pair loader"):
        ScheduledBatches(labelled, None, "batch_ratio")


def test_initial_weights_load_before_training_and_fail_clearly(tmp_path):
    from metaseg_monai.networks import load_initial_weights

    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    torch.save({"model": source.state_dict()}, tmp_path / "model.pt")
    assert load_initial_weights(target, tmp_path / "model.pt") is target
    torch.testing.assert_close(target.weight, source.weight)
    assert load_initial_weights(target, None) is target
    with pytest.raises(FileNotFoundError, match="train stage 0 first"):
        load_initial_weights(target, tmp_path / "missing.pt", hint="train stage 0 first")
    with pytest.raises(ValueError, match="do not fit the network"):
        load_initial_weights(torch.nn.Linear(4, 2), tmp_path / "model.pt")
