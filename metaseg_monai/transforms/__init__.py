"""Transforms for metadata-conditioned segmentation."""

from metaseg_monai.transforms.heads import RouteByTaskd, SelectHeadd, task_of
from metaseg_monai.transforms.metadata import (
    ENCODE_MODES,
    SWAPPED_FIELD_KEY,
    SWAPPED_KEY,
    CategoricalField,
    ContinuousField,
    EncodeMetadatad,
    MetadataSpec,
    sample_id_of,
    swap_metadata,
)
from metaseg_monai.transforms.polygon import PolygonizeMaskd, count_polygon_vertices, polygonize_mask
from metaseg_monai.transforms.slices import (
    VolumeSliceDataset,
    iter_volume_slices,
    slices_containing,
    stack_slices,
    take_slices,
    volume_slices_datalist,
)

__all__ = [
    "ENCODE_MODES",
    "SWAPPED_FIELD_KEY",
    "SWAPPED_KEY",
    "CategoricalField",
    "ContinuousField",
    "EncodeMetadatad",
    "MetadataSpec",
    "PolygonizeMaskd",
    "RouteByTaskd",
    "SelectHeadd",
    "VolumeSliceDataset",
    "count_polygon_vertices",
    "iter_volume_slices",
    "polygonize_mask",
    "sample_id_of",
    "slices_containing",
    "stack_slices",
    "swap_metadata",
    "take_slices",
    "task_of",
    "volume_slices_datalist",
]
