"""Evaluation metrics and the evaluation report writer used by the bundles' ``evaluate.json``."""

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
from metaseg_monai.metrics.report import SegmentationReportWriter

__all__ = [
    "FALSE_NEGATIVE_COLOUR",
    "FALSE_POSITIVE_COLOUR",
    "TRUE_POSITIVE_COLOUR",
    "SegmentationReportWriter",
    "confusion_counts",
    "f1_dice_from_counts",
    "overlay_errors",
    "paired_wilcoxon",
    "summarize_scores",
]
