"""Evaluation metrics: per-image pixel scores, their summaries, the paired Wilcoxon test, the metadata sweep, object
matching (StarDist, DSB 2018, CTC SEG) and temporal consistency of predicted videos."""

from metaseg_monai.metrics.instance_matching import (
    ctc_seg,
    ctc_seg_jaccards,
    dsb2018_image_score,
    dsb2018_score,
    instance_matching,
)
from metaseg_monai.metrics.metadata_sweep import sweep_metadata
from metaseg_monai.metrics.pixel_scores import (
    confusion_counts,
    f1_dice_from_counts,
    paired_wilcoxon,
    summarize_scores,
)
from metaseg_monai.metrics.temporal import (
    VideoScorer,
    frame_statistics,
    pool_video_scores,
    score_video,
    temporal_consistency,
)

__all__ = [
    "VideoScorer",
    "confusion_counts",
    "ctc_seg",
    "ctc_seg_jaccards",
    "dsb2018_image_score",
    "dsb2018_score",
    "f1_dice_from_counts",
    "frame_statistics",
    "instance_matching",
    "paired_wilcoxon",
    "pool_video_scores",
    "score_video",
    "summarize_scores",
    "sweep_metadata",
    "temporal_consistency",
]
