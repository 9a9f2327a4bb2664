"""``metaseg bundle export-model`` and ``metaseg bundle verify``: exports with both inputs, checked against eager."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
from bundle_support import (
    BUNDLE_NAMES,
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    requires_export_extra,
    requires_regular_package,
)

from metaseg_monai.bundle import export as export_module
from metaseg_monai.bundle.export import EXPORT_FORMATS, bundle_inputs, export_network, load_bundle_network
from metaseg_monai.bundle.verify import verify_bundle

pytestmark = [IGNORE_DEPRECATED_PACKAGES, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CELLS = BUNDLES / "cell_lines_nuclei_segmentation"
VIDEO = BUNDLES / "video_nuclei_consistency_segmentation"


def test_bundle_inputs_from_metadata_json():
    cells = bundle_inputs(CELLS)
    assert (cells.names, cells.in_channels, cells.spatial_multiple, cells.spatial_dims, cells.metadata_dim) == (
        ("image", "metadata"), 1, 32, 2, 7,
    )  # fmt: skip
    assert bundle_inputs(VIDEO).names == ("image",)  # the video network reads no metadata


def test_bundle_inputs_names_the_bad_field(tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(CELLS / "configs", bundle / "configs")
    meta = json.loads((bundle / "configs" / "metadata.json").read_text())
    meta["network_data_format"]["inputs"]["image"]["spatial_shape"] = [64, "32*n"]
    (bundle / "configs" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"metadata.json: network_data_format.inputs.image: spatial_shape"):
        bundle_inputs(bundle)


@pytest.mark.parametrize("fmt", sorted(EXPORT_FORMATS))
def test_export_round_trip_with_both_inputs(fmt, tmp_path):
    requires_regular_package()
    if fmt == "onnx":
        requires_export_extra()
    out = tmp_path / f"cells{EXPORT_FORMATS[fmt]}"
    check = export_network(CELLS, fmt, out)
    assert out.is_file() and len(check.max_abs_diff) == 2  # two batch and spatial sizes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial file left
    # load it back the way the docs say, on a third shape, and compare with the eager network
    net = load_bundle_network(CELLS)
    x, m = torch.rand(1, 1, 128, 64), torch.rand(1, 7)
    with torch.no_grad():
        expected = net(x, m)
        if fmt == "torch.export":
            got = torch.export.load(str(out)).module()(x, m)
        elif fmt == "torchscript":
            got = torch.jit.load(str(out))(x, m)
        else:
            import onnxruntime

            session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            assert [i.name for i in session.get_inputs()] == ["image", "metadata"]
            got = torch.from_numpy(session.run(None, {"image": x.numpy(), "metadata": m.numpy()})[0])
    torch.testing.assert_close(got, expected, rtol=export_module.RTOL, atol=export_module.ATOL)


def test_export_image_only_network(tmp_path):
    check = export_network(VIDEO, "torch.export", tmp_path / "video.pt2")
    program = torch.export.load(str(check.path)).module()
    assert program(torch.rand(2, 1, 64, 48)).shape == (2, 2, 64, 48)


def test_export_refuses_to_overwrite_and_leaves_nothing_when_the_check_fails(tmp_path, monkeypatch):
    out = tmp_path / "model.pt2"
    out.write_text("a user's file")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        export_network(CELLS, "torch.export", out)
    assert out.read_text() == "a user's file"
    with pytest.raises(ValueError, match="unknown export format 'tflite'"):
        export_network(CELLS, "tflite", tmp_path / "m.tflite")

    def wrong_runner(fmt, path, inputs):  # an export whose outputs differ from eager
        return lambda *args: torch.zeros(args[0].shape[0], 2, *args[0].shape[2:])

    monkeypatch.setattr(export_module, "_runner", wrong_runner)
    fresh = tmp_path / "fresh.ts"
    with pytest.raises(AssertionError, match="torchscript export, input 2x1x64x64"):
        export_network(CELLS, "torchscript", fresh)
    assert list(tmp_path.iterdir()) == [out]  # neither the export nor a partial file


def test_export_names_missing_weights(tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(CELLS / "configs", bundle / "configs")
    with pytest.raises(FileNotFoundError, match=r"no trained weights at '.*models/model.pt'"):
        export_network(bundle, "torch.export", tmp_path / "m.pt2")


def test_cli_export_model(tmp_path, monkeypatch, capsys):
    from metaseg_monai import cli

    monkeypatch.setattr(sys, "argv", ["metaseg", "bundle", "export-model", "cell_lines_nuclei_segmentation",
                                      "--format", "torchscript", "--out", str(tmp_path / "cells.ts")])  # fmt: skip
    cli.main()
    assert "torchscript ->" in capsys.readouterr().out and (tmp_path / "cells.ts").is_file()


def _check_verified(bundle, tmp_path) -> None:
    requires_regular_package()
    requires_export_extra()
    results = verify_bundle(bundle, keep=tmp_path / "exports")
    failed = {r.name: r.detail for r in results if r.passed is not True}
    assert not failed
    assert [r.name for r in results] == [
        "metadata schema", "check_properties train", "check_properties inference", "verify_net_in_out",
        "export torch.export", "export onnx", "export torchscript",
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["model.onnx", "model.pt2", "model.ts"]


def test_verify_cell_lines(tmp_path):
    _check_verified(CELLS, tmp_path)


def test_verify_reports_a_failing_check_and_runs_the_rest(tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(CELLS, bundle)
    (bundle / "models" / "model.pt").unlink()  # no weights: the exports fail, the config checks still pass
    results = {r.name: r for r in verify_bundle(bundle, formats=["torchscript"])}
    assert results["metadata schema"].passed and results["verify_net_in_out"].passed
    assert results["export torchscript"].passed is False
    assert "no trained weights" in results["export torchscript"].detail


@pytest.mark.slow
@pytest.mark.parametrize("bundle", [b for b in BUNDLE_NAMES if b != "cell_lines_nuclei_segmentation"])
def test_verify_every_bundle(bundle, tmp_path):
    _check_verified(BUNDLES / bundle, tmp_path)
