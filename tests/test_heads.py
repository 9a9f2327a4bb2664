"""Tests for metaseg_monai.transforms.heads (routing outputs by each sample's task)."""

from __future__ import annotations

import pytest
import torch
from monai.data import MetaTensor, decollate_batch, list_data_collate
from monai.transforms import Compose, SaveImaged

from metaseg_monai.networks import MultiHeadUNet
from metaseg_monai.transforms import RouteByTaskd, SelectHeadd, task_of

TASKS = ["nuclei", "anomaly"]


def two_heads(channels=(1, 1)) -> torch.Tensor:
    """A (sum(channels), 4, 4) output whose channel k is filled with k."""
    return torch.arange(float(sum(channels)))[:, None, None].expand(-1, 4, 4).clone()


def test_task_of_reads_and_checks_the_task():
    assert task_of({"mask_type": "anomaly"}, "mask_type", TASKS) == 1
    assert task_of({"mask_type": " nuclei "}, "mask_type", TASKS) == 0
    assert task_of({"mask_type": ["anomaly"]}, "mask_type", TASKS) == 1  # a decollated one-item list
    with pytest.raises(KeyError, match=r"'a.png'.*'mask_type' is missing.*keys present: \['image'\]"):
        task_of({"image": "a.png"}, "mask_type", TASKS)
    with pytest.raises(ValueError, match=r"'a.png'.*'mask_type' has value 'debris'.*\['nuclei', 'anomaly'\]"):
        task_of({"image": "a.png", "mask_type": "debris"}, "mask_type", TASKS)


def test_select_head_keeps_the_tasks_channels():
    sel = SelectHeadd("pred", "mask_type", TASKS)
    data = {"pred": two_heads(), "mask_type": "anomaly"}
    out = sel(data)
    assert out["pred"].shape == (1, 4, 4) and torch.all(out["pred"] == 1)
    assert data["pred"].shape == (2, 4, 4)  # the input dict is not modified
    assert torch.all(sel({"pred": two_heads(), "mask_type": "nuclei"})["pred"] == 0)


def test_select_head_with_wider_heads_keeps_metadata():
    sel = SelectHeadd(["pred", "logits"], "task", ["a", "b", "c"], head_channels=[2, 1, 3])
    pred = MetaTensor(two_heads((2, 1, 3)), meta={"filename_or_obj": "x.tif"})
    out = sel({"pred": pred, "logits": pred.clone(), "task": "c"})
    assert out["pred"].shape == (3, 4, 4) and out["pred"][:, 0, 0].tolist() == [3.0, 4.0, 5.0]
    assert isinstance(out["pred"], MetaTensor) and out["pred"].meta["filename_or_obj"] == "x.tif"
    assert out["logits"][:, 0, 0].tolist() == [3.0, 4.0, 5.0]
    assert sel({"pred": pred, "logits": pred, "task": "a"})["pred"][:, 0, 0].tolist() == [0.0, 1.0]


def test_select_head_errors():
    with pytest.raises(ValueError, match="one positive width per task"):
        SelectHeadd("pred", "mask_type", TASKS, head_channels=[1])
    with pytest.raises(ValueError, match="unique, non-empty"):
        SelectHeadd("pred", "mask_type", ["nuclei", "nuclei"])
    with pytest.raises(ValueError, match="list of task names, got the string"):
        SelectHeadd("pred", "mask_type", "nuclei")
    sel = SelectHeadd("pred", "mask_type", TASKS)
    with pytest.raises(ValueError, match=r"'b.png'.*'pred' has 3 channels.*expected 2"):
        sel({"image": "b.png", "pred": two_heads((1, 2)), "mask_type": "nuclei"})
    with pytest.raises(KeyError, match="'mask_type' is missing"):
        sel({"pred": two_heads()})


def test_select_head_on_a_multi_head_network_batch():
    """Decollated MultiHeadUNet output, one sample per task: each keeps its own head's logits."""
    net = MultiHeadUNet(2, 1, head_channels=(1, 1), features=(4, 4)).eval()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        logits = net(x)
    batch = list_data_collate([{"mask_type": "nuclei"}, {"mask_type": "anomaly"}])
    items = decollate_batch({"pred": logits, **batch})
    out = [SelectHeadd("pred", "mask_type", TASKS)(item) for item in items]
    torch.testing.assert_close(out[0]["pred"], logits[0, :1])
    torch.testing.assert_close(out[1]["pred"], logits[1, 1:])


def test_route_by_task_moves_the_prediction(tmp_path):
    route = RouteByTaskd("pred", "mask_type", TASKS)
    pred = two_heads()
    out = route({"pred": pred, "mask_type": "anomaly"})
    assert "pred" not in out and out["pred_anomaly"] is pred
    with pytest.raises(ValueError, match="cannot move 'pred' to 'pred_nuclei', which already exists"):
        route({"pred": pred, "pred_nuclei": pred, "mask_type": "nuclei"})
    with pytest.raises(ValueError, match="expected one of"):
        route({"pred": pred, "mask_type": "cells"})


def test_route_then_one_saver_per_task_writes_both_masks_of_one_image(tmp_path):
    """The task-switch table lists an image once per task: both masks are written, neither overwrites the other."""
    savers = [
        SaveImaged(
            keys=f"pred_{t}",
            output_dir=str(tmp_path),
            output_postfix=t,
            output_ext=".png",
            separate_folder=False,
            allow_missing_keys=True,
            print_log=False,
            scale=255,
            output_dtype="uint8",
        )
        for t in TASKS
    ]
    post = Compose([RouteByTaskd("pred", "mask_type", TASKS), *savers])
    for task, value in (("nuclei", 1.0), ("anomaly", 0.0)):
        pred = MetaTensor(torch.full((1, 8, 8), value), meta={"filename_or_obj": "/data/img_001.tif"})
        post({"pred": pred, "mask_type": task})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img_001_anomaly.png", "img_001_nuclei.png"]
