"""Start a network from the weights of an earlier training (the Siamese paper's stage 1 from stage 0's model).

MONAI's ``CheckpointLoader`` is an engine handler: attached after the resume handler it would overwrite the
weights of an interrupted run resumed from its own checkpoint. Loading when the network is built comes first, so
a resume still wins.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["load_initial_weights"]


def load_initial_weights(
    network: torch.nn.Module, path: str | os.PathLike | None, key: str = "model", hint: str = ""
) -> torch.nn.Module:
    """Load ``path`` (a checkpoint holding ``{key: state_dict}``, or a bare state dict) into ``network``; return it.

    Args:
        network: the freshly built network.
        path: the checkpoint, or None to leave the network as built.
        key: the checkpoint's entry holding the weights (the bundles save ``{"model": ...}``).
        hint: what to do when the file is missing, added to the error (e.g. ``"train stage 0 first"``).

    Raises:
        FileNotFoundError: ``path`` does not exist. ValueError: the checkpoint has neither ``key`` nor the
            network's parameter names, or its shapes differ (torch's message, with the file named).
    """
    if path is None:
        return network
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"initial weights '{path}' not found" + (f": {hint}." if hint else "."))
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get(key, checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"initial weights '{path}' hold no state dict under '{key}' (found {type(checkpoint)}).")
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"initial weights '{path}' do not fit the network: {err}") from err
    return network
