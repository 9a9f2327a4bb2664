"""The bundles that ship inside the package: where they are, what they are, and how a name or folder is resolved.

The wheel carries every bundle under the resource package ``metaseg_monai.bundles`` (the repository's ``bundles/``
folder, mapped in ``pyproject.toml``), so a non-editable install finds them from any working directory.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from metaseg_monai.utils import read_json

__all__ = ["BundleInfo", "bundle_info", "list_bundles", "packaged_bundles_dir", "resolve_bundle"]

# what makes a folder a bundle of ours: the zoo's required files and the training config
BUNDLE_FILES = ("configs/metadata.json", "configs/train.json", "configs/inference.json", "LICENSE")


def packaged_bundles_dir() -> Path:
    """The folder that holds the shipped bundles (inside the installed package, or the repo's ``bundles/``)."""
    return Path(str(importlib.resources.files("metaseg_monai.bundles")))


def _is_bundle(path: Path) -> bool:
    return all((path / f).is_file() for f in BUNDLE_FILES)


@dataclass(frozen=True)
class BundleInfo:
    """What ``metaseg bundle list`` shows of a bundle.

    Attributes:
        name: the folder name (the zoo's bundle name).
        path: the bundle folder.
        version: ``metadata.json`` ``version``.
        experiment: ``metadata.json`` ``experiment``: the paper and experiment the bundle reproduces.
        metadata_fields: the names of the metadata fields the network reads (``train.json`` ``metadata_fields``).
        sample_data: the ``metaseg sample-data`` kind that writes data in the layout the bundle reads.
    """

    name: str
    path: Path
    version: str
    experiment: str
    metadata_fields: tuple[str, ...]
    sample_data: str | None


def bundle_info(path: str | Path) -> BundleInfo:
    """Read a bundle folder's :class:`BundleInfo` from its ``metadata.json`` and ``train.json``."""
    path = Path(path)
    meta = read_json(path / "configs" / "metadata.json", "the bundle's metadata")
    train = read_json(path / "configs" / "train.json", "the bundle's training config")
    return BundleInfo(
        name=path.name,
        path=path,
        version=str(meta.get("version", "")),
        experiment=str(meta.get("experiment", meta.get("task", ""))),
        metadata_fields=tuple(str(f["name"]) for f in train.get("metadata_fields", [])),
        sample_data=meta.get("sample_data"),
    )


def list_bundles() -> list[BundleInfo]:
    """Every shipped bundle, sorted by name."""
    root = packaged_bundles_dir()
    bundles = [bundle_info(p) for p in sorted(root.iterdir()) if p.is_dir() and _is_bundle(p)]
    if not bundles:
        raise FileNotFoundError(f"no bundle found in '{root}': the package was installed without its bundles.")
    return bundles


def resolve_bundle(bundle: str | Path) -> Path:
    """A bundle folder from a path, or from the name of a shipped bundle.

    Raises:
        FileNotFoundError: neither a bundle folder (with ``configs/metadata.json``, ``configs/train.json``,
            ``configs/inference.json`` and ``LICENSE``) nor a shipped bundle's name; the message lists the names.
    """
    path = Path(bundle)
    if path.is_dir():
        missing = [f for f in BUNDLE_FILES if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(f"'{path}' is not a bundle folder: it lacks {', '.join(missing)}.")
        return path.resolve()
    shipped = packaged_bundles_dir() / str(bundle)
    if "/" not in str(bundle) and "\\" not in str(bundle) and _is_bundle(shipped):
        return shipped.resolve()
    names = ", ".join(b.name for b in list_bundles())
    raise FileNotFoundError(
        f"bundle '{bundle}' not found: not a bundle folder, nor one of the shipped bundles ({names})."
    )
