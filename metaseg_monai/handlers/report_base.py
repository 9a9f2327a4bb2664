"""What the evaluation report writers share: when they run on an engine, and how they see its items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from monai.data import decollate_batch

if TYPE_CHECKING:
    from ignite.engine import Engine

__all__ = ["ReportHandler", "per_item_batch_and_output"]


def per_item_batch_and_output(engine: Engine) -> tuple[Any, Any]:
    """The engine's current batch and output as per-item lists (``decollate=False`` leaves batch-first dicts: they
    are split as MONAI would); the batch is returned as found when the engine has none."""
    outputs, batches = engine.state.output, getattr(engine.state, "batch", None)
    outputs = decollate_batch(outputs, detach=True) if isinstance(outputs, Mapping) else outputs
    batches = decollate_batch(batches, detach=True) if isinstance(batches, Mapping) else batches
    return batches, outputs


class ReportHandler:
    """Base of the report writers: ``reset`` at ``STARTED``, ``record`` at ``ITERATION_COMPLETED``, ``write`` at
    ``COMPLETED``; the engine's logger unless the writer was given a ``name``."""

    _name: str | None

    def attach(self, engine: Engine) -> None:
        """Reset at ``STARTED``, score at ``ITERATION_COMPLETED``, write at ``COMPLETED``."""
        from ignite.engine import Events

        if self._name is None:
            self.logger = engine.logger
        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.record)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine | None = None) -> None:
        raise NotImplementedError

    def record(self, engine: Engine) -> None:
        raise NotImplementedError

    def write(self, engine: Engine | None = None) -> None:
        raise NotImplementedError
