"""Tables of a comparison: per-run scores into ``results.csv`` and the paper-style ``report.md``."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaseg_monai.metrics import paired_wilcoxon
from metaseg_monai.utils.atomic import atomic_path

__all__ = [
    "RunResult",
    "mean_std",
    "pair_rows",
    "read_metrics_csv",
    "render_report",
    "results_table",
    "swap_matrices_over_runs",
    "write_results_csv",
]

# numeric per-image columns of SegmentationReportWriter (and their per-class forms, "f1_tumor"): not part of the key
_SCORE_PREFIXES = ("f1", "dice", "tp", "fp", "fn", "tn")
RESULT_COLUMNS = ("variant", "evaluation", "seed", "group", "value", "n", "mean_f1", "pooled_f1")


@dataclass
class RunResult:
    """One evaluated run: ``rows`` from its ``metrics.csv`` and ``summary`` from its ``summary.json``."""

    variant: str
    seed: int
    evaluation: str  # "true" metadata (or the arm's own mode) or "swap"
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _is_score(column: str) -> bool:
    return column.split("_", 1)[0] in _SCORE_PREFIXES


def read_metrics_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``metrics.csv``: score columns as floats, the rest (image, metadata) as strings."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "image" not in reader.fieldnames or "f1" not in reader.fieldnames:
            raise ValueError(
                f"'{path}' is not a metrics table: expected columns 'image' and 'f1', found {reader.fieldnames}."
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append({k: float(v) if _is_score(k) and v != "" else v for k, v in row.items()})
            except ValueError as err:
                raise ValueError(f"'{path}' line {line}: a score is not a number ({err}).") from err
    return rows


def _key(row: Mapping[str, Any]) -> tuple:
    """What identifies an evaluated sample: the image and its (given) metadata, not its scores."""
    return tuple((k, str(v)) for k, v in sorted(row.items()) if not _is_score(k))


def pair_rows(
    baseline: Sequence[RunResult],
    candidate: Sequence[RunResult],
    where: Callable[[Mapping[str, Any]], bool] | None = None,
) -> tuple[list[float], list[float]] | None:
    """Per-image F1 of two arms paired by (seed, image, metadata), optionally only the rows ``where`` accepts;
    ``None`` if their evaluated samples differ."""
    keep = where or (lambda row: True)
    base = {(r.seed, _key(row)): row["f1"] for r in baseline for row in r.rows if keep(row)}
    cand = {(r.seed, _key(row)): row["f1"] for r in candidate for row in r.rows if keep(row)}
    if not base or base.keys() != cand.keys():
        return None
    keys = sorted(base)
    return [base[k] for k in keys], [cand[k] for k in keys]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of run-level scores."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def _fmt(values: Sequence[float]) -> str:
    if not values:
        return "-"
    mean, std = mean_std(values)
    return f"{mean:.3f} ± {std:.3f}" if len(values) > 1 else f"{mean:.3f}"


def results_table(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Long-format rows (:data:`RESULT_COLUMNS`): each run overall (``group="all"``) and per metadata group."""
    table = []
    for r in results:
        base = {"variant": r.variant, "evaluation": r.evaluation, "seed": r.seed}
        table.append({**base, "group": "all", "value": "", **_scores(r.summary)})
        for group, values in r.summary.get("per_group", {}).items():
            for value, scores in values.items():
                table.append({**base, "group": group, "value": value, **_scores(scores)})
    return table


def _scores(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"n": summary.get("n", ""), "mean_f1": summary.get("mean_f1", ""), "pooled_f1": summary.get("pooled_f1", "")}


def write_results_csv(path: str | Path, results: Sequence[RunResult], overwrite: bool = False) -> Path:
    """Write :func:`results_table` to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path, overwrite) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(results_table(results))
    return path


def _p(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"


def render_report(
    title: str,
    results: Sequence[RunResult],
    variants: Sequence[str],
    baseline: str | None,
    settings: Mapping[str, Any],
    figures: Sequence[tuple[str, str]] = (),
    alternative: str = "two-sided",
    run_label: str = "seeds",
) -> str:
    """The comparison as Markdown: mean ± std over runs of each arm's mean per-image F1, overall and per group
    (one row per arm, one column per metadata value), with the Wilcoxon signed-rank p-value of each arm against
    ``baseline`` (``alternative``: two-sided, or ``"greater"``, one-sided as the FiLM paper) on per-image F1 paired
    by (run, image, metadata), overall and per group; from 5 runs on, also on the runs' mean F1 paired by run (the
    paper's test over its 10 splits). Runs are seeds, or random splits (``run_label="splits"``). Swapped-metadata
    evaluations that carry a ``swap_matrix`` get the matrix of every (true, given) pair, mean ± std over runs."""
    lines = [f"# {title}", ""]
    lines += [f"- {k}: {v}" for k, v in settings.items()]
    lines.append("")
    for evaluation, heading in (("true", "Evaluated with each arm's own metadata"), ("swap", "Swapped metadata")):
        runs = [r for r in results if r.evaluation == evaluation]
        if not runs:
            continue
        arms = [v for v in variants if any(r.variant == v for r in runs)]
        groups: dict[str, list[str]] = {}
        for r in runs:
            for group, values in r.summary.get("per_group", {}).items():
                groups.setdefault(group, [])
                groups[group] += [v for v in values if v not in groups[group]]
        lines += [f"## {heading}", ""]
        if evaluation == "swap":
            lines += [
                "Every test sample given each other value of the swapped field, its label unchanged: a network that "
                "follows its metadata should score near zero here (the paper's swapped-metadata test). Groups are by "
                "the value given to the network; `swapped_from` groups by the true one.",
                "",
            ]
        base_runs = [r for r in results if r.variant == baseline and r.evaluation == "true"]
        header = ["arm", f"F1 (mean ± std over {run_label})", run_label]
        side = "one-sided" if alternative == "greater" else "two-sided"
        per_run = len({r.seed for r in base_runs}) >= 5
        if evaluation == "true" and base_runs:
            header += [f"Wilcoxon p vs {baseline} ({side}, per image)", "median ΔF1", "pairs"]
            header += [f"p per {run_label[:-1]} ({side})"] if per_run else []
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for arm in arms:
            mine = [r for r in runs if r.variant == arm]
            cells = [arm, _fmt([r.summary["mean_f1"] for r in mine]), str(len(mine))]
            if evaluation == "true" and base_runs:
                cells += _wilcoxon_cells(base_runs, mine, arm == baseline, alternative)
                cells += [_per_run_p(base_runs, mine, arm == baseline, alternative)] if per_run else []
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for group, values in groups.items():
            tested = evaluation == "true" and base_runs
            note = f"; {side} Wilcoxon p vs {baseline} on per-image F1" if tested else ""
            lines += [f"Per {group} (mean per-image F1, mean ± std over {run_label}{note}):", ""]
            lines += ["| arm | " + " | ".join(values) + " |", "|---|" + "---|" * len(values)]
            for arm in arms:
                mine = [r for r in runs if r.variant == arm]
                cells = [
                    _fmt(
                        [
                            r.summary["per_group"][group][v]["mean_f1"]
                            for r in mine
                            if v in r.summary["per_group"].get(group, {})
                        ]
                    )
                    for v in values
                ]
                if tested and arm != baseline:
                    cells = [
                        f"{cell} (p {_group_p(base_runs, mine, group, v, alternative)})"
                        for cell, v in zip(cells, values, strict=True)
                    ]
                lines.append(f"| {arm} | " + " | ".join(cells) + " |")
            lines.append("")
        if evaluation == "swap":
            lines += _swap_matrix_lines(runs, arms, run_label)
    for caption, path in figures:
        lines += [f"## {caption}", "", f"![{caption}]({path})", ""]
    return "\n".join(lines)


def _group_p(
    base_runs: Sequence[RunResult], mine: Sequence[RunResult], group: str, value: str, alternative: str
) -> str:
    pairs = pair_rows(base_runs, mine, where=lambda row: str(row.get(group)) == value)
    if pairs is None:
        return "n/a"
    try:
        return _p(paired_wilcoxon(*pairs, alternative=alternative)["p_value"])
    except ValueError:  # too few pairs in the group
        return "n/a"


def _per_run_p(base_runs: Sequence[RunResult], mine: Sequence[RunResult], is_baseline: bool, alternative: str) -> str:
    """The test on the runs' mean F1 paired by run (seed or split)."""
    if is_baseline:
        return ""
    base = {r.seed: r.summary["mean_f1"] for r in base_runs}
    cand = {r.seed: r.summary["mean_f1"] for r in mine}
    common = sorted(set(base) & set(cand))
    try:
        test = paired_wilcoxon([base[k] for k in common], [cand[k] for k in common], 5, alternative)
    except ValueError as err:
        return f"n/a ({err})"
    return f"{_p(test['p_value'])} (n={test['n']})"


def swap_matrices_over_runs(results: Sequence[RunResult], arms: Sequence[str]) -> list[dict[str, Any]]:
    """Each arm's swapped-metadata matrices gathered over its runs, one entry per (arm, swapped field):
    ``{"arm", "field", "categories", "runs", "values": [[[F1 of each run] for given] for true]}`` (a cell no run has is
    an empty list)."""
    gathered = []
    for arm in arms:
        matrices = [r.summary["swap_matrix"] for r in results if r.variant == arm and "swap_matrix" in r.summary]
        for name in dict.fromkeys(f for m in matrices for f in m):
            per_run = [m[name] for m in matrices if name in m]
            categories = per_run[0]["categories"]
            values = [
                [
                    [m["mean_f1"][i][j] for m in per_run if m["mean_f1"][i][j] is not None]
                    for j in range(len(categories))
                ]
                for i in range(len(categories))
            ]
            gathered.append(
                {"arm": arm, "field": name, "categories": categories, "runs": len(per_run), "values": values}
            )
    return gathered


def _swap_matrix_lines(runs: Sequence[RunResult], arms: Sequence[str], run_label: str) -> list[str]:
    """Per arm and swapped field: the (true, given) matrix of mean per-image F1, mean ± std over runs."""
    lines: list[str] = []
    for matrix in swap_matrices_over_runs(runs, arms):
        name, categories = matrix["field"], matrix["categories"]
        lines += [
            f"{matrix['arm']}: F1 with each {name} given (rows: the true {name}; mean ± std over {run_label}; the "
            "diagonal is the true metadata):",
            "",
            f"| true \\ given | {' | '.join(categories)} |",
            "|---|" + "---|" * len(categories),
        ]
        for true, row in zip(categories, matrix["values"], strict=True):
            lines.append(f"| {true} | " + " | ".join(_fmt(cell) for cell in row) + " |")
        lines.append("")
    return lines


def _wilcoxon_cells(
    base_runs: Sequence[RunResult], mine: Sequence[RunResult], is_baseline: bool, alternative: str = "two-sided"
) -> list[str]:
    if is_baseline:
        return ["(baseline)", "", ""]
    pairs = pair_rows(base_runs, mine)
    if pairs is None:
        return ["n/a (evaluated on other samples)", "", ""]
    try:
        test = paired_wilcoxon(*pairs, alternative=alternative)
    except ValueError as err:  # fewer than 6 pairs: no p-value can reach 0.05
        return [f"n/a ({err})", "", str(len(pairs[0]))]
    return [_p(test["p_value"]), f"{test['median_difference']:+.3f}", str(test["n"])]
