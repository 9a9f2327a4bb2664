"""ValidationEarlyStopping: counts validations, stops the trainer, keeps its state in a checkpoint, inert when off."""

from __future__ import annotations

import pytest
from ignite.engine import Engine, Events

from metaseg_monai.handlers import ValidationEarlyStopping


def _engines(losses: list[float]) -> tuple[Engine, Engine]:
    validator = Engine(lambda engine, batch: None)

    @validator.on(Events.COMPLETED)
    def _loss(engine: Engine) -> None:
        engine.state.metrics["val_loss"] = losses.pop(0)

    trainer = Engine(lambda engine, batch: None)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: validator.run([0]))
    return trainer, validator


def test_stops_after_patience_validations_without_improvement():
    trainer, validator = _engines([0.9, 0.5, 0.4995, 0.6, 0.7, 0.1, 0.1])
    stopper = ValidationEarlyStopping(validator, "val_loss", patience=3, min_delta=0.001, mode="min")
    stopper.attach(trainer)
    trainer.run([0], max_epochs=7)
    # 0.5 improves on 0.9; 0.4995 is within min_delta of it, so epochs 3, 4, 5 do not improve: stopped at 5
    assert trainer.state.epoch == 5
    state = stopper.state_dict()
    assert state["counter"] == 3 and state["best_score"] == pytest.approx(0.4995)


def test_state_round_trip_and_inert_when_off():
    trainer, validator = _engines([0.9, 0.8])
    stopper = ValidationEarlyStopping(validator, "val_loss", patience=2)
    stopper.attach(trainer)
    stopper.load_state_dict({"counter": 1, "best_score": 0.3, "threshold_mode": "abs"})
    trainer.run([0], max_epochs=2)
    assert trainer.state.epoch == 1  # the resumed counter reached the patience at the first validation
    trainer, validator = _engines([0.9, 0.9, 0.9])
    off = ValidationEarlyStopping(validator, "val_loss", patience=None)
    off.attach(trainer)
    trainer.run([0], max_epochs=3)
    assert trainer.state.epoch == 3 and off.state_dict() == {}
    off.load_state_dict({"counter": 1, "best_score": 0.0})  # a checkpoint of a run with early stopping: ignored


def test_bad_arguments_and_an_unknown_metric():
    validator = Engine(lambda engine, batch: None)
    for kwargs, message in (
        ({"patience": 0}, "patience must be an integer >= 1 or null, got 0"),
        ({"patience": 2.5}, "patience must be an integer"),
        ({"min_delta": -1}, "min_delta must be a number >= 0"),
        ({"mode": "lowest"}, "mode must be 'min'"),
    ):
        with pytest.raises(ValueError, match=message):
            ValidationEarlyStopping(validator, "val_loss", **kwargs)
    trainer, validator = _engines([0.5])
    ValidationEarlyStopping(validator, "val_dice", patience=1).attach(trainer)
    with pytest.raises(
        KeyError, match=r"watches validation metric 'val_dice', but the validator computes \['val_loss'\]"
    ):
        trainer.run([0], max_epochs=1)
