"""Time and parameter overhead of MetaUNet's metadata conditionings relative to a plain U-Net.

For every conditioning in ``CONDITIONINGS`` ("none", "se", "me", "sme", "film") a MetaUNet with the same widths is
built in the same run and timed on the same fixed random input and metadata:

- train step: ``model.train()``, forward + backward + ``torch.optim.Adam`` step (loss = mean of the logits, a
  stand-in: the loss does not change the network's cost);
- inference: ``model.eval()`` under ``torch.inference_mode()``, one forward pass.

Variants are interleaved round-robin (each repeat times every variant once, with the starting variant rotated), so
a slow drift of a noisy machine affects all of them alike. Reported per variant: parameter count, median and
interquartile range of the repeats in ms, and the ratios to ``"none"``. Timings are wall-clock
(``time.perf_counter``) and nothing is asserted: this is a benchmark, not a test.

On a shared machine other busy processes distort the timings badly (with torch's OpenMP threads competing for
the cores); the header prints the 1-minute load average, and ``--threads 1`` is less sensitive to it.

Run from the repository root (with ``metaseg_monai`` installed, e.g. ``pip install -e .``)::

    python benchmarks/conditioning_overhead.py --quick            # smoke test, a few seconds
    python benchmarks/conditioning_overhead.py --dims 2
    python benchmarks/conditioning_overhead.py --dims 3 --threads 2 --json overhead_3d.json
    python benchmarks/conditioning_overhead.py --preset plutenko_code --dims 2 --size 128 --batch 4 --repeats 5

With ``--preset`` each variant is ``MetaUNet.from_preset(preset, ..., conditioning=c)``; the preset's own widths are
used unless ``--features`` is given.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import monai
import torch

from metaseg_monai.networks.nets import CONDITIONINGS, PRESETS, MetaUNet

DEFAULTS = {  # dims -> (batch, size, features)
    2: (8, 256, (16, 32, 64, 128, 256)),
    3: (2, 64, (8, 16, 32, 64)),
}
QUICK = {2: (2, 32, (4, 8, 16)), 3: (1, 16, (4, 8, 16))}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build(args: argparse.Namespace, dims: int, conditioning: str, features: tuple[int, ...] | None) -> MetaUNet:
    kwargs = {"metadata_dim": args.metadata_dim, "conditioning": conditioning}
    if features is not None:
        kwargs["features"] = features
    if args.preset:
        return MetaUNet.from_preset(args.preset, dims, 1, 2, **kwargs)
    return MetaUNet(dims, 1, 2, **kwargs)


def summary(samples: list[float]) -> dict:
    q1, med, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return {"median": med, "q1": q1, "q3": q3, "samples": samples}


def bench_dims(args: argparse.Namespace, dims: int) -> dict:
    batch, size, features = (QUICK if args.quick else DEFAULTS)[dims]
    batch = args.batch or batch
    size = args.size or size
    features = tuple(args.features) if args.features else (None if args.preset and not args.quick else features)
    torch.manual_seed(args.seed)
    x = torch.randn(batch, 1, *([size] * dims))
    meta = torch.rand(batch, args.metadata_dim)
    variants = []
    for i, c in enumerate(CONDITIONINGS):
        torch.manual_seed(args.seed + i)
        model = build(args, dims, c, features)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        n_params = sum(p.numel() for p in model.parameters())
        variants.append({"conditioning": c, "model": model, "opt": opt, "params": n_params, "train": [], "infer": []})

    def train_step(v: dict) -> float:
        model, opt = v["model"], v["opt"]
        model.train()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        model(x, meta).mean().backward()
        opt.step()
        return time.perf_counter() - t0

    def infer_step(v: dict) -> float:
        model = v["model"]
        model.eval()
        with torch.inference_mode():
            t0 = time.perf_counter()
            model(x, meta)
            return time.perf_counter() - t0

    n = len(variants)
    for r in range(args.warmup + args.repeats):
        order = variants[r % n :] + variants[: r % n]
        for kind, step in (("train", train_step), ("infer", infer_step)):
            for v in order:
                ms = 1e3 * step(v)
                if r >= args.warmup:
                    v[kind].append(ms)

    base = next(v for v in variants if v["conditioning"] == "none")
    rows = []
    for v in variants:
        row = {"conditioning": v["conditioning"], "params": v["params"], "params_ratio": v["params"] / base["params"]}
        for kind in ("train", "infer"):
            row[f"{kind}_ms"] = summary(v[kind])
            row[f"{kind}_ratio"] = row[f"{kind}_ms"]["median"] / statistics.median(base[kind])
        rows.append(row)
    used = tuple(base["model"].features)
    return {"dims": dims, "batch": batch, "size": size, "features": used, "preset": args.preset, "rows": rows}


def print_table(res: dict) -> None:
    shape = "x".join([str(res["size"])] * res["dims"])
    preset = f" preset={res['preset']}" if res["preset"] else ""
    print(
        f"\n{res['dims']}D  B={res['batch']} 1x{shape}{preset} features={res['features']}  "
        f"torch threads={torch.get_num_threads()}"
    )
    print(
        f"{'conditioning':<12}  {'params':>10}  {'params_ratio':>12}  {'train_ms(median [IQR])':>24}  "
        f"{'train_ratio':>11}  {'infer_ms(median [IQR])':>24}  {'infer_ratio':>11}"
    )
    for row in res["rows"]:
        cells = [f"{row['conditioning']:<12}", f"{row['params']:>10,}", f"{row['params_ratio']:>12.4f}"]
        for kind in ("train", "infer"):
            s = row[f"{kind}_ms"]
            cells.append(f"{s['median']:>9.1f} [{s['q1']:.1f}-{s['q3']:.1f}]".rjust(24))
            cells.append(f"{row[f'{kind}_ratio']:>11.3f}")
        print("  ".join(cells))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--dims", type=int, nargs="+", choices=(2, 3), default=[2, 3])
    p.add_argument("--batch", type=int, help="default 8 (2D), 2 (3D)")
    p.add_argument("--size", type=int, help="spatial size per axis; default 256 (2D), 64 (3D)")
    p.add_argument("--features", type=int, nargs="+", help="default 16 32 64 128 256 (2D), 8 16 32 64 (3D)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="build via from_preset")
    p.add_argument("--metadata-dim", type=int, default=7)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, help="torch.set_num_threads; default: torch's own")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--quick", action="store_true", help="tiny sizes, 3 repeats, 1 warmup: a smoke test")
    args = p.parse_args()
    if args.quick:
        args.repeats, args.warmup = min(args.repeats, 3), min(args.warmup, 1)
    if args.threads:
        torch.set_num_threads(args.threads)

    machine = {
        "torch": torch.__version__,
        "monai": monai.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "loadavg_1min": round(os.getloadavg()[0], 2),  # other processes on the machine skew the timings
    }
    print("  ".join(f"{k}={v}" for k, v in machine.items()))
    print(
        f"repeats={args.repeats} warmup={args.warmup} metadata_dim={args.metadata_dim} seed={args.seed} "
        "(train = forward+backward+Adam step, loss = mean of logits; infer = eval + inference_mode)"
    )
    results = []
    for dims in args.dims:
        res = bench_dims(args, dims)
        print_table(res)
        results.append(res)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine, "args": vars(args) | {"json": str(args.json)}, "results": results}, indent=2
            )
        )
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
