"""Pictures of segmentations: error and class overlays, labelled panel rows, the metadata sweep figure, the
swapped-metadata heatmap, the few-label figure and a video's per-frame area curve."""

from metaseg_monai.visualize.area_curve import write_area_curve
from metaseg_monai.visualize.background import grey_background
from metaseg_monai.visualize.class_overlay import (
    CLASS_COLOURS,
    class_colour,
    class_legend,
    compose_panels,
    overlay_classes,
)
from metaseg_monai.visualize.error_overlay import (
    FALSE_NEGATIVE_COLOUR,
    FALSE_POSITIVE_COLOUR,
    TRUE_POSITIVE_COLOUR,
    overlay_errors,
)
from metaseg_monai.visualize.few_label_figure import write_few_label_figure
from metaseg_monai.visualize.figures import save_png_figure
from metaseg_monai.visualize.swap_heatmap import write_swap_heatmap
from metaseg_monai.visualize.sweep_figure import write_sweep_figure

__all__ = [
    "CLASS_COLOURS",
    "FALSE_NEGATIVE_COLOUR",
    "FALSE_POSITIVE_COLOUR",
    "TRUE_POSITIVE_COLOUR",
    "class_colour",
    "class_legend",
    "compose_panels",
    "grey_background",
    "overlay_classes",
    "overlay_errors",
    "save_png_figure",
    "write_area_curve",
    "write_few_label_figure",
    "write_swap_heatmap",
    "write_sweep_figure",
]
