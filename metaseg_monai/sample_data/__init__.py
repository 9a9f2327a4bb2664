"""Generated sample data in the public dataset layouts (``metaseg sample-data``), restyled copies, shape switches."""

from metaseg_monai.sample_data.annotation_styles import write_styled_copy
from metaseg_monai.sample_data.registry import SAMPLE_DATA_KINDS, generate_sample_data
from metaseg_monai.sample_data.shape_switch import SHAPE_SWITCH_FIELDS, make_shape_switch_samples

__all__ = [
    "SAMPLE_DATA_KINDS",
    "SHAPE_SWITCH_FIELDS",
    "generate_sample_data",
    "make_shape_switch_samples",
    "write_styled_copy",
]
