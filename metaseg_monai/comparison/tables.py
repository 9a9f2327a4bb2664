"""Tables of a comparison: per-run scores into ``results.csv`` and the paper-style ``report.md``."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaseg_monai.metrics import paired_wilcoxon
from metaseg_monai.utils.atomic import atomic_path

__all__ = ["RunResult", "pair_rows", "read_metrics_csv", "render_report", "results_table", "write_results_csv"]

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


def pair_rows(baseline: Sequence[RunResult], candidate: Sequence[RunResult]) -> tuple[list[float], list[float]] | None:
    """Per-image F1 of two arms paired by (seed, image, metadata); ``None`` if their evaluated samples differ."""
    base = {(r.seed, _key(row)): row["f1"] for r in baseline for row in r.rows}
    cand = {(r.seed, _key(row)): row["f1"] for r in candidate for row in r.rows}
    if not base or base.keys() != cand.keys():
        return None
    keys = sorted(base)
    return [base[k] for k in keys], [cand[k] for k in keys]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def _fmt(values: Sequence[float]) -> str:
    if not values:
        return "-"
    mean, std = _mean_std(values)
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
) -> str:
    """The comparison as Markdown: mean ± std over seeds of each arm's mean per-image F1, overall and per group
    (the paper's table layout: one row per arm, one column per metadata value), with the two-sided Wilcoxon
    signed-rank p-value of each arm against ``baseline`` on per-image F1 paired by (seed, image, metadata)."""
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
        header = ["arm", "F1 (mean ± std over seeds)", "seeds"]
        if evaluation == "true" and base_runs:
            header += [f"Wilcoxon p vs {baseline}", "median ΔF1", "pairs"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for arm in arms:
            mine = [r for r in runs if r.variant == arm]
            cells = [arm, _fmt([r.summary["mean_f1"] for r in mine]), str(len(mine))]
            if evaluation == "true" and base_runs:
                cells += _wilcoxon_cells(base_runs, mine, arm == baseline)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for group, values in groups.items():
            lines += [f"Per {group} (mean per-image F1, mean ± std over seeds):", ""]
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
                lines.append(f"| {arm} | " + " | ".join(cells) + " |")
            lines.append("")
    for caption, path in figures:
        lines += [f"## {caption}", "", f"![{caption}]({path})", ""]
    return "\n".join(lines)


def _wilcoxon_cells(base_runs: Sequence[RunResult], mine: Sequence[RunResult], is_baseline: bool) -> list[str]:
    if is_baseline:
        return ["(baseline)", "", ""]
    pairs = pair_rows(base_runs, mine)
    if pairs is None:
        return ["n/a (evaluated on other samples)", "", ""]
    try:
        test = paired_wilcoxon(*pairs)
    except ValueError as err:  # fewer than 6 pairs: no p-value can reach 0.05
        return [f"n/a ({err})", "", str(len(pairs[0]))]
    return [_p(test["p_value"]), f"{test['median_difference']:+.3f}", str(test["n"])]
