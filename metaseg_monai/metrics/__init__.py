"""Evaluation metrics and the evaluation report writer used by the bundles' ``evaluate.json``."""

from metaseg_monai.metrics.class_overlay import CLASS_COLOURS, class_colour, compose_panels, overlay_classes
from metaseg_monai.metrics.metadata_sweep import sweep_metadata, write_sweep_figure
from metaseg_monai.metrics.pixel_scores import (
    FALSE_NEGATIVE_COLOUR,
    FALSE_POSITIVE_COLOUR,
    TRUE_POSITIVE_COLOUR,
    confusion_counts,
    f1_dice_from_counts,
    overlay_errors,
    paired_wilcoxon,
    summarize_scores,
)
from metaseg_monai.metrics.report import MULTI_CLASS_F1, SegmentationReportWriter

__all__ = [
    "CLASS_COLOURS",
    "FALSE_NEGATIVE_COLOUR",
    "FALSE_POSITIVE_COLOUR",
    "MULTI_CLASS_F1",
    "TRUE_POSITIVE_COLOUR",
    "SegmentationReportWriter",
    "class_colour",
    "compose_panels",
    "confusion_counts",
    "f1_dice_from_counts",
    "overlay_classes",
    "overlay_errors",
    "paired_wilcoxon",
    "summarize_scores",
    "sweep_metadata",
    "write_sweep_figure",
]
