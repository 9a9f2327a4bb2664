"""Shared helpers of the bundle tests: running a bundle's configs in-process and the zoo's schema files."""

from __future__ import annotations

from pathlib import Path

import pytest
from monai.bundle import ConfigWorkflow

import metaseg_monai

REPO = Path(__file__).resolve().parents[1]
BUNDLES = REPO / "bundles"
BUNDLE_NAMES = sorted(p.name for p in BUNDLES.iterdir() if (p / "configs" / "metadata.json").is_file())
SCHEMAS = REPO.parent / "shared" / "schemas"
SCHEMA_MD5 = {  # the md5 MONAI's tests record for these release assets (../shared/notes/bundle-conventions.md)
    "meta_schema_20220324.json": "662135097106b71067cd1fc657f8720f",
    "meta_schema_20240725.json": "06954cad2cc5d3784e72077ac76f0fc8",
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
