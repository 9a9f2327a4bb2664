"""The ``metaseg`` command line (built on fire)."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence

import fire

__all__ = ["demo", "main", "parse_variants", "sample_data"]


def parse_variants(variants: str | Sequence[str]) -> list[tuple[str, str]]:
    """``"none,sme,sme:dummy"`` (or fire's tuple of it) -> ``[("none", "true"), ("sme", "true"), ("sme", "dummy")]``."""
    from metaseg_monai.networks import CONDITIONINGS

    items = variants.split(",") if isinstance(variants, str) else list(variants)
    parsed = []
    for item in (str(v).strip() for v in items):
        conditioning, _, mode = item.partition(":")
        mode = mode or "true"
        if conditioning not in CONDITIONINGS or mode not in ("true", "dummy"):
            raise ValueError(
                f"variant {item!r}: expected CONDITIONING[:MODE] with CONDITIONING in {CONDITIONINGS} "
                "and MODE 'true' or 'dummy'."
            )
        parsed.append((conditioning, mode))
    if not parsed:
        raise ValueError("no variants given.")
    return parsed


def demo(
    variants: str | Sequence[str] = "none,se,me,sme,film,sme:dummy",
    epochs: int = 40,
    seed: int = 0,
    output_dir: str | None = None,
    device: str = "cpu",
) -> None:
    """Train and evaluate each variant on generated shape-switch data and print a table of pixel F1.

    The metadata (``target_shape``) alone says whether disks or squares are to be segmented, so metadata-free
    variants (``none``, ``se``, ``*:dummy``) cannot beat about 0.67 while conditioned ones can approach 1.

    Args:
        variants: comma-separated ``CONDITIONING[:MODE]``, MODE ``true`` (default) or ``dummy`` (all-zero metadata).
        epochs: training epochs per variant.
        seed: random seed (data, weights, augmentation).
        output_dir: if given, ``results.json`` is written there.
        device: torch device, e.g. ``cpu`` or ``cuda:0``.
    """
    from metaseg_monai.data.io import write_json
    from metaseg_monai.demo import train_shape_switch

    parsed = parse_variants(variants)
    if output_dir is not None and os.path.exists(os.path.join(output_dir, "results.json")):
        raise FileExistsError(f"{os.path.join(output_dir, 'results.json')} exists; choose another output_dir.")
    results = []
    print(f"shape-switch demo: {len(parsed)} variants x {epochs} epochs, seed {seed}, device {device}", flush=True)
    header = f"{'variant':<12} {'F1':>6} {'F1 disk':>8} {'F1 square':>10} {'time s':>7}"
    for conditioning, mode in parsed:
        name = conditioning if mode == "true" else f"{conditioning}:{mode}"
        print(f"training {name} ...", flush=True)
        start = time.perf_counter()
        result = train_shape_switch(conditioning, mode, epochs=epochs, seed=seed, device=device)
        result["variant"], result["seconds"] = name, time.perf_counter() - start
        results.append(result)
        print(f"  {name}: F1 {result['f1']:.3f} ({result['seconds']:.1f} s)", flush=True)
    print(header)
    for r in results:
        per = r["f1_per_target"]
        print(f"{r['variant']:<12} {r['f1']:>6.3f} {per['disk']:>8.3f} {per['square']:>10.3f} {r['seconds']:>7.1f}")
    if output_dir is not None:
        write_json(os.path.join(output_dir, "results.json"), results)
        print(f"wrote {os.path.join(output_dir, 'results.json')}")


def sample_data(kind: str, out_dir: str, seed: int = 0, **options: object) -> None:
    """Write a generated dataset in the public layout of KIND into OUT_DIR (new or empty).

    KIND: cell-lines, nuclei-anomaly, annotation-styles, kits21, kits19, msd-spleen, msd-liver, tumor-type, ctc, dsb.
    Size options are passed to the generator, e.g. ``--num_cases 10 --shape "[64,128,128]"``.
    """
    from metaseg_monai.data.sample_data import SAMPLE_DATA_KINDS, generate_sample_data

    root = generate_sample_data(kind, out_dir, seed=seed, **options)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    reader = SAMPLE_DATA_KINDS[kind][1]
    print(
        f"wrote {kind} sample data ({files} files) to {root}; read it with metaseg_monai.data.{reader}({str(root)!r})"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("ignite").setLevel(logging.WARNING)  # MONAI's engines log every epoch; the CLI prints a summary
    try:
        fire.Fire({"demo": demo, "sample-data": sample_data})
    except (ValueError, FileExistsError) as err:  # bad arguments or input: a message, not a traceback
        print(f"metaseg: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
