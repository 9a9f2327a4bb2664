"""The FiLM paper's multi-organ task: spleen and liver from the Decathlon, kidneys from KiTS19, one label per scan.

Lemay et al. (MIDL 2021, experiment 2) train one network on axial CT slices of three public datasets, each scan
labelled for its own organ only (liver and kidney tumours merged into the organ); the organ, one-hot through FiLM,
says which mask to draw. ``dataset_dir`` holds the three downloads under their own names::

    dataset_dir/Task09_Spleen/   dataset.json, imagesTr/, labelsTr/   (read by load_decathlon)
    dataset_dir/Task03_Liver/    dataset.json, imagesTr/, labelsTr/   (labels 1 liver, 2 cancer)
    dataset_dir/kits19/          case_XXXXX/{imaging,segmentation}.nii.gz   (read by load_kits19; 1 kidney, 2 tumour)

The Decathlon stores arrays as (x, y, z) with an affine diag(-sx, -sy, sz), KiTS19 as (z, y, x) with a permuted
affine: every volume is reoriented with MONAI's ``Orientation`` (RAS by default) before it is sliced, so that an
organ looks the same whichever dataset it comes from, and axial slices are then ``volume[:, :, k]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaseg_monai.data.decathlon import load_decathlon
from metaseg_monai.data.image_io import NIFTI_SUFFIXES, read_nifti
from metaseg_monai.data.kits import load_kits19
from metaseg_monai.data.kits_slices import slice_id
from metaseg_monai.data.slices import volume_slices_datalist
from metaseg_monai.data.splits import SPLIT_NAMES, rank_cases, select_split, split_cases
from metaseg_monai.data.table import command_line_metadata, load_inference_datalist
from metaseg_monai.utils.checks import is_int_at_least

__all__ = [
    "AXIAL_AXIS",
    "ORGANS",
    "ORGAN_SOURCES",
    "OrientedNiftiReader",
    "group_balanced_weights",
    "load_multiorgan",
    "multiorgan_inference_datalist",
    "multiorgan_slice_datalist",
]

ORGANS = ("spleen", "liver", "kidney")
# organ -> the folder of its public download under dataset_dir
ORGAN_SOURCES = {"spleen": "Task09_Spleen", "liver": "Task03_Liver", "kidney": "kits19"}
AXIAL_AXIS = 2  # after reorientation to RAS (or any ??S code): axes x, y, z


class OrientedNiftiReader:
    """Read a NIfTI volume and reorient it with MONAI's ``Orientation`` (``axcodes``, default RAS).

    A reader for :func:`~metaseg_monai.data.iter_volume_slices`: ``reader(path, context) -> (array, affine)``. Labels
    are only permuted and flipped, never interpolated. Errors name the file (:func:`read_nifti`).
    """

    def __init__(self, axcodes: str = "RAS") -> None:
        from monai.transforms import Orientation

        self.axcodes = str(axcodes)
        self._orientation = Orientation(axcodes=self.axcodes, labels=(("L", "R"), ("P", "A"), ("I", "S")))

    def __call__(self, path: str | os.PathLike, context: str = "") -> tuple[np.ndarray, np.ndarray]:
        import torch
        from monai.data import MetaTensor

        array, affine = read_nifti(path, context)
        oriented = self._orientation(MetaTensor(torch.as_tensor(np.asarray(array))[None], affine=affine))
        return oriented[0].numpy(), oriented.affine.numpy()


def _check_organs(organs: Sequence[str] | str) -> list[str]:
    organs = [organs] if isinstance(organs, str) else [str(o) for o in organs]
    unknown = [o for o in organs if o not in ORGAN_SOURCES]
    if unknown or not organs or len(set(organs)) < len(organs):
        raise ValueError(f"organs must be distinct names among {list(ORGANS)}, got {organs}.")
    return organs


def load_multiorgan(
    root: str | os.PathLike,
    organs: Sequence[str] = ORGANS,
    max_scans: int | None = None,
    check_files: bool = True,
) -> list[dict]:
    """The labelled scans of each organ's dataset under ``root``, organ by organ, each in its natural case order.

    Args:
        root: the folder holding ``Task09_Spleen/``, ``Task03_Liver/`` and ``kits19/`` (those of ``organs``).
        organs: which organs (their datasets) to read, among :data:`ORGANS`.
        max_scans: keep the first this-many scans of each dataset (the paper: the 41 scans of the spleen set, and
            the first 41 of the others); ``None`` keeps all.
        check_files: check that every listed file exists and that image and label shapes agree.

    Returns:
        ``[{"image": str, "label": str, "organ": "spleen", "case_id": "spleen_2", "source": "Task09_Spleen"}, ...]``.

    Raises:
        FileNotFoundError: a dataset folder is missing (naming it and the expected layout), and the readers' errors.
        ValueError: unknown organs, ``max_scans`` not an integer >= 1, or two datasets sharing a case id.
    """
    organs = _check_organs(organs)
    if max_scans is not None and not is_int_at_least(max_scans, 1):
        raise ValueError(f"max_scans must be an integer >= 1 or None, got {max_scans!r}.")
    root = Path(root)
    scans: list[dict] = []
    for organ in organs:
        folder = root / ORGAN_SOURCES[organ]
        if not folder.is_dir():
            layout = "case_XXXXX/ folders (KiTS19)" if organ == "kidney" else "dataset.json (Decathlon)"
            raise FileNotFoundError(
                f"multi-organ dataset '{root}': the {organ} data '{folder}' is missing; expected the public download "
                f"there, with its {layout}."
            )
        if organ == "kidney":
            items = load_kits19(folder, check_files=check_files)
        else:
            items = load_decathlon(folder, check_files=check_files)
        items = items if max_scans is None else items[:max_scans]
        scans += [{**item, "organ": organ, "source": ORGAN_SOURCES[organ]} for item in items]
    ids = [s["case_id"] for s in scans]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"case ids {repeated} appear in two of the datasets under '{root}'; they must be unique.")
    return scans


def _select(
    scans: Sequence[Mapping[str, Any]],
    split: str,
    fractions: Sequence[float],
    seed: int,
    train_scans: Mapping[str, int] | None,
) -> list[dict]:
    """The scans of ``split``: 60/20/20 within each organ, or for an organ of ``train_scans`` its first N scans
    (ranked by ``seed``) split between train and val, the rest held out for test (the paper's few-label design)."""
    if split not in SPLIT_NAMES:
        raise ValueError(f"split must be one of {list(SPLIT_NAMES)}, got {split!r}.")
    few = dict(train_scans or {})
    for organ, count in few.items():
        if organ not in ORGAN_SOURCES or not is_int_at_least(count, 2):
            raise ValueError(
                f"train_scans must map organs of {list(ORGANS)} to a number of scans >= 2 (train and val need one "
                f"each), got {few}."
            )
    rest = [s for s in scans if s["organ"] not in few]  # the organs split 60/20/20
    chosen = select_split(rest, split, fractions, seed, "case_id", "organ") if rest else []
    train, val = float(fractions[0]), float(fractions[1])
    for organ, count in few.items():
        ids = [s["case_id"] for s in scans if s["organ"] == organ]
        if count >= len(ids):
            raise ValueError(
                f"train_scans[{organ!r}] = {count}, but the {organ} data has {len(ids)} scans: some must be left "
                "for the test."
            )
        ranked = rank_cases(ids, seed)
        pool, held_out = ranked[:count], ranked[count:]
        parts = split_cases(pool, (train / (train + val), val / (train + val), 0.0), seed)
        keep = set(held_out if split == "test" else parts[split])
        chosen += [dict(s) for s in scans if s["case_id"] in keep]
    if not chosen:
        raise ValueError(f"split {split!r} has no scan (fractions {list(fractions)}, train_scans {few}).")
    return chosen


def multiorgan_slice_datalist(
    root: str | os.PathLike,
    split: str,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    organs: Sequence[str] = ORGANS,
    max_scans: int | None = None,
    train_scans: Mapping[str, int] | None = None,
    axcodes: str = "RAS",
    cache_dir: str | os.PathLike | None = None,
) -> list[dict]:
    """The axial slices of the ``split`` scans that show their organ, each with its organ's binary label.

    Scans are split per scan within each organ (train, val and test never share a scan; each holds every organ),
    reoriented (:class:`OrientedNiftiReader`), and the slices containing the organ (or its tumour) kept; tumour
    labels are merged into the organ. Other organs visible on a slice are unlabelled (background), as in the paper.

    Args:
        root, organs, max_scans: as :func:`load_multiorgan`.
        split: ``"train"``, ``"val"`` or ``"test"``.
        fractions, seed: the per-organ split (:func:`~metaseg_monai.data.select_split`).
        train_scans: the few-label design, e.g. ``{"spleen": 4, "kidney": 12}``: those organs use only their first
            N scans (ranked by ``seed``) for train and val (split as ``fractions[:2]``), and test on the rest.
        axcodes: the orientation every volume is brought to; its third axis must be S or I (axial slices).
        cache_dir: optional folder (outside ``root``) for the slice cache of ``iter_volume_slices``.

    Returns:
        ``[{"image": (1, X, Y) float32 HU, "label": (1, X, Y) uint8 0/1, "organ", "case_id", "source",
        "slice_index", "slice_id": "spleen_2#slice_014"}, ...]``.
    """
    if len(axcodes) != 3 or axcodes[2] not in "SI":
        raise ValueError(f"axcodes must put the axial axis last (e.g. 'RAS'), got {axcodes!r}.")
    scans = load_multiorgan(root, organs, max_scans, check_files=False)
    chosen = _select(scans, split, fractions, seed, train_scans)
    reader = OrientedNiftiReader(axcodes)
    slices = volume_slices_datalist(chosen, axis=AXIAL_AXIS, labels=(1, 2), reader=reader, cache_dir=cache_dir)
    for sample in slices:
        sample["label"] = (sample["label"] > 0).astype(np.uint8)  # the tumour belongs to its organ
        sample["slice_id"] = slice_id(sample["case_id"], sample["slice_index"])
    return slices


def group_balanced_weights(datalist: Sequence[Mapping[str, Any]], key: str = "organ") -> list[float]:
    """Per-sample weights ``1 / (samples of its group)`` for ``torch.utils.data.WeightedRandomSampler``: every group
    (organ) is drawn equally often whatever its number of slices, as the paper samples its classes evenly.

    Raises:
        ValueError: an empty datalist or a sample without ``key``.
    """
    if not datalist:
        raise ValueError("cannot weight an empty datalist.")
    groups = []
    for position, item in enumerate(datalist):
        if key not in item:
            raise ValueError(f"datalist item {position} has no {key!r} to balance by; keys: {sorted(map(str, item))}.")
        groups.append(str(item[key]))
    counts = {g: groups.count(g) for g in set(groups)}
    return [1.0 / counts[g] for g in groups]


def multiorgan_inference_datalist(
    root: str | os.PathLike, metadata: Mapping[str, Any] | None = None, organs: Sequence[str] = ORGANS
) -> list[dict]:
    """The CT volumes of ``root`` (every ``.nii.gz``/``.nii`` file in it) to segment for the organ(s) given.

    ``metadata={"organ": "liver"}`` segments every volume for the liver; ``{"organ": ["liver", "spleen"]}`` once per
    organ (one mask per organ). Items: ``{"image": path, "organ": name}``, volume by volume, organs in the order
    given.

    Raises:
        ValueError: no organ given (the message names the option), an organ not in ``organs``, repeated organs.
        FileNotFoundError: no folder or no NIfTI file in it.
    """
    given = command_line_metadata(metadata)
    if not given or given.get("organ") is None:
        raise ValueError(
            f"inference needs the organ to segment: pass --organ NAME (or a list) with NAME among {list(organs)}."
        )
    wanted = given["organ"]
    wanted = [wanted] if isinstance(wanted, str) else [str(o) for o in wanted]
    unknown = [o for o in wanted if o not in organs]
    if unknown or not wanted or len(set(wanted)) < len(wanted):
        raise ValueError(f"organ: expected distinct names among {list(organs)}, got {wanted}.")
    volumes = load_inference_datalist(root, {"organ": wanted[0]}, image_suffixes=NIFTI_SUFFIXES)
    return [{"image": v["image"], "organ": organ} for v in volumes for organ in wanted]
