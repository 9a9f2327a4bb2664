"""Checks of a network and of output folders that run before any work, so that a wrong override fails at once."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from metaseg_monai.utils.checks import is_int_at_least

__all__ = ["check_metadata_width", "check_output_dir"]


def check_metadata_width(network: torch.nn.Module, metadata_dim: int, where: str = "") -> torch.nn.Module:
    """Check that ``network`` expects metadata vectors of width ``metadata_dim`` (the encoder's
    ``spec.num_features``, i.e. what ``EncodeMetadatad`` will feed it); return the network.

    The width is read from the network's ``metadata_dim`` attribute (``MetaUNet``, ``MultiHeadUNet``), looking
    through ``.module`` wrappers (``DataParallel``/``DistributedDataParallel``). A network whose conditioning
    ignores metadata and that was built with ``metadata_dim=0`` passes for any width (it never reads the vector).

    Args:
        network: the network to train or evaluate.
        metadata_dim: width of the encoded metadata vector, e.g. ``EncodeMetadatad(...).spec.num_features``.
        where: where the mismatch comes from (e.g. ``"configs/train.json"``), added to the message.

    Raises:
        ValueError: the widths differ; names both and how to fix it.
        TypeError: the network declares no ``metadata_dim``.
    """
    if not is_int_at_least(metadata_dim, 0):
        raise ValueError(f"metadata_dim must be a non-negative integer, got {metadata_dim!r}.")
    net = network
    while not hasattr(net, "metadata_dim") and isinstance(getattr(net, "module", None), torch.nn.Module):
        net = net.module
    declared = getattr(net, "metadata_dim", None)
    if declared is None:
        raise TypeError(
            f"{type(network).__name__} declares no `metadata_dim`, so its metadata width cannot be checked; "
            "use MetaUNet/MultiHeadUNet or give the network a `metadata_dim` attribute."
        )
    if declared == metadata_dim or (declared == 0 and not getattr(net, "requires_metadata", True)):
        return network
    suffix = f" ({where})" if where else ""
    raise ValueError(
        f"The network expects metadata vectors of width {declared} (metadata_dim={declared}) but the metadata "
        f"encoder produces width {metadata_dim} (its spec's num_features){suffix}. Build the network with "
        f"metadata_dim={metadata_dim} (e.g. set it from the spec's num_features), or change the metadata fields/"
        "categories back to match the network."
    )


def check_output_dir(output_dir: str | os.PathLike, input_dir: str | os.PathLike, name: str = "output_dir") -> str:
    """Return ``output_dir`` if writing there cannot touch ``input_dir``, else raise a ValueError.

    Refuses an output folder that is the input folder or lies inside it (a run writes masks, logs and checkpoints
    there; users' data is never written into). Both paths are resolved (symlinks, ``..``) before comparing.
    """
    out, inp = Path(output_dir).resolve(), Path(input_dir).resolve()
    if out == inp or inp in out.parents:
        raise ValueError(
            f"{name} '{output_dir}' is, or lies inside, the input folder '{input_dir}'; choose a folder outside it so "
            "that no input file can be overwritten."
        )
    return str(output_dir)
