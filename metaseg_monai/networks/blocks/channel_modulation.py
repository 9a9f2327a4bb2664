"""Helpers shared by every block that modulates feature maps channel by channel from a (B, K) vector."""

import torch

__all__ = ["channel_affine", "check_metadata"]


def channel_affine(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
    """Apply per-sample, per-channel ``x * scale + shift``.

    Args:
        x: feature maps, shape (B, C, spatial_1[, spatial_2, ...]).
        scale: shape (B, C).
        shift: shape (B, C), or None for a scale only.

    Returns:
        a tensor shaped like ``x``.
    """
    shape = list(scale.shape) + [1] * (x.dim() - 2)
    out = x * scale.reshape(shape)
    if shift is not None:
        out = out + shift.reshape(shape)
    return out


def check_metadata(metadata: torch.Tensor, batch_size: int, metadata_dim: int, check_finite: bool = True) -> None:
    """Raise a ``ValueError`` unless ``metadata`` is a finite float tensor of shape (batch_size, metadata_dim).

    ``check_finite`` reads the values back (a device synchronisation on GPU), so networks call it once per forward
    pass rather than in every block.
    """
    if metadata.dim() != 2 or metadata.shape[0] != batch_size or metadata.shape[1] != metadata_dim:
        raise ValueError(
            f"metadata must have shape (batch={batch_size}, metadata_dim={metadata_dim}), got {list(metadata.shape)}."
        )
    if not metadata.is_floating_point():
        raise ValueError(f"metadata must be a floating point tensor, got dtype {metadata.dtype}.")
    if check_finite and not bool(torch.isfinite(metadata).all()):
        raise ValueError("metadata contains NaN or infinite values; encode missing values explicitly instead.")
