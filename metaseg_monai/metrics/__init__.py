"""Evaluation metrics: per-image pixel scores, their summaries, the paired Wilcoxon test and the metadata sweep."""

from metaseg_monai.metrics.metadata_sweep import sweep_metadata
from metaseg_monai.metrics.pixel_scores import (
    confusion_counts,
    f1_dice_from_counts,
    paired_wilcoxon,
    summarize_scores,
)

__all__ = [
    "confusion_counts",
    "f1_dice_from_counts",
    "paired_wilcoxon",
    "summarize_scores",
    "sweep_metadata",
]
