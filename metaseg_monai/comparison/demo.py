"""The main job: generate sample data and run the paper's comparison on two bundles, in about ten minutes on 2 CPU
cores. The task switch (``nuclei_anomaly_segmentation``) is where metadata must decide the output; the cell lines
(``cell_lines_nuclei_segmentation``) are where it only helps."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaseg_monai.comparison.runner import run_comparison
from metaseg_monai.data.sample_data import generate_sample_data

__all__ = ["DEMO_EXPERIMENTS", "DemoExperiment", "run_demo"]


@dataclass(frozen=True)
class DemoExperiment:
    """One comparison of the demo: a bundle, its sample data and the (small) settings that fit the time budget."""

    bundle: str
    sample_kind: str
    sample_options: Mapping[str, Any]
    variants: str
    epochs: int
    overrides: Mapping[str, Any] = field(default_factory=dict)


# sized on a 2-core CPU: each run trains in well under a minute (see the README's "Main job" section)
DEMO_EXPERIMENTS = (
    DemoExperiment(
        bundle="nuclei_anomaly_segmentation",
        sample_kind="nuclei-anomaly",
        sample_options={"images_per_line": 4, "size": 64},
        variants="none,sme,sme:dummy",
        epochs=20,
        overrides={"features": [8, 8, 8, 8], "batch_size": 8},
    ),
    DemoExperiment(
        bundle="cell_lines_nuclei_segmentation",
        sample_kind="cell-lines",
        sample_options={"images_per_line": 4, "size": 64},
        variants="none,sme",
        epochs=20,
        overrides={"features": [8, 8, 8, 8], "batch_size": 8},
    ),
)


def run_demo(
    out: str | Path,
    seeds: int = 2,
    device: str = "cpu",
    experiments: tuple[DemoExperiment, ...] = DEMO_EXPERIMENTS,
    epochs: int | None = None,
    say: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Generate each experiment's sample data under ``out/data/`` and compare its arms into ``out/<bundle>/``.

    Started again with the same ``out``, finished runs are reused and an interrupted one resumes.

    Returns:
        the :func:`~metaseg_monai.comparison.run_comparison` result of each experiment, in order.
    """
    out = Path(out)
    started = time.perf_counter()
    results = []
    for experiment in experiments:
        data = out / "data" / experiment.bundle
        if not (data / "metadata.csv").is_file():
            generate_sample_data(experiment.sample_kind, data, seed=0, **experiment.sample_options)
        say(f"\n=== {experiment.bundle}: sample data in {data} ===")
        results.append(
            run_comparison(
                experiment.bundle,
                data,
                out / experiment.bundle,
                variants=experiment.variants,
                seeds=seeds,
                epochs=epochs or experiment.epochs,
                device=device,
                overrides=dict(experiment.overrides),
                say=say,
            )
        )
    for result in results:
        say(f"\n{result['text']}")
    reports = ", ".join(str(r["report"]) for r in results)
    say(f"\ndemo finished in {(time.perf_counter() - started) / 60:.1f} min; reports: {reports}")
    return results
