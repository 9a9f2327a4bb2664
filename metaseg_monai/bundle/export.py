"""Export a bundle's trained network with both of its inputs (image, metadata), and check the export against eager.

The Model Zoo's ``ckpt_export``, ``onnx_export`` and ``trt_export`` build one random input from ``input_shape``, so
a network that also takes metadata cannot go through them. Here the inputs come from the bundle's
``metadata.json`` ``network_data_format`` (``image``: channels and a spatial multiple such as ``32*n``; ``metadata``:
its width), the batch and spatial sizes stay dynamic in every format, and every export is loaded back and
run against the eager network on the example input and on a second, larger one (another batch size and spatial
size), within :data:`RTOL` / :data:`ATOL`. A failed check removes the file: nothing half-checked is left behind.

Formats:

- ``torch.export`` (``.pt2``, recommended): ``torch.export.export`` with dynamic batch and spatial sizes,
  ``torch.export.save``; load with ``torch.export.load(path).module()``.
- ``onnx`` (``.onnx``): torch's ONNX exporter with dynamic axes, checked with onnxruntime (the ``export`` extra:
  ``onnx``, ``onnxscript``, ``onnxruntime``).
- ``torchscript`` (``.ts``): ``torch.jit.script``, as the zoo's ``ckpt_export`` does; torch 2.13 deprecates
  TorchScript, so use it only for consumers that need it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from metaseg_monai.utils.atomic import atomic_path
from metaseg_monai.utils.files import read_json

__all__ = [
    "ATOL",
    "EXPORT_FORMATS",
    "RTOL",
    "BundleInputs",
    "ExportCheck",
    "bundle_inputs",
    "export_network",
    "load_bundle_network",
    "missing_onnx_module",
]

logger = logging.getLogger(__name__)

#: format name -> file suffix
EXPORT_FORMATS = {"torch.export": ".pt2", "onnx": ".onnx", "torchscript": ".ts"}
#: tolerances of the round-trip check (float32; ONNX Runtime differed from torch by at most 7e-5 on the bundles here)
RTOL, ATOL = 1e-4, 5e-4


#: what ONNX export and its check import (the ``export`` extra)
ONNX_MODULES = ("onnx", "onnxscript", "onnxruntime")


def missing_onnx_module() -> str | None:
    """The first of :data:`ONNX_MODULES` that does not import, or None when ONNX export can run."""
    for module in ONNX_MODULES:
        try:
            __import__(module)
        except ImportError:
            return module
    return None


@dataclass(frozen=True)
class BundleInputs:
    """What the bundle's network takes, from ``metadata.json`` ``network_data_format``.

    Attributes:
        names: the input names in forward order (``("image", "metadata")``, or ``("image",)``).
        in_channels: channels of the image.
        spatial_multiple: each spatial size must be a multiple of this (``32`` for ``"32*n"``).
        spatial_dims: 2 or 3.
        metadata_dim: width of the metadata vector (0: the network takes the image alone).
        output_name: the output's name (``pred``).
    """

    names: tuple[str, ...]
    in_channels: int
    spatial_multiple: int
    spatial_dims: int
    metadata_dim: int
    output_name: str

    def example(self, batch: int = 2, multiples: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random inputs: ``batch`` images of ``multiples * spatial_multiple`` per axis, and metadata in [0, 1)."""
        g = torch.Generator().manual_seed(seed)
        size = [self.spatial_multiple * multiples] * self.spatial_dims
        image = torch.rand(batch, self.in_channels, *size, generator=g)
        if self.metadata_dim == 0:
            return (image,)
        return image, torch.rand(batch, self.metadata_dim, generator=g)


def _multiple(shape: list, where: str) -> int:
    found = {str(s) for s in shape}
    match = [re.fullmatch(r"\s*(\d+)\s*\*\s*n\s*", s) for s in found]
    if len(found) != 1 or not match[0]:
        raise ValueError(f"{where}: spatial_shape must be one 'K*n' for every axis, got {shape}.")
    return int(match[0].group(1))


def bundle_inputs(bundle_dir: str | Path) -> BundleInputs:
    """Read :class:`BundleInputs` from ``bundle_dir/configs/metadata.json``; errors name the file and the field."""
    meta_file = Path(bundle_dir) / "configs" / "metadata.json"
    meta = read_json(meta_file, "the bundle's metadata")
    try:
        fmt = meta["network_data_format"]
        inputs, outputs = fmt["inputs"], fmt["outputs"]
        image = inputs["image"]
    except KeyError as e:
        raise ValueError(f"{meta_file}: network_data_format lacks {e}; expected inputs.image and outputs.") from e
    where = f"{meta_file}: network_data_format.inputs.image"
    spatial = image.get("spatial_shape")
    if not isinstance(spatial, list) or len(spatial) not in (2, 3):
        raise ValueError(f"{where}.spatial_shape must list 2 or 3 axes, got {spatial!r}.")
    metadata_dim = int(inputs["metadata"]["num_channels"]) if "metadata" in inputs else 0
    extra = sorted(set(inputs) - {"image", "metadata"})
    if extra:
        raise ValueError(f"{meta_file}: network_data_format.inputs has {extra}; only image and metadata are known.")
    return BundleInputs(
        names=("image", "metadata") if metadata_dim else ("image",),
        in_channels=int(image["num_channels"]),
        spatial_multiple=_multiple(spatial, where),
        spatial_dims=len(spatial),
        metadata_dim=metadata_dim,
        output_name=next(iter(outputs)),
    )


def load_bundle_network(bundle_dir: str | Path, ckpt: str | Path | None = None) -> torch.nn.Module:
    """The bundle's ``network_def`` (``configs/inference.json``) with the weights of ``ckpt`` (default
    ``models/model.pt``, read with ``weights_only=True``), in eval mode on the CPU."""
    from monai.bundle import ConfigParser

    root = Path(bundle_dir)
    ckpt = Path(ckpt) if ckpt is not None else root / "models" / "model.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"no trained weights at '{ckpt}': train the bundle first or pass the checkpoint.")
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "inference.json"))
    parser["bundle_root"] = str(root)
    net = parser.get_parsed_content("network_def")
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"cannot read the checkpoint '{ckpt}' as a state dict ({type(e).__name__}: {e}).") from e
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a checkpoint with {"model": state_dict}
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"'{ckpt}' does not fit the bundle's network_def: {e}") from e
    return net.eval()


class _ImageOnly(torch.nn.Module):
    """A network that reads no metadata, exported with the image as its only input."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.network(image)


@dataclass
class ExportCheck:
    """The result of :func:`export_network`: the file, and the largest difference to eager per checked input."""

    path: Path
    format: str
    max_abs_diff: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        diffs = ", ".join(f"{shape}: {d:.2e}" for shape, d in self.max_abs_diff.items())
        where = f"{self.format} -> {self.path} (dynamic batch and spatial sizes)"
        return f"{where}; max |export - eager| {diffs} (rtol {RTOL}, atol {ATOL})"


def _dynamic_shapes(inputs: BundleInputs) -> tuple[dict[int, Any], ...]:
    from torch.export import Dim

    batch = Dim("batch", min=1, max=1024)
    axes = [inputs.spatial_multiple * Dim(f"n{i}", min=1, max=256) for i in range(inputs.spatial_dims)]
    image = {0: batch, **{2 + i: a for i, a in enumerate(axes)}}
    return (image, {0: batch}) if inputs.metadata_dim else (image,)


@contextlib.contextmanager
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def _write(net: torch.nn.Module, inputs: BundleInputs, fmt: str, example: tuple, tmp: str) -> None:
    """Write the export to ``tmp``, with dynamic batch and spatial sizes."""
    if fmt == "torch.export":
        program = torch.export.export(net, example, dynamic_shapes=_dynamic_shapes(inputs))
        torch.export.save(program, tmp)
        return
    if fmt == "torchscript":
        with _quiet_deprecations():
            torch.jit.save(torch.jit.script(net), tmp)
        return
    if fmt == "onnx":
        missing = missing_onnx_module()
        if missing:
            raise ImportError(f"ONNX export needs {missing}: pip install 'metaseg-monai[export]'.")
        with _quiet_deprecations():
            torch.onnx.export(
                net,
                example,
                tmp,
                input_names=list(inputs.names),
                output_names=[inputs.output_name],
                dynamic_shapes=_dynamic_shapes(inputs),
                dynamo=True,
                external_data=False,  # one file: the networks here are a few MB
            )
        return
    raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}.")


def _runner(fmt: str, path: str, inputs: BundleInputs):
    """A callable running the exported file on torch tensors, returning a torch tensor."""
    if fmt == "torch.export":
        module = torch.export.load(path).module()
        return lambda *args: module(*args)
    if fmt == "torchscript":
        with _quiet_deprecations():
            module = torch.jit.load(path, map_location="cpu")
        return lambda *args: module(*args)
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(*args: torch.Tensor) -> torch.Tensor:
        feed = {n: a.numpy() for n, a in zip(names, args, strict=True)}
        return torch.from_numpy(session.run(None, feed)[0])

    return run


def export_network(
    bundle_dir: str | Path,
    fmt: str,
    out: str | Path,
    ckpt: str | Path | None = None,
    overwrite: bool = False,
) -> ExportCheck:
    """Export the bundle's trained network to ``out`` in format ``fmt`` and check it against eager.

    Args:
        bundle_dir: the bundle folder (``configs/``, ``models/model.pt``).
        fmt: ``"torch.export"``, ``"onnx"`` or ``"torchscript"`` (see the module docstring).
        out: the file to write; an existing one is refused unless ``overwrite``.
        ckpt: the weights (default ``<bundle_dir>/models/model.pt``).
        overwrite: replace ``out`` (atomically) if it exists.

    Returns:
        an :class:`ExportCheck` with the largest absolute difference to eager on each checked input shape.

    Raises:
        AssertionError: the export's output differs from eager beyond ``RTOL``/``ATOL``; ``out`` is not written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {sorted(EXPORT_FORMATS)}.")
    inputs = bundle_inputs(bundle_dir)
    net = load_bundle_network(bundle_dir, ckpt)
    if not inputs.metadata_dim:
        net = _ImageOnly(net).eval()
    examples = {"example": inputs.example(batch=2, multiples=2, seed=0), "other": inputs.example(3, 3, seed=1)}
    out = Path(out)
    check = ExportCheck(path=out, format=fmt)
    with atomic_path(out, overwrite=overwrite) as tmp:
        with torch.no_grad():
            _write(net, inputs, fmt, examples["example"], tmp)
            run = _runner(fmt, tmp, inputs)
            for args in examples.values():
                expected = net(*args)
                got = run(*args)
                shape = "x".join(str(s) for s in args[0].shape)
                check.max_abs_diff[shape] = float((got - expected).abs().max())
                torch.testing.assert_close(
                    got, expected, rtol=RTOL, atol=ATOL, msg=lambda m, f=fmt, s=shape: f"{f} export, input {s}: {m}"
                )
    logger.info(check.summary())
    return check
