"""Training engines beyond MONAI's: the Siamese temporal-consistency trainer."""

from metaseg_monai.engines.consistency_trainer import CONSISTENCY_SCHEDULES, ConsistencyTrainer, ScheduledBatches

__all__ = ["CONSISTENCY_SCHEDULES", "ConsistencyTrainer", "ScheduledBatches"]
