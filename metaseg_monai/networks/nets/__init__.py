from metaseg_monai.networks.nets.meta_unet import CONDITIONINGS, PRESETS, MetaUNet
from metaseg_monai.networks.nets.multi_head_unet import MultiHeadUNet

__all__ = ["CONDITIONINGS", "PRESETS", "MetaUNet", "MultiHeadUNet"]
