"""VideoReportWriter on a SupervisedEvaluator: per-frame object scores, temporal scores per video, the files."""

import csv
import json

import numpy as np
import pytest
import torch
from monai.engines import SupervisedEvaluator

from metaseg_monai.handlers import VideoReportWriter


def _discs(present, shift=1):
    yy, xx = np.mgrid[:32, :32]
    frames = []
    for t, on in enumerate(present):
        f = np.zeros((1, 32, 32), np.int32)
        f[0][(yy - 8) ** 2 + (xx - 8 - shift * t) ** 2 <= 16] = 1
        if on:
            f[0][(yy - 22) ** 2 + (xx - 22) ** 2 <= 16] = 2
        frames.append(f)
    return frames


class _ReturnsItsLabel(torch.nn.Module):
    """A 'network' that returns the prediction stored in the image's second channel."""

    def forward(self, x):
        return x[:, 1:2]


def _evaluator(items, handler):
    loader = [{k: (torch.as_tensor(v)[None] if not isinstance(v, str) else [v]) for k, v in i.items()} for i in items]
    evaluator = SupervisedEvaluator(
        device="cpu",
        val_data_loader=loader,
        epoch_length=len(loader),
        network=_ReturnsItsLabel(),
        prepare_batch=lambda batch, device, non_blocking, **kw: (batch["image"], None),
        postprocessing=None,
        val_handlers=[handler],
    )
    return evaluator


def _items(video, preds, truths):
    items = []
    for t, pred in enumerate(preds):
        image = np.concatenate([np.random.default_rng(t).random((1, 32, 32)), pred]).astype(np.float32)
        item = {"image": image, "video": video, "frame": t}
        if t in truths:
            item["label"] = truths[t]
        items.append(item)
    return items


def test_report_of_two_videos_and_a_still(tmp_path):
    blinking = _discs([1, 0, 1, 0, 1])
    steady = _discs([1, 1, 1, 1, 1])
    truth = _discs([1, 1, 1, 1, 1])
    items = (
        _items("01", blinking, {0: truth[0], 1: truth[1]})
        + _items("02", steady, {})
        + _items("still_a", steady[:1], {0: truth[0]})
    )
    handler = VideoReportWriter(tmp_path / "eval", video_key="video", num_overlay_frames=3)
    # items of one video must not be batched with another's here: batch size 1, as the bundle does
    _evaluator(items, handler).run()
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    v1, v2, still = (summary["videos"][k] for k in ("01", "02", "still_a"))
    assert v1["ap_50"] == pytest.approx((1.0 + 0.5) / 2) and v1["flicker"] == pytest.approx(2 / 5)
    assert v2["ap_50"] is None and v2["flicker"] == 0.0 and v2["annotated_frames"] == 0
    assert still["ap_50"] == 1.0 and still["flicker"] is None and still["area_change"] is None
    overall = summary["overall"]
    assert overall["videos"] == 3 and overall["annotated_frames"] == 3
    assert overall["ap_50"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert overall["flicker"] == pytest.approx(2 / (5 + 6)) and "flicker" in summary["conventions"]
    with open(tmp_path / "eval" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 11 and rows[0]["video"] == "01" and rows[2]["ap_50"] == "" and rows[1]["ap_50"] == "0.5"
    assert sorted(p.name for p in (tmp_path / "eval" / "overlays").iterdir()) == ["01.png", "02.png", "still_a.png"]
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        VideoReportWriter(tmp_path / "eval")


def test_frames_out_of_order_and_shape_mismatch_are_errors(tmp_path):
    frames = _discs([1, 1, 1])
    items = _items("01", frames, {})
    items[1], items[2] = items[2], items[1]
    with pytest.raises(ValueError, match="frame 1 came after frame 2"):
        _evaluator(items, VideoReportWriter(tmp_path / "a")).run()
    bad = _items("01", frames[:1], {0: np.zeros((1, 16, 16), np.int32)})
    with pytest.raises(ValueError, match=r"reference \(16, 16\) and prediction \(32, 32\)"):
        _evaluator(bad, VideoReportWriter(tmp_path / "b")).run()
    assert not (tmp_path / "b" / "summary.json").exists()


def test_groups_masks_and_area_curves(tmp_path):
    from metaseg_monai.handlers import read_video_metrics

    blinking, steady = _discs([1, 0, 1, 0, 1]), _discs([1, 1, 1, 1, 1])
    items = [{**i, "source": "ctc"} for i in _items("01", blinking, {})]
    items += [{**i, "source": "stills"} for i in _items("still_a", steady[:1], {0: steady[0]})]
    first = VideoReportWriter(tmp_path / "a", group_key="source", save_masks=True, area_curve_label="stage 0")
    _evaluator(items, first).run()
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["groups"]["ctc"]["flicker"] == pytest.approx(2 / 5) and summary["groups"]["ctc"]["ap_50"] is None
    assert summary["groups"]["stills"]["ap_50"] == 1.0 and summary["groups"]["stills"]["videos"] == 1
    masks = sorted((tmp_path / "a" / "masks" / "01").iterdir())
    assert [p.name for p in masks] == [f"mask{t:03d}.tif" for t in range(5)]
    import tifffile

    np.testing.assert_array_equal(tifffile.imread(masks[1]), blinking[1][0])
    assert tifffile.imread(masks[1]).dtype == np.uint16 and not (tmp_path / "a" / ".masks.partial").exists()
    rows = read_video_metrics(tmp_path / "a" / "metrics.csv")
    assert rows[0]["group"] == "ctc" and rows[0]["frame"] == 0 and "ap_50" not in rows[0]
    assert rows[-1]["ap_50"] == 1.0
    second = VideoReportWriter(
        tmp_path / "b", area_curve_label="stage 1", reference_curves={"stage 0": tmp_path / "a" / "metrics.csv"}
    )
    _evaluator(_items("01", steady, {}), second).run()
    assert (tmp_path / "b" / "area_curves" / "01.png").is_file()
    with pytest.raises(FileNotFoundError, match="metrics file"):
        VideoReportWriter(tmp_path / "c", area_curve_label="x", reference_curves={"y": tmp_path / "none.csv"})
    with pytest.raises(ValueError, match="give area_curve_label"):
        VideoReportWriter(tmp_path / "c", reference_curves={"y": tmp_path / "a" / "metrics.csv"})
    with pytest.raises(ValueError, match="has a curve labelled 'stage 0', the label of this report's own curve"):
        VideoReportWriter(
            tmp_path / "c", area_curve_label="stage 0", reference_curves={"stage 0": tmp_path / "a" / "metrics.csv"}
        )
    mixed = [{**i, "source": "ctc" if i["frame"] == 0 else "other"} for i in _items("01", steady[:2], {})]
    with pytest.raises(ValueError, match="is in group 'other'"):
        _evaluator(mixed, VideoReportWriter(tmp_path / "d", group_key="source")).run()
