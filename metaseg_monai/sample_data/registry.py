"""``metaseg sample-data KIND OUT_DIR``: the registry of generators that write each public dataset layout."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_DATA_KINDS", "generate_sample_data", "get_generator"]

# kind -> ("module:function" of the generator, the reader that reads what it writes); imported lazily so that
# `metaseg --help` stays fast
SAMPLE_DATA_KINDS: dict[str, tuple[str, str]] = {
    "cell-lines": ("metaseg_monai.sample_data.generate_microscopy:generate_cell_lines", "load_table_dataset"),
    "nuclei-anomaly": ("metaseg_monai.sample_data.generate_microscopy:generate_nuclei_anomaly", "load_table_dataset"),
    "annotation-styles": (
        "metaseg_monai.sample_data.generate_microscopy:generate_annotation_styles",
        "load_table_dataset",
    ),
    "kits21": ("metaseg_monai.sample_data.generate_ct:generate_kits21", "load_kits21"),
    "kits19": ("metaseg_monai.sample_data.generate_ct:generate_kits19", "load_kits19"),
    "msd-spleen": ("metaseg_monai.sample_data.generate_ct:generate_msd_spleen", "load_decathlon"),
    "msd-liver": ("metaseg_monai.sample_data.generate_ct:generate_msd_liver", "load_decathlon"),
    "multi-organ": ("metaseg_monai.sample_data.generate_ct:generate_multiorgan", "load_multiorgan"),
    "tumor-type": ("metaseg_monai.sample_data.generate_tumor_type:generate_tumor_type", "load_bids_tumor_type"),
    "ctc": ("metaseg_monai.sample_data.generate_cells:generate_ctc", "load_ctc_sequence"),
    "dsb": ("metaseg_monai.sample_data.generate_cells:generate_dsb", "load_dsb2018"),
    "video-nuclei": ("metaseg_monai.sample_data.generate_cells:generate_video_nuclei", "load_video_nuclei"),
}


def get_generator(kind: str) -> Callable[..., Path]:
    """The generator function of ``kind``; a ``ValueError`` lists the known kinds."""
    if kind not in SAMPLE_DATA_KINDS:
        raise ValueError(f"unknown sample-data kind {kind!r}; expected one of {sorted(SAMPLE_DATA_KINDS)}.")
    module, _, name = SAMPLE_DATA_KINDS[kind][0].partition(":")
    return getattr(importlib.import_module(module), name)


def generate_sample_data(kind: str, out_dir: str | Path, seed: int = 0, **options: Any) -> Path:
    """Write the ``kind`` dataset into ``out_dir`` (which must be new or empty) and return its root.

    ``options`` are the generator's size arguments (e.g. ``num_cases``, ``shape``, ``size``); an unknown option is a
    ``ValueError`` that lists the accepted ones.
    """
    generator = get_generator(kind)
    accepted = [p for p in inspect.signature(generator).parameters if p not in ("out_dir", "seed")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"sample-data {kind}: unknown option(s) {unknown}; accepted: {accepted}.")
    return generator(out_dir, seed=seed, **options)
