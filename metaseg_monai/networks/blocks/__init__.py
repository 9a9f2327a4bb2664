from metaseg_monai.networks.blocks.channel_modulation import channel_affine, check_metadata
from metaseg_monai.networks.blocks.conditioning import conditioning_block
from metaseg_monai.networks.blocks.film import FiLMBlock, FiLMGenerator, FiLMLayer
from metaseg_monai.networks.blocks.metadata_se import MODULATIONS, SE_MODES, MetadataSEBlock

__all__ = [
    "MODULATIONS",
    "SE_MODES",
    "FiLMBlock",
    "FiLMGenerator",
    "FiLMLayer",
    "MetadataSEBlock",
    "channel_affine",
    "check_metadata",
    "conditioning_block",
]
