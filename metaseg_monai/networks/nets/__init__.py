from metaseg_monai.networks.blocks.conditioning import CONDITIONINGS
from metaseg_monai.networks.nets.meta_unet import PRESETS, MetaUNet
from metaseg_monai.networks.nets.metadata_conditioned import MetadataConditioned, default_stages
from metaseg_monai.networks.nets.monai_networks import MONAI_FAMILIES, min_input_size, monai_network
from metaseg_monai.networks.nets.multi_head_unet import MultiHeadUNet

__all__ = [
    "CONDITIONINGS",
    "MONAI_FAMILIES",
    "PRESETS",
    "MetaUNet",
    "MetadataConditioned",
    "MultiHeadUNet",
    "default_stages",
    "min_input_size",
    "monai_network",
]
