"""Training utilities for the bundles: the paper's LR schedule, resume after a kill, pre-flight checks."""

from metaseg_monai.engines.preflight import (
    check_choice,
    check_metadata_width,
    check_output_dir,
    check_validation_schedule,
)
from metaseg_monai.engines.resume import (
    DEFAULT_CHECKPOINT_PATTERN,
    AtomicCheckpointSaver,
    ResumeFromLatestCheckpoint,
    find_latest_checkpoint,
    resumable_checkpoint_handlers,
)
from metaseg_monai.engines.schedules import CYCLIC_MODES, paper_cyclic_lr

__all__ = [
    "CYCLIC_MODES",
    "DEFAULT_CHECKPOINT_PATTERN",
    "AtomicCheckpointSaver",
    "ResumeFromLatestCheckpoint",
    "check_choice",
    "check_metadata_width",
    "check_output_dir",
    "check_validation_schedule",
    "find_latest_checkpoint",
    "paper_cyclic_lr",
    "resumable_checkpoint_handlers",
]
