"""Tests for metaseg_monai.optimizers: the paper's cyclic learning rate."""

from __future__ import annotations

import pytest
import torch

from metaseg_monai.optimizers import paper_cyclic_lr


def _lr_trace(scheduler: torch.optim.lr_scheduler.CyclicLR, n: int) -> list[float]:
    """Learning rate used at each of ``n`` iterations, stepping after each as a per-iteration handler does."""
    trace = []
    for _ in range(n):
        trace.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return trace


def _optimizer() -> torch.optim.Adam:
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=1.0)


def _peaks(trace: list[float]) -> list[int]:
    return [i for i in range(1, len(trace) - 1) if trace[i - 1] < trace[i] >= trace[i + 1]]


# ----------------------------------------------------------------------------------------------- schedules


def test_cyclic_lr_triangular_trace():
    sched = paper_cyclic_lr(_optimizer(), steps_per_epoch=10, epochs=8, cycles=8)
    trace = _lr_trace(sched, 80)
    assert sched.total_size == 10  # step_size_up = 80 // 16 = 5, down the same
    assert trace[0] == pytest.approx(2e-4)
    assert min(trace) == pytest.approx(2e-4) and max(trace) == pytest.approx(8e-4)
    peaks = _peaks(trace)
    assert len(peaks) == 8 and peaks == list(range(5, 80, 10))
    assert all(trace[p] == pytest.approx(8e-4) for p in peaks)  # constant amplitude
    assert trace[1] - trace[0] == pytest.approx((8e-4 - 2e-4) / 5)  # linear ramp
    assert sched.optimizer.defaults.get("momentum") is None and "momentum" not in sched.optimizer.param_groups[0]


def test_cyclic_lr_triangular2_halves_amplitude():
    sched = paper_cyclic_lr(_optimizer(), steps_per_epoch=6, epochs=10, cycles=3, mode="triangular2")
    trace = _lr_trace(sched, 60)
    peaks = _peaks(trace)
    assert len(peaks) == 3
    amplitudes = [trace[p] - 2e-4 for p in peaks]
    assert amplitudes[0] == pytest.approx(6e-4)
    assert amplitudes[1] == pytest.approx(amplitudes[0] / 2) and amplitudes[2] == pytest.approx(amplitudes[0] / 4)
    assert min(trace) == pytest.approx(2e-4)


@pytest.mark.parametrize("steps,epochs", [(37, 100), (7, 13), (250, 100)])
def test_cyclic_lr_authors_code_half_cycles(steps, epochs):
    # authors' code: step_size_up = steps * num_epochs // 15 ("15 half-cycles") == cycles=7.5
    sched = paper_cyclic_lr(_optimizer(), steps, epochs, cycles=7.5, mode="triangular2")
    assert sched.total_size == 2 * (steps * epochs // 15)
    assert sched.scale_mode == "cycle"


def test_cyclic_lr_step_size_at_least_one_and_state_roundtrip(tmp_path):
    sched = paper_cyclic_lr(_optimizer(), steps_per_epoch=1, epochs=1, cycles=8)
    assert sched.total_size == 2
    _lr_trace(sched, 3)
    torch.save(sched.state_dict(), tmp_path / "s.pt")
    fresh = paper_cyclic_lr(_optimizer(), steps_per_epoch=1, epochs=1, cycles=8)
    fresh.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert fresh.last_epoch == sched.last_epoch == 3


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"steps_per_epoch": 0}, "steps_per_epoch must be a positive integer"),
        ({"epochs": 2.5}, "epochs must be a positive integer"),
        ({"cycles": 0}, "cycles must be a positive finite"),
        ({"cycles": float("inf")}, "cycles must be a positive finite"),
        ({"base_lr": -1e-4}, "base_lr must be a positive"),
        ({"max_lr": 1e-4}, r"max_lr must be a finite number >= base_lr \(0.0002\), got 0.0001"),
        ({"mode": "exp_range"}, r"mode must be one of \('triangular', 'triangular2'\), got 'exp_range'"),
    ],
)
def test_cyclic_lr_argument_errors(kwargs, message):
    args = {"steps_per_epoch": 4, "epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        paper_cyclic_lr(_optimizer(), **args)


@pytest.mark.parametrize("mode, cycles", [("triangular", 8), ("triangular2", 7.5)])
def test_cyclic_lr_default_cycles_follow_the_mode(mode, cycles):
    # the bundles give only lr_mode: the paper's 8 cycles, or the authors' code's 15 half-cycles
    default = paper_cyclic_lr(_optimizer(), steps_per_epoch=7, epochs=30, mode=mode)
    explicit = paper_cyclic_lr(_optimizer(), steps_per_epoch=7, epochs=30, cycles=cycles, mode=mode)
    assert default.total_size == explicit.total_size
