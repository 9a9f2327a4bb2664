"""``metaseg bundle init`` and ``metaseg bundle export``: a shipped bundle as a folder of its own, or as a zoo zip.

Both copy the same files: what the MONAI Model Zoo's archive holds (``configs/``, ``docs/``, ``LICENSE``,
``models/``), and nothing a run wrote into the bundle (``sample_data/``, ``output/``, caches).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

from metaseg_monai.bundle.packaged import bundle_info, resolve_bundle
from metaseg_monai.utils import atomic_path, writes_dataset

__all__ = ["bundle_files", "export_bundle", "init_bundle"]

# the zoo's archive layout: these folders and files of a bundle, nothing else
BUNDLE_PARTS = ("configs", "docs", "models", "LICENSE")
_SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def bundle_files(bundle_dir: str | Path) -> Iterator[Path]:
    """The files of a bundle that travel with it, relative to the bundle folder, in a stable order."""
    root = Path(bundle_dir)
    for part in BUNDLE_PARTS:
        path = root / part
        if path.is_file():
            yield Path(part)
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and not any(s in file.parts for s in _SKIPPED) and not file.name.startswith("."):
                    yield file.relative_to(root)


@writes_dataset("dest")
def _copy_bundle(source: Path, dest: Path, sample_kind: str | None = None) -> Path:
    for rel in bundle_files(source):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, dest / rel)
    if sample_kind is not None:  # inside the staging folder: a failure leaves no half-made bundle
        from metaseg_monai.sample_data import generate_sample_data

        generate_sample_data(sample_kind, dest / "sample_data", seed=0)
    return dest


def init_bundle(bundle: str | Path, dest: str | Path, sample_data: bool = False) -> Path:
    """Write a self-contained copy of a bundle into ``dest`` (a new or empty folder); returns ``dest``.

    The copy trains, evaluates and infers with ``python -m monai.bundle run --bundle_root DEST ...`` wherever it
    is, with only ``metaseg-monai`` installed. With ``sample_data``, the bundle's generated sample data is written
    into ``DEST/sample_data``, its default ``dataset_dir``.

    Raises:
        FileNotFoundError: ``bundle`` is neither a bundle folder nor a shipped bundle's name.
        FileExistsError: ``dest`` exists and is not empty (nothing is written).
    """
    source = resolve_bundle(bundle)
    kind = bundle_info(source).sample_data
    if sample_data and kind is None:
        raise ValueError(f"bundle '{source.name}' declares no sample data (metadata.json has no 'sample_data').")
    return _copy_bundle(source, Path(dest), kind if sample_data else None)


def export_bundle(bundle: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Write a bundle as the Model Zoo's archive: ``<name>/configs``, ``<name>/models``, ``<name>/docs``,
    ``<name>/LICENSE``, weights included. Unzipped anywhere, it runs with ``metaseg-monai`` installed.

    Raises:
        FileNotFoundError: ``bundle`` is neither a bundle folder nor a shipped bundle's name.
        FileExistsError: ``out`` exists and ``overwrite`` is False.
        ValueError: ``out`` does not end in ``.zip``, or the bundle has no ``models/model.pt``.
    """
    source = resolve_bundle(bundle)
    out = Path(out)
    if out.suffix != ".zip":
        raise ValueError(f"--out must name a .zip file, got '{out}'.")
    if not (source / "models" / "model.pt").is_file():
        raise ValueError(f"bundle '{source}' has no models/model.pt; train it before exporting.")
    with atomic_path(out, overwrite) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in bundle_files(source):
            archive.write(source / rel, f"{source.name}/{rel.as_posix()}")
    return out
