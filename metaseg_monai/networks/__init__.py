from metaseg_monai.networks.blocks import FiLMBlock, FiLMGenerator, FiLMLayer, MetadataSEBlock
from metaseg_monai.networks.initial_weights import load_initial_weights
from metaseg_monai.networks.nets import (
    CONDITIONINGS,
    MONAI_FAMILIES,
    PRESETS,
    MetadataConditioned,
    MetaUNet,
    MultiHeadUNet,
    default_stages,
    min_input_size,
    monai_network,
)

__all__ = [
    "CONDITIONINGS",
    "MONAI_FAMILIES",
    "PRESETS",
    "FiLMBlock",
    "FiLMGenerator",
    "FiLMLayer",
    "MetaUNet",
    "MetadataConditioned",
    "MetadataSEBlock",
    "MultiHeadUNet",
    "default_stages",
    "load_initial_weights",
    "min_input_size",
    "monai_network",
]
