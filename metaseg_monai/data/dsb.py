"""Read the 2018 Data Science Bowl (DSB 2018) nuclei dataset, and build its instance maps from per-nucleus masks.

Layout (670 training images of varying size)::

    root/stage1_train/<ImageId>/images/<ImageId>.png    RGBA PNG (grey-looking fluorescence or coloured H&E)
    root/stage1_train/<ImageId>/masks/<MaskId>.png      one binary (0/255) PNG per nucleus; masks do not overlap
    root/stage1_test/<ImageId>/images/<ImageId>.png     no masks

MONAI reads one label file per sample, so the datalist's ``label`` is the ``masks`` folder and
:class:`LoadDSBInstanceLabeld` turns it into an instance map (nucleus ``k`` = the ``k``-th mask file in sorted
name order). The run-length ``stage1_train_labels.csv`` is not read.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform

from metaseg_monai.data.image_io import check_same_shape, read_image

__all__ = ["LoadDSBInstanceLabeld", "dsb_instance_label", "load_dsb2018"]


def _mask_files(masks_dir: Path) -> list[Path]:
    if not masks_dir.is_dir():
        return []
    return sorted(p for p in masks_dir.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))


def _image_file(sample_dir: Path) -> Path:
    image = sample_dir / "images" / f"{sample_dir.name}.png"
    if not (sample_dir / "images").is_dir():
        raise FileNotFoundError(f"DSB sample '{sample_dir}' has no 'images' folder; expected '{image}'.")
    if not image.is_file():
        raise FileNotFoundError(f"DSB image '{image}' not found (the image is named after its sample folder).")
    return image


def _png_shape(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except Exception as err:  # PIL raises many types; all mean "unreadable"
        raise ValueError(f"cannot read image '{path}': {type(err).__name__}: {err}") from err


def dsb_instance_label(sample_dir: str | os.PathLike) -> np.ndarray:
    """The instance map ``(H, W)`` int32 of a DSB sample folder: 0 background, ``k`` where the ``k``-th mask is > 0.

    Raises:
        FileNotFoundError: no image or no masks. ValueError: a mask that is not 2D, has a different shape from the
        image, is empty, or overlaps an earlier mask (naming both files).
    """
    sample_dir = Path(sample_dir)
    image_path = _image_file(sample_dir)
    image_shape = _png_shape(image_path)  # the header is enough: LoadImaged decodes the image itself
    masks = _mask_files(sample_dir / "masks")
    if not masks:
        raise FileNotFoundError(f"DSB sample '{sample_dir}' has no mask PNGs in '{sample_dir / 'masks'}'.")
    label = np.zeros(image_shape[:2], dtype=np.int32)
    for k, mask_path in enumerate(masks, start=1):
        mask = read_image(mask_path, f"mask of DSB sample '{sample_dir.name}'")
        if mask.ndim != 2:
            raise ValueError(f"DSB mask '{mask_path}' must be a single-channel binary PNG, found shape {mask.shape}.")
        check_same_shape(image_shape, mask.shape, image_path, mask_path, channel_last=True)
        inside = mask > 0
        if not inside.any():
            raise ValueError(f"DSB mask '{mask_path}' has no foreground pixels; each mask should hold one nucleus.")
        taken = label[inside]
        if taken.any():
            other = masks[int(taken[taken > 0][0]) - 1]
            raise ValueError(
                f"DSB mask '{mask_path}' overlaps mask '{other.name}' on {int((taken > 0).sum())} pixel(s); "
                "DSB masks must not overlap."
            )
        label[inside] = k
    return label


def load_dsb2018(
    root: str | os.PathLike,
    stage: str = "stage1_train",
    check_files: bool = True,
    allow_no_masks: bool = False,
) -> list[dict]:
    """Build a MONAI datalist of a DSB 2018 stage, sorted by image id.

    Args:
        root: the folder holding ``stage1_train/`` (and ``stage1_test/``).
        stage: the stage folder name, e.g. ``"stage1_train"``.
        check_files: read every image and build every instance map (checks shapes, empty and overlapping masks).
        allow_no_masks: return samples without masks (e.g. ``stage1_test``) without a ``label`` key instead of
            raising.

    Returns:
        ``[{"image": ".../<id>/images/<id>.png", "label": ".../<id>/masks", "image_id": "<id>"}, ...]``; load
        ``label`` with :class:`LoadDSBInstanceLabeld`.

    Raises:
        FileNotFoundError: a missing stage folder, an empty stage, a sample without its image, or (unless
        ``allow_no_masks``) without masks. ValueError: bad masks, see :func:`dsb_instance_label`.
    """
    stage_dir = Path(root) / stage
    if not stage_dir.is_dir():
        raise FileNotFoundError(f"DSB stage folder '{stage_dir}' not found.")
    samples = sorted(p for p in stage_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not samples:
        raise FileNotFoundError(f"DSB stage folder '{stage_dir}' has no sample folders.")
    datalist = []
    for sample_dir in samples:
        image = _image_file(sample_dir)
        item = {"image": str(image), "image_id": sample_dir.name}
        if _mask_files(sample_dir / "masks"):
            item["label"] = str(sample_dir / "masks")
            if check_files:
                dsb_instance_label(sample_dir)
        elif not allow_no_masks:
            raise FileNotFoundError(
                f"DSB sample '{sample_dir}' has no mask PNGs in '{sample_dir / 'masks'}'; pass allow_no_masks=True "
                "to return such samples without a label."
            )
        elif check_files:
            read_image(image, f"DSB sample '{sample_dir.name}'")
        datalist.append(item)
    return datalist


class LoadDSBInstanceLabeld(MapTransform):
    """Replace a DSB ``masks`` folder path with its instance map, a ``MetaTensor`` of shape ``(1, *spatial)`` int32.

    A path to a label image file (one image of instance ids, as the Cell Tracking Challenge's ``man_seg*.tif``) is
    read as it is, so that DSB stills and CTC frames load their references with one transform.

    With ``reverse_indexing=True`` (the default, as MONAI's ``PILReader``/``ITKReader`` in ``LoadImaged``) the map
    is ``(1, W, H)`` so that it lines up with the image loaded by ``LoadImaged`` + ``EnsureChannelFirstd``; with
    False it is ``(1, H, W)`` (numpy / PIL order).

    Args:
        keys: the keys holding a masks folder path, usually ``"label"``.
        reverse_indexing: transpose to MONAI's reader order (see above).
        allow_missing_keys: skip absent keys (e.g. test samples without labels).
    """

    def __init__(self, keys: KeysCollection = "label", reverse_indexing: bool = True, allow_missing_keys: bool = False):
        super().__init__(keys, allow_missing_keys)
        self.reverse_indexing = reverse_indexing

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        for key in self.key_iterator(d):
            path = d[key]
            if not isinstance(path, (str, os.PathLike)):
                raise TypeError(
                    f"key {key!r} must hold a DSB masks folder or label image path, found {type(path).__name__}."
                )
            if Path(path).is_dir():
                label = dsb_instance_label(Path(path).parent)
            else:
                label = read_image(path, f"instance label of key {key!r}")
                if label.ndim != 2:
                    raise ValueError(
                        f"instance label '{path}' must be one 2D image of object ids, found {label.shape}."
                    )
                label = label.astype(np.int32)
            if self.reverse_indexing:
                label = label.T
            d[key] = MetaTensor(np.ascontiguousarray(label)[None], meta={"filename_or_obj": os.fspath(path)})
        return d
