"""Tests for metaseg_monai.data.multilabel (task-switch rows joined into one multilabel sample per image)."""

from __future__ import annotations

import pytest

from metaseg_monai.data import load_table_dataset, multilabel_datalist
from metaseg_monai.sample_data.generate_microscopy import generate_nuclei_anomaly


def row(image: str, task: str, row: int, **extra) -> dict:
    label = f"masks/{task}/{image}"
    return {
        "image": image,
        "label": label,
        "split": "train",
        "cell_line": "HeLa",
        "mask_type": task,
        "row": row,
        **extra,
    }


def test_joins_the_rows_of_images_that_have_every_task():
    rows = [
        row("a.tif", "nuclei", 1),
        row("b.tif", "nuclei", 2),
        row("a.tif", "anomaly", 3),
        row("c.tif", "anomaly", 4),
    ]
    assert multilabel_datalist(rows) == [
        {
            "image": "a.tif",
            "split": "train",
            "cell_line": "HeLa",
            "label_nuclei": "masks/nuclei/a.tif",
            "label_anomaly": "masks/anomaly/a.tif",
        }
    ]
    assert rows[0]["label"] == "masks/nuclei/a.tif" and "label_nuclei" not in rows[0]  # input not modified


def test_order_task_and_key_names():
    rows = [row("b.tif", "x", 1), row("a.tif", "y", 2), row("a.tif", "x", 3), row("b.tif", "y", 4)]
    out = multilabel_datalist(rows, task_key="mask_type", tasks=["y", "x"], label_key="label")
    assert [s["image"] for s in out] == ["b.tif", "a.tif"]  # first appearance
    assert list(out[0])[-2:] == ["label_y", "label_x"]


def test_errors_name_the_rows():
    with pytest.raises(ValueError, match=r"row 2 .*mask_type='debris'.*\['nuclei', 'anomaly'\]"):
        multilabel_datalist([row("a.tif", "nuclei", 1), row("a.tif", "debris", 2)])
    with pytest.raises(ValueError, match=r"two mask_type='nuclei' rows \(row 1 and row 2\)"):
        multilabel_datalist([row("a.tif", "nuclei", 1), row("a.tif", "nuclei", 2)])
    with pytest.raises(ValueError, match=r"row 1 and row 2.*disagree on \['split'\]"):
        multilabel_datalist([row("a.tif", "nuclei", 1), row("a.tif", "anomaly", 2, split="test")])
    with pytest.raises(ValueError, match="none of the 2 images has a row for every task"):
        multilabel_datalist([row("a.tif", "nuclei", 1), row("b.tif", "anomaly", 2)])
    with pytest.raises(ValueError, match=r"lacks field\(s\) \['mask_type'\]"):
        multilabel_datalist([{"image": "a.tif", "label": "m.png", "row": 1}])
    with pytest.raises(ValueError, match=r"already have field\(s\) \['label_nuclei'\]"):
        rows = [row("a.tif", "nuclei", 1, label_nuclei="x"), row("a.tif", "anomaly", 2, label_nuclei="x")]
        multilabel_datalist(rows)
    with pytest.raises(ValueError, match="unique task names"):
        multilabel_datalist([], tasks="nuclei")


def test_on_generated_data(tmp_path):
    root = generate_nuclei_anomaly(tmp_path / "data", images_per_line=2, size=32, anomaly_fraction=0.5)
    rows = load_table_dataset(root)
    samples = multilabel_datalist(rows)
    with_anomaly = [r["image"] for r in rows if r["mask_type"] == "anomaly"]
    assert [s["image"] for s in samples] == with_anomaly and len(samples) == 7  # one image per line
    assert all(s["label_anomaly"].endswith(s["image"].rsplit("/", 1)[1].replace(".tif", ".png")) for s in samples)
    assert all("/masks/nuclei/" in s["label_nuclei"] for s in samples)
