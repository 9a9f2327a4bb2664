"""Losses."""

from metaseg_monai.losses.temporal_consistency import CONSISTENCY_MODES, TemporalConsistencyLoss

__all__ = ["CONSISTENCY_MODES", "TemporalConsistencyLoss"]
