"""Pictures: error overlays, class overlays, labelled panel rows and the metadata sweep figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from metaseg_monai.visualize import (
    CLASS_COLOURS,
    FALSE_NEGATIVE_COLOUR,
    FALSE_POSITIVE_COLOUR,
    TRUE_POSITIVE_COLOUR,
    class_colour,
    compose_panels,
    overlay_classes,
    overlay_errors,
    write_sweep_figure,
)

# ---------------------------------------------------------------- overlays


def test_overlay_errors_colours():
    image = np.linspace(0, 1000, 16, dtype=np.float32).reshape(4, 4)
    pred = np.zeros((4, 4), dtype=bool)
    label = np.zeros((4, 4), dtype=bool)
    pred[0, 0] = label[0, 0] = True  # TP
    pred[1, 1] = True  # FP
    label[2, 2] = True  # FN
    overlay = overlay_errors(image, pred, label)
    assert overlay.shape == (4, 4, 3) and overlay.dtype == np.uint8
    assert tuple(overlay[0, 0]) == TRUE_POSITIVE_COLOUR == (255, 255, 255)
    assert tuple(overlay[1, 1]) == FALSE_POSITIVE_COLOUR
    assert tuple(overlay[2, 2]) == FALSE_NEGATIVE_COLOUR
    assert FALSE_POSITIVE_COLOUR != FALSE_NEGATIVE_COLOUR
    background = ~(pred | label)
    grey = overlay[background]
    assert (grey[:, 0] == grey[:, 1]).all() and (grey[:, 1] == grey[:, 2]).all()  # grey
    assert grey.max() == 128 and grey.min() == 8  # dimmed to half: the brightest pixel is image[3, 3]
    # a colour image gives the same layout; its grey is the channel mean
    rgb = overlay_errors(np.stack([image, image, image], axis=-1), pred, label)
    np.testing.assert_array_equal(rgb, overlay)
    with pytest.raises(ValueError, match=r"\(H, W\) = \(4, 4\), found \(5, 5\)"):
        overlay_errors(np.zeros((5, 5)), pred, label)


# ---------------------------------------------------------------- pictures


def test_overlay_classes_blends_colours_over_grey():
    image = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    classes = np.zeros((4, 4), np.int64)
    classes[0, 0], classes[3, 3] = 1, 2
    out = overlay_classes(image, classes, alpha=1.0)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == class_colour(1) == CLASS_COLOURS[0]
    assert tuple(out[3, 3]) == class_colour(2)
    assert tuple(out[1, 1]) == (85, 85, 85)  # grey: image[1, 1] = 5/15 of full scale
    half = overlay_classes(image, classes, alpha=0.5)
    assert tuple(half[0, 0]) == tuple(round(0.5 * c) for c in CLASS_COLOURS[0])  # image[0, 0] is black
    assert class_colour(len(CLASS_COLOURS) + 1) == CLASS_COLOURS[0]  # colours repeat
    with pytest.raises(ValueError, match="non-negative integer"):
        overlay_classes(image, classes - 1)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        overlay_classes(image, classes[None])
    with pytest.raises(ValueError, match="0 is background"):
        class_colour(0)


def test_compose_panels_layout():
    panels = [np.full((32, 40, 3), v, np.uint8) for v in (10, 200)]
    row = compose_panels(panels, ["a", "b"], [("kidney", (86, 180, 233))], min_height=64, gap=4)
    # enlarged x2 (64 rows), a title row and a legend row around them
    assert row.shape[1] == 4 + 2 * (80 + 4) and row.shape[0] > 64 + 2 * 4
    title_h = (row.shape[0] - 64 - 4) // 2  # the title and the legend rows have the same height
    assert (row[title_h : title_h + 64, 4 : 4 + 80] == 10).all()
    assert (row[title_h : title_h + 64, 88 : 88 + 80] == 200).all()
    assert (row[title_h + 64 + 4 :] == (86, 180, 233)).all(axis=-1).any()  # the legend's colour square
    plain = compose_panels(panels[:1], min_height=16, gap=0)
    np.testing.assert_array_equal(plain, panels[0])  # no title, no legend, no enlargement: the panel itself
    with pytest.raises(ValueError, match="one title per panel"):
        compose_panels(panels, ["a"])
    with pytest.raises(ValueError, match="panel 1"):
        compose_panels([panels[0], panels[1][:10]])


# ---------------------------------------------------------------- the metadata sweep figure


def test_write_sweep_figure(tmp_path):
    image = torch.linspace(0, 1, 24 * 24).reshape(1, 24, 24)
    maps = np.zeros((3, 24, 24), np.int64)
    maps[1, 8:16, 8:16] = 1
    maps[2, 4:20, 4:20] = 2
    path = write_sweep_figure(tmp_path / "sweep.png", image, maps, ["2 cm", "5 cm", "9 cm"], {1: "kidney", 2: "tumor"})
    assert path == tmp_path / "sweep.png"
    picture = np.asarray(Image.open(path))
    assert picture.ndim == 3 and picture.shape[2] == 3
    assert picture.shape[1] >= 4 * 128  # four panels (image + 3 values), each enlarged to >= 128 pixels
    pixels = {tuple(p) for p in picture.reshape(-1, 3)}
    assert CLASS_COLOURS[0] in pixels and CLASS_COLOURS[1] in pixels  # legend squares of kidney and tumour
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_sweep_figure(path, image, maps, ["a", "b", "c"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(ValueError, match="one value label per prediction"):
        write_sweep_figure(tmp_path / "b.png", image, maps, ["a"])
    with pytest.raises(ValueError, match="same H, W"):
        write_sweep_figure(tmp_path / "c.png", image, maps[:, :10], ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"must be a \.png"):
        write_sweep_figure(tmp_path / "d.tif", image, maps, ["a", "b", "c"])
    # without class names the legend names the classes found; a list of maps works too
    write_sweep_figure(tmp_path / "e.png", image[0].numpy(), list(maps), ["a", "b", "c"])
    assert (tmp_path / "e.png").is_file()
