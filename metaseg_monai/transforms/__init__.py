"""Transforms for metadata-conditioned segmentation."""

from metaseg_monai.transforms.grey import COLOUR_CHANNELS, ToGrey, ToGreyd, grey_channel
from metaseg_monai.transforms.heads import ClassIndexLabeld, ForegroundOfTaskd, RouteByTaskd, SelectHeadd, task_of
from metaseg_monai.transforms.instances import (
    BinaryOpening,
    BinaryOpeningd,
    ConnectedComponents,
    ConnectedComponentsd,
    OtsuThreshold,
    OtsuThresholdd,
)
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

__all__ = [
    "COLOUR_CHANNELS",
    "ENCODE_MODES",
    "SWAPPED_FIELD_KEY",
    "SWAPPED_KEY",
    "BinaryOpening",
    "BinaryOpeningd",
    "CategoricalField",
    "ClassIndexLabeld",
    "ConnectedComponents",
    "ConnectedComponentsd",
    "ContinuousField",
    "EncodeMetadatad",
    "ForegroundOfTaskd",
    "MetadataSpec",
    "OtsuThreshold",
    "OtsuThresholdd",
    "PolygonizeMaskd",
    "RouteByTaskd",
    "SelectHeadd",
    "ToGrey",
    "ToGreyd",
    "count_polygon_vertices",
    "grey_channel",
    "polygonize_mask",
    "sample_id_of",
    "swap_metadata",
    "task_of",
]
