"""Ignite handlers for the bundles: resume after a kill, atomic checkpoints, the metadata spec beside the weights,
early stopping on a validation metric, the evaluation report writers (images, videos), the bundle's settings and
model in an MLflow run."""

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
from metaseg_monai.handlers.mlflow_recorder import MLFlowBundleRecorder, tracking_params
from metaseg_monai.handlers.segmentation_report import MULTI_CLASS_F1, SegmentationReportWriter, existing_report_files
from metaseg_monai.handlers.video_report import VIDEO_SCORES, VideoReportWriter, read_video_metrics

__all__ = [
    "DEFAULT_CHECKPOINT_PATTERN",
    "MULTI_CLASS_F1",
    "SPEC_FILENAME",
    "VALIDATION_STATE_KEY",
    "VIDEO_SCORES",
    "AtomicCheckpointSaver",
    "AtomicDiskSaver",
    "MLFlowBundleRecorder",
    "MetadataSpecSaver",
    "ResumeFromLatestCheckpoint",
    "SegmentationReportWriter",
    "ValidationEarlyStopping",
    "VideoReportWriter",
    "existing_report_files",
    "find_latest_checkpoint",
    "read_video_metrics",
    "resumable_checkpoint_handlers",
    "tracking_params",
]
