"""The FiLM paper's few-label design (its Fig. 2): one organ's scans cut to 2..12, the other organ's kept at 12.

For each rarer organ (spleen, then kidney) and each number of its scans, two networks are trained on the same scans
and tested on the rarer organ's held-out scans: the FiLMed U-Net, which also sees the other organ's 12 scans and is
told which organ to draw, and a single-class U-Net that sees only the rarer organ's scans (the bundle's
``configs/single_class.json``). Every cell is a :func:`~metaseg_monai.comparison.run_comparison` of the bundle with
its ``train_scans`` option, so runs resume and are tabulated as usual. Layout under ``out``::

    out/<organ>/n<k>/film/     out/<organ>/n<k>/single_class/     the cells' comparisons (runs, report.md)
    out/few_labels.csv         organ, scans, arm, split, dice: the rarer organ's test Dice of every run
    out/few_labels.png         Dice against the number of scans, FiLM vs single-class U-Net, one panel per organ
    out/report.md
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.comparison.runner import run_comparison
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.checks import is_int_at_least
from metaseg_monai.visualize.few_label_figure import FEW_LABEL_ARMS, few_label_stats, write_few_label_figure

__all__ = ["FEW_LABEL_ARMS", "run_few_label_design"]


def run_few_label_design(
    bundle: str | Path,
    dataset_dir: str | Path,
    out: str | Path,
    sizes: Sequence[int] = (2, 4, 6, 8, 12),
    others: int = 12,
    organs: Sequence[str] = ("spleen", "kidney"),
    splits: int | Sequence[int] = 1,
    epochs: int = 100,
    device: str = "cpu",
    overrides: Mapping[str, Any] | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the few-label design and write ``few_labels.csv``, ``few_labels.png`` and ``report.md`` into ``out``.

    Args:
        bundle: the multi-organ bundle (a folder or a shipped name); it must have ``train_scans``, ``organs`` and
            ``configs/single_class.json``.
        dataset_dir: its data; each organ needs more than ``max(sizes)`` and ``others`` scans (some are held out).
        out: output folder (new, or an earlier one of the same settings, which is resumed).
        sizes: the rarer organ's numbers of scans for training and validation (the paper: 2, 4, 6, 8, 12).
        others: the other organ's scans (the paper: 12).
        organs: the two organs; each is the rarer one in turn.
        splits: random splits per cell (the paper: 10), as :func:`run_comparison`'s ``splits``.
        epochs, device, overrides: as :func:`run_comparison`.
        say: where progress lines go.

    Returns:
        ``{"rows": [{"organ", "scans", "arm", "split", "dice"}, ...], "figure": Path, "report": Path}``.
    """
    organs = [str(o) for o in organs]
    if len(organs) != 2 or len(set(organs)) != 2:
        raise ValueError(f"the few-label design takes two distinct organs, got {organs}.")
    sizes = [int(n) for n in sizes]
    if not sizes or not all(is_int_at_least(n, 2) for n in sizes) or not is_int_at_least(others, 2):
        raise ValueError(
            f"sizes and others must be numbers of scans >= 2 (train and val need one each), got {sizes}, {others}."
        )
    out = Path(out)
    rows: list[dict[str, Any]] = []
    extra = dict(overrides or {})
    for rare in organs:
        other = organs[1 - organs.index(rare)]
        for n in sizes:
            cells = {
                "film": ("film", {"organs": organs, "train_scans": {rare: n, other: int(others)}}),
                "single_class": (f"single_class:organ={rare}", {"train_scans": {rare: n}}),
            }
            for arm, (variant, cell_overrides) in cells.items():
                say(f"few labels: {n} {rare} scans ({other}: {others}), {arm}")
                result = run_comparison(
                    bundle,
                    dataset_dir,
                    out / rare / f"n{n}" / arm,
                    variants=variant,
                    epochs=epochs,
                    device=device,
                    baseline=None,
                    swap="no",
                    overrides={**extra, **cell_overrides},
                    splits=splits,
                    say=lambda text: say(f"    {text}"),
                )
                for run in result["results"]:
                    dice = run.summary.get("dice_by_organ", {}).get(rare)
                    if dice is None:
                        raise ValueError(f"run {out / rare / f'n{n}' / arm} has no test Dice for {rare}.")
                    rows.append({"organ": rare, "scans": n, "arm": arm, "split": run.seed, "dice": float(dice)})
    table = out / "few_labels.csv"
    with atomic_path(table, overwrite=True) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["organ", "scans", "arm", "split", "dice"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    figure = write_few_label_figure(out / "few_labels.png", rows, organs, overwrite=True)
    report = out / "report.md"
    with atomic_path(report, overwrite=True) as tmp:
        Path(tmp).write_text(_report(rows, organs, sizes, others, epochs) + "\n", encoding="utf-8")
    say(f"wrote {report}, {table} and {figure}")
    return {"rows": rows, "figure": figure, "report": report}


def _report(
    rows: Sequence[Mapping[str, Any]], organs: Sequence[str], sizes: Sequence[int], others: int, epochs: int
) -> str:
    lines = [
        "# Few labels (the FiLM paper's Fig. 2)",
        "",
        f"Test Dice of the rarer organ (mean ± std over splits) against its number of training + validation scans; the "
        f"FiLMed U-Net also sees {others} scans of the other organ, the single-class U-Net only the rarer organ's. "
        f"{epochs} epochs a run.",
        "",
        "![Dice against the number of scans](few_labels.png)",
        "",
    ]
    for organ in organs:
        lines += [
            f"## {organ}",
            "",
            "| scans | " + " | ".join(FEW_LABEL_ARMS) + " |",
            "|---|" + "---|" * len(FEW_LABEL_ARMS),
        ]
        for n in sizes:
            cells = []
            for arm in FEW_LABEL_ARMS:
                s = few_label_stats(rows, organ, n, arm)
                cells.append("-" if s is None else f"{s[0]:.3f} ± {s[1]:.3f} ({s[2]})")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
