"""The metadata-SE paper's cyclic learning-rate schedule, stepped every iteration."""

from __future__ import annotations

import math
from fractions import Fraction

import torch

from metaseg_monai.utils.checks import is_int_at_least

__all__ = ["CYCLIC_MODES", "DEFAULT_CYCLES", "paper_cyclic_lr"]

CYCLIC_MODES = ("triangular", "triangular2")
DEFAULT_CYCLES = {"triangular": 8, "triangular2": 7.5}  # the paper's 8 cycles; the authors' code's 15 half-cycles


def paper_cyclic_lr(
    optimizer: torch.optim.Optimizer,
    steps_per_epoch: int,
    epochs: int,
    base_lr: float = 2e-4,
    max_lr: float = 8e-4,
    cycles: float | None = None,
    mode: str = "triangular",
) -> torch.optim.lr_scheduler.CyclicLR:
    """Cyclic learning rate of Plutenko et al. (metadata-SE, MICCAI DART 2023), to be stepped every iteration.

    The learning rate rises linearly from ``base_lr`` to ``max_lr`` and back, ``cycles`` full cycles over the
    ``steps_per_epoch * epochs`` iterations of the run, i.e. ``step_size_up = steps_per_epoch * epochs // (2 *
    cycles)`` (at least 1) and ``step_size_down = step_size_up``. ``cycle_momentum=False`` because the paper
    trains with Adam, which has no ``momentum`` entry to cycle.

    - ``mode="triangular"`` (default): the paper's text, a constant amplitude, 8 cycles.
    - ``mode="triangular2"``: the authors' code (``akvilonBrown/sme-metadata``), which halves the amplitude
      every cycle and uses ``step_size_up = steps * num_epochs // 15`` ("15 half-cycles"). Reproduce that exactly
      with ``mode="triangular2"`` (its default ``cycles=7.5``): ``total // (2 * 7.5) == total // 15``.

    In a MONAI workflow step it per iteration with
    ``monai.handlers.LrScheduleHandler(lr_scheduler, epoch_level=False)``.

    Args:
        optimizer: the optimizer whose parameter groups get the schedule (its current ``lr`` is overwritten
            with ``base_lr`` on construction, as ``CyclicLR`` does).
        steps_per_epoch: iterations per epoch (``len(train_loader)``), >= 1.
        epochs: number of epochs of the run, >= 1.
        base_lr: lower learning-rate bound, > 0.
        max_lr: upper learning-rate bound, >= ``base_lr``.
        cycles: full cycles (up and down) over the run, > 0; may be fractional (7.5 = 15 half-cycles). ``None``:
            the mode's own (:data:`DEFAULT_CYCLES`: 8 for ``triangular``, 7.5 for ``triangular2``).
        mode: one of :data:`CYCLIC_MODES`.

    Returns:
        a ``torch.optim.lr_scheduler.CyclicLR``; its ``state_dict`` loads with ``torch.load(weights_only=True)``.

    Raises:
        ValueError: for a non-positive ``steps_per_epoch``/``epochs``/``cycles``/``base_lr``, ``max_lr <
            base_lr`` or an unknown ``mode``.
    """
    for name, value in (("steps_per_epoch", steps_per_epoch), ("epochs", epochs)):
        if not is_int_at_least(value, 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if mode not in CYCLIC_MODES:
        raise ValueError(f"mode must be one of {CYCLIC_MODES}, got {mode!r}.")
    cycles = DEFAULT_CYCLES[mode] if cycles is None else cycles
    if not (isinstance(cycles, (int, float)) and math.isfinite(cycles) and cycles > 0):
        raise ValueError(f"cycles must be a positive finite number of full cycles (e.g. 8, or 7.5), got {cycles!r}.")
    if not (math.isfinite(base_lr) and base_lr > 0):
        raise ValueError(f"base_lr must be a positive finite number, got {base_lr!r}.")
    if not (math.isfinite(max_lr) and max_lr >= base_lr):
        raise ValueError(f"max_lr must be a finite number >= base_lr ({base_lr}), got {max_lr!r}.")
    total_steps = steps_per_epoch * epochs
    # exact rational floor so that cycles=7.5 gives exactly the authors' `total // 15`
    step_size_up = max(1, math.floor(Fraction(total_steps) / (2 * Fraction(cycles))))
    return torch.optim.lr_scheduler.CyclicLR(
        optimizer,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        mode=mode,
        cycle_momentum=False,
    )
