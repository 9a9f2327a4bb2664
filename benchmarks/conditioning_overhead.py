"""Time and parameter overhead of each metadata conditioning relative to its unconditioned twin.

For every conditioning in ``CONDITIONINGS`` ("se", "me", "sme", "film") the network is built in the same run as its
unconditioned twin ("none") and timed on the same fixed random input and metadata:

- ``--network metaunet`` (the default): ``MetaUNet(conditioning=c)`` against ``MetaUNet(conditioning="none")`` at the
  same widths (``--preset`` builds via ``from_preset``);
- ``--network basicunet|unet|segresnet|dynunet|flexibleunet|swinunetr``: ``MetadataConditioned(net, conditioning=c)``
  around a MONAI network against the plain network itself (``metaseg_monai.networks.monai_network`` builds each
  family at the ``--features`` widths).

Timed steps:

- train step: ``model.train()``, forward + backward + ``torch.optim.Adam`` step (loss = mean of the logits, a
  stand-in: the loss does not change the network's cost);
- inference: ``model.eval()`` under ``torch.inference_mode()``, one forward pass.

Ratios are **paired**: every repeat times the twin, then each conditioned variant followed by the twin again
(``none, se, none, me, none, ...``), and a variant's ratio is the median over repeats of its time over the mean of
the two twin steps beside it. A slow drift of a noisy machine then cancels within each pair. The tables also give
each variant's median time and interquartile range in ms. Timings are wall-clock (``time.perf_counter``, after a
device synchronisation on GPU) and nothing is asserted: this is a benchmark, not a test.

On a shared machine other busy processes distort the timings badly (with torch's OpenMP threads competing for
the cores); the header prints the 1-minute load average, and ``--threads 1`` is less sensitive to it.

Run from the repository root (with ``metaseg_monai`` installed, e.g. ``pip install -e .``)::

    python benchmarks/conditioning_overhead.py --quick            # smoke test, a few seconds
    python benchmarks/conditioning_overhead.py --dims 2 --size 128 --batch 4
    python benchmarks/conditioning_overhead.py --dims 2 3 --network basicunet --json basicunet.json
    python benchmarks/conditioning_overhead.py --device cuda --amp --channels_last --dims 2 3

With ``--device cuda --amp`` every table is measured twice, in float32 and under ``torch.autocast`` (float16), and
the twin's throughput (images a second) is printed for both. ``--channels_last`` stores the network and input in
the channels-last memory format.
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import monai
import torch

from metaseg_monai.networks import (
    CONDITIONINGS,
    MONAI_FAMILIES,
    PRESETS,
    MetadataConditioned,
    MetaUNet,
    min_input_size,
    monai_network,
)

DEFAULTS = {  # dims -> (batch, size, features)
    2: (8, 256, (16, 32, 64, 128, 256)),
    3: (2, 64, (8, 16, 32, 64)),
}
QUICK = {2: (2, 32, (4, 8, 16)), 3: (2, 32, (4, 8, 16))}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build(args: argparse.Namespace, dims: int, conditioning: str, features: tuple[int, ...] | None) -> torch.nn.Module:
    """The network under test; every conditioning's twin is built from the same seed, so the plain parts match."""
    torch.manual_seed(args.seed)
    if args.network != "metaunet":
        plain = monai_network(args.network, dims, 1, 2, features)
        if conditioning == "none":
            return plain
        return MetadataConditioned(plain, args.metadata_dim, conditioning)
    kwargs = {"metadata_dim": args.metadata_dim, "conditioning": conditioning}
    if features is not None:
        kwargs["features"] = features
    if args.preset:
        return MetaUNet.from_preset(args.preset, dims, 1, 2, **kwargs)
    return MetaUNet(dims, 1, 2, **kwargs)


def summary(samples: list[float]) -> dict:
    q1, med, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return {"median": med, "q1": q1, "q3": q3, "samples": samples}


def bench_dims(args: argparse.Namespace, dims: int, amp: bool) -> dict:
    batch, size, features = (QUICK if args.quick else DEFAULTS)[dims]
    batch = args.batch or batch
    size = max(args.size or size, min_input_size(args.network))
    if args.features:
        features = tuple(args.features)
    elif args.preset and not args.quick:
        features = None
    device = torch.device(args.device)
    memory_format = (torch.channels_last if dims == 2 else torch.channels_last_3d) if args.channels_last else None
    torch.manual_seed(args.seed)
    x = torch.randn(batch, 1, *([size] * dims), device=device)
    if memory_format is not None:
        x = x.to(memory_format=memory_format)
    meta = torch.rand(batch, args.metadata_dim, device=device)
    variants = {}
    for c in CONDITIONINGS:
        model = build(args, dims, c, features).to(device)
        if memory_format is not None:
            model = model.to(memory_format=memory_format)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        n_params = sum(p.numel() for p in model.parameters())
        variants[c] = {"model": model, "opt": opt, "params": n_params, "train": [], "infer": [], "pairs": {}}
    autocast = (
        (lambda: torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16))
        if amp
        else contextlib.nullcontext
    )
    plain = variants["none"]["model"]
    call = (lambda m: m(x)) if args.network != "metaunet" else None

    def forward(v: dict) -> torch.Tensor:
        model = v["model"]
        if call is not None and model is plain:
            return call(model)  # the plain MONAI network takes no metadata
        return model(x, meta)

    def timed(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0

    def train_step(v: dict) -> float:
        v["model"].train()

        def step() -> None:
            v["opt"].zero_grad(set_to_none=True)
            with autocast():
                loss = forward(v).float().mean()
            loss.backward()
            v["opt"].step()

        return timed(step)

    def infer_step(v: dict) -> float:
        v["model"].eval()
        with torch.inference_mode(), autocast():
            return timed(lambda: forward(v))

    conditioned = [c for c in CONDITIONINGS if c != "none"]
    base = variants["none"]
    for r in range(args.warmup + args.repeats):
        order = conditioned[r % len(conditioned) :] + conditioned[: r % len(conditioned)]
        for kind, step in (("train", train_step), ("infer", infer_step)):
            before = step(base)
            for c in order:
                t = step(variants[c])
                after = step(base)
                if r >= args.warmup:
                    variants[c][kind].append(1e3 * t)
                    variants[c]["pairs"].setdefault(kind, []).append(t / (0.5 * (before + after)))
                    base[kind].append(1e3 * after)
                before = after

    rows = []
    for c, v in variants.items():
        row = {"conditioning": c, "params": v["params"], "params_ratio": v["params"] / base["params"]}
        for kind in ("train", "infer"):
            row[f"{kind}_ms"] = summary(v[kind])
            row[f"{kind}_ratio"] = statistics.median(v["pairs"][kind]) if c != "none" else 1.0
        rows.append(row)
    used = tuple(base["model"].features) if args.network == "metaunet" else features
    throughput = {kind: batch / (statistics.median(base[kind]) / 1e3) for kind in ("train", "infer")}
    return {
        "dims": dims,
        "batch": batch,
        "size": size,
        "features": used,
        "network": args.network,
        "preset": args.preset,
        "precision": "amp" if amp else "fp32",
        "channels_last": args.channels_last,
        "device": str(device),
        "twin_images_per_s": throughput,
        "rows": rows,
    }


def print_table(res: dict) -> None:
    shape = "x".join([str(res["size"])] * res["dims"])
    preset = f" preset={res['preset']}" if res["preset"] else ""
    layout = " channels_last" if res["channels_last"] else ""
    print(
        f"\n{res['dims']}D  network={res['network']}{preset}  B={res['batch']} 1x{shape} features={res['features']}  "
        f"{res['device']} {res['precision']}{layout}  torch threads={torch.get_num_threads()}"
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
    t = res["twin_images_per_s"]
    print(f"unconditioned twin: {t['train']:.1f} images/s training, {t['infer']:.1f} images/s inference")


def print_summary(results: list[dict]) -> None:
    """One line per network, dimension and precision: the paired ratios of every conditioning."""
    print("\nsummary: paired median ratios to the unconditioned twin (train / inference)")
    for res in results:
        cells = "  ".join(
            f"{row['conditioning']} {row['train_ratio']:.3f}/{row['infer_ratio']:.3f}"
            for row in res["rows"]
            if row["conditioning"] != "none"
        )
        print(f"{res['network']:<12} {res['dims']}D {res['precision']:<4}  {cells}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--dims", type=int, nargs="+", choices=(2, 3), default=[2, 3])
    p.add_argument("--batch", type=int, help="default 8 (2D), 2 (3D)")
    p.add_argument("--size", type=int, help="spatial size per axis; default 256 (2D), 64 (3D)")
    p.add_argument("--features", type=int, nargs="+", help="default 16 32 64 128 256 (2D), 8 16 32 64 (3D)")
    p.add_argument(
        "--network", choices=("metaunet", *MONAI_FAMILIES), nargs="+", default=["metaunet"], help="one or more"
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="MetaUNet only: build via from_preset")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--amp", action="store_true", help="also measure under torch.autocast (float16 on CUDA)")
    p.add_argument("--channels_last", action="store_true", help="channels-last memory format for net and input")
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
    if args.preset and args.network != ["metaunet"]:
        p.error("--preset builds a MetaUNet; give it with --network metaunet alone")
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
        "(train = forward+backward+Adam step, loss = mean of logits; infer = eval + inference_mode; "
        "ratios: paired medians against the twin)"
    )
    results = []
    for network in args.network:
        for dims in args.dims:
            for amp in (False, True) if args.amp else (False,):
                res = bench_dims(argparse.Namespace(**{**vars(args), "network": network}), dims, amp)
                print_table(res)
                results.append(res)
            if args.amp:
                fp32, mixed = results[-2]["twin_images_per_s"], results[-1]["twin_images_per_s"]
                print(
                    f"{network} {dims}D AMP / fp32 throughput of the twin: training "
                    f"{mixed['train'] / fp32['train']:.2f}x, inference {mixed['infer'] / fp32['infer']:.2f}x"
                )
    print_summary(results)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine, "args": vars(args) | {"json": str(args.json)}, "results": results}, indent=2
            )
        )
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
