"""metaseg compare: arms parsed, runs tabulated, Wilcoxon pairing, resume and refusal of changed settings."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from bundle_support import BUNDLES, IGNORE_DEPRECATED_PACKAGES, requires_regular_package

from metaseg_monai.comparison import (
    RunResult,
    pair_rows,
    parse_variants,
    read_metrics_csv,
    render_report,
    run_comparison,
)
from metaseg_monai.comparison.tables import results_table
from metaseg_monai.sample_data.generate_microscopy import CELL_LINES, generate_cell_lines

pytestmark = IGNORE_DEPRECATED_PACKAGES


def _run(variant: str, seed: int, f1s: list[float], evaluation: str = "true") -> RunResult:
    rows = [
        {"image": f"img{i}.png", "cell_line": "HeLa" if i % 2 else "MDCK", "f1": f, "dice": f, "tp": 1.0, "fp": 0.0}
        for i, f in enumerate(f1s)
    ]
    summary = {
        "n": len(rows),
        "mean_f1": sum(f1s) / len(f1s),
        "pooled_f1": 0.5,
        "per_group": {"cell_line": {"HeLa": {"n": 1, "mean_f1": f1s[1], "pooled_f1": 0.5}}},
    }
    return RunResult(variant, seed, evaluation, rows, summary)


def test_pairs_by_seed_image_and_metadata():
    base = [_run("none", 0, [0.1, 0.2, 0.3]), _run("none", 1, [0.4, 0.5, 0.6])]
    cand = [_run("sme", 1, [0.9, 0.8, 0.7]), _run("sme", 0, [0.3, 0.2, 0.1])]
    pairs = pair_rows(base, cand)
    assert pairs is not None
    assert sorted(zip(*pairs, strict=True)) == sorted(
        [(0.1, 0.3), (0.2, 0.2), (0.3, 0.1), (0.4, 0.9), (0.5, 0.8), (0.6, 0.7)]
    )
    assert pair_rows(base, [_run("sme", 0, [0.5, 0.5])]) is None  # other samples: no paired test


def test_report_has_mean_std_groups_and_wilcoxon():
    results = [_run("none", s, [0.5] * 8) for s in (0, 1)] + [_run("sme", s, [0.9] * 8) for s in (0, 1)]
    results.append(_run("sme", 0, [0.0] * 8, evaluation="swap"))
    text = render_report("T", results, ["none", "sme"], "none", {"epochs": 3})
    assert "| none | 0.500 ± 0.000 | 2 | (baseline) |" in text
    # 16 paired differences of +0.4, all one way
    match = re.search(r"\| sme \| 0\.900 ± 0\.000 \| 2 \| (\S+) \| \+0\.400 \| 16 \|", text)
    assert match is not None and float(match.group(1)) < 1e-3
    assert "## Swapped metadata" in text and "| sme | 0.000 | 1 |" in text
    assert "Per cell_line" in text and "| HeLa |" in text
    rows = results_table(results)
    assert {(r["variant"], r["evaluation"], r["group"]) for r in rows} >= {
        ("sme", "swap", "all"),
        ("none", "true", "cell_line"),
    }


def test_overlay_variants_come_from_the_bundle(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "two_heads.json").write_text("{}")
    arms = parse_variants("none,two_heads", tmp_path)
    assert arms[1].overlay == tmp_path / "configs" / "two_heads.json" and arms[1].overrides() == {}
    assert not arms[1].reads_metadata
    with pytest.raises(ValueError, match="config overlay"):
        parse_variants("three_heads", tmp_path)


def test_metrics_table_errors_name_the_file(tmp_path):
    bad = tmp_path / "metrics.csv"
    bad.write_text("name,score\na,1\n")
    with pytest.raises(ValueError, match=r"metrics\.csv"):
        read_metrics_csv(bad)


@pytest.fixture(scope="module")
def cell_lines(tmp_path_factory) -> Path:
    return generate_cell_lines(tmp_path_factory.mktemp("data") / "cell_lines", images_per_line=4, size=64)


def test_compare_runs_the_bundle_and_resumes(cell_lines, tmp_path):
    requires_regular_package()
    out = tmp_path / "cmp"
    lines: list[str] = []
    tiny = {"features": [8, 8, 8], "batch_size": 8, "val_interval": 5}  # > epochs: validated once, at the end
    kwargs = dict(variants="none,sme", seeds=1, epochs=1, overrides=tiny, swap="yes", say=lines.append)
    result = run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", cell_lines, out, **kwargs)
    assert (out / "runs" / "sme" / "seed0" / "models" / "model.pt").is_file()
    swapped = read_metrics_csv(out / "runs" / "sme" / "seed0" / "swap" / "metrics.csv")
    assert len(swapped) == len(CELL_LINES) ** 2  # every (true, given) pair; the run's swapped rows are the others
    swap_run = next(r for r in result["results"] if r.evaluation == "swap")
    assert len(swap_run.rows) == len(CELL_LINES) * (len(CELL_LINES) - 1)
    assert (out / "swap_matrix.csv").is_file() and (out / "swap_matrix_sme.png").is_file()
    assert not (out / "runs" / "none" / "seed0" / "swap").exists()  # nothing to swap for a metadata-free arm
    with open(out / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    overall = {(r["variant"], r["evaluation"]) for r in table if r["group"] == "all"}
    assert overall == {("none", "true"), ("sme", "true"), ("sme", "swap")}
    report = (out / "report.md").read_text()
    assert "Wilcoxon p vs none" in report and "Per cell_line" in report
    assert "sme: F1 with each cell_line given" in report and "![Swapped-metadata matrix of sme" in report
    assert any("training 1 epochs" in line for line in lines)
    assert json.loads((out / "comparison.json").read_text())["epochs"] == 1

    # the same command again reuses the finished runs
    lines.clear()
    again = run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", cell_lines, out, **kwargs)
    assert sum("done earlier" in line for line in lines) == 2
    assert [r.summary for r in again["results"]] == [r.summary for r in result["results"]]

    with pytest.raises(ValueError, match=r"other settings.*epochs"):
        run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", cell_lines, out, **{**kwargs, "epochs": 2})
    with pytest.raises(ValueError, match="set by the comparison itself"):
        run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", cell_lines, tmp_path / "x", overrides={"seed": 3})


def test_compare_on_a_continuous_field_draws_the_size_sweep(tmp_path):
    """KiTS: no swap (the size is continuous), and the report shows Fig. 2A for the first metadata-reading arm."""
    from PIL import Image

    from metaseg_monai.sample_data.generate_ct import generate_kits21

    requires_regular_package()
    data = generate_kits21(tmp_path / "kits21", num_cases=6, shape=(20, 64, 64), spacing=(12.5, 4.0, 4.0))
    out = tmp_path / "cmp"
    run_comparison(
        BUNDLES / "kits21_tumor_size_segmentation",
        data,
        out,
        variants="none,sme",
        seeds=1,
        epochs=1,
        overrides={"features": [8, 8, 8], "batch_size": 8},
        say=lambda text: None,
    )
    figure = out / "sweep_radiographic_size_sme.png"
    assert figure.is_file()
    width, height = Image.open(figure).size
    assert width > 6 * 64 and height >= 64  # the image and six swept values side by side
    report = (out / "report.md").read_text()
    assert f"]({figure.name})" in report and "## Swapped metadata" not in report


def test_cli_reports_a_bad_bundle_as_an_error_message(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "metaseg_monai.cli", "compare", "no_such_bundle"]
    command += ["--dataset_dir", str(tmp_path), "--out", str(tmp_path / "o")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "metaseg: error: bundle 'no_such_bundle' not found" in result.stderr and "Traceback" not in result.stderr


def test_report_over_splits_is_one_sided_per_split_and_shows_the_swap_matrix():
    results = [_run("film:dummy", s, [0.5 + 0.01 * s] * 8) for s in range(6)]
    results += [_run("film", s, [0.7 + 0.01 * s] * 8) for s in range(6)]
    matrix = {"categories": ["HeLa", "MDCK"], "mean_f1": [[0.9, 0.2], [0.1, 0.8]], "field": "cell_line"}
    for s in range(2):
        swap = _run("film", s, [0.15] * 8, evaluation="swap")
        swap.summary["swap_matrix"] = {"cell_line": matrix}
        results.append(swap)
    text = render_report("T", results, ["film:dummy", "film"], "film:dummy", {}, (), "greater", "splits")
    assert "F1 (mean ± std over splits) | splits | Wilcoxon p vs film:dummy (one-sided, per image)" in text
    # 6 splits, all better: the exact one-sided p per split is 1 / 2**6
    match = re.search(r"\| film \| 0\.725 ± 0\.019 \| 6 \| \S+ \| \+0\.200 \| 48 \| (\S+) \(n=6\) \|", text)
    assert match is not None and match.group(1) == "0.016"  # printed to 2 significant digits
    assert "| film | 0.725 ± 0.019 (p " in text.split("Per cell_line")[1]  # per group: the arm's score and its p
    assert "film: F1 with each cell_line given (rows: the true cell_line" in text
    assert "| HeLa | 0.900 ± 0.000 | 0.200 ± 0.000 |" in text


def test_splits_need_a_bundle_with_split_seed_and_designs_are_checked(tmp_path):
    requires_regular_package()
    from metaseg_monai.cli import compare

    data = tmp_path / "d"
    data.mkdir()
    with pytest.raises(ValueError, match="design must be 'arms', 'few_labels' or 'stages', got 'grid'"):
        compare("cell_lines_nuclei_segmentation", str(data), str(tmp_path / "o"), design="grid")
    with pytest.raises(ValueError, match="has no split_seed"):
        run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", data, tmp_path / "o2", splits=2)
    with pytest.raises(ValueError, match="alternative must be one of"):
        run_comparison(BUNDLES / "cell_lines_nuclei_segmentation", data, tmp_path / "o3", alternative="less")
