"""Reading and writing the files of the public dataset layouts, with errors that name the file.

Every reader in :mod:`metaseg_monai.data` goes through :func:`read_image` / :func:`read_nifti`, and every generator
writes through the ``write_*`` functions, which write to a temporary file beside the target and rename it into place:
a kill never leaves a half-written file, and an existing file is never overwritten.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import inspect
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "NIFTI_SUFFIXES",
    "atomic_path",
    "check_nifti_pair",
    "check_same_shape",
    "natural_key",
    "nifti_shape",
    "nifti_stem",
    "read_delimited",
    "read_image",
    "read_json",
    "read_nifti",
    "write_delimited",
    "write_image",
    "write_json",
    "write_nifti",
    "writes_dataset",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


NIFTI_SUFFIXES = (".nii.gz", ".nii")


def nifti_stem(path: str | os.PathLike) -> str:
    """The file name without ``.nii.gz`` / ``.nii`` (or its last suffix): ``spleen_19.nii.gz`` -> ``spleen_19``."""
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def natural_key(text: str) -> list:
    """Sort key ordering embedded numbers by value: ``spleen_2`` before ``spleen_10``, ``sub-2`` before ``sub-10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _require_file(path: str | os.PathLike, context: str = "") -> Path:
    p = Path(path)
    if not p.is_file():
        where = f" ({context})" if context else ""
        raise FileNotFoundError(f"file not found: '{p}'{where}.")
    return p


def read_image(path: str | os.PathLike, context: str = "") -> np.ndarray:
    """Read a PNG or TIFF (grey or RGB(A), 8 or 16 bit) as a numpy array, (H, W) or (H, W, C), dtype kept.

    Args:
        path: the file.
        context: where the path came from (e.g. ``"metadata.csv row 4, column 'label'"``), added to errors.

    Raises:
        FileNotFoundError: the file does not exist. ValueError: it cannot be decoded or has an unknown suffix.
    """
    p = _require_file(path, context)
    suffix = p.suffix.lower()
    where = f" ({context})" if context else ""
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"cannot read '{p}'{where}: expected one of {IMAGE_SUFFIXES}, found suffix '{suffix}'.")
    try:
        if suffix == ".png":
            from PIL import Image

            _reject_16bit_colour_png(p, where)
            with Image.open(p) as im:
                return np.asarray(im)
        import tifffile

        return np.asarray(tifffile.imread(p))
    except _Unsupported:
        raise
    except Exception as err:  # decoders raise many types; all mean "unreadable"
        raise ValueError(f"cannot read image '{p}'{where}: {type(err).__name__}: {err}") from err


class _Unsupported(ValueError):
    pass


def _reject_16bit_colour_png(path: Path, where: str) -> None:
    """Pillow reads 16-bit RGB(A) PNGs as 8 bit without a word; refuse them rather than lose the low byte."""
    with open(path, "rb") as f:
        head = f.read(26)
    # IHDR: bit depth at byte 24, colour type at 25 (2 = RGB, 6 = RGBA)
    if len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6):
        raise _Unsupported(
            f"cannot read image '{path}'{where}: 16-bit colour PNG is not supported (Pillow would cut it to 8 bit); "
            "save it as a 16-bit TIFF instead."
        )


def read_nifti(path: str | os.PathLike, context: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Read a NIfTI volume; returns ``(array, affine)`` with the array as stored on disk (no reorientation)."""
    p = _require_file(path, context)
    where = f" ({context})" if context else ""
    try:
        import nibabel as nib

        img = nib.load(str(p))
        return np.asanyarray(img.dataobj), np.asarray(img.affine)
    except Exception as err:
        raise ValueError(f"cannot read NIfTI '{p}'{where}: {type(err).__name__}: {err}") from err


def read_delimited(path: str | os.PathLike, delimiter: str = ",") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Read a CSV/TSV table: the stripped header (``[]`` for a blank file) and ``(line number, cells)`` for every
    non-blank data row. Callers check columns and cell counts and word the errors for their layout."""
    # utf-8-sig: a table saved by a spreadsheet starts with a BOM that would otherwise join the first column's name
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None) or []
            while header and not any(c.strip() for c in header):
                header = next(reader, None) or []
            rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except UnicodeDecodeError as err:
        raise ValueError(
            f"cannot read table '{path}': expected UTF-8 text, found byte {err.object[err.start]:#04x} at offset "
            f"{err.start}; save it as UTF-8 (spreadsheets: 'CSV UTF-8')."
        ) from err
    return [h.strip() for h in header], rows


def write_delimited(
    path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[object]], delimiter: str = ","
) -> None:
    """Write a CSV/TSV table (``header`` then ``rows``) atomically; refuses to overwrite an existing file."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_json(path: str | os.PathLike, what: str, expected: type = dict) -> Any:
    """Read a JSON file that must hold a ``dict`` or ``list``; errors name the file and ``what`` it is."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"file not found: '{p}' ({what}).")
    try:
        content = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read '{p}': malformed JSON ({err}).") from err
    if not isinstance(content, expected):
        kind = "list" if expected is list else "object"
        raise ValueError(f"'{p}': expected a JSON {kind} ({what}), found {type(content).__name__}.")
    return content


def nifti_shape(path: str | os.PathLike, context: str = "") -> tuple[int, ...]:
    """The array shape from a NIfTI header, without decoding the voxels."""
    p = _require_file(path, context)
    try:
        import nibabel as nib

        return tuple(int(s) for s in nib.load(str(p)).shape)
    except Exception as err:
        where = f" ({context})" if context else ""
        raise ValueError(f"cannot read NIfTI header '{p}'{where}: {type(err).__name__}: {err}") from err


def check_nifti_pair(image_path: str | os.PathLike, label_path: str | os.PathLike, context: str = "") -> None:
    """Both files exist and their headers give the same shape (cheap: no voxel decoding)."""
    of = f" of {context}" if context else ""
    image_shape, label_shape = nifti_shape(image_path, f"image{of}"), nifti_shape(label_path, f"label{of}")
    check_same_shape(image_shape, label_shape, image_path, label_path)


def check_same_shape(
    image_shape: Sequence[int],
    label_shape: Sequence[int],
    image_path: str | os.PathLike,
    label_path: str | os.PathLike,
    channel_last: bool = False,
) -> None:
    """Raise ``ValueError`` unless image and label have the same spatial shape.

    With ``channel_last`` (2D PNG/TIFF files), a trailing channel axis of a 3-axis shape (RGB, RGBA or 1) is not
    compared, so an (H, W, 3) image matches an (H, W) mask.
    """

    def spatial(shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(int(s) for s in shape)
        return shape[:2] if channel_last and len(shape) == 3 else shape

    if spatial(image_shape) != spatial(label_shape):
        raise ValueError(
            f"image '{image_path}' has shape {tuple(image_shape)} but label '{label_path}' has shape "
            f"{tuple(label_shape)}; their spatial shapes must match."
        )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"'{target}' exists; refusing to overwrite it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # keep the full suffix (e.g. .nii.gz) so that writers choosing a format by name still see it
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_image(path: str | os.PathLike, array: np.ndarray, overwrite: bool = False) -> None:
    """Write a PNG (uint8/uint16, grey or RGB) or a TIFF (any dtype), atomically."""
    suffix = Path(path).suffix.lower()
    with atomic_path(path, overwrite) as tmp:
        if suffix == ".png":
            from PIL import Image

            Image.fromarray(np.ascontiguousarray(array)).save(tmp, format="PNG")
        elif suffix in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(tmp, np.ascontiguousarray(array))
        else:
            raise ValueError(f"cannot write '{path}': expected one of {IMAGE_SUFFIXES}, found suffix '{suffix}'.")


def write_nifti(path: str | os.PathLike, array: np.ndarray, affine: np.ndarray, overwrite: bool = False) -> None:
    """Write a NIfTI volume (``.nii`` or ``.nii.gz``) with the given affine, atomically."""
    import nibabel as nib

    with atomic_path(path, overwrite) as tmp:
        nib.save(nib.Nifti1Image(np.asarray(array), np.asarray(affine, dtype=np.float64)), tmp)


def write_json(path: str | os.PathLike, obj: object, overwrite: bool = False) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path, overwrite) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=2)


def writes_dataset(out_arg: str = "out_dir") -> Callable[[Callable[..., Path]], Callable[..., Path]]:
    """Decorate a function that writes a dataset into the folder named by its ``out_arg`` argument so that it writes
    into a hidden sibling folder, renamed into place only when the function returns: a kill or an error never leaves
    a half-written dataset that a reader would take for a complete one. The function's returned path (inside the
    staging folder) is mapped to the same place inside the final folder."""

    def decorate(fn: Callable[..., Path]) -> Callable[..., Path]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Path:
            bound = signature.bind(*args, **kwargs)
            final = Path(bound.arguments[out_arg])
            # refuse a non-empty folder before any work, so no one's data is mixed or replaced; create nothing yet
            if final.exists() and (not final.is_dir() or any(final.iterdir())):
                raise FileExistsError(f"output folder '{final}' exists and is not empty; choose a new or empty folder.")
            final.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.partial-"))
            try:
                bound.arguments[out_arg] = staging
                root = Path(fn(*bound.args, **bound.kwargs))
                if final.exists():
                    final.rmdir()  # empty, checked above
                os.replace(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return final / root.relative_to(staging)

        return wrapper

    return decorate
