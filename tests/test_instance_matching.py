"""Object-level scores: StarDist's matching (fixtures computed with stardist 0.9.2), DSB 2018, CTC SEG."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from metaseg_monai.metrics import ctc_seg, ctc_seg_jaccards, dsb2018_image_score, dsb2018_score, instance_matching
from metaseg_monai.metrics.instance_matching import iou_matrix, pooled_matching

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "stardist_matching.json").read_text())


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=[c["name"] for c in FIXTURES["cases"]])
def test_instance_matching_agrees_with_stardist(case):
    true, pred = np.array(case["true"]), np.array(case["pred"])
    ours = instance_matching(true, pred, thresholds=FIXTURES["thresholds"])
    assert len(ours) == len(case["results"])
    for mine, ref in zip(ours, case["results"], strict=True):
        assert mine["threshold"] == pytest.approx(ref["threshold"])
        for key in ("tp", "fp", "fn", "n_true", "n_pred"):
            assert mine[key] == ref[key], (case["name"], ref["threshold"], key)
        for key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1"), ("ap", "accuracy")):
            assert mine[key] == pytest.approx(ref[ref_key], abs=1e-12), (case["name"], ref["threshold"], key)
        # StarDist computes IoU in float32
        assert mine["mean_matched_iou"] == pytest.approx(ref["mean_matched_score"], abs=1e-6)


def _halves():
    true = np.zeros((8, 8), np.int32)
    true[0:2, 0:4] = 1
    pred = np.zeros_like(true)
    pred[0:2, 0:2], pred[0:2, 2:4] = 2, 3  # each half has IoU exactly 0.5 with the true object
    return true, pred


def test_matching_is_inclusive_and_one_to_one():
    true, pred = _halves()
    result = instance_matching(true, pred, thresholds=0.5)
    assert (result["tp"], result["fp"], result["fn"]) == (1, 1, 0)  # one of the halves, never both
    assert result["ap"] == pytest.approx(0.5)


def test_dsb_score_is_strict_and_averaged_over_thresholds():
    true, pred = _halves()
    assert dsb2018_image_score(true, pred) == 0.0  # IoU 0.5 is not > 0.5
    true = np.zeros((10, 10), np.int32)
    true[:, 0:5] = 1  # 50 px
    pred = true.copy()
    pred[0, 0:5] = 0  # 45 px, all inside the truth: IoU 0.9
    assert iou_matrix(true, pred)[0, 0] == pytest.approx(0.9)
    # hits at 0.5 .. 0.85 (8 thresholds; 0.9 is not > 0.9): (8 * 1 + 2 * 0) / 10
    assert dsb2018_image_score(true, pred) == pytest.approx(0.8)
    # mean over images; an image with nothing on either side scores 1
    empty = np.zeros_like(true)
    assert dsb2018_score([true, empty], [pred, empty]) == pytest.approx(0.9)


def test_ctc_seg_matches_on_more_than_half_of_the_reference():
    ref = np.zeros((4, 8), np.int32)
    ref[0:2, 0:4] = 1  # 8 px
    seg = np.zeros_like(ref)
    seg[0:2, 0:3] = 6  # 6 of 8 px
    seg[3, 0:5] = 6  # and 5 px outside the reference: J = 6 / (8 + 11 - 6) = 6 / 13
    np.testing.assert_allclose(ctc_seg_jaccards(ref, seg), [6 / 13])
    half = np.zeros_like(ref)
    half[0:2, 0:2] = 3  # exactly half: not matched
    np.testing.assert_allclose(ctc_seg_jaccards(ref, half), [0.0])
    with_fp = seg.copy()
    with_fp[0:2, 6:8] = 9  # a false positive does not change SEG
    assert ctc_seg([ref], [with_fp]) == pytest.approx(6 / 13)
    assert ctc_seg([ref, ref], [seg, half]) == pytest.approx(3 / 13)
    with pytest.raises(ValueError, match="no objects"):
        ctc_seg([np.zeros_like(ref)], [seg])


def test_pooled_matching_sums_counts():
    true, pred = _halves()
    results = [instance_matching(true, pred, 0.5), instance_matching(true, true, 0.5)]
    pooled = pooled_matching(results)
    assert (pooled["tp"], pooled["fp"], pooled["fn"]) == (2, 1, 0)
    assert pooled["ap"] == pytest.approx(2 / 3)


def test_torch_input_with_channel_dim_and_errors():
    true, pred = _halves()
    as_torch = instance_matching(torch.from_numpy(true)[None], torch.from_numpy(pred)[None], 0.5)
    assert as_torch == instance_matching(true, pred, 0.5)
    with pytest.raises(ValueError, match=r"same shape, found \(8, 8\) and \(8, 7\)"):
        instance_matching(true, pred[:, :7])
    with pytest.raises(ValueError, match="labels >= 0"):
        instance_matching(true, -pred)
    with pytest.raises(ValueError, match="integer object labels"):
        instance_matching(true, pred + 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        instance_matching(true, pred, thresholds=1.5)


def _disc_video(present):
    """Frames with two discs; ``present[t]`` says whether the second disc is drawn in frame t."""
    yy, xx = np.mgrid[:32, :32]
    frames = []
    for t, on in enumerate(present):
        f = np.zeros((32, 32), np.int32)
        f[(yy - 8) ** 2 + (xx - 8 - t) ** 2 <= 16] = 1  # moves one pixel a frame
        if on:
            f[(yy - 22) ** 2 + (xx - 22) ** 2 <= 16] = 2
        frames.append(f)
    return frames


def test_temporal_consistency_counts_single_frame_vanishing():
    from metaseg_monai.metrics import frame_statistics, temporal_consistency

    steady = temporal_consistency(_disc_video([1, 1, 1, 1, 1]))
    assert steady["flicker"] == 0.0 and steady["vanished"] == 0
    assert steady["foreground_iou"] < 1.0  # the first disc moves
    blink = temporal_consistency(_disc_video([1, 0, 1, 0, 1]))
    # frames t-1 = 0, 1, 2: disc 1 linked each time (3), disc 2 linked from frames 0 and 2 and vanishes both times
    assert (blink["linked"], blink["vanished"]) == (5, 2)
    assert blink["flicker"] == pytest.approx(2 / 5)
    assert blink["area_change"] > steady["area_change"]
    stats = frame_statistics(_disc_video([1, 0]))
    assert [s["objects"] for s in stats] == [2, 1] and stats[0]["foreground_area"] > stats[1]["foreground_area"]
    with pytest.raises(ValueError, match="at least 2 frames"):
        temporal_consistency(_disc_video([1]))
    with pytest.raises(ValueError, match=r"frame 1 has shape \(4, 5\), the frames before it \(4, 4\)"):
        temporal_consistency([np.zeros((4, 4), int), np.zeros((4, 5), int)])


def test_score_video_combines_object_and_temporal_scores():
    from metaseg_monai.metrics import score_video

    frames = _disc_video([1, 0, 1, 1])
    truths = {0: frames[0], 1: _disc_video([1, 1])[1]}  # frame 1's reference has both discs; the prediction one
    scores = score_video(frames, truths)
    assert scores["ap_50"] == pytest.approx((1.0 + 0.5) / 2)
    assert scores["seg"] == pytest.approx(3 / 4)  # 4 reference objects, 3 found exactly
    assert 0 < scores["flicker"] <= 1 and len(scores["frames"]) == 4
    assert "ap_50" in scores["frames"][1] and "ap_50" not in scores["frames"][2]
    unlabelled = score_video(frames)
    assert np.isnan(unlabelled["ap_50"]) and np.isnan(unlabelled["seg"]) and unlabelled["flicker"] == scores["flicker"]
    with pytest.raises(ValueError, match="outside the predicted sequence"):
        score_video(frames, {7: frames[0]})
