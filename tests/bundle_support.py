"""Shared helpers of the bundle tests: running a bundle's configs in-process and the zoo's schema files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from monai.bundle import ConfigWorkflow

import metaseg_monai
from metaseg_monai.bundle.verify import SCHEMA_MD5  # noqa: F401  (the zoo test checks ../shared/schemas with it)

REPO = Path(__file__).resolve().parents[1]
BUNDLES = REPO / "bundles"
BUNDLE_NAMES = sorted(p.name for p in BUNDLES.iterdir() if (p / "configs" / "metadata.json").is_file())
SCHEMAS = REPO.parent / "shared" / "schemas"
TINY = {"features": [8, 8, 8], "batch_size": 8, "num_workers": 0}  # 2 poolings: an epoch takes about a second
ONE_EPOCH = {"epochs": 1, "features": [8, 8, 8], "num_workers": 0, "progress_bar": False}
# per bundle: the sample-data options that make an epoch take seconds, and the overrides its configs need with them
SMALL_DATA = {
    "cell_lines_nuclei_segmentation": ({"images_per_line": 4, "size": 64}, {"batch_size": 4}),
    "annotation_styles_nuclei_segmentation": ({"images_per_line": 4, "size": 64}, {"batch_size": 4}),
    "nuclei_anomaly_segmentation": ({"images_per_line": 4, "size": 64}, {"batch_size": 4}),
    "kits21_tumor_size_segmentation": ({"num_cases": 6, "shape": (20, 64, 64), "spacing": (12.5, 4.0, 4.0)}, {}),
    "multiorgan_film_segmentation": (
        {"scans_per_organ": 5, "size": 48, "num_slices": 16},
        {"slice_size": [48, 48], "batch_size": 8},
    ),
    "spinal_tumor_type_film_segmentation": ({"subjects_per_type": 5}, {"batch_size": 8}),
    "video_nuclei_consistency_segmentation": (
        {"num_stills": 10, "num_frames": 8},
        {"batch_size": 4, "pair_batch_size": 2},
    ),
}

# the bundles list both package dicts on purpose (one per schema); MONAI 1.6 reports the older name as deprecated
IGNORE_DEPRECATED_PACKAGES = pytest.mark.filterwarnings("ignore:Detected deprecated name 'optional_packages_version'")


def requires_regular_package() -> None:
    """Fail with a fix if ``metaseg_monai`` resolves as a namespace package (``$import metaseg_monai`` would fail)."""
    # MONAI's optional_import rejects namespace packages; an editable install made before metaseg_monai/__init__.py
    # existed resolves the top level as one
    if getattr(metaseg_monai, "__file__", None) is None:
        pytest.fail(
            "metaseg_monai imports as a namespace package (stale editable install); the bundle's `$import "
            "metaseg_monai` cannot work. Reinstall with `pip install --no-deps -e .` or set PYTHONPATH to the repo."
        )


def requires_export_extra() -> None:
    """Skip where ONNX export cannot run (the label venv has no ``export`` extra); the dev venv has it."""
    from metaseg_monai.bundle.export import missing_onnx_module

    missing = missing_onnx_module()
    if missing is not None:
        pytest.skip(f"ONNX export needs {missing}: pip install -e '.[export]'")


def bundle_workflow(bundle: str | Path, config: str | list[str], workflow_type: str, **override) -> ConfigWorkflow:
    """A ``ConfigWorkflow`` of ``bundles/<bundle>/configs/<config>`` (a name or a list layered in order)."""
    root = BUNDLES / bundle if isinstance(bundle, str) else Path(bundle)
    files = [str(root / "configs" / c) for c in ([config] if isinstance(config, str) else config)]
    return ConfigWorkflow(
        config_file=files,
        meta_file=str(root / "configs" / "metadata.json"),
        workflow_type=workflow_type,
        bundle_root=str(root),
        **override,
    )


def check_export_round_trip(
    bundle: Path, checkpoint: Path, metadata, features, tmp_path: Path, in_channels: int = 1
) -> None:
    """The zoo's checks a metadata network can pass: ``verify_net_in_out`` (with the metadata as an extra forward
    argument; the command line cannot give one) and ``ckpt_export`` to TorchScript, whose output must equal the
    eager network's on the same input."""
    import torch
    from monai.bundle import ConfigParser, ckpt_export, verify_net_in_out

    requires_regular_package()
    config = str(bundle / "configs" / "inference.json")
    meta = str(bundle / "configs" / "metadata.json")
    verify_net_in_out(
        net_id="network_def",
        meta_file=meta,
        config_file=config,
        device="cpu",
        n=2,
        extra_forward_args={"metadata": metadata},
    )
    ts = tmp_path / "model.ts"
    ckpt_export(
        net_id="network_def",
        filepath=str(ts),
        ckpt_file=str(checkpoint),
        meta_file=meta,
        config_file=config,
        bundle_root=str(bundle),
        features=features,
    )
    scripted = torch.jit.load(str(ts))
    parser = ConfigParser()
    parser.read_config(config)
    parser.update({"bundle_root": str(bundle), "features": features})
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    net.eval()
    x = torch.rand(1, in_channels, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x, metadata), net(x, metadata))


def train_tiny(bundle: Path, dataset_dir: Path, out: Path, tiny: dict, epochs: int = 1) -> Path:
    """Train a bundle for ``epochs`` with tiny overrides into ``out`` (checking the zoo's train properties)."""
    requires_regular_package()
    wf = bundle_workflow(
        bundle, "train.json", "train", dataset_dir=str(dataset_dir), output_dir=str(out), epochs=epochs, **tiny
    )
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    wf.finalize()
    return out


def check_resume_continues(bundle: Path, dataset_dir: Path, trained: Path, out: Path, tiny: dict) -> None:
    """A copy of a 1-epoch run, started again with ``epochs=2``, resumes at its checkpoint and runs one more epoch."""
    import shutil

    shutil.copytree(trained, out)
    wf = bundle_workflow(
        bundle, "train.json", "train", dataset_dir=str(dataset_dir), output_dir=str(out), epochs=2, **tiny
    )
    wf.initialize()
    wf.run()
    trainer = wf.parser.get_parsed_content("train#trainer")
    resumer = wf.parser.get_parsed_content("train#handlers")[0]
    assert resumer.resumed_from == out / "checkpoints" / "checkpoint_epoch=1.pt"
    assert trainer.state.epoch == 2 and trainer.state.iteration == 2 * len(trainer.data_loader)
    assert (out / "checkpoints" / "checkpoint_epoch=2.pt").is_file()


def read_rows(path: Path) -> list[dict]:
    """The rows of a CSV file (a bundle's ``metrics.csv``) as dicts of strings."""
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def evaluate_copy(
    bundle: Path,
    dataset_dir: Path,
    trained: Path,
    out: Path,
    configs: Sequence[str] = (),
    check_properties: bool = True,
    **override,
) -> list[dict]:
    """Copy a trained ``output_dir`` to ``out``, evaluate it there (``train.json``, the extra ``configs``, then
    ``evaluate.json``, with :data:`TINY` and ``override``) and return its metrics rows.

    ``check_properties`` runs the zoo's property check first; it instantiates the training data too, so it cannot
    be run with ``metadata_mode="swap"``, which training refuses."""
    import shutil

    shutil.copytree(trained, out)
    layers = ["train.json", *configs, "evaluate.json"]
    wf = bundle_workflow(
        bundle, layers, "train", dataset_dir=str(dataset_dir), output_dir=str(out), **{**TINY, **override}
    )
    wf.initialize()
    if check_properties:
        assert wf.check_properties() == []
    wf.run()
    return read_rows(Path(override.get("eval_dir", out)) / "metrics.csv")


def run_inference(bundle: Path, dataset_dir: Path, out: Path, **override) -> ConfigWorkflow:
    """Run a bundle's ``inference.json`` on ``dataset_dir`` into ``out`` (checking the zoo's infer properties)."""
    wf = bundle_workflow(
        bundle, "inference.json", "infer", dataset_dir=str(dataset_dir), output_dir=str(out), **override
    )
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    return wf


def check_mask_volume(path: Path, source: Path, values: set[int] = frozenset({0, 1})) -> None:
    """A written NIfTI mask has the shape and affine of its input ``source``, dtype uint8 and only ``values``."""
    import nibabel as nib
    import numpy as np

    mask, image = nib.load(path), nib.load(source)
    assert mask.shape == image.shape and np.allclose(mask.affine, image.affine), path
    assert mask.get_data_dtype() == np.uint8 and set(np.unique(np.asarray(mask.dataobj))) <= set(values), path


def check_inference_refuses(bundle: Path, dataset_dir: Path, tmp_path: Path, cases, **common) -> None:
    """Each ``(overrides, message)`` of ``cases`` fails inference's ``initialize`` with ``message``, writing nothing."""
    never = tmp_path / "never"
    for bad, message in cases:
        wf = bundle_workflow(
            bundle, "inference.json", "infer", dataset_dir=str(dataset_dir), output_dir=str(never), **common, **bad
        )
        with pytest.raises(RuntimeError) as err:
            wf.initialize()
        assert message in repr(err.value.__cause__), bad
    assert not never.exists()
