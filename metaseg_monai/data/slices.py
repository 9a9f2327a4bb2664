"""3D to 2D: the slices of a volume that contain given labels, as per-slice samples that keep the case's metadata.

A 3D datalist (``{"image": path, "label": path, "case_id": ..., <metadata fields>}``, e.g. from ``load_kits21``)
becomes one dict per selected slice::

    {"image": (1, H, W) float32, "label": (1, H, W) label dtype, "case_id": str, "slice_index": int, <fields>}

where ``(H, W)`` are the two remaining array axes in their array order (KiTS ``axis=0``: ``(H, W)``; MSD
``axis=2``: ``(X, Y)``). An image given as a list of co-registered volumes (e.g. the contrasts of
``load_bids_multicontrast``) gives ``(C, H, W)`` slices, one channel per volume in list order.

Each volume is read once; the selection and the slice extraction are vectorised (no Python loop over voxels or
slices), and the extraction follows the memory layout (nibabel returns Fortran-order arrays, in which an axial KiTS
slice is strided). With ``cache_dir`` the selected slices of each case are saved as ``.npy`` on
the first pass and memory-mapped on the next ones (no NIfTI decompression). :func:`stack_slices` puts per-slice
predictions back into a volume.

MONAI's ``PatchIterd``/``GridPatchDataset`` are not used: they emit every slice (selection would need a filter per
patch after extraction) and cannot skip the NIfTI decoding on later epochs; the dicts here are plain MONAI data dicts,
so any MONAI dictionary transform or ``monai.data.Dataset`` applies to them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from metaseg_monai.data.image_io import check_same_shape, nifti_stem, read_nifti
from metaseg_monai.utils.atomic import atomic_path

__all__ = [
    "VolumeSliceDataset",
    "iter_volume_slices",
    "slices_containing",
    "stack_slices",
    "take_slices",
    "volume_slices_datalist",
]

_CACHE_VERSION = 1
Reader = Callable[..., tuple[np.ndarray, Any]]


def _norm_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a {ndim}-D volume.")
    return axis % ndim


def slices_containing(label: np.ndarray, axis: int, labels: Sequence[int]) -> np.ndarray:
    """Indices (sorted int64) of the slices along ``axis`` of ``label`` that contain any of ``labels``.

    Vectorised: one comparison per label value over the volume, then one reduction over the other axes.
    """
    label = np.asanyarray(label)
    axis = _norm_axis(axis, label.ndim)
    values = np.unique(np.asarray(labels).ravel())
    if values.size == 0:
        raise ValueError("labels must name at least one label value.")
    mask = label == values[0]  # a few == are faster than np.isin on the Fortran-order arrays nibabel returns
    for value in values[1:]:
        mask |= label == value
    per_slice = mask.any(axis=tuple(a for a in range(label.ndim) if a != axis))
    return np.flatnonzero(per_slice).astype(np.int64)


def take_slices(volume: np.ndarray, indices: Sequence[int] | np.ndarray, axis: int = 0, dtype=None) -> np.ndarray:
    """The slices ``indices`` along ``axis`` as one C-contiguous block ``(N, *other axes)``, optionally cast."""
    volume = np.asanyarray(volume)
    axis = _norm_axis(axis, volume.ndim)
    indices = np.asarray(indices, dtype=np.intp)
    strides = [abs(s) for s in volume.strides]
    if strides[axis] == min(strides):
        # the slice axis is the fastest in memory (Fortran order, KiTS axis 0): gather along the last axis, where
        # the selected elements are close together, then transpose once
        block = np.moveaxis(np.moveaxis(volume, axis, -1)[..., indices], -1, 0)
    else:
        block = np.moveaxis(volume, axis, 0)[indices]
    return np.ascontiguousarray(block, dtype=dtype)


def stack_slices(
    slices: np.ndarray | Sequence[Any],
    indices: Sequence[int] | np.ndarray,
    shape: Sequence[int],
    axis: int = 0,
    fill_value: float = 0,
    dtype=None,
) -> np.ndarray:
    """Reassemble per-slice arrays into a volume of ``shape``; slices not in ``indices`` get ``fill_value``.

    Args:
        slices: ``(N, *plane)`` or ``(N, 1, *plane)`` array, or a sequence of ``plane``/``(1, *plane)`` arrays or
            tensors (e.g. the ``"label"`` or prediction of each emitted slice dict).
        indices: the ``slice_index`` of each slice, in the same order.
        shape: the volume's shape; ``plane`` is ``shape`` without ``axis``.
        axis: the axis the slices were taken along.
        fill_value: value of the slices not given. dtype: output dtype (default: that of ``slices``).
    """
    shape = tuple(int(s) for s in shape)
    axis = _norm_axis(axis, len(shape))
    plane = shape[:axis] + shape[axis + 1 :]
    if isinstance(slices, np.ndarray):
        block = slices
    else:
        block = np.stack([np.asarray(s.detach().cpu() if hasattr(s, "detach") else s) for s in slices])
    if block.ndim == len(plane) + 2 and block.shape[1] == 1:
        block = block[:, 0]
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if block.shape[1:] != plane or block.shape[0] != indices.size:
        raise ValueError(
            f"expected {indices.size} slices of shape {plane} (volume {shape} without axis {axis}), "
            f"found slices of shape {tuple(block.shape)}."
        )
    if indices.size and (indices.min() < 0 or indices.max() >= shape[axis]):
        raise ValueError(f"slice indices must lie in [0, {shape[axis]}), found {indices.min()}..{indices.max()}.")
    if np.unique(indices).size != indices.size:
        raise ValueError("slice indices must be unique; found repeated indices.")
    out = np.full(shape, fill_value, dtype=dtype or block.dtype)
    np.moveaxis(out, axis, 0)[indices] = block
    return out


def _case_id(item: Mapping[str, Any], image_key: str, position: int) -> str:
    if item.get("case_id") is not None:
        return str(item["case_id"])
    value = item.get(image_key)
    if isinstance(value, str | os.PathLike):
        return nifti_stem(value)
    return f"case_{position}"


def _cache_paths(
    cache_dir: Path, case_id: str, sources: list, axis: int, labels, channels: int | None = None
) -> dict[str, Path] | None:
    """Cache files of a case, keyed on the source files (path, size, mtime) and the selection; None if uncachable.

    ``channels`` is the number of image volumes stacked as channels (None: a single image, the key as before).
    """
    key: list[Any] = [_CACHE_VERSION, axis, None if labels is None else sorted(int(v) for v in labels)]
    if channels is not None:
        key.append(["channels", channels])
    for source in sources:
        if not isinstance(source, str | os.PathLike) or not Path(source).is_file():
            return None  # in-memory arrays are not cached; a missing file is left to the reader's error
        stat = os.stat(source)
        key.append([str(Path(source).resolve()), stat.st_size, stat.st_mtime_ns])
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:16]
    return {part: cache_dir / f"{case_id}-{digest}-{part}.npy" for part in ("image", "label", "indices")}


def _load(reader: Reader, value: Any, context: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.asanyarray(reader(value, context=context)[0])


def _stacked_sources(value: Any, image_key: str, case_id: str) -> list | None:
    """The channel volumes of an image given as a list or tuple (paths or arrays); None for a single image."""
    if not isinstance(value, list | tuple):
        return None
    if not value:
        raise ValueError(f"{image_key!r} of case {case_id!r} is an empty list; expected one volume per channel.")
    return list(value)


def _name(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str | os.PathLike) else "an array"


def _load_channels(reader: Reader, values: list, image_key: str, case_id: str) -> list[np.ndarray]:
    """Read the channel volumes (each in its own memory layout, not copied into one array); all of one shape."""
    volumes = []
    for channel, value in enumerate(values):
        volume = _load(reader, value, f"{image_key} channel {channel} of case {case_id!r}")
        if volumes and volume.shape != volumes[0].shape:
            raise ValueError(
                f"case {case_id!r}: {image_key!r} channel {channel} ({_name(value)}) has shape "
                f"{tuple(volume.shape)}, expected {tuple(volumes[0].shape)} as channel 0."
            )
        volumes.append(volume)
    return volumes


def iter_volume_slices(
    datalist: Iterable[Mapping[str, Any]],
    axis: int = 0,
    labels: Sequence[int] | None = (1,),
    image_key: str = "image",
    label_key: str = "label",
    reader: Reader = read_nifti,
    cache_dir: str | os.PathLike | None = None,
) -> Iterator[dict]:
    """Yield one dict per selected slice of each case, case by case (one volume in memory at a time).

    Args:
        datalist: dicts with ``image_key`` and ``label_key`` (paths, or arrays), optional ``case_id`` and any
            metadata fields, which are copied to every slice dict. An image may be a list of co-registered volumes
            (paths or arrays of one shape), stacked as the channels of each slice.
        axis: slice axis of the volume (KiTS: 0, axial; MSD: 2), not counting the channels of a list image.
        labels: emit the slices containing any of these label values (KiTS kidney: ``(1,)``); None emits every
            slice, and then a label is optional (inference on unlabelled volumes).
        image_key, label_key: keys of the volumes; the emitted dicts hold the slices under the same keys.
        reader: ``reader(path, context=...) -> (array, affine)``; default
            :func:`metaseg_monai.data.image_io.read_nifti`.
        cache_dir: if given, the selected slices of each case are stored there as ``.npy`` the first time and
            memory-mapped afterwards; the cache key includes the files' size and mtime, so an edited volume is
            re-read. Use a folder outside the dataset.

    Yields:
        ``{image_key: (C, *plane) float32, label_key: (1, *plane), "case_id": str, "slice_index": int, ...}``, with
        ``C = 1`` for a single image and ``C = len(image)`` for a list.

    Raises:
        FileNotFoundError/ValueError from the reader (naming the file); ValueError if image and label shapes differ.
    """
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    for position, item in enumerate(datalist):
        case_id = _case_id(item, image_key, position)
        has_label = item.get(label_key) is not None
        if labels is not None and not has_label:
            raise ValueError(f"case {case_id!r} has no {label_key!r}; selecting slices by label value needs one.")
        stacked = _stacked_sources(item[image_key], image_key, case_id)
        images = stacked if stacked is not None else [item[image_key]]
        sources = images + ([item[label_key]] if has_label else [])
        channels = None if stacked is None else len(stacked)
        paths = _cache_paths(cache, case_id, sources, axis, labels, channels) if cache is not None else None
        if paths is not None and paths["indices"].is_file():
            image_block = np.load(paths["image"], mmap_mode="r")
            label_block = np.load(paths["label"], mmap_mode="r") if has_label else None
            indices = np.load(paths["indices"])
        else:
            if stacked is None:
                image = _load(reader, item[image_key], f"{image_key} of case {case_id!r}")
                spatial = image.shape
            else:  # C volumes: the slices are taken per channel, then stacked as (N, C, *plane)
                image = _load_channels(reader, stacked, image_key, case_id)
                spatial = image[0].shape
            label = _load(reader, item[label_key], f"{label_key} of case {case_id!r}") if has_label else None
            if label is not None:
                check_same_shape(spatial, label.shape, images[0], item[label_key])
            ax = _norm_axis(axis, len(spatial))
            if labels is None:
                indices = np.arange(spatial[ax], dtype=np.int64)
            else:
                indices = slices_containing(label, ax, labels)
            if stacked is None:
                image_block = take_slices(image, indices, ax)
            else:
                image_block = np.stack([take_slices(channel, indices, ax) for channel in image], axis=1)
            label_block = take_slices(label, indices, ax) if label is not None else None
            del image, label
            if paths is not None:  # indices last: their presence marks a complete cache entry
                for part, array in (("image", image_block), ("label", label_block), ("indices", indices)):
                    if array is not None:
                        with atomic_path(paths[part], overwrite=True) as tmp:
                            np.save(tmp, array)
        metadata = {k: v for k, v in item.items() if k not in (image_key, label_key)}
        for row, slice_index in enumerate(indices):
            sample = dict(metadata)
            # a plain copy, never a cache view; a single image gets its channel axis here, a stack has one
            block = image_block[row] if stacked is not None else image_block[row][None]
            sample[image_key] = np.array(block, dtype=np.float32)
            if label_block is not None:
                sample[label_key] = np.array(label_block[row][None])
            sample["case_id"] = case_id
            sample["slice_index"] = int(slice_index)
            yield sample


def volume_slices_datalist(datalist: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[dict]:
    """All slice dicts of :func:`iter_volume_slices` in a list (arguments as there), for ``monai.data.Dataset``.

    Holds every selected slice in memory; for many real-sized cases iterate :class:`VolumeSliceDataset` instead.
    """
    return list(iter_volume_slices(datalist, **kwargs))


class VolumeSliceDataset(IterableDataset):
    """An iterable dataset of :func:`iter_volume_slices` dicts; cases are split between DataLoader workers.

    Args:
        datalist: the 3D datalist. transform: optional callable (e.g. a MONAI ``Compose``) applied to each slice dict.
        **kwargs: passed to :func:`iter_volume_slices` (``axis``, ``labels``, ``cache_dir``, ...).

    Shuffle slices with ``monai.data.ShuffleBuffer`` or by shuffling ``datalist`` per epoch.
    """

    def __init__(self, datalist: Sequence[Mapping[str, Any]], transform: Callable | None = None, **kwargs: Any):
        super().__init__()
        self.datalist = list(datalist)
        self.transform = transform
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[dict]:
        worker = get_worker_info()
        items = self.datalist if worker is None else self.datalist[worker.id :: worker.num_workers]
        for sample in iter_volume_slices(items, **self.kwargs):
            yield self.transform(sample) if self.transform is not None else sample
