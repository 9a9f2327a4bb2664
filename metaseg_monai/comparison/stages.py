"""Stage 0 against stage 1 of the Siamese-consistency bundle over seeds (``metaseg compare`` on a bundle whose
``train.json`` has a ``stage``).

Every seed trains stage 0 (supervised on the stills), evaluates it, then trains stage 1 from that seed's stage-0
model and evaluates it, so the two stages of a seed differ only by the consistency training. Layout::

    out/comparison.json                 the settings (a rerun with the same settings resumes, reusing finished runs)
    out/runs/stage<s>/seed<k>/          the bundle's output_dir: models/, checkpoints/, eval/ (its video report)
    out/results.csv                     one row per run: the stills' and the videos' scores
    out/report.md                       mean +- std per stage, and Wilcoxon signed-rank tests of stage 1 vs stage 0

The tests pair what the two stages of a seed scored on the same item: AP at IoU 0.5 per test still and per
annotated video frame, flicker and area change per video; they are two-sided (stage 1 may also lose).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.bundle.preflight import check_output_dir
from metaseg_monai.comparison.runner import (
    _check_settings,
    _epoch_progress,
    _resolve_bundle,
    evaluate_once,
    run_bundle_workflow,
)
from metaseg_monai.handlers.video_report import read_video_metrics
from metaseg_monai.metrics.pixel_scores import paired_wilcoxon
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.files import read_json

__all__ = ["STAGE_SCORES", "has_stages", "run_stage_comparison"]

STAGES = (0, 1)
STILLS, VIDEO = "dsb2018", "ctc"
# (column, group of summary.json, score, what the report calls it)
STAGE_SCORES = (
    ("stills_ap_50", STILLS, "ap_50", "AP@0.5, test stills"),
    ("stills_dsb_score", STILLS, "dsb_score", "DSB score, test stills"),
    ("video_ap_50", VIDEO, "ap_50", "AP@0.5, annotated video frames"),
    ("video_seg", VIDEO, "seg", "CTC SEG, annotated video frames"),
    ("flicker", VIDEO, "flicker", "flicker (vanishing rate)"),
    ("area_change", VIDEO, "area_change", "relative area change"),
    ("foreground_iou", VIDEO, "foreground_iou", "foreground IoU of consecutive frames"),
)


def has_stages(bundle_dir: str | Path) -> bool:
    """Whether a bundle's ``train.json`` has the ``stage`` and ``stage0_model`` this comparison sets."""
    config = read_json(Path(bundle_dir) / "configs" / "train.json", "the bundle's training config")
    return {"stage", "stage0_model"} <= set(config)


def _train_and_evaluate(
    bundle_dir: Path, run_dir: Path, overrides: Mapping[str, Any], epochs: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """Train one stage into ``run_dir`` (unless done) and evaluate it into ``run_dir/eval`` (unless done)."""
    configs = [bundle_dir / "configs" / "train.json"]
    common = {**overrides, "output_dir": str(run_dir), "progress_bar": False}
    if not (run_dir / "models" / "model.pt").is_file() or not (run_dir / "train_done").is_file():
        started = time.perf_counter()
        progress = _epoch_progress(epochs, started, lambda line: say("        " + line))
        run_bundle_workflow(bundle_dir, configs, common, on_initialized=progress, log_file=run_dir / "run.log")
        (run_dir / "train_done").write_text(f"{time.perf_counter() - started:.1f} s\n")
    return evaluate_once(bundle_dir, configs, common, run_dir / "eval", run_dir / "run.log")


def _paired(rows0: list[dict], rows1: list[dict], key: Callable[[dict], Any], score: str) -> tuple[list, list]:
    """The scores of the items both runs scored, in one order."""
    first = {key(r): r[score] for r in rows0 if isinstance(r.get(score), float)}
    second = {key(r): r[score] for r in rows1 if isinstance(r.get(score), float)}
    common = sorted(set(first) & set(second), key=str)
    return [first[k] for k in common], [second[k] for k in common]


def _tests(runs: dict[tuple[int, int], dict[str, Any]], seeds: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Wilcoxon signed-rank tests of stage 1 against stage 0, paired per item and seed (see the module docstring)."""
    pairs: dict[str, tuple[list, list]] = {name: ([], []) for name in ("stills_ap_50", "video_ap_50")}
    pairs.update({name: ([], []) for name in ("flicker", "area_change")})
    for seed in seeds:
        zero, one = runs[(0, seed)], runs[(1, seed)]
        for name, group in (("stills_ap_50", STILLS), ("video_ap_50", VIDEO)):
            rows = [[r for r in run["rows"] if r.get("group") == group] for run in (zero, one)]
            base, cand = _paired(rows[0], rows[1], lambda r: (r["video"], r["frame"]), "ap_50")
            pairs[name][0].extend(base)
            pairs[name][1].extend(cand)
        for name in ("flicker", "area_change"):
            videos = [
                {v: s[name] for v, s in run["summary"]["videos"].items() if s.get(name) is not None}
                for run in (zero, one)
            ]
            for video in sorted(set(videos[0]) & set(videos[1])):
                pairs[name][0].append(videos[0][video])
                pairs[name][1].append(videos[1][video])
    tests = {}
    for name, (base, cand) in pairs.items():
        try:
            tests[name] = paired_wilcoxon(base, cand)
        except ValueError as err:  # too few pairs (e.g. one seed of one video): say so in the report
            tests[name] = {"p_value": None, "n": len(base), "note": str(err)}
    return tests


def _fmt(values: Sequence[float]) -> str:
    import numpy as np

    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def run_stage_comparison(
    bundle: str | Path,
    dataset_dir: str | Path,
    out: str | Path,
    seeds: int | Sequence[int] = 3,
    epochs: int = 150,
    stage1_epochs: int | None = None,
    device: str = "cpu",
    overrides: Mapping[str, Any] | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train and evaluate stage 0 and stage 1 of the bundle for every seed; write ``results.csv`` and ``report.md``.

    Args:
        bundle: bundle folder or shipped bundle name; its ``train.json`` must have ``stage`` and ``stage0_model``.
        dataset_dir: the dataset in the bundle's layout.
        out: output folder (new, or an earlier comparison with the same settings, which is resumed).
        seeds: number of seeds (``0..n-1``) or the seeds.
        epochs: stage 0's training epochs; ``stage1_epochs`` stage 1's (default the same).
        device: torch device string.
        overrides: other bundle overrides for every run (e.g. ``{"consistency_lr": 1e-5}``).
        say: where progress lines go.

    Returns:
        ``{"runs": {(stage, seed): {"summary", "rows"}}, "tests": {...}, "report": Path, "results_csv": Path}``.

    Raises:
        ValueError: the bundle has no stages, bad seeds or epochs, or ``out`` holds another comparison.
    """
    bundle_dir = _resolve_bundle(bundle)
    if not has_stages(bundle_dir):
        raise ValueError(f"bundle '{bundle_dir.name}' has no 'stage' and 'stage0_model': it has no stages to compare.")
    dataset_dir, out = Path(dataset_dir).resolve(), Path(out).resolve()
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"dataset_dir '{dataset_dir}' not found.")
    check_output_dir(out, dataset_dir, "--out")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    stage1_epochs = int(epochs if stage1_epochs is None else stage1_epochs)
    if not seed_list or int(epochs) < 1 or stage1_epochs < 1:
        raise ValueError(f"need at least one seed and epochs >= 1, got seeds={seeds!r}, epochs={epochs!r}.")
    extra = dict(overrides or {})
    settings = {
        "bundle": bundle_dir.name,
        "dataset_dir": str(dataset_dir),
        "epochs": int(epochs),
        "stage1_epochs": stage1_epochs,
        "device": device,
        "overrides": extra,
        "variants": ["stage0", "stage1"],
        "seeds": seed_list,
    }
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)
    say(f"comparing stage 0 and stage 1 of '{bundle_dir.name}' over seeds {seed_list} on '{dataset_dir}'")
    runs: dict[tuple[int, int], dict[str, Any]] = {}
    plan = [(stage, seed) for seed in seed_list for stage in STAGES]
    for index, (stage, seed) in enumerate(plan, start=1):
        run_dir = out / "runs" / f"stage{stage}" / f"seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        stage_epochs = int(epochs) if stage == 0 else stage1_epochs
        common = {
            **extra,
            "dataset_dir": str(dataset_dir),
            "seed": seed,
            "device": f"$torch.device({device!r})",
            "epochs": stage_epochs,
            "stage": stage,
            "stage0_model": str(out / "runs" / "stage0" / f"seed{seed}" / "models" / "model.pt"),
        }
        say(f"[{index:>2}/{len(plan)}] stage {stage} seed {seed}: {stage_epochs} epochs")
        summary = _train_and_evaluate(bundle_dir, run_dir, common, stage_epochs, say)
        runs[(stage, seed)] = {"summary": summary, "rows": read_video_metrics(run_dir / "eval" / "metrics.csv")}
        groups = summary.get("groups", {})
        say(
            f"        stills AP {groups.get(STILLS, {}).get('ap_50')}, video AP {groups.get(VIDEO, {}).get('ap_50')}, "
            f"flicker {groups.get(VIDEO, {}).get('flicker')}"
        )
    tests = _tests(runs, seed_list)
    results_csv = _write_results(out, runs)
    report = _write_report(out, settings, runs, tests)
    say(f"wrote {report} and {results_csv}")
    return {"runs": runs, "tests": tests, "report": report, "results_csv": results_csv}


def _score(run: Mapping[str, Any], group: str, score: str) -> float | None:
    return run["summary"].get("groups", {}).get(group, {}).get(score)


def _write_results(out: Path, runs: Mapping[tuple[int, int], Mapping[str, Any]]) -> Path:
    path = out / "results.csv"
    columns = ["stage", "seed", *(c for c, *_ in STAGE_SCORES)]
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for (stage, seed), run in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            values = [_score(run, group, score) for _, group, score, _ in STAGE_SCORES]
            writer.writerow([stage, seed, *("" if v is None else f"{v:.6g}" for v in values)])
    return path


def _write_report(
    out: Path,
    settings: Mapping[str, Any],
    runs: Mapping[tuple[int, int], Mapping[str, Any]],
    tests: Mapping[str, Mapping[str, Any]],
) -> Path:
    seeds = settings["seeds"]
    lines = [
        f"# {settings['bundle']}: stage 0 (supervised) vs stage 1 (temporal consistency)",
        "",
        f"Dataset `{settings['dataset_dir']}`; seeds {seeds}; stage 0 {settings['epochs']} epochs, stage 1 "
        f"{settings['stage1_epochs']} epochs from each seed's stage-0 model; overrides "
        f"{settings['overrides'] or 'none'}.",
        "Mean ± std over seeds. p: two-sided Wilcoxon signed-rank test of stage 1 against stage 0, paired per test "
        "still, per annotated video frame, or per video (flicker, area change), over all seeds.",
        "",
        "| score | stage 0 | stage 1 | p (pairs) |",
        "| --- | --- | --- | --- |",
    ]
    for column, group, score, label in STAGE_SCORES:
        cells = [_fmt([_score(runs[(s, k)], group, score) for k in seeds]) for s in STAGES]
        test = tests.get(column)
        p = "" if test is None else ("-" if test["p_value"] is None else f"{test['p_value']:.3g} ({test['n']})")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {p} |")
    vanished = [
        sum(runs[(s, k)]["summary"]["groups"][VIDEO]["vanished"] for k in seeds)
        / max(1, sum(runs[(s, k)]["summary"]["groups"][VIDEO]["linked"] for k in seeds))
        for s in STAGES
    ]
    lines += [
        "",
        f"Vanishing rate pooled over seeds: stage 0 {vanished[0]:.4f}, stage 1 {vanished[1]:.4f}"
        + (f" (ratio {vanished[1] / vanished[0]:.2f})." if vanished[0] else "."),
    ]
    path = out / "report.md"
    with atomic_path(path, overwrite=True) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
