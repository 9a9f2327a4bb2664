"""Run any MONAI inferer on a network that takes metadata, giving every window or slice its own sample's metadata."""

from collections.abc import Callable
from typing import Any

import torch
from monai.inferers import Inferer, SimpleInferer

__all__ = ["MetadataInferer"]


class MetadataInferer(Inferer):
    """Wrap a MONAI inferer so that ``network(x, metadata)`` receives the right metadata for every window.

    MONAI's ``SlidingWindowInferer`` forwards extra arguments unchanged to window batches that may mix samples (and
    have ``sw_batch_size`` rows, not B), and ``SliceInferer`` in MONAI 1.5+ drops them altogether. This wrapper runs
    the wrapped inferer one sample at a time with a closure that expands that sample's metadata to each window batch.
    ``SimpleInferer`` needs no such care and is called once on the whole batch.

    Args:
        inferer: the MONAI inferer to wrap (``SimpleInferer``, ``SlidingWindowInferer``, ``SliceInferer``, ...);
            defaults to ``SimpleInferer()``.

    Call: ``inferer(inputs, network, metadata, *args, **kwargs)`` with ``inputs`` (B, C, *spatial) and ``metadata``
    (B, M), as MONAI's engines do with ``PrepareBatchExtraInput("metadata")``. With ``metadata=None`` the wrapped
    inferer is called unchanged. Returns the wrapped inferer's output, concatenated over samples (tensor outputs).
    """

    def __init__(self, inferer: Inferer | None = None) -> None:
        super().__init__()
        self.inferer = inferer if inferer is not None else SimpleInferer()

    def __call__(
        self,
        inputs: torch.Tensor,
        network: Callable[..., torch.Tensor],
        metadata: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        if metadata is None:
            return self.inferer(inputs, network, *args, **kwargs)
        if metadata.dim() != 2 or metadata.shape[0] != inputs.shape[0]:
            raise ValueError(
                f"metadata must have shape (batch={inputs.shape[0]}, metadata_dim), got {list(metadata.shape)}."
            )
        if isinstance(self.inferer, SimpleInferer):
            return self.inferer(inputs, network, metadata, *args, **kwargs)
        outputs = []
        for i in range(inputs.shape[0]):
            sample_metadata = metadata[i : i + 1]

            def sample_network(x: torch.Tensor, *a: Any, _m: torch.Tensor = sample_metadata, **k: Any) -> torch.Tensor:
                return network(x, _m.expand(x.shape[0], -1), *a, **k)

            outputs.append(self.inferer(inputs[i : i + 1], sample_network, *args, **kwargs))
        return torch.cat(outputs, dim=0)
