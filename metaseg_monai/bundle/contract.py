"""The config ids that ``metaseg compare`` and the ``metaseg bundle`` commands rely on, declared once.

Every shipped bundle must define them (a test checks each one); the runner sets the common overrides and reads
the rest by these names only.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "COMMON_OVERRIDES",
    "EVALUATE_IDS",
    "INFER_IDS",
    "OPTIONAL_IDS",
    "TRAIN_IDS",
    "missing_ids",
]

# set by the runner on every run, and accepted on the command line by every bundle
COMMON_OVERRIDES = ("dataset_dir", "output_dir", "epochs", "conditioning", "metadata_mode", "seed", "device")
# train.json (with any overlay): what the runner reads or attaches to
TRAIN_IDS = (
    *COMMON_OVERRIDES,
    "progress_bar",
    "val_interval",
    "metadata_fields",
    "metadata_spec",
    "swap_fields",
    "network",
    "settings",
    "datalists",
    "train#trainer",
    "validate#evaluator",
    "validate#dataset",
    "validate#datalist",
)
# evaluate.json, layered on train.json
EVALUATE_IDS = ("eval_dir", "eval_overwrite")
# inference.json
INFER_IDS = (
    "dataset_dir",
    "output_dir",
    "output_overwrite",
    "device",
    "metadata",
    "settings",
    "datalists",
    "network_def",
)
# read when present: class names of a multi-class bundle (the sweep figure's legend)
OPTIONAL_IDS = ("class_names",)


def missing_ids(bundle_dir: str | Path) -> dict[str, list[str]]:
    """The contract ids each of a bundle's configs lacks (``{}`` when none): ``{"configs/train.json": [...]}``."""
    from monai.bundle import ConfigParser

    configs = Path(bundle_dir) / "configs"
    layers = {
        "configs/train.json": (["train.json"], TRAIN_IDS),
        "configs/evaluate.json": (["train.json", "evaluate.json"], EVALUATE_IDS),
        "configs/inference.json": (["inference.json"], INFER_IDS),
    }
    missing = {}
    for name, (files, ids) in layers.items():
        parser = ConfigParser()
        parser.read_config([str(configs / f) for f in files])
        absent = [i for i in ids if i not in parser]
        if absent:
            missing[name] = absent
    return missing
