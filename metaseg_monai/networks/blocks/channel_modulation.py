"""Helpers shared by every block that modulates feature maps channel by channel from a (B, K) vector."""

import torch

__all__ = ["channel_affine", "check_metadata", "checked_metadata"]


class _ChannelAffine(torch.autograd.Function):
    """``x * scale + shift`` per sample and channel, with a backward that allocates one feature map, not two.

    On CPU a fresh feature map costs about as much as the pass that fills it (its pages are faulted in anew each
    time), so the backward computes ``grad * x`` (summed over space for the scale's gradient) into the buffer that
    then receives ``grad * scale``, the input's gradient, and the forward adds the shift in place into the product.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor | None) -> torch.Tensor:
        shape = list(scale.shape) + [1] * (x.dim() - 2)
        out = x * scale.view(shape)
        if shift is not None:
            out.add_(shift.view(shape))
        ctx.save_for_backward(x, scale)
        ctx.has_shift = shift is not None
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, scale = ctx.saved_tensors
        shape = list(scale.shape) + [1] * (x.dim() - 2)
        spatial = tuple(range(2, x.dim()))
        grad_x = grad_scale = grad_shift = None
        if ctx.needs_input_grad[1]:
            buffer = torch.mul(grad, x)
            grad_scale = buffer.sum(spatial)
            if ctx.needs_input_grad[0]:
                grad_x = torch.mul(grad, scale.view(shape), out=buffer)
        elif ctx.needs_input_grad[0]:
            grad_x = grad * scale.view(shape)
        if ctx.has_shift and ctx.needs_input_grad[2]:
            grad_shift = grad.sum(spatial)
        return grad_x, grad_scale, grad_shift


def channel_affine(
    x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor | None = None, inplace: bool = False
) -> torch.Tensor:
    """Apply per-sample, per-channel ``x * scale + shift``.

    Args:
        x: feature maps, shape (B, C, spatial_1[, spatial_2, ...]).
        scale: shape (B, C).
        shift: shape (B, C), or None for a scale only.
        inplace: write the result into ``x`` when autograd records nothing (inference), saving a feature map's
            allocation; for callers that own ``x`` (a stage's fresh output). Ignored while gradients are recorded.

    Returns:
        a tensor shaped like ``x`` (``x`` itself when written in place).
    """
    recording = torch.is_grad_enabled() and (
        x.requires_grad or scale.requires_grad or (shift is not None and shift.requires_grad)
    )
    if inplace and not recording:
        shape = list(scale.shape) + [1] * (x.dim() - 2)
        x.mul_(scale.view(shape).to(x.dtype))
        if shift is not None:
            x.add_(shift.view(shape).to(x.dtype))
        return x
    if torch.jit.is_scripting():
        shape = list(scale.shape) + [1] * (x.dim() - 2)
        out = x * scale.view(shape)
        if shift is not None:
            out = out + shift.view(shape)
        return out
    else:
        return _ChannelAffine.apply(x, scale, shift)


def _can_read_values() -> bool:
    """False while ``torch.export`` or ``torch.compile`` trace, where a branch on tensor values cannot be taken."""
    if torch.jit.is_scripting():
        return True
    else:
        return not torch.compiler.is_compiling()


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
    if check_finite and _can_read_values() and not bool(torch.isfinite(metadata).all()):
        raise ValueError("metadata contains NaN or infinite values; encode missing values explicitly instead.")


def checked_metadata(
    x: torch.Tensor, metadata: torch.Tensor | None, owner: str, metadata_dim: int, requires_metadata: bool
) -> torch.Tensor:
    """The metadata a conditioned network's blocks read, checked once per forward pass.

    Args:
        x: the network's input (B, C, *spatial); gives the batch size and the dtype.
        metadata: (B, metadata_dim), or None where the conditioning ignores it.
        owner: how errors name the network, e.g. ``"MetaUNet(conditioning='sme')"``.
        metadata_dim: the expected width; 0 skips the check (a network that reads no metadata).
        requires_metadata: whether None is an error.

    Returns:
        ``metadata`` in ``x``'s dtype, or an empty (B, 0) tensor when it is None and not required.
    """
    b = x.shape[0]
    if metadata is None:
        if requires_metadata:
            raise ValueError(f"{owner} needs metadata of shape (batch={b}, metadata_dim={metadata_dim}), got None.")
        return x.new_zeros((b, 0))
    if metadata_dim > 0:
        check_metadata(metadata, b, metadata_dim)
    return metadata.to(x.dtype)
