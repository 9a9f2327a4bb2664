"""Microscopy table datasets: the reader, the three generators, the polygon annotation styles."""

from __future__ import annotations

import hashlib
import runpy
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from skimage.measure import label, regionprops

from metaseg_monai.data.image_io import read_image, write_image
from metaseg_monai.data.table import load_table_dataset
from metaseg_monai.sample_data.annotation_styles import write_styled_copy
from metaseg_monai.sample_data.generate_microscopy import (
    CELL_LINES,
    LINE_PARAMS,
    generate_annotation_styles,
    generate_cell_lines,
    generate_nuclei_anomaly,
)
from metaseg_monai.transforms.polygon import PolygonizeMaskd, count_polygon_vertices, polygonize_mask

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_annotation_styles.py"


@pytest.fixture(scope="module")
def cell_lines(tmp_path_factory):
    return generate_cell_lines(tmp_path_factory.mktemp("data") / "cell_lines", seed=0)


@pytest.fixture(scope="module")
def nuclei_anomaly(tmp_path_factory):
    return generate_nuclei_anomaly(tmp_path_factory.mktemp("data") / "nuclei_anomaly", seed=0)


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    return generate_annotation_styles(tmp_path_factory.mktemp("data") / "styles", seed=0)


def _mask(item: dict) -> np.ndarray:
    return read_image(item["label"]) > 0


def _checksum(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- generated layouts, read back with the reader


def test_cell_lines_layout(cell_lines):
    items = load_table_dataset(cell_lines)
    assert len(items) == 7 * 4
    assert Counter(it["split"] for it in items) == {"train": 14, "val": 7, "test": 7}
    assert Counter(it["cell_line"] for it in items) == dict.fromkeys(CELL_LINES, 4)
    assert [it["row"] for it in items] == list(range(1, 29))
    first = items[0]
    assert set(first) == {"image", "label", "split", "cell_line", "row"}
    assert Path(first["image"]).is_absolute() and first["image"].endswith("images/HeLa_000.tif")
    image, mask = read_image(first["image"]), read_image(first["label"])
    assert image.dtype == np.uint16 and image.shape == (96, 96)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    val = load_table_dataset(cell_lines, split="val")
    assert len(val) == 7 and {it["split"] for it in val} == {"val"}
    only = load_table_dataset(cell_lines, metadata_columns=[], check_files=False)
    assert set(only[0]) == {"image", "label", "split", "row"}


def test_cell_line_metadata_is_informative(cell_lines):
    areas, contrast = defaultdict(list), defaultdict(list)
    for item in load_table_dataset(cell_lines):
        mask, image = _mask(item), read_image(item["image"]).astype(np.float64) / 65535
        areas[item["cell_line"]] += [r.area for r in regionprops(label(mask))]
        contrast[item["cell_line"]].append(image[mask].mean() - image[~mask].mean())
    medians = {line: np.median(a) for line, a in areas.items()}
    assert max(medians.values()) / min(medians.values()) > 1.5
    assert medians["NIH3T3"] > 2 * medians["MDCK"]  # follows LINE_PARAMS radii 9 vs 5
    mean_contrast = {line: np.mean(c) for line, c in contrast.items()}
    # brightfield-like: most lines' nuclei darker than the background, A549 and MCF7 slightly brighter
    for line, value in mean_contrast.items():
        assert np.sign(value) == np.sign(LINE_PARAMS[line].contrast), (line, value)


def test_nuclei_anomaly_same_image_two_masks(nuclei_anomaly):
    items = load_table_dataset(nuclei_anomaly)
    assert len(items) == 7 * 4 + 7 * 2  # every image a nuclei row, half of them also an anomaly row
    by_image = defaultdict(dict)
    for it in items:
        by_image[it["image"]][it["mask_type"]] = it
    assert len(by_image) == 28 and all("nuclei" in rows for rows in by_image.values())
    pairs = [rows for rows in by_image.values() if "anomaly" in rows]
    assert len(pairs) == 14 and {it["mask_type"] for it in items} == {"nuclei", "anomaly"}
    for rows in pairs:
        nuclei, anomaly = rows["nuclei"], rows["anomaly"]
        assert nuclei["split"] == anomaly["split"] and nuclei["cell_line"] == anomaly["cell_line"]
        a, n = _mask(anomaly), _mask(nuclei)
        assert a.any() and (a & n).sum() / (a | n).sum() < 0.3


def test_anomalies_are_drawn_into_the_image(nuclei_anomaly, tmp_path):
    """Images with an anomaly row differ from the clean cell-lines image of the same seed; the others equal it."""
    clean = {Path(it["image"]).name: it["image"] for it in load_table_dataset(generate_cell_lines(tmp_path / "c"))}
    items = load_table_dataset(nuclei_anomaly)
    with_anomaly = {it["image"] for it in items if it["mask_type"] == "anomaly"}
    for image in {it["image"] for it in items}:
        same = np.array_equal(read_image(image), read_image(clean[Path(image).name]))
        assert same == (image not in with_anomaly)


def test_annotation_styles_layout(styles, tmp_path):
    items = load_table_dataset(styles)
    assert len(items) == 7 * 6
    train = [it for it in items if it["split"] == "train"]
    assert Counter(it["annotation_style"] for it in train) == {"accurate": 7, "fine": 7, "coarse": 7}
    assert {it["annotation_style"] for it in items if it["split"] != "train"} == {"accurate"}
    source = {Path(it["image"]).name: it for it in load_table_dataset(generate_cell_lines(tmp_path / "s", 0, 6))}
    vertices, objects = defaultdict(int), defaultdict(int)
    for it in items:
        original, styled = _mask(source[Path(it["image"]).name]), _mask(it)
        assert label(styled).max() == label(original).max()
        if it["annotation_style"] == "accurate":
            assert np.array_equal(original, styled)
        vertices[it["annotation_style"]] += count_polygon_vertices(styled, 0.5)
        objects[it["annotation_style"]] += label(styled).max()
    # outline detail per nucleus (the styles' images hold different numbers of nuclei)
    per_object = {style: vertices[style] / objects[style] for style in vertices}
    assert per_object["coarse"] < per_object["fine"] < per_object["accurate"]


def test_generators_are_deterministic(tmp_path):
    for generate in (generate_cell_lines, generate_nuclei_anomaly, generate_annotation_styles):
        a = load_table_dataset(generate(tmp_path / f"{generate.__name__}_a", seed=3, images_per_line=2, size=64))
        b = load_table_dataset(generate(tmp_path / f"{generate.__name__}_b", seed=3, images_per_line=2, size=64))
        c = load_table_dataset(generate(tmp_path / f"{generate.__name__}_c", seed=4, images_per_line=2, size=64))
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert read_image(x["label"]).tobytes() == read_image(y["label"]).tobytes()
            assert read_image(x["image"]).tobytes() == read_image(y["image"]).tobytes()
        assert any(
            read_image(x["label"]).tobytes() != read_image(z["label"]).tobytes() for x, z in zip(a, c, strict=True)
        )


def test_generators_refuse_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("someone's data")
    for generate in (generate_cell_lines, generate_nuclei_anomaly, generate_annotation_styles):
        with pytest.raises(FileExistsError, match="not empty"):
            generate(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_styled_copy_never_touches_src(cell_lines, tmp_path):
    before = _checksum(cell_lines)
    root = write_styled_copy(cell_lines, tmp_path / "styled", {"fine": 2.0, "coarse": 3.5}, seed=1)
    assert _checksum(cell_lines) == before
    items = load_table_dataset(root)
    assert len(items) == 28 and all(it["image"].startswith(str(root)) for it in items)
    with pytest.raises(FileExistsError, match="not empty"):
        write_styled_copy(cell_lines, root)
    with pytest.raises(ValueError, match="inside the source dataset"):
        write_styled_copy(cell_lines, cell_lines / "styled")
    with pytest.raises(ValueError, match="already has an 'annotation_style' column"):
        write_styled_copy(root, tmp_path / "again")
    with pytest.raises(ValueError, match="tolerances"):
        write_styled_copy(cell_lines, tmp_path / "bad", {"accurate": 1.0})
    assert _checksum(cell_lines) == before


def test_script(cell_lines, tmp_path):
    main = runpy.run_path(str(SCRIPT), run_name="make_annotation_styles")["main"]
    main([str(cell_lines), str(tmp_path / "out"), "--fine", "2", "--coarse", "3.5", "--seed", "0"])
    styles_found = Counter(it["annotation_style"] for it in load_table_dataset(tmp_path / "out", split="train"))
    assert styles_found == {"accurate": 5, "fine": 5, "coarse": 4}


# ---------------------------------------------------------------- reader: formats and errors


def _table(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "metadata.csv").write_text(text)
    return root


@pytest.fixture
def small(tmp_path):
    """A hand-made table dataset: an RGB 8-bit PNG, a grey 16-bit TIFF, masks of matching shape."""
    root = tmp_path / "small"
    write_image(root / "rgb.png", np.zeros((20, 30, 3), np.uint8))
    write_image(root / "grey16.tif", np.full((20, 30), 1000, np.uint16))
    write_image(root / "m.png", np.zeros((20, 30), np.uint8))
    write_image(root / "small.png", np.zeros((10, 30), np.uint8))
    (root / "broken.png").write_bytes(b"not a png")
    return root


def test_reader_formats_bom_and_blank_lines(small):
    text = "\ufeffimage,label,split,cell_line\nrgb.png,m.png,train,HeLa\n\ngrey16.tif,m.png,test, 3 \n"
    items = load_table_dataset(_table(small, text))
    assert [it["row"] for it in items] == [1, 2]
    assert items[1]["cell_line"] == "3"  # metadata values are the CSV strings, stripped
    assert [it["split"] for it in load_table_dataset(small, split="test")] == ["test"]


@pytest.mark.parametrize(
    "text, error, match",
    [
        ("image,label,split\nmissing.png,m.png,train\n", FileNotFoundError, r"missing\.png.*row 1 .*column 'image'"),
        ("image,label,split\nrgb.png,broken.png,val\n", ValueError, r"cannot read image .*broken\.png.*row 1"),
        ("image,label,split\nrgb.png,small.png,val\n", ValueError, r"row 1 .*\(20, 30, 3\).*\(10, 30\)"),
        ("", ValueError, r"metadata\.csv' is empty"),
        ("image,label,split\n", ValueError, "no data rows"),
        ("image,split\nrgb.png,train\n", ValueError, r"lacks required column\(s\) \['label'\]"),
        ("image,label,split\nrgb.png,m.png,training\n", ValueError, r"row 1 .*unknown value 'training'"),
        ("image,label,split\nrgb.png,m.png,train\nrgb.png, ,val\n", ValueError, r"row 2 .*column 'label' is empty"),
        ("image,label,split,a,a\nrgb.png,m.png,train,1,2\n", ValueError, r"duplicate column names \['a'\]"),
        ("image,label,split\nrgb.png,m.png\n", ValueError, r"row 1 .*has 2 cells; expected 3"),
        ("image,label,split,row\nrgb.png,m.png,train,1\n", ValueError, "'row' is reserved"),
    ],
)
def test_reader_errors(small, text, error, match):
    with pytest.raises(error, match=match):
        load_table_dataset(_table(small, text))


def test_reader_argument_errors(small, tmp_path):
    _table(small, "image,label,split,cell_line\nrgb.png,m.png,train,HeLa\n")
    with pytest.raises(ValueError, match=r"unknown split 'training' requested"):
        load_table_dataset(small, split="training")
    with pytest.raises(ValueError, match=r"lacks requested metadata column\(s\) \['tumor'\]"):
        load_table_dataset(small, metadata_columns=["tumor"])
    with pytest.raises(FileNotFoundError, match=r"other\.csv' not found"):
        load_table_dataset(small, table="other.csv")


# ---------------------------------------------------------------- polygon annotation styles


def test_polygonize_reduces_vertices_keeps_objects(cell_lines):
    items = load_table_dataset(cell_lines)
    inter = union = 0
    for item in items:
        mask = read_image(item["label"])
        fine, coarse = polygonize_mask(mask, 2.0), polygonize_mask(mask, 3.5)
        for styled in (fine, coarse):
            assert styled.dtype == mask.dtype and set(np.unique(styled)) <= {0, 255}
            assert label(styled > 0).max() == label(mask > 0).max()
        inter += ((fine > 0) & (mask > 0)).sum()
        union += ((fine > 0) | (mask > 0)).sum()
        assert count_polygon_vertices(mask, 3.5) < count_polygon_vertices(mask, 2.0) < count_polygon_vertices(mask, 0)
        assert count_polygon_vertices(coarse, 0.5) < count_polygon_vertices(mask, 0.5)
    assert inter / union > 0.8


def test_polygonize_edge_cases():
    mask = np.zeros((32, 32), bool)
    mask[1, 1] = True  # a one-pixel speck: its polygon fills nothing, so it keeps its pixel
    mask[10:20, 10:20] = True
    mask[10:20, 21:30] = True  # one pixel apart from the square: must stay a separate object
    mask[14:16, 14:16] = False  # a hole: filled, as an annotator draws outlines
    out = polygonize_mask(mask, 1.0)
    assert out.dtype == bool and out[1, 1] and out[15, 15] and label(out).max() == 3
    # at a tolerance larger than the objects their polygons degenerate; each object then keeps its own pixels
    assert np.array_equal(polygonize_mask(mask, 15.0), mask)
    assert np.array_equal(polygonize_mask(mask.astype(np.float32), 1.0), polygonize_mask(mask, 1.0).astype(np.float32))
    assert not polygonize_mask(np.zeros((8, 8), np.uint8), 2.0).any()
    with pytest.raises(ValueError, match="binary mask"):
        polygonize_mask(np.arange(16).reshape(4, 4), 2.0)
    with pytest.raises(ValueError, match=r"2D binary mask .*\(1, 4, 4\)"):
        polygonize_mask(np.zeros((1, 4, 4)), 2.0)
    with pytest.raises(ValueError, match="tolerance"):
        polygonize_mask(mask, -1.0)


def test_polygonize_dict_transform(cell_lines):
    mask = read_image(load_table_dataset(cell_lines)[0]["label"])
    expected = polygonize_mask(mask, 2.0)
    out = PolygonizeMaskd("label", 2.0)({"label": mask[None], "image": "x"})
    assert out["image"] == "x" and np.array_equal(out["label"], expected[None])
    tensor = MetaTensor(torch.as_tensor(mask[None] / 255.0, dtype=torch.float32), meta={"filename_or_obj": "m.png"})
    styled = PolygonizeMaskd(["label"], 2.0)({"label": tensor})["label"]
    assert (
        isinstance(styled, MetaTensor) and styled.dtype == torch.float32 and styled.meta["filename_or_obj"] == "m.png"
    )
    assert np.array_equal(styled.numpy()[0] > 0, expected > 0)
    assert "label" not in PolygonizeMaskd("label", 2.0, allow_missing_keys=True)({"image": 1})
    with pytest.raises(ValueError, match=r"channel-first mask \(C, H, W\)"):
        PolygonizeMaskd("label", 2.0)({"label": mask})


def test_styled_copy_errors_name_the_row(small, tmp_path):
    write_image(small / "grey.png", np.arange(600, dtype=np.uint8).reshape(20, 30))
    _table(small, "image,label,split\nrgb.png,m.png,val\nrgb.png,grey.png,train\nrgb.png,grey.png,train\n")
    with pytest.raises(ValueError, match=r"row [23], mask '.*grey\.png': expected a binary mask"):
        write_styled_copy(small, tmp_path / "out", {"coarse": 3.5})
    assert not (tmp_path / "out" / "metadata.csv").exists()  # the table is written last
    with pytest.raises(ValueError, match="unknown split 'training' to restyle"):
        write_styled_copy(small, tmp_path / "out2", split="training")


def test_inference_datalist_from_a_table_or_a_folder(cell_lines, tmp_path):
    from metaseg_monai.data import load_inference_datalist

    rows = load_inference_datalist(cell_lines, metadata_columns=["cell_line"], split="test")
    assert rows and all(set(r) == {"image", "cell_line"} for r in rows)
    assert all(Path(r["image"]).is_file() for r in rows)
    # a table without labels or splits is enough for inference
    (tmp_path / "t").mkdir()
    image = sorted((cell_lines / "images").iterdir())[0]
    (tmp_path / "t" / "metadata.csv").write_text(f"image,cell_line\n{image},HeLa\n")
    assert load_inference_datalist(tmp_path / "t") == [{"image": str(image), "cell_line": "HeLa"}]
    with pytest.raises(ValueError, match="no 'split' column"):
        load_inference_datalist(tmp_path / "t", split="test")
    # a folder of images, all with the metadata given, in natural order
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("img10.tif", "img2.tif", "notes.txt"):
        (folder / name).write_bytes(image.read_bytes())
    (folder / "._img2.tif").write_bytes(b"\x00\x05\x16\x07")  # a macOS AppleDouble companion, not an image
    listed = load_inference_datalist(folder, {"cell_line": "MDCK"})
    assert [Path(r["image"]).name for r in listed] == ["img2.tif", "img10.tif"]
    assert all(r["cell_line"] == "MDCK" for r in listed)
    with pytest.raises(ValueError, match="give one or the other"):
        load_inference_datalist(folder, {"cell_line": "MDCK"}, split="test")
    with pytest.raises(FileNotFoundError, match="given on the command line"):
        load_inference_datalist(folder)  # no table and no metadata


def test_inference_folder_paths_stay_under_a_symlinked_dataset_dir(tmp_path):
    # masks are written relative to dataset_dir (SaveImaged data_root_dir): resolved paths would climb out of it
    import os

    from metaseg_monai.data import load_inference_datalist

    real = tmp_path / "real"
    real.mkdir()
    (real / "a.png").write_bytes(b"")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    (item,) = load_inference_datalist(link, {"cell_line": "HeLa"})
    assert not os.path.relpath(item["image"], link).startswith("..")
