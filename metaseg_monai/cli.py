"""The ``metaseg`` command line (fire): ``demo``, ``compare``, ``bundle``, ``sample-data``, ``shape-switch``."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence

import fire

__all__ = [
    "bundle_export",
    "bundle_export_model",
    "bundle_init",
    "bundle_list",
    "bundle_verify",
    "compare",
    "demo",
    "main",
    "sample_data",
    "shape_switch",
]


def demo(out: str = "metaseg_demo", seeds: int = 2, device: str = "cpu", epochs: int | None = None) -> None:
    """The main job: sample data + the paper's comparison for the task switch and the cell lines (about 10 min on
    2 CPU cores), printing the tables; reports in OUT/<bundle>/report.md. Started again, it resumes.

    Args:
        out: output folder (sample data, runs, reports).
        seeds: seeds per arm.
        device: torch device, e.g. ``cpu`` or ``cuda:0``.
        epochs: training epochs per run (default: each experiment's own, sized for the time budget).
    """
    from metaseg_monai.comparison.sample_data_demo import run_demo

    run_demo(out, seeds=seeds, device=device, epochs=epochs, say=_say)


def compare(
    bundle: str,
    dataset_dir: str,
    out: str,
    variants: str | Sequence[str] = "none,se,me,sme,film,sme:dummy",
    seeds: int | Sequence[int] = 3,
    epochs: int = 50,
    device: str = "cpu",
    baseline: str = "none",
    swap: str = "auto",
    overrides: Mapping[str, object] | None = None,
    splits: int | Sequence[int] | None = None,
    alternative: str | None = None,
    design: str = "arms",
    sizes: Sequence[int] = (2, 4, 6, 8, 12),
    others: int = 12,
    stage1_epochs: int | None = None,
) -> None:
    """Train and evaluate each arm x seed (or random split) of BUNDLE on DATASET_DIR through the bundle's configs;
    write OUT/report.md (mean F1 +- std over runs, per metadata group, Wilcoxon p vs BASELINE) and OUT/results.csv.

    Args:
        bundle: a bundle folder, or the name of a shipped bundle (metaseg bundle list).
        dataset_dir: the dataset, in the layout the bundle reads.
        out: output folder; started again with the same settings, the comparison resumes.
        variants: comma-separated arms: CONDITIONING[:MODE] (none, se, me, sme, film; MODE true or dummy) or the
            name of a config overlay of the bundle (e.g. two_heads).
        seeds: number of seeds (0..n-1), or a list.
        epochs: training epochs per run.
        device: torch device.
        baseline: the arm of the Wilcoxon test's reference.
        swap: auto (bundles that declare swap_fields), yes or no: also evaluate with swapped metadata.
        overrides: other bundle overrides for every run, e.g. '{"features": [8, 8, 8]}'.
        splits: instead of seeds, this many random per-subject splits (run k: seed k, split_seed k), as the FiLM
            paper's 10 splits.
        alternative: Wilcoxon alternative, two-sided or greater (one-sided); default greater with --splits.
        design: arms (the default: VARIANTS x seeds or splits), or few_labels: the FiLM paper's Fig. 2 for the
            multi-organ bundle (FiLM vs single-class U-Net as one organ's scans go from 2 to 12; VARIANTS, SEEDS,
            BASELINE and SWAP are not used; --splits gives the repeats, default 1), or stages: stage 0 vs stage 1
            of the Siamese-consistency bundle over SEEDS (the default for a bundle with stages; EPOCHS for stage
            0, STAGE1_EPOCHS for stage 1; AP on stills and video, flicker, area change, Wilcoxon).
        sizes: few_labels: the rarer organ's numbers of scans.
        others: few_labels: the other organ's number of scans.
        stage1_epochs: stages: stage 1's epochs (default EPOCHS).
    """
    from metaseg_monai.bundle import resolve_bundle
    from metaseg_monai.comparison import run_comparison, run_few_label_design, run_stage_comparison
    from metaseg_monai.comparison.stages import has_stages

    if design == "arms" and has_stages(resolve_bundle(bundle)):
        design = "stages"  # the Siamese bundle has no metadata arms: its comparison is of its two stages
    if design == "stages":
        run_stage_comparison(
            bundle,
            dataset_dir,
            out,
            seeds=seeds,
            epochs=epochs,
            stage1_epochs=stage1_epochs,
            device=device,
            overrides=overrides,
            say=_say,
        )
        return

    if design == "few_labels":
        run_few_label_design(
            bundle,
            dataset_dir,
            out,
            sizes=sizes,
            others=others,
            splits=splits if splits is not None else 1,
            epochs=epochs,
            device=device,
            overrides=overrides,
            say=_say,
        )
        return
    if design != "arms":
        raise ValueError(f"design must be 'arms', 'few_labels' or 'stages', got {design!r}.")

    run_comparison(
        bundle,
        dataset_dir,
        out,
        variants=variants,
        seeds=seeds,
        epochs=epochs,
        device=device,
        baseline=baseline,
        swap=swap,
        overrides=overrides,
        say=_say,
        splits=splits,
        alternative=alternative,
    )


def shape_switch(
    variants: str | Sequence[str] = "none,se,me,sme,film,sme:dummy",
    epochs: int = 40,
    seed: int = 0,
    output_dir: str | None = None,
    device: str = "cpu",
    network: str = "metaunet",
    image_size: int | None = None,
) -> None:
    """A one-minute check in memory: train each variant on shape-switch data and print a table of pixel F1.

    The metadata (``target_shape``) alone says whether disks or squares are to be segmented, so metadata-free
    variants (``none``, ``se``, ``*:dummy``) cannot beat about 0.67 while conditioned ones can approach 1.

    Args:
        variants: comma-separated ``CONDITIONING[:MODE]``, MODE ``true`` (default) or ``dummy`` (all-zero metadata).
        epochs: training epochs per variant.
        seed: random seed (data, weights, augmentation).
        output_dir: if given, ``results.json`` is written there.
        device: torch device, e.g. ``cpu`` or ``cuda:0``.
        network: ``metaunet``, or a MONAI family wrapped by ``MetadataConditioned``: basicunet, unet, segresnet,
            dynunet, flexibleunet, swinunetr.
        image_size: side of the generated images; by default 48, and 64 for flexibleunet and swinunetr, which
            downsample 32-fold.
    """
    from metaseg_monai.comparison.variants import parse_variants
    from metaseg_monai.shape_switch_check import train_shape_switch
    from metaseg_monai.utils.files import write_json

    parsed = parse_variants(variants)
    if output_dir is not None and os.path.exists(os.path.join(output_dir, "results.json")):
        raise FileExistsError(f"{os.path.join(output_dir, 'results.json')} exists; choose another output_dir.")
    results = []
    if image_size is None:
        from metaseg_monai.networks import min_input_size

        image_size = max(48, min_input_size(network))
    print(
        f"shape-switch: {network}, {len(parsed)} variants x {epochs} epochs, {image_size}-pixel images, seed {seed}, "
        f"device {device}",
        flush=True,
    )
    for variant in parsed:
        print(f"training {variant.name} ...", flush=True)
        start = time.perf_counter()
        result = train_shape_switch(
            variant.conditioning,
            variant.metadata_mode,
            epochs=epochs,
            seed=seed,
            device=device,
            network=network,
            image_size=image_size,
        )
        result["variant"], result["seconds"] = variant.name, time.perf_counter() - start
        results.append(result)
        print(f"  {variant.name}: F1 {result['f1']:.3f} ({result['seconds']:.1f} s)", flush=True)
    print(f"{'variant':<12} {'F1':>6} {'F1 disk':>8} {'F1 square':>10} {'time s':>7}")
    for r in results:
        per = r["f1_per_target"]
        print(f"{r['variant']:<12} {r['f1']:>6.3f} {per['disk']:>8.3f} {per['square']:>10.3f} {r['seconds']:>7.1f}")
    if output_dir is not None:
        write_json(os.path.join(output_dir, "results.json"), results)
        print(f"wrote {os.path.join(output_dir, 'results.json')}")


def sample_data(kind: str, out_dir: str, seed: int = 0, **options: object) -> None:
    """Write a generated dataset in the public layout of KIND into OUT_DIR (new or empty).

    KIND: cell-lines, nuclei-anomaly, annotation-styles, kits21, kits19, msd-spleen, msd-liver, tumor-type, ctc, dsb,
    video-nuclei.
    Size options are passed to the generator, e.g. ``--num_cases 10 --shape "[64,128,128]"``.
    """
    from metaseg_monai.sample_data import SAMPLE_DATA_KINDS, generate_sample_data

    root = generate_sample_data(kind, out_dir, seed=seed, **options)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    reader = SAMPLE_DATA_KINDS[kind][1]
    print(
        f"wrote {kind} sample data ({files} files) to {root}; read it with metaseg_monai.data.{reader}({str(root)!r})"
    )


def bundle_list() -> None:
    """List the shipped bundles: name, version, the paper experiment, the metadata fields the network reads."""
    from metaseg_monai.bundle import list_bundles, packaged_bundles_dir

    bundles = list_bundles()
    width = max(len(b.name) for b in bundles)
    print(f"{'bundle':<{width}}  {'version':<7}  {'metadata':<18}  experiment")
    for b in bundles:
        print(f"{b.name:<{width}}  {b.version:<7}  {', '.join(b.metadata_fields):<18}  {b.experiment}")
    print(f"\n{len(bundles)} bundles in {packaged_bundles_dir()}; copy one with: metaseg bundle init NAME DIR")


def bundle_init(name: str, dest: str, sample_data: bool = False) -> None:
    """Write a self-contained copy of bundle NAME (configs, docs, LICENSE, weights) into DEST (new or empty).

    Args:
        name: a shipped bundle's name (metaseg bundle list) or a bundle folder.
        dest: the new bundle folder.
        sample_data: also generate the bundle's sample data into DEST/sample_data (its default dataset_dir).
    """
    from metaseg_monai.bundle import init_bundle

    root = init_bundle(name, dest, sample_data=sample_data)
    data = "" if sample_data else " --dataset_dir YOUR_DATA"
    print(f"wrote bundle {root}; train it with:")
    print(f"  python -m monai.bundle run --config_file {root}/configs/train.json --bundle_root {root}{data}")
    if not sample_data:
        print(f"(--sample_data writes its sample data into {root}/sample_data, the default dataset_dir)")


def bundle_export(bundle: str, out: str, overwrite: bool = False) -> None:
    """Write BUNDLE (a shipped bundle's name or a bundle folder) as a Model Zoo zip with its weights into OUT.

    Args:
        bundle: a shipped bundle's name or a bundle folder.
        out: the .zip file to write.
        overwrite: replace an existing OUT.
    """
    from metaseg_monai.bundle import export_bundle

    path = export_bundle(bundle, out, overwrite=overwrite)
    print(
        f"wrote {path}; unzip it and run: python -m monai.bundle run --config_file NAME/configs/inference.json "
        "--bundle_root NAME (see NAME/docs/README.md)"
    )


def bundle_export_model(
    bundle: str, format: str = "torch.export", out: str | None = None, ckpt: str | None = None, overwrite: bool = False
) -> None:
    """Export BUNDLE's trained network with both inputs (image, metadata) and check it against eager.

    Args:
        bundle: a shipped bundle's name or a bundle folder.
        format: torch.export (recommended; .pt2), onnx (needs the export extra) or torchscript (deprecated in torch).
        out: the file to write (default: model<suffix> in the current folder).
        ckpt: the weights (default: the bundle's models/model.pt).
        overwrite: replace an existing OUT.
    """
    from metaseg_monai.bundle import resolve_bundle
    from metaseg_monai.bundle.export import EXPORT_FORMATS, export_network

    if format not in EXPORT_FORMATS:
        raise ValueError(f"--format must be one of {sorted(EXPORT_FORMATS)}, got {format!r}.")
    check = export_network(resolve_bundle(bundle), format, out or f"model{EXPORT_FORMATS[format]}", ckpt, overwrite)
    print(check.summary())


def bundle_verify(bundle: str, formats: str | Sequence[str] | None = None, keep: str | None = None) -> None:
    """The Model Zoo's checks of BUNDLE with the metadata input: schema (offline), check_properties,
    verify_net_in_out, and each export round trip; exits 1 if any fails.

    Args:
        bundle: a shipped bundle's name or a bundle folder.
        formats: export formats to check (comma-separated; default torch.export,onnx,torchscript).
        keep: a new or empty folder to keep the exported files in.
    """
    from metaseg_monai.bundle import resolve_bundle
    from metaseg_monai.bundle.export import EXPORT_FORMATS
    from metaseg_monai.bundle.verify import verify_bundle

    if formats is None:
        chosen = list(EXPORT_FORMATS)
    else:  # fire gives a tuple for 'a,b' and a str for 'a'
        chosen = [f.strip() for f in formats.split(",")] if isinstance(formats, str) else [str(f) for f in formats]
    unknown = sorted(set(chosen) - set(EXPORT_FORMATS))
    if unknown:
        raise ValueError(f"--formats: unknown {unknown}; expected some of {sorted(EXPORT_FORMATS)}.")
    path = resolve_bundle(bundle)
    _say(f"verifying {path}")
    results = verify_bundle(path, chosen, keep)
    width = max(len(r.name) for r in results)
    for r in results:
        _say(f"  {r.name:<{width}}  {r.status:<7}  {r.detail}")
    failed = [r.name for r in results if r.passed is False]
    _say(
        f"{len(results) - len(failed)} of {len(results)} checks passed or skipped"
        + (f"; failed: {failed}" if failed else "")
    )
    if failed:
        sys.exit(1)


def label_app(app_dir: str, bundles: str | Sequence[str]) -> None:
    """Write a MONAI Label app into APP_DIR (new or empty) that serves BUNDLES, each request giving its metadata.

    Args:
        app_dir: the app folder to write (main.py, model/<bundle>/).
        bundles: shipped bundle names or bundle folders, comma-separated.
    """
    from metaseg_monai.label import parse_bundle_names, write_app

    names = parse_bundle_names(bundles)
    app = write_app(app_dir, names)
    print(f"wrote the MONAI Label app {app}; start it with:")
    print(f"  metaseg label serve --app_dir {app} --studies YOUR_IMAGES --bundles {','.join(names)}")


def label_serve(
    studies: str, bundles: str | Sequence[str], port: int = 8000, host: str = "127.0.0.1", app_dir: str | None = None
) -> None:
    """Start MONAI Label's server serving BUNDLES over the images in STUDIES (needs the label extra; see README).

    Args:
        studies: the folder of images (MONAI Label's local datastore).
        bundles: shipped bundle names (or folders, without app_dir), comma-separated.
        port: the port to listen on.
        host: the address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).
        app_dir: an app written by metaseg label app; default: one written into a temporary folder.
    """
    from metaseg_monai.label import serve

    _say(f"MONAI Label on http://{host}:{port} serving {bundles}; POST /infer/<bundle> with params; Ctrl-C stops")
    sys.exit(serve(studies, bundles, port=port, host=host, app_dir=app_dir))


def _say(text: str) -> None:
    print(text, flush=True)


def main() -> None:
    from metaseg_monai.comparison import BundleRunError

    # the commands print their own progress; a bundle run's INFO logs go to its run.log, the console shows warnings
    console = logging.StreamHandler(sys.stdout)
    console.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.INFO, handlers=[console], format="%(asctime)s %(levelname)s %(message)s")
    commands = {
        "demo": demo,
        "compare": compare,
        "bundle": {
            "list": bundle_list,
            "init": bundle_init,
            "export": bundle_export,
            "export-model": bundle_export_model,
            "verify": bundle_verify,
        },
        "label": {"app": label_app, "serve": label_serve},
        "sample-data": sample_data,
        "shape-switch": shape_switch,
    }
    try:
        fire.Fire(commands)
    # a message, not a traceback
    except (ValueError, FileExistsError, FileNotFoundError, ModuleNotFoundError, BundleRunError) as err:
        print(f"metaseg: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
