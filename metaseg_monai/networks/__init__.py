from metaseg_monai.networks.blocks import FiLMBlock, FiLMGenerator, FiLMLayer, MetadataSEBlock
from metaseg_monai.networks.initial_weights import load_initial_weights
from metaseg_monai.networks.nets import CONDITIONINGS, PRESETS, MetaUNet, MultiHeadUNet

__all__ = [
    "CONDITIONINGS",
    "PRESETS",
    "FiLMBlock",
    "FiLMGenerator",
    "FiLMLayer",
    "MetaUNet",
    "MetadataSEBlock",
    "MultiHeadUNet",
    "load_initial_weights",
]
