"""The consistency loss between the segmentations of two consecutive video frames (Siamese temporal consistency)."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.losses import DiceLoss

__all__ = ["CONSISTENCY_MODES", "TemporalConsistencyLoss"]

CONSISTENCY_MODES = ("dice", "area")


class TemporalConsistencyLoss(nn.Module):
    """How different the foreground of frame t and frame t+1 is, from the network's logits of both.

    - ``"dice"`` (the paper): soft Dice between the two foreground probability maps,
      ``1 - (2 sum(a b) + s) / (sum(a) + sum(b) + s)`` with ``s = smooth`` (MONAI's ``DiceLoss`` with the second
      frame's probabilities as a soft target).
    - ``"area"``: ``|sum(a) - sum(b)| / (sum(a) + sum(b) + s)``, for objects that move too far between frames to
      overlap (the paper's closing suggestion): only the total foreground must persist.

    With ``batch=True`` (the authors' code) the sums run over the whole batch, one ratio per batch; with False, one
    per pair, averaged.

    As the paper's soft Dice, the ``"dice"`` loss is not 0 when two soft maps agree (0.5 where both are 0.5): it
    also pulls the probabilities towards 0 or 1. It is 0 for two identical binary maps.

    Gradients flow through both frames (the Siamese setup); ``detach_second=True`` treats frame t+1 as a fixed
    target.

    Args:
        activation: ``"softmax"`` (multi-channel logits; the foreground is ``foreground_channel``) or ``"sigmoid"``
            (one channel of logits).
        foreground_channel: the channel of the foreground after the softmax.
        mode: one of :data:`CONSISTENCY_MODES`.
        detach_second: stop the gradient through frame t+1.
        smooth: ``s`` above; the authors' code uses 1.
        batch: sum over the batch before the ratio (see above).

    Shapes: ``logits_t``, ``logits_t1``: (B, C, *spatial), the same; returns a scalar.
    """

    def __init__(
        self,
        activation: str = "softmax",
        foreground_channel: int = 1,
        mode: str = "dice",
        detach_second: bool = False,
        smooth: float = 1.0,
        batch: bool = True,
    ):
        super().__init__()
        if activation not in ("softmax", "sigmoid"):
            raise ValueError(f"activation must be 'softmax' or 'sigmoid', got {activation!r}.")
        if mode not in CONSISTENCY_MODES:
            raise ValueError(f"mode must be one of {CONSISTENCY_MODES}, got {mode!r}.")
        if smooth <= 0:
            raise ValueError(f"smooth must be > 0 (two empty frames would give 0 / 0), got {smooth}.")
        self.activation, self.foreground_channel, self.mode = activation, int(foreground_channel), mode
        self.detach_second, self.smooth, self.batch = bool(detach_second), float(smooth), bool(batch)
        self.dice = DiceLoss(
            include_background=True, smooth_nr=self.smooth, smooth_dr=self.smooth, batch=self.batch, reduction="mean"
        )

    def foreground(self, logits: torch.Tensor) -> torch.Tensor:
        """Foreground probabilities (B, 1, *spatial) from logits (B, C, *spatial)."""
        if self.activation == "sigmoid":
            if logits.shape[1] != 1:
                raise ValueError(f"sigmoid consistency needs one channel of logits, got {logits.shape[1]}.")
            return torch.sigmoid(logits)
        if not 0 <= self.foreground_channel < logits.shape[1]:
            raise ValueError(f"foreground_channel {self.foreground_channel} is not a channel of {logits.shape[1]}.")
        return torch.softmax(logits, dim=1)[:, self.foreground_channel : self.foreground_channel + 1]

    def forward(self, logits_t: torch.Tensor, logits_t1: torch.Tensor) -> torch.Tensor:
        if logits_t.shape != logits_t1.shape:
            raise ValueError(
                f"the two frames' logits differ in shape: {tuple(logits_t.shape)}, {tuple(logits_t1.shape)}."
            )
        a, b = self.foreground(logits_t), self.foreground(logits_t1)
        if self.detach_second:
            b = b.detach()
        if self.mode == "dice":
            return self.dice(a, b)
        dims = tuple(range(0 if self.batch else 1, a.dim()))
        area_a, area_b = a.sum(dims), b.sum(dims)
        return ((area_a - area_b).abs() / (area_a + area_b + self.smooth)).mean()
