"""``metaseg compare``: train and evaluate a bundle's arms over seeds through its own configs, then tabulate.

Each run is an in-process ``monai.bundle.ConfigWorkflow`` of the bundle's ``train.json`` (plus the arm's overlay),
then of ``train.json`` + ``evaluate.json``, with the common overrides (``dataset_dir``, ``output_dir``, ``epochs``,
``conditioning``, ``metadata_mode``, ``seed``, ``device``). Results are the bundle's own ``metrics.csv`` and
``summary.json``; nothing is re-implemented here but the bookkeeping. Layout written under ``out``::

    out/comparison.json                 the settings (a rerun with other settings is refused)
    out/runs/<arm>/seed<k>/             the bundle's output_dir: models/, checkpoints/, logs/, metrics.csv, ...
    out/runs/<arm>/seed<k>/swap/        swapped-metadata evaluation (bundles that declare ``swap_fields``)
    out/runs/<arm>/seed<k>/run.log      the run's log (the console shows progress only)
    out/results.csv  out/report.md      written last
    out/swap_matrix.csv  out/swap_matrix_<arm>.png   the swapped-metadata matrix over runs (bundles with swap_fields)

With ``splits`` the runs are random data splits instead of seeds (the FiLM paper's 10 splits): run ``k`` trains with
``seed=k`` and ``split_seed=k`` in ``out/runs/<arm>/split<k>/``, and the tests are one-sided by default.

A run whose ``summary.json`` exists is not repeated, and an interrupted training resumes from its last
checkpoint (the bundles' resume handler), so the same command started again continues where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from metaseg_monai.bundle import COMMON_OVERRIDES, missing_ids, resolve_bundle
from metaseg_monai.bundle.contract import OPTIONAL_IDS
from metaseg_monai.bundle.preflight import check_output_dir
from metaseg_monai.comparison.tables import (
    RunResult,
    mean_std,
    read_metrics_csv,
    render_report,
    swap_matrices_over_runs,
    write_results_csv,
)
from metaseg_monai.comparison.variants import Variant, parse_variants
from metaseg_monai.metrics.pixel_scores import WILCOXON_ALTERNATIVES
from metaseg_monai.metrics.swap_matrix import is_true_pair
from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.files import read_json, write_json

__all__ = ["BundleRunError", "make_workflow", "run_bundle_workflow", "run_comparison", "sweep_figure"]


class BundleRunError(RuntimeError):
    """A bundle workflow failed; the message names the bundle, the configs and the underlying error."""


def _cause(err: BaseException) -> BaseException:
    """MONAI wraps errors raised while parsing a config in RuntimeError; the user's problem is the innermost one."""
    while isinstance(err, RuntimeError) and err.__cause__ is not None:
        err = err.__cause__
    return err


def _monai_loggers() -> list[logging.Logger]:
    """MONAI's ``get_logger`` gives the loggers it makes (``monai.handlers.StatsHandler``'s among them) their own
    stdout handler and stops them propagating: the loggers whose records a run's log must take from the console."""
    return [
        lg
        for name, lg in logging.root.manager.loggerDict.items()
        if name.startswith("monai") and isinstance(lg, logging.Logger) and not lg.propagate
    ]


@contextlib.contextmanager
def _log_to_file(path: Path) -> Iterator[None]:
    """While a bundle runs, send its INFO logs to ``path``: those reaching the root logger (its engines'), and those
    of MONAI's own loggers instead of their stdout handlers. Other console handlers are left as the application
    configured them (``metaseg`` keeps its console to warnings and prints its own progress)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    rerouted = [(lg, lg.handlers) for lg in _monai_loggers()]
    for lg, _ in rerouted:
        lg.handlers = [handler]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        for lg, handlers in rerouted:
            lg.handlers = handlers
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)


@contextlib.contextmanager
def _expected_warnings() -> Iterator[None]:
    """Hide the warning every bundle config gives on purpose: metadata.json lists both package-version keys, one per
    zoo schema, and MONAI 1.6 calls the older one deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected deprecated name 'optional_packages_version'")
        yield


def make_workflow(
    bundle_dir: str | Path,
    config_files: Sequence[str | Path],
    overrides: Mapping[str, Any],
    workflow_type: str = "train",
) -> Any:
    """A ``ConfigWorkflow`` of the bundle's configs (layered in order) with ``overrides``, before ``initialize``.

    Logging is left to the caller: the bundle's ``logging.conf`` would reconfigure this process's logging."""
    from monai.bundle import ConfigWorkflow

    bundle_dir = Path(bundle_dir)
    workflow_logger = logging.getLogger("monai.bundle.workflows")
    level = workflow_logger.level
    workflow_logger.setLevel(logging.ERROR)  # its "logging file is set to False" warning is expected
    try:
        return ConfigWorkflow(
            config_file=[str(f) for f in config_files],
            meta_file=str(bundle_dir / "configs" / "metadata.json"),
            logging_file=False,
            workflow_type=workflow_type,
            bundle_root=str(bundle_dir),
            **overrides,
        )
    finally:
        workflow_logger.setLevel(level)


def run_bundle_workflow(
    bundle_dir: str | Path,
    config_files: Sequence[str | Path],
    overrides: Mapping[str, Any],
    workflow_type: str = "train",
    on_initialized: Callable[[Any], None] | None = None,
    log_file: str | Path | None = None,
) -> Any:
    """Initialize, run and finalize one ``ConfigWorkflow`` of a bundle; returns the workflow.

    Args:
        bundle_dir: the bundle folder (``bundle_root``).
        config_files: config paths, layered in order (e.g. ``configs/train.json``, ``configs/evaluate.json``).
        overrides: config ids to override.
        workflow_type: ``train`` or ``infer``.
        on_initialized: called with the initialized workflow before it runs (to attach progress handlers).
        log_file: if given, the run's INFO logs also go to this file.

    Raises:
        BundleRunError: the workflow failed; its message carries the innermost error.
    """
    bundle_dir = Path(bundle_dir)
    files = [str(f) for f in config_files]
    try:
        with _expected_warnings():
            workflow = make_workflow(bundle_dir, files, overrides, workflow_type)
            workflow.initialize()
            # build what "run" uses (the engines) now, so that the loggers MONAI makes for their handlers exist
            for ref in re.findall(r"@([A-Za-z_][\w#]*)", json.dumps(workflow.parser.get("run", []))):
                workflow.parser.get_parsed_content(ref)
            if on_initialized is not None:
                on_initialized(workflow)
            with _log_to_file(log_file) if log_file is not None else contextlib.nullcontext():
                workflow.run()
                workflow.finalize()
    except Exception as err:
        cause = _cause(err)
        names = [Path(f).name for f in files]
        raise BundleRunError(f"bundle '{bundle_dir.name}' {names} failed: {type(cause).__name__}: {cause}") from err
    return workflow


def _epoch_progress(epochs: int, started: float, say: Callable[[str], None]) -> Callable[[Any], None]:
    """Print loss and best validation metric about four times a training (attached once the workflow is parsed)."""
    from ignite.engine import Events

    every = max(1, epochs // 4)

    def attach(workflow: Any) -> None:
        trainer = workflow.parser.get_parsed_content("train#trainer")
        evaluator = workflow.parser.get_parsed_content("validate#evaluator")

        @trainer.on(Events.EPOCH_COMPLETED(every=every))
        def _report(engine: Any) -> None:
            output = engine.state.output
            text = f"epoch {engine.state.epoch:>3}/{epochs}"
            if isinstance(output, list) and output:  # decollated per item; ConsistencyTrainer's is one dict
                output = output[0]
            if isinstance(output, dict) and "loss" in output:
                loss = output["loss"]
                text += f"  loss {float(loss.detach() if hasattr(loss, 'detach') else loss):.3f}"
            best = getattr(evaluator.state, "best_metric", -1)
            if best is not None and best > -1:
                text += f"  best val {best:.3f}"
            say(f"{text}  ({time.perf_counter() - started:.0f} s)")

    return attach


def _resolve_bundle(bundle: str | Path) -> Path:
    """The bundle folder (a path or a shipped bundle's name) after checking it has the ids the runner relies on."""
    path = resolve_bundle(bundle)
    if not (path / "configs" / "evaluate.json").is_file():
        raise FileNotFoundError(f"bundle '{path}' lacks configs/evaluate.json, which a comparison needs.")
    missing = missing_ids(path)
    if missing:
        raise ValueError(f"bundle '{path}' lacks config ids a comparison relies on: {missing}.")
    return path


def _bundle_config(bundle_dir: Path) -> dict[str, Any]:
    return read_json(bundle_dir / "configs" / "train.json", "the bundle's training config")


def _check_settings(out: Path, settings: Mapping[str, Any]) -> None:
    """Write ``comparison.json``, or check that an existing one (a resumed comparison) has the same settings."""
    path = out / "comparison.json"
    if path.is_file():
        old = read_json(path, "settings of an earlier comparison")
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k) and k != "variants")
        if changed:
            raise ValueError(
                f"'{out}' holds a comparison made with other settings ({', '.join(changed)} differ: "
                f"{ {k: old.get(k) for k in changed} } there, { {k: settings.get(k) for k in changed} } now); choose "
                "another --out, or repeat the same settings to resume it."
            )
        write_json(path, {**old, "variants": sorted(set(old.get("variants", [])) | set(settings["variants"]))}, True)
    else:
        write_json(path, dict(settings))


def evaluate_once(
    bundle_dir: Path, configs: Sequence[Path], overrides: Mapping[str, Any], eval_dir: Path, log_file: Path
) -> dict:
    """Evaluate ``<output_dir>/models/model.pt`` into ``eval_dir`` unless its ``summary.json`` exists (an unfinished
    report is replaced); return that summary. ``configs`` are the training layers; ``evaluate.json`` goes on top."""
    done = eval_dir / "summary.json"
    if not done.is_file():
        extra = {"eval_dir": str(eval_dir), "eval_overwrite": True}
        layers = [*configs, bundle_dir / "configs" / "evaluate.json"]
        run_bundle_workflow(bundle_dir, layers, {**overrides, **extra}, log_file=log_file)
    return read_json(done, "evaluation summary")


def _evaluate(
    bundle_dir: Path, configs: list[Path], overrides: Mapping[str, Any], eval_dir: Path, mode: str, log_file: Path
) -> tuple[list[dict], dict]:
    """:func:`evaluate_once` with metadata ``mode``, and the report's per-image rows."""
    summary = evaluate_once(bundle_dir, configs, {**overrides, "metadata_mode": mode}, eval_dir, log_file)
    return read_metrics_csv(eval_dir / "metrics.csv"), summary


def run_comparison(
    bundle: str | Path,
    dataset_dir: str | Path,
    out: str | Path,
    variants: str | Sequence[str] = "none,se,me,sme,film,sme:dummy",
    seeds: int | Sequence[int] = 3,
    epochs: int = 50,
    device: str = "cpu",
    baseline: str | None = "none",
    swap: str = "auto",
    overrides: Mapping[str, Any] | None = None,
    title: str | None = None,
    say: Callable[[str], None] = print,
    splits: int | Sequence[int] | None = None,
    alternative: str | None = None,
) -> dict[str, Any]:
    """Train and evaluate every arm x seed of a bundle and write ``results.csv`` and ``report.md`` into ``out``.

    Args:
        bundle: bundle folder, or the name of a shipped bundle (``metaseg bundle list``).
        dataset_dir: the dataset in the layout the bundle reads.
        out: output folder (new, or one of an earlier run of the same settings, which is resumed).
        variants: comma-separated arms (:func:`~metaseg_monai.comparison.variants.parse_variants`).
        seeds: number of seeds (``0..n-1``) or the seeds themselves.
        epochs: training epochs of every run.
        device: torch device string.
        baseline: the arm the Wilcoxon test compares against (default ``none``, the metadata-free network);
            ``None`` or an arm not run skips the test.
        swap: ``"auto"`` evaluates the metadata-reading arms again with swapped metadata when the bundle declares
            ``swap_fields`` (the task-switch bundle); ``"yes"`` always (categorical fields only); ``"no"`` never.
        overrides: other bundle config overrides for every run (e.g. ``{"features": [8, 8, 8]}``).
        title: report title; default names the bundle.
        say: where progress lines go.
        splits: instead of seeds, this many random splits (``0..n-1``) or the split seeds themselves: run ``k`` uses
            ``seed=k`` and ``split_seed=k`` (the bundle must have a ``split_seed``); ``seeds`` is then not used.
        alternative: the Wilcoxon tests' alternative, ``"two-sided"`` or ``"greater"`` (one-sided: the arm beats the
            baseline, the FiLM paper's test); default one-sided with ``splits``, two-sided with seeds.

    Returns:
        ``{"results": [RunResult, ...], "report": Path, "results_csv": Path}``.
    """
    bundle_dir = _resolve_bundle(bundle)
    dataset_dir, out = Path(dataset_dir).resolve(), Path(out).resolve()
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"dataset_dir '{dataset_dir}' not found.")
    check_output_dir(out, dataset_dir, "--out")
    arms = parse_variants(variants, bundle_dir)
    runs_given = seeds if splits is None else splits
    seed_list = list(range(runs_given)) if isinstance(runs_given, int) else [int(s) for s in runs_given]
    run_label = "seeds" if splits is None else "splits"
    if not seed_list:
        raise ValueError(f"{run_label} must be a positive count or a list of seeds, got {runs_given!r}.")
    alternative = alternative or ("two-sided" if splits is None else "greater")
    if alternative not in WILCOXON_ALTERNATIVES:
        raise ValueError(f"alternative must be one of {WILCOXON_ALTERNATIVES}, got {alternative!r}.")
    if int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs!r}.")
    if swap not in ("auto", "yes", "no"):
        raise ValueError(f"swap must be 'auto', 'yes' or 'no', got {swap!r}.")
    extra = dict(overrides or {})
    if int(extra.get("val_interval", 1)) > int(epochs):
        extra["val_interval"] = int(epochs)  # validate at least once, at the end: the best checkpoint comes from it
    clash = sorted(set(extra) & set(COMMON_OVERRIDES))
    if clash:
        raise ValueError(f"overrides {clash} are set by the comparison itself; use its own options instead.")
    config = _bundle_config(bundle_dir)
    if splits is not None and "split_seed" not in config:
        raise ValueError(
            f"bundle '{bundle_dir.name}' has no split_seed: its train/val/test split is fixed by the dataset, so it "
            "cannot be compared over random splits; use seeds."
        )
    swap_fields = config.get("swap_fields")
    quiet = {"progress_bar": False} if "progress_bar" in config else {}  # the runner prints its own progress
    do_swap = swap == "yes" or (swap == "auto" and swap_fields is not None)
    settings = {
        "bundle": bundle_dir.name,
        "dataset_dir": str(dataset_dir),
        "epochs": int(epochs),
        "device": device,
        "overrides": extra,
        "variants": [a.name for a in arms],
        **({"splits": seed_list} if splits is not None else {}),
    }
    out.mkdir(parents=True, exist_ok=True)
    _check_settings(out, settings)

    plan = [(arm, seed) for arm in arms for seed in seed_list]
    split_runs = splits is not None
    say(
        f"comparing {len(arms)} arms x {len(seed_list)} {run_label} of '{bundle_dir.name}' on '{dataset_dir}' "
        f"({epochs} epochs each, {device}); logs and checkpoints in '{out / 'runs'}'"
    )
    results: list[RunResult] = []
    started_all = time.perf_counter()
    for index, (arm, seed) in enumerate(plan, start=1):
        run_dir = _run_dir(out, arm, seed, split_runs)
        run_dir.mkdir(parents=True, exist_ok=True)
        configs = [bundle_dir / "configs" / "train.json"] + ([arm.overlay] if arm.overlay is not None else [])
        common = {
            **_run_overrides(dataset_dir, run_dir, arm, seed, device, extra, split_runs),
            "epochs": int(epochs),
            **quiet,
        }
        prefix = f"[{index:>2}/{len(plan)}] {arm.name} {run_label[:-1]} {seed}"
        started = time.perf_counter()
        log_file = run_dir / "run.log"
        if (run_dir / "summary.json").is_file():
            say(f"{prefix}: done earlier, reusing its results")
        else:
            # an interrupted training resumes from its last checkpoint (the bundle's resume handler)
            say(f"{prefix}: training {epochs} epochs")
            progress = _epoch_progress(int(epochs), started, _indent(say))
            run_bundle_workflow(bundle_dir, configs, common, on_initialized=progress, log_file=log_file)
            if not (run_dir / "models" / "model.pt").is_file():
                raise BundleRunError(
                    f"bundle '{bundle_dir.name}': training of {arm.name} {run_label[:-1]} {seed} wrote no best "
                    f"checkpoint '{run_dir / 'models' / 'model.pt'}' (did any validation run? val_interval must be "
                    "<= epochs)."
                )
        mode = common.get("metadata_mode", "true")
        rows, summary = _evaluate(bundle_dir, configs, common, run_dir, mode, log_file)
        results.append(RunResult(arm.name, seed, "true", rows, summary, time.perf_counter() - started))
        line = f"{prefix}: test F1 {summary['mean_f1']:.3f} (mean per image)"
        if do_swap and arm.reads_metadata:
            swap_rows, swap_summary = _evaluate(bundle_dir, configs, common, run_dir / "swap", "swap", log_file)
            swap_rows = [r for r in swap_rows if not is_true_pair(r)]  # the diagonal is the true evaluation
            results.append(RunResult(arm.name, seed, "swap", swap_rows, swap_summary))
            line += f", swapped metadata {swap_summary['mean_f1']:.3f}"
        elapsed = time.perf_counter() - started_all
        remaining = elapsed / index * (len(plan) - index)
        say(f"{line}  [{time.perf_counter() - started:.0f} s; about {remaining / 60:.1f} min left]")

    figures = []
    continuous = [f["name"] for f in config.get("metadata_fields", []) if f.get("type") == "continuous"]
    readers = [a for a in arms if a.reads_metadata]
    if continuous and readers:
        arm, seed = readers[0], seed_list[0]
        run_dir = _run_dir(out, arm, seed, split_runs)
        common = _run_overrides(dataset_dir, run_dir, arm, seed, device, extra, split_runs)
        figure = out / f"sweep_{continuous[0]}_{arm.slug}.png"
        if not figure.is_file():
            say(f"drawing the {continuous[0]} sweep (the paper's Fig. 2A) with {arm.name} seed {seed}")
            sweep_figure(bundle_dir, common, continuous[0], figure, device)
        figures.append(
            (f"Prediction of one test image as {continuous[0]} is swept ({arm.name}, seed {seed})", figure.name)
        )
    figures += _swap_matrix_figures(out, results, [a.name for a in arms])

    names = [a.name for a in arms]
    report_settings = {
        "bundle": f"`{bundle_dir.name}`",
        "dataset": f"`{dataset_dir}`",
        "arms": ", ".join(names),
        run_label: ", ".join(map(str, seed_list)),
        "epochs": epochs,
        "device": device,
        "extra overrides": json.dumps(extra) if extra else "none",
        "wall time": f"{(time.perf_counter() - started_all) / 60:.1f} min",
        "F1": "per-image pixel F1 = Dice (both empty = 1), averaged over the test images of a run",
        "Wilcoxon test": "one-sided (the arm scores higher)" if alternative == "greater" else "two-sided",
    }
    text = render_report(
        title or f"Comparison: {bundle_dir.name}",
        results,
        names,
        baseline if baseline in names else None,
        report_settings,
        figures,
        alternative,
        run_label,
    )
    results_csv = write_results_csv(out / "results.csv", results, overwrite=True)
    report = out / "report.md"
    with atomic_path(report, overwrite=True) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    say(f"wrote {report} and {results_csv}")
    return {"results": results, "report": report, "results_csv": results_csv, "text": text}


def _run_dir(out: Path, arm: Variant, seed: int, split: bool = False) -> Path:
    """A run's folder, the bundle's ``output_dir`` for it: ``out/runs/<arm>/seed<k>`` (``split<k>`` for splits)."""
    return out / "runs" / arm.slug / f"{'split' if split else 'seed'}{seed}"


def _run_overrides(
    dataset_dir: Path,
    run_dir: Path,
    arm: Variant,
    seed: int,
    device: str,
    extra: Mapping[str, Any],
    split: bool = False,
) -> dict[str, Any]:
    """The bundle overrides of one run (``epochs`` aside); a split run also sets ``split_seed``."""
    return {
        "dataset_dir": str(dataset_dir),
        "output_dir": str(run_dir),
        "seed": int(seed),
        **({"split_seed": int(seed)} if split else {}),
        "device": f"$torch.device({device!r})",
        **arm.overrides(),
        **extra,
    }


def _swap_matrix_figures(out: Path, results: Sequence[RunResult], arms: Sequence[str]) -> list[tuple[str, str]]:
    """Average each arm's swapped-metadata matrices over its runs into ``out/swap_matrix.csv`` (arm, field, true,
    given, mean_f1, std_f1, runs) and one heatmap per arm and field; returns the report's (caption, file) pairs."""
    import csv

    from metaseg_monai.visualize.swap_heatmap import write_swap_heatmap

    figures, table = [], []
    gathered = swap_matrices_over_runs(results, arms)
    for matrix in gathered:
        arm, name, categories = matrix["arm"], matrix["field"], matrix["categories"]
        mean = [[None] * len(categories) for _ in categories]
        for i, true in enumerate(categories):
            for j, given in enumerate(categories):
                values = matrix["values"][i][j]
                if values:
                    mean[i][j], std = mean_std(values)
                    table.append([arm, name, true, given, mean[i][j], std, len(values)])
        fields_of_arm = sum(m["arm"] == arm for m in gathered)
        slug = Variant(arm).slug
        figure = out / (f"swap_matrix_{slug}.png" if fields_of_arm == 1 else f"swap_matrix_{slug}_{name}.png")
        title = f"{arm}: Dice with the {name} given ({matrix['runs']} runs)"
        write_swap_heatmap(figure, {"field": name, "categories": categories, "mean_f1": mean}, title, True)
        figures.append((f"Swapped-metadata matrix of {arm} ({name})", figure.name))
    if table:
        with atomic_path(out / "swap_matrix.csv", overwrite=True) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["arm", "field", "true", "given", "mean_f1", "std_f1", "runs"])
            writer.writerows(table)
    return figures


def _indent(say: Callable[[str], None]) -> Callable[[str], None]:
    return lambda text: say(f"        {text}")


def sweep_figure(
    bundle_dir: str | Path,
    overrides: Mapping[str, Any],
    field_name: str,
    path: str | Path,
    device: str = "cpu",
    num_values: int = 6,
) -> Path:
    """The paper's Fig. 2A for a trained run: one test image's predicted classes as a continuous field is swept.

    The evaluation config (``train.json`` + ``evaluate.json``) is parsed, not run: its ``network`` gets the run's
    ``models/model.pt``; the test sample shown is the one whose label holds the most classes (then the most
    foreground), and the values are ``num_values`` evenly spaced over the field's range in the test data widened by
    half its width on each side (not below 0 for a field that is never negative). Uses
    :func:`~metaseg_monai.metrics.metadata_sweep.sweep_metadata` and
    :func:`~metaseg_monai.visualize.sweep_figure.write_sweep_figure`.
    """
    import numpy as np
    import torch

    from metaseg_monai.metrics.metadata_sweep import sweep_metadata
    from metaseg_monai.visualize.sweep_figure import write_sweep_figure

    bundle_dir = Path(bundle_dir)
    configs = [str(bundle_dir / "configs" / n) for n in ("train.json", "evaluate.json")]
    with _expected_warnings():
        parser = make_workflow(bundle_dir, configs, overrides).parser
        spec = parser.get_parsed_content("metadata_spec")
        network = parser.get_parsed_content("network")
        dataset = parser.get_parsed_content("validate#dataset")
        observed = [float(item[field_name]) for item in parser.get_parsed_content("validate#datalist")]
        optional = {i: parser.get_parsed_content(i) for i in OPTIONAL_IDS if i in parser}
    class_names = optional.get("class_names")
    state = torch.load(Path(overrides["output_dir"]) / "models" / "model.pt", map_location=device, weights_only=True)
    network.load_state_dict(state)
    if len(dataset) == 0:
        raise ValueError(f"bundle '{bundle_dir.name}': the test data is empty, nothing to sweep.")

    def richness(item: Mapping[str, Any]) -> tuple[int, int]:
        label = np.asarray(item["label"])
        return len(np.unique(label[label > 0])), int(np.count_nonzero(label))

    best = max(range(len(dataset)), key=lambda i: richness(dataset[i]))
    sample = dataset[best]
    field = next(f for f in spec.fields if f.name == field_name)
    # the test data's range, widened by half on each side (not below 0 for a field that never is) to show the trend
    low, high = min(observed), max(observed)
    margin = (high - low) / 2 if high > low else max(abs(high), 1.0) / 2
    raw = np.linspace(max(low - margin, 0.0) if low >= 0 else low - margin, high + margin, num_values)
    valid_min, valid_max = getattr(field, "valid_min", None), getattr(field, "valid_max", None)
    raw = np.clip(raw, -np.inf if valid_min is None else valid_min, np.inf if valid_max is None else valid_max)
    encoded = [float(field.encode(v, "sweep")[0]) for v in raw]
    index = spec.feature_names.index(field.feature_names[0])
    maps = sweep_metadata(network, sample["image"], sample["metadata"], index, encoded, device)
    if isinstance(class_names, Mapping):
        class_names = {int(k): str(v) for k, v in class_names.items() if int(k) > 0}
    labels = [f"{field_name} {v:.2g}" for v in raw]
    return write_sweep_figure(path, sample["image"], maps, labels, class_names)
