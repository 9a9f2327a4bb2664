"""Reading and writing the image and NIfTI files of the public dataset layouts, with errors that name the file.

Every reader in :mod:`metaseg_monai.data` goes through :func:`read_image` / :func:`read_nifti`, and every generator
in :mod:`metaseg_monai.sample_data` writes through :func:`write_image` / :func:`write_nifti`, which write to a
temporary file beside the target and rename it into place (:func:`~metaseg_monai.utils.atomic_path`): a kill never
leaves a half-written file, and an existing file is never overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from metaseg_monai.utils.atomic import atomic_path

__all__ = [
    "IMAGE_SUFFIXES",
    "NIFTI_SUFFIXES",
    "READABLE_SUFFIXES",
    "check_nifti_pair",
    "check_readable",
    "check_same_shape",
    "nifti_shape",
    "nifti_stem",
    "read_image",
    "read_nifti",
    "write_image",
    "write_nifti",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


NIFTI_SUFFIXES = (".nii.gz", ".nii")

#: the file kinds :func:`check_readable` (and the readers) accept
READABLE_SUFFIXES = (*IMAGE_SUFFIXES, *NIFTI_SUFFIXES)


def nifti_stem(path: str | os.PathLike) -> str:
    """The file name without ``.nii.gz`` / ``.nii`` (or its last suffix): ``spleen_19.nii.gz`` -> ``spleen_19``."""
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


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


def check_readable(path: str | os.PathLike, context: str = "") -> None:
    """Check that ``path`` is a complete, readable image of a supported kind, by reading it whole.

    PNG and TIFF files are decoded with :func:`read_image`; NIfTI files (``.nii``, ``.nii.gz``) are opened with
    nibabel and their voxels read (:func:`read_nifti`), so a truncated or corrupt file fails here rather than in
    the middle of a run. Suffixes are matched case-insensitively.

    Args:
        path: the file.
        context: where the path came from (e.g. ``"inference input"``), added to errors.

    Raises:
        FileNotFoundError: the file does not exist (or is not a file).
        ValueError: its suffix is not one of :data:`READABLE_SUFFIXES`, or it cannot be read as such an image; the
            message names the file.
    """
    p = _require_file(path, context)
    name = p.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        read_nifti(p, context)
    elif name.endswith(IMAGE_SUFFIXES):
        read_image(p, context)
    else:
        where = f" ({context})" if context else ""
        suffix = "".join(p.suffixes) or "none"
        raise ValueError(
            f"cannot read '{p}'{where}: unsupported file kind (suffix '{suffix}'); supported: "
            f"{', '.join(READABLE_SUFFIXES)}."
        )


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
