"""A handler the torchrun tests add to a bundle's trainer: which dataset items each rank drew in each epoch.

It lives in ``tests/`` (put on ``PYTHONPATH`` by the test), not in the package: it is instrumentation, not a feature.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch.distributed as dist
from ignite.engine import Engine, Events


def _loaders(engine: Engine) -> dict:
    """The trainer's data loaders by name: its own, or a ConsistencyTrainer's labelled and pair loaders."""
    batches = engine.data_loader
    if hasattr(batches, "labelled"):  # metaseg_monai.engines.ScheduledBatches
        return {"labelled": batches.labelled, "pairs": batches.pairs}
    return {"train": batches}


class SamplerIndexRecorder:
    """At every epoch's end, append the indices each of this rank's samplers gave, and how many items the plain
    trainer's iterations held, to ``out_dir/seen_rank<R>.json``."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.epochs: list[dict] = []
        self.items = 0

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED, self._reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._count)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._write)

    def _reset(self, engine: Engine) -> None:
        self.items = 0

    def _count(self, engine: Engine) -> None:
        batch = engine.state.batch  # a list of items once MONAI's postprocessing has decollated it
        if isinstance(batch, list):
            self.items += len(batch)
        elif isinstance(batch, dict):
            self.items += int(batch["image"].shape[0])

    def _write(self, engine: Engine) -> None:
        rank = dist.get_rank() if dist.is_initialized() else 0
        world = dist.get_world_size() if dist.is_initialized() else 1
        record = {"epoch": engine.state.epoch, "world_size": world, "items": self.items, "loaders": {}}
        for name, loader in _loaders(engine).items():
            record["loaders"][name] = {
                "indices": [int(i) for i in loader.sampler],
                "dataset_size": len(loader.dataset),
                "sampler": type(loader.sampler).__name__,
            }
        self.epochs.append(record)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / f"seen_rank{rank}.json").write_text(json.dumps(self.epochs))
