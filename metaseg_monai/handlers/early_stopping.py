"""Early stopping on a validation metric, as a train handler that a bundle config can build without a cycle.

MONAI's ``EarlyStopHandler`` is attached to the evaluator and needs the trainer when it is built; in a bundle the
trainer already refers to the evaluator (``ValidationHandler``), so that reference would be a cycle. This handler is
listed in ``train#handlers``, gets the trainer when attached and watches the validator it is given.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from metaseg_monai.utils.checks import is_int_at_least

if TYPE_CHECKING:
    from ignite.engine import Engine

__all__ = ["ValidationEarlyStopping"]


class ValidationEarlyStopping:
    """Stop training when ``validator``'s ``metric_name`` has not improved for ``patience`` validations.

    Uses ignite's ``EarlyStopping`` (an improvement is a change beyond ``min_delta``, its ``threshold``, in the better
    direction from the best value so far) on the validator's ``COMPLETED`` event, so that it counts validations,
    whatever ``val_interval`` is. Its state (the counter and the best score) goes into the training checkpoint
    through :meth:`state_dict`, so that a resumed training keeps counting where it stopped.

    Args:
        validator: the evaluator run by the trainer's ``ValidationHandler``.
        metric_name: a metric of the validator (``engine.state.metrics``), e.g. ``"val_loss"``.
        patience: validations without improvement before stopping; ``None`` never stops (the handler is inert,
            so that a bundle can offer the option with early stopping off).
        min_delta: smallest change that counts as an improvement (the FiLM paper: 0.001 on the validation loss).
        mode: ``"min"`` for a loss (lower is better), ``"max"`` for a score such as Dice.

    Raises:
        ValueError: ``patience`` not an integer >= 1 (or None), ``min_delta`` negative, or an unknown ``mode``.
        KeyError: at the first validation, ``metric_name`` is not among the validator's metrics (listing them).
    """

    def __init__(
        self,
        validator: Engine,
        metric_name: str,
        patience: int | None = None,
        min_delta: float = 0.0,
        mode: str = "min",
    ) -> None:
        if patience is not None and not is_int_at_least(patience, 1):
            raise ValueError(f"early stopping patience must be an integer >= 1 or null, got {patience!r}.")
        if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or min_delta < 0:
            raise ValueError(f"early stopping min_delta must be a number >= 0, got {min_delta!r}.")
        if mode not in ("min", "max"):
            raise ValueError(f"early stopping mode must be 'min' (a loss) or 'max' (a score), got {mode!r}.")
        self.validator, self.metric_name = validator, str(metric_name)
        self.patience, self.min_delta, self.mode = patience, float(min_delta), mode
        self._stopper: Any = None
        self._sign = 1.0  # -1 where the installed ignite only maximises and the metric is a loss

    def score(self, engine: Engine) -> float:
        """The watched metric of the validator's last run."""
        metrics = engine.state.metrics
        if self.metric_name not in metrics:
            raise KeyError(
                f"early stopping watches validation metric {self.metric_name!r}, but the validator computes "
                f"{sorted(metrics)}."
            )
        return float(metrics[self.metric_name])

    def attach(self, trainer: Engine) -> None:
        if self.patience is None:
            return
        from ignite.engine import Events
        from ignite.handlers import EarlyStopping

        if "mode" in inspect.signature(EarlyStopping).parameters:
            self._stopper = EarlyStopping(self.patience, self.score, trainer, threshold=self.min_delta, mode=self.mode)
        else:  # ignite 0.4.11 (pinned by monai 1.5.2, the label extra) only maximises: a loss is negated
            self._sign = -1.0 if self.mode == "min" else 1.0
            self._stopper = EarlyStopping(self.patience, self._signed_score, trainer, min_delta=self.min_delta)
        self.validator.add_event_handler(Events.COMPLETED, self._stopper)

    def _signed_score(self, engine: Engine) -> float:
        return self._sign * self.score(engine)

    def _unsigned(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """``state`` with ``best_score`` multiplied by the sign (its own inverse): in the metric's units on disk."""
        state = dict(state)
        if state.get("best_score") is not None:
            state["best_score"] = self._sign * state["best_score"]
        return state

    def state_dict(self) -> dict[str, Any]:
        """The running stopper's state (``counter``, ``best_score`` in the metric's own units, ...); empty when early
        stopping is off."""
        return self._unsigned(self._stopper.state_dict()) if self._stopper is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self._stopper is not None and state:
            self._stopper.load_state_dict(self._unsigned(state))
