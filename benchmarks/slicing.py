"""Slices per second of the 3D-to-2D path on one real-sized generated KiTS21 case, against plain nibabel + numpy.

One case of ``--slices`` x 512 x 512 (int16 image, uint8 label, ``.nii.gz``) is generated with
``generate_kits21`` into a temporary folder and read back with ``load_kits21``. Each variant yields the same
kidney-containing axial slices (label 1 on axis 0) as ``(1, 512, 512)`` float32 images and ``(1, 512, 512)`` labels:

- ``baseline``: ``nibabel.load`` image and label, ``np.asanyarray(dataobj)``, select slices with
  ``(label == 1).any(axis=(1, 2))`` and slice them one by one with numpy (``img[i].astype(float32)[None]``);
- ``cold``: ``iter_volume_slices`` without a cache (NIfTI decoding, vectorised selection and extraction);
- ``cold+cache write``: ``iter_volume_slices`` with an empty ``cache_dir`` (the first epoch of a cached run);
- ``cached``: ``iter_volume_slices`` again on that filled ``cache_dir`` (memory-mapped ``.npy``, no decoding).

Variants are interleaved per repeat; the table gives the median time, slices/s and the ratio of slices/s to the
baseline. "Cold" means the first decode in the process: the ``.nii.gz`` files themselves sit in the OS page cache
after being generated. Nothing is asserted. Run from the repository root::

    python benchmarks/slicing.py                 # 600 slices, 3 repeats, about a minute on 2 cores
    python benchmarks/slicing.py --slices 300 --repeats 5
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from metaseg_monai.data.kits import load_kits21
from metaseg_monai.data.slices import iter_volume_slices
from metaseg_monai.sample_data.generate_ct import generate_kits21


def baseline(item: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    image = np.asanyarray(nib.load(item["image"]).dataobj)
    label = np.asanyarray(nib.load(item["label"]).dataobj)
    selected = np.flatnonzero((label == 1).any(axis=(1, 2)))
    return [(image[i].astype(np.float32)[None], label[i][None]) for i in selected]


def ours(item: dict, cache_dir: Path | None) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(s["image"], s["label"]) for s in iter_volume_slices([item], axis=0, labels=(1,), cache_dir=cache_dir)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=600, help="axial slices of the generated case (default 600)")
    parser.add_argument("--size", type=int, default=512, help="in-plane size (default 512)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, 1-min load {load:.2f}")
    with tempfile.TemporaryDirectory(prefix="metaseg_slicing_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        root = generate_kits21(
            tmp / "kits21", seed=args.seed, num_cases=1, shape=(args.slices, args.size, args.size),
            spacing=(0.8, 0.78, 0.78),
        )  # fmt: skip
        item = load_kits21(root)[0]
        size_mb = sum(Path(item[k]).stat().st_size for k in ("image", "label")) / 2**20
        print(
            f"# generated {args.slices}x{args.size}x{args.size} case in {time.perf_counter() - start:.1f} s "
            f"({size_mb:.0f} MiB .nii.gz)"
        )

        times: dict[str, list[float]] = {"baseline": [], "cold": [], "cold+cache write": [], "cached": []}
        counts: dict[str, int] = {}
        reference = None
        identical = True
        for repeat in range(args.repeats):
            cache_dir = tmp / f"cache_{repeat}"
            runs = [
                ("baseline", lambda: baseline(item)),
                ("cold", lambda: ours(item, None)),
                ("cold+cache write", lambda cache_dir=cache_dir: ours(item, cache_dir)),
                ("cached", lambda cache_dir=cache_dir: ours(item, cache_dir)),  # after the write above
            ]
            for name, run in runs:
                start = time.perf_counter()
                out = run()
                times[name].append(time.perf_counter() - start)
                counts[name] = len(out)
                if reference is None:
                    reference = out
                elif repeat == 0:
                    identical &= len(out) == len(reference) and all(
                        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                        for a, b in zip(out, reference, strict=True)
                    )
                del out

    base_rate = counts["baseline"] / statistics.median(times["baseline"])
    print(f"# {counts['baseline']} kidney slices selected of {args.slices}; outputs identical to baseline: {identical}")
    print(f"{'variant':<18} {'median_s':>9} {'slices_per_s':>13} {'ratio_vs_baseline':>18}")
    for name, values in times.items():
        median = statistics.median(values)
        rate = counts[name] / median
        print(f"{name:<18} {median:>9.3f} {rate:>13.1f} {rate / base_rate:>18.2f}")


if __name__ == "__main__":
    main()
