"""The evaluation report writer: per-image scores, per-group summaries and error overlays of binary segmentations."""

from __future__ import annotations

import csv
import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from monai.data import DataLoader, Dataset, MetaTensor
from monai.engines import SupervisedEvaluator
from monai.transforms import AsDiscreted
from PIL import Image

from metaseg_monai.handlers import SegmentationReportWriter
from metaseg_monai.metrics import confusion_counts, f1_dice_from_counts
from metaseg_monai.visualize import FALSE_NEGATIVE_COLOUR, FALSE_POSITIVE_COLOUR, TRUE_POSITIVE_COLOUR

# ---------------------------------------------------------------- the report writer

CELL_LINES = ["A", "B", "A", "B", "C", "A"]


class ThresholdNet(torch.nn.Module):
    """A fixed 'network': the image thresholded at 0.5, as one binary channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0.5).float()


def _samples() -> list[dict]:
    rng = np.random.default_rng(0)
    samples = []
    for i in range(6):
        label = np.zeros((1, 16, 16), dtype=np.float32)
        if i != 5:  # the last image has no object, and the network finds none: F1 = 1
            label[0, 3 : 8 + i, 4:12] = 1
        image = label * 0.8 + 0.1
        # images 1-4: i false-positive and i false-negative pixels (fewer where a flip hits its own kind)
        flips = rng.choice(16 * 16, size=2 * i if i != 5 else 0, replace=False)
        for k, flat in enumerate(flips):
            r, c = divmod(int(flat), 16)
            image[0, r, c] = 0.2 if k % 2 else 0.9
        samples.append(
            {
                "image": MetaTensor(torch.from_numpy(image), meta={"filename_or_obj": f"/data/cells/img_{i}.png"}),
                "label": torch.from_numpy(label),
                "cell_line": CELL_LINES[i],
                "size": i % 2,
            }
        )
    return samples


def _evaluator(samples: list[dict], decollate: bool = True) -> SupervisedEvaluator:
    return SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=DataLoader(Dataset(samples), batch_size=4),
        network=ThresholdNet(),
        postprocessing=AsDiscreted(keys="pred", threshold=0.5) if decollate else None,
        decollate=decollate,
    )


def _read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _expected_counts(sample: dict) -> tuple[int, int, int, int]:
    return confusion_counts(sample["image"].numpy() > 0.5, sample["label"].numpy())


@pytest.mark.parametrize("decollate", [True, False])
def test_report_writer_end_to_end(tmp_path, decollate):
    samples = _samples()
    out = tmp_path / "eval"
    evaluator = _evaluator(samples, decollate)
    writer = SegmentationReportWriter(out, metadata_fields=["cell_line", "size"], num_overlays=4)
    writer.attach(evaluator)
    evaluator.run()

    rows = _read_csv(out / "metrics.csv")
    assert list(rows[0]) == ["image", "cell_line", "size", "f1", "dice", "tp", "fp", "fn"]
    assert [r["image"] for r in rows] == [f"/data/cells/img_{i}.png" for i in range(6)]
    assert [r["cell_line"] for r in rows] == CELL_LINES
    assert [r["size"] for r in rows] == ["0", "1", "0", "1", "0", "1"]  # collated tensors unwrapped to ints
    for row, sample in zip(rows, samples, strict=True):
        tp, fp, fn, _ = _expected_counts(sample)
        assert (int(row["tp"]), int(row["fp"]), int(row["fn"])) == (tp, fp, fn)
        assert float(row["f1"]) == pytest.approx(f1_dice_from_counts(tp, fp, fn))
        assert row["dice"] == row["f1"]
    assert float(rows[0]["f1"]) == 1.0 and float(rows[5]["f1"]) == 1.0  # perfect; both empty
    assert all(float(r["f1"]) < 1.0 for r in rows[1:5])

    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 6
    assert summary["mean_f1"] == pytest.approx(np.mean([float(r["f1"]) for r in rows]))
    assert set(summary["per_group"]) == {"cell_line", "size"}
    assert {k: v["n"] for k, v in summary["per_group"]["cell_line"].items()} == {"A": 3, "B": 2, "C": 1}
    assert {k: v["n"] for k, v in summary["per_group"]["size"].items()} == {"0": 3, "1": 3}
    a_rows = [r for r in rows if r["cell_line"] == "A"]
    sums = [sum(int(r[k]) for r in a_rows) for k in ("tp", "fp", "fn")]
    assert summary["per_group"]["cell_line"]["A"]["pooled_f1"] == pytest.approx(f1_dice_from_counts(*sums))

    overlays = sorted(p.name for p in (out / "overlays").iterdir())
    assert overlays == [f"{i:04d}_img_{i}.png" for i in range(4)]
    picture = np.asarray(Image.open(out / "overlays" / "0003_img_3.png"))
    assert picture.shape == (16, 16, 3) and picture.dtype == np.uint8
    pred, label = samples[3]["image"].numpy()[0] > 0.5, samples[3]["label"].numpy()[0] > 0
    assert (picture[pred & ~label] == FALSE_POSITIVE_COLOUR).all()
    assert (picture[~pred & label] == FALSE_NEGATIVE_COLOUR).all()
    assert (picture[pred & label] == TRUE_POSITIVE_COLOUR).all()
    assert writer.rows[2]["cell_line"] == "A"


def test_report_writer_refuses_then_overwrites_without_mixing(tmp_path):
    samples = _samples()
    out = tmp_path / "eval"
    evaluator = _evaluator(samples)
    SegmentationReportWriter(out, metadata_fields=["cell_line"], num_overlays=4).attach(evaluator)
    evaluator.run()
    before = (out / "metrics.csv").read_text()

    again = _evaluator(samples)
    SegmentationReportWriter(out, metadata_fields=["cell_line"]).attach(again)
    with pytest.raises(FileExistsError, match=r"metrics\.csv' exists.*--eval_overwrite True.*overwrite=True"):
        again.run()
    assert (out / "metrics.csv").read_text() == before  # untouched

    replace = _evaluator(samples)
    writer = SegmentationReportWriter(out, metadata_fields=["cell_line"], num_overlays=2, overwrite=True)
    writer.attach(replace)
    replace.run()
    replace.run()  # the same evaluator twice: rows are reset at STARTED
    rows = _read_csv(out / "metrics.csv")
    assert len(rows) == 6 and len(writer.rows) == 6
    assert json.loads((out / "summary.json").read_text())["n"] == 6
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["0000_img_0.png", "0001_img_1.png"]
    assert not [p for p in out.rglob(".*")]  # no temporary files left behind


def _state(pred, label, **batch) -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(output=[{"pred": pred, "label": label}], batch=[batch]))


def test_report_writer_foreground_selection_and_metadata_values(tmp_path):
    label_map = torch.zeros(1, 4, 4, dtype=torch.long)
    label_map[0, 0, :2] = 2  # two tumour pixels
    label_map[0, 1, :] = 1
    one_hot = torch.zeros(3, 4, 4)
    one_hot[2, 0, 0] = 1  # one tumour pixel found
    one_hot[2, 3, 3] = 1  # one false tumour pixel
    writer = SegmentationReportWriter(
        tmp_path, metadata_fields=["size", "style"], num_overlays=0, foreground_channel=2, label_index=2
    )
    writer.reset()
    writer.record(_state(one_hot, label_map, size=torch.tensor(7), style=["fine"]))
    writer.record(_state(one_hot, label_map, size=np.float32(0.5), style="coarse"))
    first, second = writer.rows
    assert (first["tp"], first["fp"], first["fn"]) == (1, 1, 1)
    assert first["image"] == "image_0000" and second["image"] == "image_0001"
    assert (first["size"], first["style"], second["size"], second["style"]) == (7, "fine", 0.5, "coarse")

    binary = SegmentationReportWriter(tmp_path, num_overlays=0)
    with pytest.raises(ValueError, match=r"'label' of 'image_0000' must be binary.*pass label_index"):
        binary.record(_state(one_hot, label_map))
    with pytest.raises(ValueError, match=r"channel-first.*\(4, 4\)"):
        binary.record(_state(one_hot[0], label_map[0]))
    writer.record(_state(one_hot, label_map, size=1))  # a grouping column missing from an image is no error
    assert "style" not in writer.rows[2] and writer.rows[2]["size"] == 1
    with pytest.raises(ValueError, match="clash"):
        SegmentationReportWriter(tmp_path, metadata_fields=["f1"])


def test_report_writer_volume_overlay_shows_busiest_slice(tmp_path):
    label = torch.zeros(1, 8, 8, 3)
    label[0, 2:6, 2:6, 1] = 1  # the object lies in slice 1 of the last axis
    pred = label.clone()
    pred[0, 0, 0, 1] = 1  # one false positive there
    image = MetaTensor(torch.rand(1, 8, 8, 3), meta={"filename_or_obj": "/ct/case_00007.nii.gz"})
    writer = SegmentationReportWriter(tmp_path, num_overlays=1)
    writer.reset()
    writer.record(SimpleNamespace(state=SimpleNamespace(output=[{"pred": pred, "label": label, "image": image}])))
    writer.write()
    assert _read_csv(tmp_path / "metrics.csv")[0]["image"] == "/ct/case_00007.nii.gz"
    picture = np.asarray(Image.open(tmp_path / "overlays" / "0000_case_00007.png"))
    assert tuple(picture[0, 0]) == FALSE_POSITIVE_COLOUR and tuple(picture[3, 3]) == TRUE_POSITIVE_COLOUR


# ---------------------------------------------------------------- grouping columns are optional; swapped_from is added


def test_absent_grouping_columns_are_left_out_with_one_warning(tmp_path, caplog):
    samples = [{k: v for k, v in s.items() if k != "size"} for s in _samples()]  # a table with only cell_line
    evaluator = _evaluator(samples)
    writer = SegmentationReportWriter(tmp_path, metadata_fields=["mask_type", "cell_line", "size"], num_overlays=0)
    writer.attach(evaluator)
    with caplog.at_level(logging.WARNING):
        evaluator.run()  # two batches: the warning comes once, when the report is written
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert (
        "['mask_type', 'size']" in warnings[0].getMessage() and "grouping by ['cell_line']" in warnings[0].getMessage()
    )
    rows = _read_csv(tmp_path / "metrics.csv")
    assert list(rows[0]) == ["image", "cell_line", "f1", "dice", "tp", "fp", "fn"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["per_group"]) == ["cell_line"] and summary["n"] == 6


def test_swapped_from_is_a_grouping_column_when_the_samples_carry_it(tmp_path):
    samples = [{**s, "swapped_from": "B" if s["cell_line"] == "A" else "A"} for s in _samples()]
    evaluator = _evaluator(samples)
    SegmentationReportWriter(tmp_path / "a", metadata_fields=["cell_line"], num_overlays=0).attach(evaluator)
    evaluator.run()
    rows = _read_csv(tmp_path / "a" / "metrics.csv")
    assert list(rows[0])[:3] == ["image", "cell_line", "swapped_from"]
    assert [r["swapped_from"] for r in rows] == ["B", "A", "B", "A", "A", "B"]
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert list(summary["per_group"]) == ["cell_line", "swapped_from"]
    assert {k: v["n"] for k, v in summary["per_group"]["swapped_from"].items()} == {"A": 3, "B": 3}
    # listed explicitly it is not repeated; without swapped samples there is no such column
    listed = _evaluator(samples)
    SegmentationReportWriter(tmp_path / "b", ["swapped_from", "cell_line"], num_overlays=0).attach(listed)
    listed.run()
    assert list(_read_csv(tmp_path / "b" / "metrics.csv")[0])[:3] == ["image", "swapped_from", "cell_line"]
    plain = _evaluator(_samples())
    SegmentationReportWriter(tmp_path / "c", ["cell_line"], num_overlays=0).attach(plain)
    plain.run()
    assert "swapped_from" not in _read_csv(tmp_path / "c" / "metrics.csv")[0]


def test_a_grouping_column_missing_from_some_images_groups_those_that_have_it(tmp_path, caplog):
    pred = torch.zeros(1, 4, 4)
    pred[0, 0, 0] = 1
    writer = SegmentationReportWriter(tmp_path, metadata_fields=["style", "size"], num_overlays=0)
    writer.reset()
    writer.record(_state(pred, pred, style="fine", size=1))
    writer.record(_state(pred, torch.zeros(1, 4, 4), size=2))
    writer.record(_state(pred, pred, style="coarse", size=1))
    with caplog.at_level(logging.WARNING):
        writer.write()
    assert "'style' is missing from 1 of the 3 images" in caplog.text
    rows = _read_csv(tmp_path / "metrics.csv")
    assert [r["style"] for r in rows] == ["fine", "", "coarse"] and [r["size"] for r in rows] == ["1", "2", "1"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 3 and list(summary["per_group"]) == ["style", "size"]
    assert {k: v["n"] for k, v in summary["per_group"]["style"].items()} == {"coarse": 1, "fine": 1}
    assert {k: v["n"] for k, v in summary["per_group"]["size"].items()} == {"1": 2, "2": 1}
