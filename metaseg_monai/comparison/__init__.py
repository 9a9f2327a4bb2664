"""The papers' comparisons: a bundle's arms x seeds (or splits) trained and evaluated through its configs, then
tabulated; the FiLM paper's few-label design; the Siamese bundle's stage 0 against stage 1."""

from metaseg_monai.comparison.few_labels import run_few_label_design
from metaseg_monai.comparison.runner import BundleRunError, run_bundle_workflow, run_comparison
from metaseg_monai.comparison.stages import run_stage_comparison
from metaseg_monai.comparison.tables import RunResult, pair_rows, read_metrics_csv, render_report, write_results_csv
from metaseg_monai.comparison.variants import Variant, parse_variants

__all__ = [
    "BundleRunError",
    "RunResult",
    "Variant",
    "pair_rows",
    "parse_variants",
    "read_metrics_csv",
    "render_report",
    "run_bundle_workflow",
    "run_comparison",
    "run_few_label_design",
    "run_stage_comparison",
    "write_results_csv",
]
