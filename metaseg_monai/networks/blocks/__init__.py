from metaseg_monai.networks.blocks.channel_modulation import channel_affine, check_metadata
from metaseg_monai.networks.blocks.conditioning import CONDITIONINGS, check_conditioning, conditioning_block
from metaseg_monai.networks.blocks.film import FiLMBlock, FiLMGenerator, FiLMLayer
from metaseg_monai.networks.blocks.metadata_se import MODULATIONS, SE_MODES, MetadataSEBlock

__all__ = [
    "CONDITIONINGS",
    "MODULATIONS",
    "SE_MODES",
    "FiLMBlock",
    "FiLMGenerator",
    "FiLMLayer",
    "MetadataSEBlock",
    "channel_affine",
    "check_conditioning",
    "check_metadata",
    "conditioning_block",
]
