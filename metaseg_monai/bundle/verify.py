"""``metaseg bundle verify``: the Model Zoo's checks of a bundle, with the metadata input the zoo's CI cannot give.

The zoo's CI (``ci/verify_bundle.py``) runs ``verify_metadata`` (downloading the schema), ``check_properties``,
``verify_net_in_out`` from the command line (one input) and ``ckpt_export`` (one input). A metadata network fails
the last two there, so a zoo submission of these bundles lists them in ``exclude_verify_shape_list`` and
``exclude_verify_torchscript_list`` (``ci/bundle_custom_data.py``). Here each check runs with the metadata:

- ``metadata schema``: ``monai.bundle.verify_metadata`` against the schema ``metadata.json`` names, from the copies
  shipped in ``metaseg_monai/bundle/zoo_schemas`` (md5-checked, no download);
- ``check_properties train`` / ``inference``: MONAI's ``ConfigWorkflow.check_properties`` after ``initialize`` on
  the bundle's sample data, generated in a temporary folder (``metadata.json`` ``sample_data``);
- ``verify_net_in_out``: ``monai.bundle.verify_net_in_out`` with the metadata as an extra forward argument;
- ``export <format>``: :func:`~metaseg_monai.bundle.export.export_network` round trips (``torch.export``,
  ``onnx``, ``torchscript``) against eager; ONNX is reported as skipped where the ``export`` extra is missing.

It reads the bundle folder alone and writes only into a temporary folder.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from metaseg_monai.bundle.export import EXPORT_FORMATS, bundle_inputs, export_network, missing_onnx_module
from metaseg_monai.utils.files import read_json

__all__ = ["SCHEMA_MD5", "VerifyResult", "verify_bundle", "zoo_schema_dir"]

logger = logging.getLogger(__name__)

#: the zoo's schema files shipped with the package and the md5 sums MONAI's tests record for them
SCHEMA_MD5 = {
    "meta_schema_20220324.json": "662135097106b71067cd1fc657f8720f",
    "meta_schema_20240725.json": "06954cad2cc5d3784e72077ac76f0fc8",
}


def zoo_schema_dir() -> Path:
    """The folder of the shipped schema copies."""
    return Path(__file__).resolve().parent / "zoo_schemas"


@dataclass(frozen=True)
class VerifyResult:
    """One check: its name, ``passed`` (None: skipped) and what it found."""

    name: str
    passed: bool | None
    detail: str

    @property
    def status(self) -> str:
        return {True: "ok", False: "FAILED", None: "skipped"}[self.passed]


def _schema_check(bundle: Path, work: Path) -> str:
    from monai.bundle import verify_metadata

    meta_file = bundle / "configs" / "metadata.json"
    url = str(read_json(meta_file, "the bundle's metadata").get("schema", ""))
    name = url.rsplit("/", 1)[-1]
    if name not in SCHEMA_MD5:
        raise ValueError(f"{meta_file}: schema {url!r} is not one of the shipped copies {sorted(SCHEMA_MD5)}.")
    local = work / name
    shutil.copy(zoo_schema_dir() / name, local)  # pre-placed with its md5: verify_metadata downloads nothing
    verify_metadata(meta_file=str(meta_file), filepath=str(local), hash_val=SCHEMA_MD5[name])
    return f"valid against {name}"


def _sample_data(bundle: Path, work: Path) -> Path:
    from metaseg_monai.sample_data import generate_sample_data

    meta_file = bundle / "configs" / "metadata.json"
    kind = read_json(meta_file, "the bundle's metadata").get("sample_data")
    if not kind:
        raise ValueError(f"{meta_file}: no 'sample_data' kind, so no data to check the workflows on.")
    data = work / "sample_data"
    if not data.exists():
        generate_sample_data(kind, data)
    return data


def _required_metadata(bundle: Path, config: str) -> dict[str, object]:
    """A value for each categorical metadata field that ``config`` leaves to the command line (an id set to null,
    such as the multi-organ bundle's ``organ``): its first category, so that the workflow can initialise."""
    raw = read_json(bundle / "configs" / config, f"the bundle's {config}")
    given = {}
    for spec in raw.get("metadata_fields", []):
        name, categories = spec.get("name"), spec.get("categories")
        if name in raw and raw[name] is None and categories:
            given[name] = categories[0]
    return given


def _cause_chain(error: BaseException) -> list[BaseException]:
    """``error`` and what raised it, following ``__cause__``."""
    chain = [error]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    return chain


def _properties_check(bundle: Path, work: Path, config: str, workflow_type: str) -> str:
    """``check_properties`` after ``initialize`` on the sample data, as the config stands. An inference config that
    needs more from the command line is tried again with its categorical fields set (:func:`_required_metadata`)
    and, where it reads a plain folder of images (the multi-organ bundle: every CT volume in ``dataset_dir``) and a
    dataset layout's root has none, on each folder inside the sample data until one is accepted."""
    from monai.bundle import ConfigWorkflow

    data = _sample_data(bundle, work)
    attempts: list[tuple[dict, Path]] = [({}, data)]
    given = _required_metadata(bundle, config)
    if workflow_type == "infer" and given:
        attempts += [(given, data)] + [(given, p) for p in sorted(data.glob("*/*")) if p.is_dir()]
    first_error: BaseException | None = None
    for values, folder in attempts:
        workflow = ConfigWorkflow(
            config_file=str(bundle / "configs" / config),
            meta_file=str(bundle / "configs" / "metadata.json"),
            workflow_type=workflow_type,
            bundle_root=str(bundle),
            logging_file=False,  # keep the caller's logging: the bundle's logging.conf would print every INFO line
            dataset_dir=str(folder),
            output_dir=str(work / f"output_{workflow_type}"),
            **values,
        )
        try:
            workflow.initialize()
            break
        except RuntimeError as e:  # MONAI wraps what the config's expressions raise
            first_error = first_error or e
            if not any(isinstance(c, (FileNotFoundError, ValueError)) for c in _cause_chain(e)):
                raise
    else:
        raise first_error  # type: ignore[misc]
    missing = workflow.check_properties()
    if missing:
        raise ValueError(f"configs/{config} lacks the required properties {missing}.")
    used = [f"{k}={v!r}" for k, v in values.items()]
    used += [f"dataset_dir=sample_data/{folder.relative_to(data)}"] if folder != data else []
    with_values = f" (with {', '.join(used)})" if used else ""
    return f"configs/{config}: every required {workflow_type} property present{with_values}"


def _net_in_out_check(bundle: Path) -> str:
    import torch
    from monai.bundle import verify_net_in_out

    inputs = bundle_inputs(bundle)
    extra = {"metadata": torch.rand(1, inputs.metadata_dim)} if inputs.metadata_dim else None  # its batch is 1
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(bundle / "configs" / "metadata.json"),
        config_file=str(bundle / "configs" / "inference.json"),
        device="cpu",
        n=2,
        extra_forward_args=extra,
        bundle_root=str(bundle),
    )
    given = f" and metadata (1, {inputs.metadata_dim})" if extra else ""
    return f"image of {inputs.spatial_multiple}*n per axis{given}: output channels and shape as metadata.json states"


def verify_bundle(
    bundle_dir: str | Path, formats: Sequence[str] = tuple(EXPORT_FORMATS), keep: str | Path | None = None
) -> list[VerifyResult]:
    """Run every check (see the module docstring) on ``bundle_dir``; a failing check does not stop the others.

    Args:
        bundle_dir: the bundle folder.
        formats: the export formats to round-trip.
        keep: a folder to keep the exported files in (new or empty); None writes them into the temporary folder.
    """
    bundle = Path(bundle_dir).resolve()
    results: list[VerifyResult] = []
    with tempfile.TemporaryDirectory(prefix="metaseg-verify-") as tmp:
        work = Path(tmp)
        out_dir = Path(keep) if keep is not None else work / "exports"
        if keep is not None and out_dir.exists() and any(out_dir.iterdir()):
            raise FileExistsError(f"'{out_dir}' holds files; give a new or empty folder to keep the exports in.")
        checks: list[tuple[str, Callable[[], str]]] = [
            ("metadata schema", lambda: _schema_check(bundle, work)),
            ("check_properties train", lambda: _properties_check(bundle, work, "train.json", "train")),
            ("check_properties inference", lambda: _properties_check(bundle, work, "inference.json", "infer")),
            ("verify_net_in_out", lambda: _net_in_out_check(bundle)),
        ]
        for fmt in formats:
            path = out_dir / f"model{EXPORT_FORMATS[fmt]}"
            checks.append((f"export {fmt}", lambda fmt=fmt, path=path: export_network(bundle, fmt, path).summary()))
        missing = missing_onnx_module()
        for name, check in checks:
            if name == "export onnx" and missing:
                results.append(VerifyResult(name, None, f"needs {missing}: pip install 'metaseg-monai[export]'"))
                continue
            try:
                results.append(VerifyResult(name, True, check()))
            except Exception as e:  # report every check, as the zoo's CI does per bundle
                logger.debug("check %s failed:\n%s", name, traceback.format_exc())
                results.append(VerifyResult(name, False, f"{type(e).__name__}: {e}"))
    return results
