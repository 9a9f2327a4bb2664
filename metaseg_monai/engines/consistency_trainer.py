"""Siamese temporal-consistency training: supervised batches of labelled stills alternating with consistency batches
of unlabelled consecutive video frames, one network for both (stage 1 of the Siamese-consistency paper).

MONAI's ``SupervisedTrainer`` takes one loader and one loss; this trainer is that engine (events, handlers,
checkpoints, resume, validation all as usual) whose iterations are drawn from two loaders by a schedule.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from ignite.engine import Events
from monai.engines import SupervisedTrainer
from monai.engines.utils import IterationEvents, default_prepare_batch
from monai.utils.enums import CommonKeys as Keys

__all__ = ["CONSISTENCY_SCHEDULES", "ConsistencyTrainer", "ScheduledBatches"]

CONSISTENCY_SCHEDULES = ("supervised", "batch_ratio", "epoch_ratio", "loss_weight")
SUPERVISED, CONSISTENCY, JOINT = "supervised", "consistency", "joint"


class ScheduledBatches:
    """The iterations of one epoch: ``(kind, batch)`` pairs drawn from a labelled and a pair loader.

    - ``"batch_ratio"`` (the paper's 7:5): one pass over the labelled loader, ``consistency_batches`` pair batches
      after every ``supervised_batches`` labelled ones.
    - ``"epoch_ratio"`` (the paper's 2:1): ``supervised_epochs`` passes over the labelled loader, then
      ``consistency_epochs`` passes over the pair loader; one engine epoch is one such round.
    - ``"loss_weight"``: one pass over the labelled loader, each labelled batch with a pair batch (``"joint"``).
    - ``"supervised"``: one pass over the labelled loader and no pairs (the supervised warm-up, stage 0); the pair
      loader is not read and may be None.

    The pair loader is cycled: a consistency batch continues where the previous one, in this epoch or the last,
    stopped, so every pair is seen however short the labelled loader is (after a resume it starts a fresh pass).
    ``len()`` is the epoch length.
    """

    def __init__(
        self,
        labelled: Iterable,
        pairs: Iterable | None,
        schedule: str = "batch_ratio",
        supervised_batches: int = 7,
        consistency_batches: int = 5,
        supervised_epochs: int = 2,
        consistency_epochs: int = 1,
    ):
        if schedule not in CONSISTENCY_SCHEDULES:
            raise ValueError(f"schedule must be one of {CONSISTENCY_SCHEDULES}, got {schedule!r}.")
        for name, value in (
            ("supervised_batches", supervised_batches),
            ("consistency_batches", consistency_batches),
            ("supervised_epochs", supervised_epochs),
            ("consistency_epochs", consistency_epochs),
        ):
            if int(value) != value or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}.")
        if schedule == "batch_ratio" and supervised_batches < 1:
            raise ValueError("batch_ratio needs supervised_batches >= 1.")
        self.labelled, self.pairs, self.schedule = labelled, pairs, schedule
        self.supervised_batches, self.consistency_batches = int(supervised_batches), int(consistency_batches)
        self.supervised_epochs, self.consistency_epochs = int(supervised_epochs), int(consistency_epochs)
        if pairs is None and schedule != SUPERVISED:
            raise ValueError(f"the {schedule!r} schedule needs a pair loader; only 'supervised' runs without one.")
        self.n_labelled = len(labelled)  # type: ignore[arg-type]
        self.n_pairs = 0 if schedule == SUPERVISED else len(pairs)  # type: ignore[arg-type]
        if self.n_labelled == 0 or (schedule != SUPERVISED and self.n_pairs == 0):
            raise ValueError(f"both loaders need batches, found {self.n_labelled} labelled and {self.n_pairs} pair.")
        self._pair_iter: Iterator | None = None
        if len(self) == 0:
            raise ValueError(f"the {schedule!r} schedule with these counts gives epochs of no iterations.")

    def __len__(self) -> int:
        if self.schedule == SUPERVISED:
            return self.n_labelled
        if self.schedule == "batch_ratio":
            blocks = math.ceil(self.n_labelled / self.supervised_batches)
            return self.n_labelled + blocks * self.consistency_batches
        if self.schedule == "epoch_ratio":
            return self.supervised_epochs * self.n_labelled + self.consistency_epochs * self.n_pairs
        return self.n_labelled

    def _next_pair(self) -> Any:
        if self._pair_iter is None:
            self._pair_iter = iter(self.pairs)
        try:
            return next(self._pair_iter)
        except StopIteration:
            self._pair_iter = iter(self.pairs)
            return next(self._pair_iter)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        if self.schedule == "epoch_ratio":
            for _ in range(self.supervised_epochs):
                for batch in self.labelled:
                    yield SUPERVISED, batch
            for _ in range(self.consistency_epochs * self.n_pairs):
                yield CONSISTENCY, self._next_pair()
            return
        labelled = iter(self.labelled)
        if self.schedule == SUPERVISED:
            for batch in labelled:
                yield SUPERVISED, batch
            return
        if self.schedule == "loss_weight":
            for batch in labelled:
                yield JOINT, (batch, self._next_pair())
            return
        while True:
            block = list(itertools.islice(labelled, self.supervised_batches))
            if not block:
                return
            for batch in block:
                yield SUPERVISED, batch
            for _ in range(self.consistency_batches):
                yield CONSISTENCY, self._next_pair()


class ConsistencyTrainer(SupervisedTrainer):
    """A ``SupervisedTrainer`` that alternates a supervised loss on labelled stills with a temporal-consistency
    loss on pairs of consecutive unlabelled frames, through one network.

    Supervised iterations are MONAI's own (``prepare_batch``, ``inferer``, ``loss_function``, AMP); a consistency
    iteration runs the network once on frames t and t+1 stacked in one batch (shared weights and normalisation
    statistics) and back-propagates ``consistency_weight * consistency_loss(logits_t, logits_t1)`` through both.
    ``engine.state.output`` always holds ``"loss"`` and ``"kind"`` (``supervised``, ``consistency`` or ``joint``);
    supervised iterations also hold image, label and pred. Training metrics (``key_train_metric``) would see
    iterations without labels, so they, post-processing and decollation are not taken: validate with an
    evaluator instead. The output stays one dictionary (not decollated): give ``StatsHandler`` and
    ``TensorBoardStatsHandler`` ``output_transform=lambda output: output["loss"]``, as the video bundle does (their
    default ``lambda x: x[0]`` expects a decollated list, and ``from_engine`` returns a tuple for a dictionary).

    ``optimizer`` is the one that an ``LrScheduleHandler`` and ``resumable_checkpoint_handlers`` see; a
    ``consistency_optimizer`` keeps its learning rate fixed, and its state is saved only if it is added to the
    checkpoint's objects. ``DistributedSampler.set_epoch`` is called on both loaders at every epoch.

    Args:
        device, max_epochs, network, optimizer, loss_function, prepare_batch, inferer, train_handlers, amp: as
            ``SupervisedTrainer``; ``optimizer`` steps the supervised loss.
        labelled_loader: batches of labelled stills (what ``prepare_batch`` reads).
        pair_loader: batches of unlabelled pairs, dictionaries with ``pair_keys``, each (B, C, *spatial); not read
            (may be None) with the ``"supervised"`` schedule.
        consistency_loss: ``(logits_t, logits_t1) -> scalar``, e.g.
            :class:`~metaseg_monai.losses.TemporalConsistencyLoss`.
        schedule, supervised_batches, consistency_batches, supervised_epochs, consistency_epochs: see
            :class:`ScheduledBatches`; ``"loss_weight"`` adds ``consistency_weight`` times the consistency loss to
            each supervised loss and steps ``optimizer`` once.
        consistency_weight: lambda, the weight of the consistency loss.
        consistency_optimizer: a second optimizer over the same weights for consistency iterations (the authors'
            code: Adam 1e-5 against 1e-4 supervised); None steps ``optimizer`` for both.
        pair_keys: the keys of frame t and frame t+1 in a pair batch.
    """

    def __init__(
        self,
        device: str | torch.device,
        max_epochs: int,
        labelled_loader: Iterable,
        pair_loader: Iterable | None,
        network: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_function: Callable,
        consistency_loss: Callable,
        schedule: str = "batch_ratio",
        supervised_batches: int = 7,
        consistency_batches: int = 5,
        supervised_epochs: int = 2,
        consistency_epochs: int = 1,
        consistency_weight: float = 1.0,
        consistency_optimizer: torch.optim.Optimizer | None = None,
        pair_keys: Sequence[str] = ("image_t", "image_t1"),
        prepare_batch: Callable = default_prepare_batch,
        inferer: Any = None,
        train_handlers: Sequence | None = None,
        amp: bool = False,
        **kwargs: Any,
    ):
        for unsupported in (
            "key_train_metric",
            "additional_metrics",
            "postprocessing",
            "decollate",
            "epoch_length",
            "train_data_loader",
        ):
            if kwargs.get(unsupported) is not None:
                raise ValueError(
                    f"ConsistencyTrainer does not take {unsupported!r}: consistency iterations have no labels, and "
                    "the epoch length follows from the schedule."
                )
            kwargs.pop(unsupported, None)
        if kwargs.get("accumulation_steps", 1) != 1:
            raise ValueError("ConsistencyTrainer steps after every iteration; accumulation_steps must be 1.")
        if consistency_weight < 0:
            raise ValueError(f"consistency_weight must be >= 0, got {consistency_weight}.")
        if len(pair_keys) != 2:
            raise ValueError(f"pair_keys names frame t and frame t+1, got {list(pair_keys)}.")
        if consistency_optimizer is not None and schedule == "loss_weight":
            raise ValueError("the 'loss_weight' schedule steps one optimizer; consistency_optimizer must be None.")
        batches = ScheduledBatches(
            labelled_loader,
            pair_loader,
            schedule,
            supervised_batches,
            consistency_batches,
            supervised_epochs,
            consistency_epochs,
        )
        super().__init__(
            device=device,
            max_epochs=max_epochs,
            train_data_loader=batches,
            network=network,
            optimizer=optimizer,
            loss_function=loss_function,
            epoch_length=len(batches),
            prepare_batch=prepare_batch,
            inferer=inferer,
            decollate=False,  # outputs of consistency iterations have no batch items to split
            train_handlers=train_handlers,
            amp=amp,
            **kwargs,
        )
        self.consistency_loss = consistency_loss
        self.consistency_weight = float(consistency_weight)
        self.consistency_optimizer = consistency_optimizer
        self.pair_keys = tuple(pair_keys)
        self.scheduled_batches = batches
        self.add_event_handler(Events.EPOCH_STARTED, self._set_sampler_epochs)

    def _set_sampler_epochs(self, engine: SupervisedTrainer) -> None:
        """``DistributedSampler.set_epoch`` on both loaders (MONAI does it only for a trainer's own DataLoader)."""
        for loader in (self.scheduled_batches.labelled, self.scheduled_batches.pairs):
            sampler = getattr(loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(engine.state.epoch)

    def _pair_logits(self, pair: dict) -> tuple[torch.Tensor, torch.Tensor]:
        missing = [k for k in self.pair_keys if k not in pair]
        if missing:
            raise KeyError(f"a pair batch lacks {missing}; it has {sorted(map(str, pair))}.")
        frames = [
            torch.as_tensor(pair[k]).to(self.state.device, non_blocking=self.non_blocking) for k in self.pair_keys
        ]
        if frames[0].shape != frames[1].shape:
            raise ValueError(f"frames t and t+1 differ in shape: {tuple(frames[0].shape)}, {tuple(frames[1].shape)}.")
        logits = self.inferer(torch.cat(frames, dim=0), self.network)
        return logits[: len(frames[0])], logits[len(frames[0]) :]

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        if self.amp and self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.fire_event(IterationEvents.BACKWARD_COMPLETED)
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.fire_event(IterationEvents.BACKWARD_COMPLETED)
            optimizer.step()

    def _autocast(self):
        return (
            torch.autocast("cuda", **self.amp_kwargs)
            if self.amp and self.scaler is not None
            else contextlib.nullcontext()
        )

    def _iteration(self, engine: SupervisedTrainer, batchdata: Any) -> dict:
        if batchdata is None:
            raise ValueError("Must provide batch data for current iteration.")
        kind, batch = batchdata
        if kind == SUPERVISED:
            output = super()._iteration(engine, batch)
            output["kind"] = kind
            return output
        self.network.train()
        optimizer = (
            self.optimizer if kind == JOINT or self.consistency_optimizer is None else self.consistency_optimizer
        )
        for opt in {id(self.optimizer): self.optimizer, id(optimizer): optimizer}.values():
            opt.zero_grad(set_to_none=self.optim_set_to_none)
        with self._autocast():
            if kind == JOINT:
                labelled, pair = batch
                inputs, targets, *rest = self.prepare_batch(
                    labelled, self.state.device, self.non_blocking, **self.to_kwargs
                )
                args, kwargs = (rest[0], rest[1]) if rest else ((), {})
                pred = self.inferer(inputs, self.network, *args, **kwargs)
                supervised = self.loss_function(pred, targets).mean()
                consistency = self.consistency_loss(*self._pair_logits(pair))
                loss = supervised + self.consistency_weight * consistency
                self.state.output = {Keys.IMAGE: inputs, Keys.LABEL: targets, Keys.PRED: pred}
            else:
                consistency = self.consistency_loss(*self._pair_logits(batch))
                loss = self.consistency_weight * consistency
                self.state.output = {}
        self.state.output.update({Keys.LOSS: loss, "consistency_loss": consistency.detach(), "kind": kind})
        self.fire_event(IterationEvents.LOSS_COMPLETED)
        self._step(loss, optimizer)
        self.fire_event(IterationEvents.MODEL_COMPLETED)
        return self.state.output
