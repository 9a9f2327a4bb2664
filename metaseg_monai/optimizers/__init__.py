"""Learning-rate schedules: the metadata-SE paper's cyclic learning rate, stepped every iteration."""

from metaseg_monai.optimizers.lr_scheduler import CYCLIC_MODES, paper_cyclic_lr

__all__ = ["CYCLIC_MODES", "paper_cyclic_lr"]
