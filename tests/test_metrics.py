"""Pixel scores, the paired Wilcoxon test and score summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from metaseg_monai.metrics import confusion_counts, f1_dice_from_counts, paired_wilcoxon, summarize_scores

# ---------------------------------------------------------------- counts and F1/Dice


def test_confusion_counts_hand_made_masks():
    pred = np.array([[1, 1, 0], [0, 1, 0]])
    label = np.array([[1, 0, 0], [1, 1, 0]])
    assert confusion_counts(pred, label) == (2, 1, 1, 2)
    # torch bool tensors of another shape give the same numbers
    assert confusion_counts(torch.tensor(pred, dtype=torch.bool)[None], torch.tensor(label)[None]) == (2, 1, 1, 2)
    assert f1_dice_from_counts(2, 1, 1) == pytest.approx(4 / 6)


def test_f1_dice_edge_cases():
    empty = np.zeros((4, 4), dtype=bool)
    counts = confusion_counts(empty, empty)
    assert counts == (0, 0, 0, 16)
    assert f1_dice_from_counts(*counts[:3]) == 1.0  # both empty: defined as perfect
    full = np.ones((4, 4), dtype=bool)
    assert f1_dice_from_counts(*confusion_counts(empty, full)[:3]) == 0.0  # nothing found
    assert f1_dice_from_counts(*confusion_counts(full, empty)[:3]) == 0.0  # only false positives
    assert f1_dice_from_counts(*confusion_counts(full, full)[:3]) == 1.0


def test_confusion_counts_errors():
    with pytest.raises(ValueError, match=r"same shape.*\(2, 2\).*\(2, 3\)"):
        confusion_counts(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"label must be a binary mask.*\[0, 2\]"):
        confusion_counts(np.zeros((2, 2)), np.array([[0, 2], [0, 0]]))
    with pytest.raises(ValueError, match="non-negative"):
        f1_dice_from_counts(1, -1, 0)


# ---------------------------------------------------------------- Wilcoxon


def test_paired_wilcoxon_clear_difference_and_identical():
    baseline = [0.50, 0.52, 0.55, 0.48, 0.60, 0.51, 0.53, 0.49, 0.57, 0.54]
    candidate = [b + 0.1 + 0.01 * i for i, b in enumerate(baseline)]
    result = paired_wilcoxon(baseline, candidate)
    assert result["n"] == 10
    assert result["p_value"] < 0.01  # every difference positive: exact two-sided p = 2 / 2**10
    assert result["p_value"] == pytest.approx(2 / 2**10)
    assert result["median_difference"] == pytest.approx(0.1 + 0.045)
    # the test is symmetric in direction: the median difference changes sign, p does not
    reverse = paired_wilcoxon(candidate, baseline)
    assert reverse["p_value"] == pytest.approx(result["p_value"])
    assert reverse["median_difference"] == pytest.approx(-result["median_difference"])

    same = paired_wilcoxon(baseline, list(baseline))
    assert same == {"statistic": 0.0, "p_value": 1.0, "n": 10, "median_difference": 0.0}

    mixed = paired_wilcoxon(baseline, [b + (0.01 if i % 2 else -0.01) for i, b in enumerate(baseline)])
    assert mixed["p_value"] > 0.5


def test_paired_wilcoxon_errors():
    with pytest.raises(ValueError, match="10 baseline and 9 candidate"):
        paired_wilcoxon([0.5] * 10, [0.5] * 9)
    with pytest.raises(ValueError, match="at least 6 pairs, found 5"):
        paired_wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5], [0.2, 0.3, 0.4, 0.5, 0.6])
    with pytest.raises(ValueError, match="finite"):
        paired_wilcoxon([0.1] * 6, [0.1] * 5 + [float("nan")])


# ---------------------------------------------------------------- summaries


def test_summarize_scores_pooled_differs_from_mean():
    rows = [
        # a large object found well, a small one missed: pooled F1 is high, mean F1 is low
        {"f1": f1_dice_from_counts(90, 10, 0), "tp": 90, "fp": 10, "fn": 0, "cell_line": "A", "size": 2},
        {"f1": f1_dice_from_counts(0, 0, 10), "tp": 0, "fp": 0, "fn": 10, "cell_line": "B", "size": 10},
        {"f1": f1_dice_from_counts(5, 5, 0), "tp": 5, "fp": 5, "fn": 0, "cell_line": "B", "size": 2},
    ]
    summary = summarize_scores(rows, ["cell_line", "size"])
    assert summary["n"] == 3
    assert summary["mean_f1"] == pytest.approx((180 / 190 + 0 + 10 / 15) / 3)
    assert summary["pooled_f1"] == pytest.approx(2 * 95 / (2 * 95 + 15 + 10))
    assert summary["pooled_f1"] > summary["mean_f1"] + 0.2
    group_b = summary["per_group"]["cell_line"]["B"]
    assert group_b == {"n": 2, "mean_f1": pytest.approx(10 / 15 / 2), "pooled_f1": pytest.approx(10 / 25)}
    assert summary["per_group"]["cell_line"]["A"]["n"] == 1
    assert list(summary["per_group"]["size"]) == ["2", "10"]  # str keys, natural order
    json.dumps(summary)  # JSON-ready as it is


def test_summarize_scores_errors():
    with pytest.raises(ValueError, match="no rows"):
        summarize_scores([], ["cell_line"])
    with pytest.raises(ValueError, match=r"row 0 lacks \['cell_line'\]"):
        summarize_scores([{"f1": 1.0, "tp": 1, "fp": 0, "fn": 0}], ["cell_line"])


def test_one_sided_wilcoxon_halves_p_in_the_tested_direction():
    baseline = [0.50, 0.52, 0.55, 0.48, 0.60, 0.51, 0.53, 0.49, 0.57, 0.54]
    better = [b + 0.1 + 0.01 * i for i, b in enumerate(baseline)]
    greater = paired_wilcoxon(baseline, better, alternative="greater")
    assert greater["p_value"] == pytest.approx(1 / 2**10)  # exact: every difference positive
    assert paired_wilcoxon(better, baseline, alternative="greater")["p_value"] > 0.99  # the other direction
    assert paired_wilcoxon(baseline, better, min_pairs=5, alternative="greater")["n"] == 10
    with pytest.raises(ValueError, match="alternative must be one of"):
        paired_wilcoxon(baseline, better, alternative="less")


def test_swap_matrix_cells_diagonal_and_csv(tmp_path):
    from metaseg_monai.metrics.swap_matrix import is_true_pair, swap_matrix, write_swap_matrix_csv

    rows = []
    for image, true in (("a", "x"), ("b", "y")):
        for given, f1 in (("x", 0.9 if true == "x" else 0.2), ("y", 0.8 if true == "y" else 0.1)):
            counts = {"tp": 1, "fp": 0, "fn": 0}
            rows.append({"image": image, "t": given, "swapped_from": true, "swapped_field": "t", "f1": f1, **counts})
    matrix = swap_matrix(rows, "t", ["x", "y", "z"])
    assert matrix["mean_f1"] == [[0.9, 0.1, None], [0.2, 0.8, None], [None, None, None]]
    assert matrix["n"][0][:2] == [1, 1] and matrix["diagonal_mean_f1"] == pytest.approx(0.85)
    assert matrix["off_diagonal_mean_f1"] == pytest.approx(0.15)
    assert [is_true_pair(r) for r in rows] == [True, False, False, True]
    path = write_swap_matrix_csv(tmp_path / "m.csv", [matrix])
    assert path.read_text().splitlines()[:2] == ["field,true,given,n,mean_f1,pooled_f1", "t,x,x,1,0.9,1.0"]
    with pytest.raises(FileExistsError):
        write_swap_matrix_csv(path, [matrix])
    with pytest.raises(ValueError, match="no swapped-metadata rows of field 'u'"):
        swap_matrix(rows, "u")
