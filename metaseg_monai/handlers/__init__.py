"""Ignite handlers for the bundles: resume after a kill, atomic checkpoints, the metadata spec beside the weights,
early stopping on a validation metric, the evaluation report writer."""

from metaseg_monai.handlers.checkpoint import (
    DEFAULT_CHECKPOINT_PATTERN,
    VALIDATION_STATE_KEY,
    AtomicCheckpointSaver,
    AtomicDiskSaver,
    ResumeFromLatestCheckpoint,
    find_latest_checkpoint,
    resumable_checkpoint_handlers,
)
from metaseg_monai.handlers.early_stopping import ValidationEarlyStopping
from metaseg_monai.handlers.metadata_spec_saver import SPEC_FILENAME, MetadataSpecSaver
from metaseg_monai.handlers.segmentation_report import MULTI_CLASS_F1, SegmentationReportWriter, existing_report_files

__all__ = [
    "DEFAULT_CHECKPOINT_PATTERN",
    "MULTI_CLASS_F1",
    "SPEC_FILENAME",
    "VALIDATION_STATE_KEY",
    "AtomicCheckpointSaver",
    "AtomicDiskSaver",
    "MetadataSpecSaver",
    "ResumeFromLatestCheckpoint",
    "SegmentationReportWriter",
    "ValidationEarlyStopping",
    "existing_report_files",
    "find_latest_checkpoint",
    "resumable_checkpoint_handlers",
]
