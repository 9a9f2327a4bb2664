from metaseg_monai.data.shape_switch import SHAPE_SWITCH_FIELDS, make_shape_switch_samples

__all__ = ["SHAPE_SWITCH_FIELDS", "make_shape_switch_samples"]
