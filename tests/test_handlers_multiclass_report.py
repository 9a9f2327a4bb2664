"""Multi-class evaluation reports: per-class F1 columns, micro-averaged F1 and class-coloured overlays."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from metaseg_monai.handlers import MULTI_CLASS_F1, SegmentationReportWriter
from metaseg_monai.metrics import f1_dice_from_counts
from metaseg_monai.visualize import CLASS_COLOURS

KITS = {1: "kidney", 2: "tumor", 3: "cyst"}


def _one_hot(class_map: np.ndarray, num_classes: int = 4) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.as_tensor(class_map), num_classes).permute(2, 0, 1).float()


def _engine(pred, label, image=None, **batch) -> SimpleNamespace:
    output = {"pred": pred, "label": label}
    if image is not None:
        output["image"] = image
    return SimpleNamespace(state=SimpleNamespace(output=[output], batch=[batch]))


def _maps() -> tuple[np.ndarray, np.ndarray]:
    label = np.zeros((8, 8), np.int64)
    label[1:5, 1:5] = 1  # 16 kidney pixels
    label[2:4, 2:4] = 2  # 4 of them tumour
    pred = label.copy()
    pred[2, 2] = 1  # one tumour pixel called kidney: kidney fp, tumour fn
    pred[6, 6] = 3  # a false cyst pixel
    return pred, label


def test_multiclass_row_counts_and_micro_f1(tmp_path):
    pred, label = _maps()
    writer = SegmentationReportWriter(tmp_path, metadata_fields=["size"], num_overlays=0, class_names=KITS)
    writer.reset()
    writer.record(_engine(_one_hot(pred), torch.as_tensor(label)[None], size=4.5, slice_id="case_00001#slice_003"))
    (row,) = writer.rows
    assert (row["tp_kidney"], row["fp_kidney"], row["fn_kidney"]) == (12, 1, 0)
    assert (row["tp_tumor"], row["fp_tumor"], row["fn_tumor"]) == (3, 0, 1)
    assert (row["tp_cyst"], row["fp_cyst"], row["fn_cyst"]) == (0, 1, 0)
    assert row["f1_kidney"] == pytest.approx(24 / 25) and row["f1_tumor"] == pytest.approx(6 / 7)
    assert row["f1_cyst"] == 0.0  # predicted but absent: present in the prediction, so scored
    assert (row["tp"], row["fp"], row["fn"]) == (15, 2, 1)  # summed over classes
    assert row["f1"] == row["dice"] == pytest.approx(f1_dice_from_counts(15, 2, 1))
    assert row["dice_kidney"] == row["f1_kidney"] and row["size"] == 4.5

    # a class in neither label nor prediction has no F1 (None -> empty CSV cell)
    writer.record(_engine(_one_hot(label), torch.as_tensor(label)[None], size=2.0))
    second = writer.rows[1]
    assert second["f1_cyst"] is None and second["tp_cyst"] == second["fp_cyst"] == second["fn_cyst"] == 0
    assert second["f1"] == 1.0 and second["f1_kidney"] == 1.0


def test_multiclass_report_files(tmp_path):
    pred, label = _maps()
    image = torch.rand(1, 8, 8)
    samples = [
        (pred, label, "case_00001#slice_003", "case_00001", 4.5),
        (label, label, "case_00001#slice_004", "case_00001", 4.5),
        (np.zeros_like(label), label, "case_00002#slice_000", "case_00002", 2.0),
    ]
    writer = SegmentationReportWriter(
        tmp_path,
        metadata_fields=["case_id", "radiographic_size"],
        num_overlays=2,
        class_names=KITS,
        image_id_key="slice_id",
    )
    writer.reset()
    for p, g, sid, case, size in samples:
        writer.record(_engine(_one_hot(p), _one_hot(g), image, slice_id=sid, case_id=case, radiographic_size=size))
    writer.write()

    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:8] == ["image", "case_id", "radiographic_size", "f1", "dice", "tp", "fp", "fn"]
    assert header[8:13] == ["f1_kidney", "dice_kidney", "tp_kidney", "fp_kidney", "fn_kidney"]
    assert len(header) == 8 + 3 * 5
    assert [r["image"] for r in rows] == [s[2] for s in samples]
    assert rows[1]["f1_cyst"] == "" and rows[0]["f1_cyst"] == "0.0"
    assert float(rows[2]["f1"]) == 0.0 and rows[2]["f1_tumor"] == "0.0"

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 3 and summary["f1_definition"] == MULTI_CLASS_F1
    assert set(summary["per_group"]) == {"case_id", "radiographic_size"}
    assert summary["per_group"]["case_id"]["case_00001"]["n"] == 2
    per_class = summary["per_class"]
    assert set(per_class) == {"kidney", "tumor", "cyst"}
    assert per_class["kidney"]["n"] == 3 and per_class["cyst"]["n"] == 1  # cyst only predicted in the first slice
    assert per_class["tumor"]["pooled_f1"] == pytest.approx(f1_dice_from_counts(3 + 4, 0, 1 + 4))
    assert per_class["cyst"]["per_group"]["case_id"] == {"case_00001": {"n": 1, "mean_f1": 0.0, "pooled_f1": 0.0}}
    total = [sum(int(r[k]) for r in rows) for k in ("tp", "fp", "fn")]
    assert summary["pooled_f1"] == pytest.approx(f1_dice_from_counts(*total))

    overlays = sorted(p.name for p in (tmp_path / "overlays").iterdir())
    assert overlays == ["0000_case_00001_slice_003.png", "0001_case_00001_slice_004.png"]
    picture = np.asarray(Image.open(tmp_path / "overlays" / overlays[0]))
    assert picture.ndim == 3 and picture.shape[2] == 3 and picture.shape[1] > 3 * 128  # three enlarged panels
    colours = {tuple(c) for c in picture.reshape(-1, 3)}
    # the kidney colour blended over grey appears (exact values depend on the grey), and the legend's pure colours
    assert all(c in colours for c in CLASS_COLOURS[:3])


def test_multiclass_class_index_input_and_errors(tmp_path):
    pred, label = _maps()
    writer = SegmentationReportWriter(tmp_path, num_overlays=0, class_names=["kidney", "tumor", "cyst"])
    writer.reset()
    writer.record(_engine(torch.as_tensor(pred)[None], torch.as_tensor(label)[None]))  # C == 1 class maps
    assert (writer.rows[0]["tp"], writer.rows[0]["fp"], writer.rows[0]["fn"]) == (15, 2, 1)
    bad = label.copy()
    bad[0, 0] = 7
    with pytest.raises(ValueError, match=r"'label' of 'image_0001' must hold class indices \[0, 1, 2, 3\].*7"):
        writer.record(_engine(torch.as_tensor(pred)[None], torch.as_tensor(bad)[None]))
    with pytest.raises(ValueError, match="not both"):
        SegmentationReportWriter(tmp_path, class_names=KITS, label_index=2)
    with pytest.raises(ValueError, match=r"clash.*f1_tumor"):
        SegmentationReportWriter(tmp_path, metadata_fields=["f1_tumor"], class_names=KITS)
    with pytest.raises(ValueError, match="indices must be integers >= 1"):
        SegmentationReportWriter(tmp_path, class_names={0: "background", 1: "kidney"})
    with pytest.raises(ValueError, match=r"must match \[A-Za-z0-9_\]\+"):
        SegmentationReportWriter(tmp_path, class_names={1: "left kidney"})
    with pytest.raises(ValueError, match="unique"):
        SegmentationReportWriter(tmp_path, class_names=["a", "a"])
    # binary reports keep their columns
    assert SegmentationReportWriter(tmp_path).score_columns == ["f1", "dice", "tp", "fp", "fn"]
