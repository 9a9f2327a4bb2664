"""What ``configs/multi_gpu_train.json`` calls to train one bundle on several processes started by ``torchrun``.

MONAI's zoo bundles hard-code NCCL and ``cuda:LOCAL_RANK`` in that config and slice the reporting handlers off
``train#handlers`` by position (``[: -2 if dist.get_rank() > 0 else None]``). Here the process group's backend
follows the machine (NCCL with CUDA, gloo on the CPU, logged), DDP gets ``device_ids`` only where it takes them,
and the handlers that only report (progress bar, console and TensorBoard logs, MLflow) are dropped on ranks above
0 by type, so a bundle or a user may add handlers in any order. The checkpoint and report writers of this package
stay on every rank: they write on rank 0 themselves (:class:`~metaseg_monai.handlers.AtomicDiskSaver`) and keep
the same state everywhere, which resuming needs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["REPORTING_HANDLERS", "ddp_device_ids", "distributed_device", "handlers_for_rank"]

logger = logging.getLogger(__name__)

#: class names of handlers that only report; ranks above 0 drop them (every rank would print or log the same)
REPORTING_HANDLERS = (
    "ProgressBar",
    "StatsHandler",
    "TensorBoardStatsHandler",
    "TensorBoardImageHandler",
    "MLFlowHandler",
    "ClearMLStatsHandler",
    "ClearMLImageHandler",
)


def distributed_device(backend: str | None = None) -> torch.device:
    """Join the process group ``torchrun`` set up and return this process's device.

    Args:
        backend: ``"nccl"``, ``"gloo"``, or None for NCCL where CUDA is available and gloo (on the CPU) where not.

    Returns:
        ``cuda:LOCAL_RANK`` (made the current CUDA device) with CUDA, else ``cpu``.

    Raises:
        RuntimeError: not started by ``torchrun`` (no ``LOCAL_RANK``/``WORLD_SIZE`` in the environment), or more
            processes on this node than CUDA devices.
    """
    missing = [k for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE") if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"configs/multi_gpu_train.json runs under torchrun, which sets {', '.join(missing)}; start it as "
            "`torchrun --standalone --nproc_per_node N -m monai.bundle run --config_file "
            "\"['configs/train.json', 'configs/multi_gpu_train.json']\"`."
        )
    local_rank = int(os.environ["LOCAL_RANK"])
    use_cuda = torch.cuda.is_available() if backend is None else backend == "nccl"
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK {local_rank} has no CUDA device: this node has {torch.cuda.device_count()}; "
                "give torchrun at most that many processes per node (--nproc_per_node)."
            )
        device = torch.device(f"cuda:{local_rank}")
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    chosen = backend or ("nccl" if use_cuda else "gloo")
    if not dist.is_initialized():
        dist.init_process_group(backend=chosen)
    if dist.get_rank() == 0 and not use_cuda:
        logger.info(
            "CUDA is not available: distributed training on the CPU with the gloo backend (%d processes).",
            dist.get_world_size(),
        )
    return device


def ddp_device_ids(device: torch.device | str) -> list[torch.device] | None:
    """``DistributedDataParallel``'s ``device_ids``: the one CUDA device, or None on the CPU (DDP refuses a list
    there)."""
    device = torch.device(device)
    return [device] if device.type == "cuda" else None


def handlers_for_rank(handlers: Sequence[Any] | None, rank: int | None = None) -> list[Any] | None:
    """``handlers`` without the reporting ones (:data:`REPORTING_HANDLERS`) on ranks above 0.

    Args:
        handlers: an engine's handler list (``train#handlers``, ``validate#handlers``), or None.
        rank: the process's rank; None reads it from the process group (0 without one).
    """
    if handlers is None:
        return None
    if rank is None:
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    if rank == 0:
        return list(handlers)
    return [h for h in handlers if not any(c.__name__ in REPORTING_HANDLERS for c in type(h).__mro__)]
