"""Pictures of multi-class segmentations: class maps blended over a grey image, and labelled rows of such panels.

Used by the evaluation report (image | truth | prediction per slice) and by the metadata sweep figure (Fig. 2A of the
metadata-SE paper: one image segmented under several metadata values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from metaseg_monai.visualize.background import grey_background

__all__ = ["CLASS_COLOURS", "class_colour", "class_legend", "compose_panels", "overlay_classes"]

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), for classes 1, 2, 3, ...
CLASS_COLOURS = (
    (86, 180, 233),  # sky blue: class 1 (KiTS kidney)
    (213, 94, 0),  # vermillion: class 2 (KiTS tumour)
    (240, 228, 66),  # yellow: class 3 (KiTS cyst)
    (0, 158, 115),  # bluish green
    (204, 121, 167),  # reddish purple
    (0, 114, 178),  # blue
    (230, 159, 0),  # orange
)
_BACKGROUND = (0, 0, 0)
_TEXT = (255, 255, 255)


def class_colour(index: int) -> tuple[int, int, int]:
    """The RGB colour of class ``index`` (>= 1); colours repeat after ``len(CLASS_COLOURS)`` classes."""
    if int(index) < 1:
        raise ValueError(f"class index must be >= 1 (0 is background, not coloured), got {index}.")
    return CLASS_COLOURS[(int(index) - 1) % len(CLASS_COLOURS)]


def class_legend(
    class_names: Mapping[int, str] | Sequence[str] | None, present: Sequence[int] = ()
) -> list[tuple[str, tuple[int, int, int]]]:
    """``[(name, colour), ...]`` for a legend: every named class (a mapping ``{1: "kidney", ...}`` or names of
    classes 1, 2, ...), or with ``class_names=None`` the classes in ``present`` as ``"class k"``."""
    if class_names is None:
        return [(f"class {k}", class_colour(k)) for k in sorted({int(k) for k in present if int(k) > 0})]
    items = class_names.items() if isinstance(class_names, Mapping) else enumerate(class_names, start=1)
    return [(str(name), class_colour(int(k))) for k, name in sorted(items, key=lambda kv: int(kv[0]))]


def overlay_classes(image: np.ndarray, class_map: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """Blend the colour of every class (:func:`class_colour`) over the image shown as grey; class 0 stays grey.

    Args:
        image: (H, W) grey or (H, W, C) colour image, any numeric dtype (min-max scaled for display).
        class_map: (H, W) integer class indices (0 = background).
        alpha: opacity of the class colours.

    Returns:
        (H, W, 3) uint8 RGB array.
    """
    labels = np.asarray(class_map)
    if labels.ndim != 2:
        raise ValueError(f"class_map must be (H, W), found shape {labels.shape}.")
    if labels.size and (labels.min() < 0 or not np.array_equal(labels, np.round(labels))):
        raise ValueError(f"class_map must hold non-negative integer classes, found {np.unique(labels)[:8].tolist()}.")
    labels = labels.astype(np.int64)
    grey = grey_background(image, labels.shape, 1.0)
    out = np.repeat(grey[..., None], 3, axis=-1)
    for k in np.unique(labels[labels > 0]):
        mask = labels == k
        out[mask] = (1 - alpha) * out[mask] + alpha * np.asarray(class_colour(int(k)), dtype=np.float64)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # no FreeType: Pillow's small bitmap font
        return ImageFont.load_default()


def compose_panels(
    panels: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    legend: Sequence[tuple[str, tuple[int, int, int]]] = (),
    min_height: int = 128,
    gap: int = 4,
) -> np.ndarray:
    """Put same-sized RGB panels in a row on black, each under its title, with an optional legend row below.

    Panels smaller than ``min_height`` pixels are enlarged by an integer factor (nearest neighbour), so that a 96 x 96
    slice stays readable next to its text.

    Args:
        panels: (H, W, 3) uint8 arrays of one shape.
        titles: one text per panel, written above it (None: no title row).
        legend: ``(name, colour)`` pairs drawn as colour squares with names below the panels.
        min_height: smallest displayed panel height. gap: pixels between and around panels.

    Returns:
        (H', W', 3) uint8 RGB array.
    """
    from PIL import Image, ImageDraw

    if not panels:
        raise ValueError("compose_panels needs at least one panel.")
    shape = np.shape(panels[0])
    for i, panel in enumerate(panels):
        if np.ndim(panel) != 3 or np.shape(panel) != shape or shape[2] != 3:
            raise ValueError(
                f"panels must be (H, W, 3) arrays of one shape; panel {i} is {np.shape(panel)}, not {shape}."
            )
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"expected one title per panel ({len(panels)}), found {len(titles)} titles.")
    scale = max(1, -(-int(min_height) // shape[0]))
    height, width = shape[0] * scale, shape[1] * scale
    font_size = 12 if width >= 96 else 9
    font = _font(font_size)
    title_h = font_size + 2 * gap if titles is not None else 0
    legend_h = font_size + 2 * gap if legend else 0
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    steps = [font_size + 2 + int(measure.textlength(str(name), font=font)) + 3 * gap for name, _ in legend]
    canvas_w = max(gap + len(panels) * (width + gap), gap + sum(steps))  # a long legend widens the picture
    canvas = Image.new("RGB", (canvas_w, title_h + height + gap + legend_h), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, panel in enumerate(panels):
        x = gap + i * (width + gap)
        big = np.repeat(np.repeat(np.asarray(panel, dtype=np.uint8), scale, axis=0), scale, axis=1)
        canvas.paste(Image.fromarray(big), (x, title_h))
        if titles is not None:
            draw.text((x, gap), str(titles[i]), fill=_TEXT, font=font)
    x, y = gap, title_h + height + gap
    for (name, colour), step in zip(legend, steps, strict=True):
        draw.rectangle((x, y + 1, x + font_size - 2, y + font_size - 1), fill=tuple(colour))
        draw.text((x + font_size + 2, y), str(name), fill=_TEXT, font=font)
        x += step
    return np.asarray(canvas)
