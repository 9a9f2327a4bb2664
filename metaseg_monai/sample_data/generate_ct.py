"""Small CT-like abdominal phantoms written in the public KiTS21, KiTS19 and Medical Segmentation Decathlon layouts.

One phantom builder (:func:`_render_case`) serves all four generators: an elliptic body (fat rim -100 HU, soft
tissue 40 HU, air -1000 HU outside), a spine (bone), a liver, a spleen and two contrast-enhanced kidneys (~150 HU),
plus, depending on the dataset, one kidney lesion (a heterogeneous tumour of ~60-100 HU or a ~10 HU cyst) or liver
cancers (~50 HU), and Gaussian noise. The anatomy scales with the field of view, so the same code makes a 64x64 test
case and a 512x512 benchmark case. The lesion diameter is drawn per case and is what ``kits.json`` records in cm, so
the recorded size is truly informative about the lesion's label volume.

The KiTS generators draw the kidney lesion with ``lesion_margin``: ``"soft"`` (the default) blends it into the
surrounding tissue with a weight that falls linearly from 1 at its centre to 0 at a *visible* radius drawn
independently of the labelled one (always beyond it), so the image shows where the lesion is but not where its
labelled boundary lies: only the recorded ``radiographic_size`` tells the extent, which is what makes a
size-conditioned network beat its metadata-free twin. ``"sharp"`` paints the labelled sphere with the lesion's HU
(the extent is plainly visible; the size adds nothing a network cannot read from the image).

Layouts written (each generator returns the root that the matching reader takes):

- :func:`generate_kits21`: ``root/case_XXXXX/{imaging.nii.gz, aggregated_MAJ_seg.nii.gz}`` and ``root/kits.json``;
  labels 1 kidney, 2 tumour, 3 cyst (each case has a tumour or a cyst, never both). Arrays ``(num_slices, H, W)``
  (axial slices on the first axis, as KiTS), image int16 HU, label uint8.
- :func:`generate_kits19`: the same with ``segmentation.nii.gz``, labels 1 kidney, 2 tumour (tumours only).
- :func:`generate_msd_spleen` / :func:`generate_msd_liver`: ``Task09_Spleen`` / ``Task03_Liver`` with
  ``dataset.json``, ``imagesTr/``, ``labelsTr/``, ``imagesTs/``; arrays ``(X, Y, num_slices)`` as MSD stores them.
  As in the public tarballs, macOS ``._*`` AppleDouble files are written beside the volumes (``apple_double=True``).

``shape`` and ``spacing`` (mm) are given in the array order of the layout written: ``(slices, H, W)`` for KiTS and
``(X, Y, slices)`` for MSD. The affines encode the spacing (KiTS19-style permuted affine for KiTS, diagonal for MSD).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metaseg_monai.data.image_io import write_nifti
from metaseg_monai.sample_data.phantoms import ellipsoid_distance, ellipsoid_mask
from metaseg_monai.utils.atomic import atomic_path, writes_dataset
from metaseg_monai.utils.files import write_json

__all__ = ["generate_kits19", "generate_kits21", "generate_msd_liver", "generate_msd_spleen", "generate_multiorgan"]

AIR_HU = -1000
NOISE_HU = 12.0
# lesion diameter range as a fraction of the smallest physical extent of the volume (FOV-relative, so a 400 mm FOV
# gives 3.2-10 cm lesions, the common KiTS range, and a 64 mm test FOV gives 5-16 mm ones that are still visible)
LESION_DIAMETER_FRACTION = (0.08, 0.25)
# "soft" margin: the visible radius, as a multiple of the largest labelled radius (so it always encloses the label)
VISIBLE_RADIUS_FACTOR = (1.0, 1.3)
LESION_MARGINS = ("soft", "sharp")
TUMOR_SUBTYPES = ("clear_cell_rcc", "papillary", "chromophobe")
_MSD_TASKS = {
    "spleen": {"task": "Task09_Spleen", "name": "Spleen", "labels": {"0": "background", "1": "spleen"}},
    "liver": {"task": "Task03_Liver", "name": "Liver", "labels": {"0": "background", "1": "liver", "2": "cancer"}},
}
_APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(66)  # AppleDouble magic + header


@dataclass
class _Part:
    """An ellipsoid (or, with ``rz=None``, an elliptic cylinder through all slices) in mm, painted in order."""

    name: str
    centre: tuple[float, float, float]  # (z, y, x) mm
    radii: tuple[float | None, float, float]  # (z, y, x) mm
    hu: float
    texture: float = 0.0  # amplitude of a smooth intensity pattern (heterogeneous tumour)
    # soft margin: blended in with weight 1 - d / visible_radius (mm) out to visible_radius; labelled where d <= radii
    visible_radius: float | None = None


def _draw_anatomy(rng: np.random.Generator, extent: np.ndarray) -> list[_Part]:
    """Body, spine, liver, spleen and kidneys with a little per-case jitter; ``extent`` is (z, y, x) in mm."""
    ez, ey, ex = extent
    j = lambda: rng.uniform(0.92, 1.08)  # noqa: E731 (per-part size jitter)
    cy, cx = ey / 2, ex / 2
    kidney_z = ez * rng.uniform(0.45, 0.55)
    parts = [
        _Part("fat", (0, cy, cx), (None, 0.34 * ey * j(), 0.44 * ex * j()), -100),
        _Part("soft_tissue", (0, cy, cx), (None, 0.29 * ey, 0.39 * ex), 40),
        _Part("spine", (0, cy + 0.2 * ey, cx), (None, 0.05 * ey, 0.05 * ex), 500),
        _Part(
            "liver",
            (ez * 0.68, cy - 0.04 * ey, cx - 0.17 * ex),
            (0.25 * ez * j(), 0.17 * ey * j(), 0.17 * ex * j()),
            100,
        ),
        _Part(
            "spleen",
            (ez * 0.7, cy + 0.08 * ey, cx + 0.24 * ex),
            (0.12 * ez * j(), 0.07 * ey * j(), 0.06 * ex * j()),
            115,
        ),
    ]
    for side in (-1, 1):
        zc = kidney_z + ez * rng.uniform(-0.03, 0.03)
        centre = (zc, cy + 0.1 * ey, cx + side * 0.19 * ex)
        parts.append(_Part(f"kidney_{side}", centre, (0.13 * ez * j(), 0.06 * ey * j(), 0.055 * ex * j()), 150))
    return parts


def _lesion(
    rng: np.random.Generator,
    organ: _Part,
    diameter: float,
    hu: float,
    texture: float,
    name: str,
    visible_radius: float | None = None,
) -> _Part:
    """A sphere of ``diameter`` mm centred inside ``organ``, away from its centre (lesions bulge from the organ)."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    offset = 0.5 * np.asarray(organ.radii, float) * direction
    centre = tuple(float(c) for c in np.asarray(organ.centre) + offset)
    return _Part(name, centre, (diameter / 2,) * 3, hu, texture, visible_radius)


def _texture(rng: np.random.Generator, box: tuple[slice, ...], spacing: np.ndarray, radius: float) -> np.ndarray:
    """A smooth (z, y, x) pattern in [-1, 1] over ``box``, of a wavelength about ``radius`` mm."""
    coords = [(np.arange(b.start, b.stop) + 0.5) * s for b, s in zip(box, spacing, strict=True)]  # mm
    freq = rng.uniform(0.6, 1.4, size=3) * 2 * np.pi / max(radius, 1e-3)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    return (
        np.sin(freq[0] * coords[0] + phase[0])[:, None, None]
        * np.sin(freq[1] * coords[1] + phase[1])[None, :, None]
        * np.sin(freq[2] * coords[2] + phase[2])[None, None, :]
    )


def _paint(
    rng: np.random.Generator,
    image: np.ndarray,
    label: np.ndarray,
    part: _Part,
    value: int,
    spacing: np.ndarray,
) -> None:
    """Paint ``part`` into the (z, y, x) arrays inside its bounding box only (fast on 512x512x600 volumes)."""
    # voxel i's centre lies at (i + 0.5) * spacing mm; the phantom primitives put it at i * spacing
    if part.visible_radius is not None:  # soft margin: blend out to the visible radius, label the sphere only
        reach = part.visible_radius
        box, distance = ellipsoid_distance(image.shape, np.asarray(part.centre) - spacing / 2, (reach,) * 3, spacing)
        d_mm = np.sqrt(distance) * reach
        weight = np.clip(1.0 - d_mm / reach, 0.0, 1.0).astype(np.float32)
        # texture wavelength from the visible radius too: nothing in the image may scale with the labelled one
        hu = part.hu + (part.texture * _texture(rng, box, spacing, reach) if part.texture else 0.0)
        image[box] = image[box] * (1 - weight) + hu * weight
        label[box][d_mm <= part.radii[1]] = value
        return
    box, inside = ellipsoid_mask(image.shape, np.asarray(part.centre) - spacing / 2, part.radii, spacing)
    image_box, label_box = image[box], label[box]  # views: painted in place, no full-volume temporaries
    if part.radii[0] is None:  # cylinder: the same in-plane mask on every slice
        image_box[:, inside[0]] = part.hu
        label_box[:, inside[0]] = value
        return
    if part.texture:
        image_box[inside] = (part.hu + part.texture * _texture(rng, box, spacing, part.radii[1]))[inside]
    else:
        image_box[inside] = part.hu
    label_box[inside] = value


def _render_case(
    rng: np.random.Generator,
    shape_zyx: Sequence[int],
    spacing_zyx: Sequence[float],
    dataset: str,
    lesion: str | None = None,
    lesion_margin: str = "sharp",
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The one phantom builder: ``(image int16 (z, y, x), label uint8 (z, y, x), info)`` for ``dataset``.

    ``dataset`` is ``"kits21"``/``"kits19"`` (a kidney ``lesion``, "tumor" or "cyst", drawn with ``lesion_margin``,
    see the module docstring), ``"spleen"`` or ``"liver"`` (1-3 cancers). ``info`` holds ``lesion``
    ("tumor"/"cyst"/None), its labelled ``diameter_mm`` and ``visible_diameter_mm`` (the same when sharp).
    """
    shape = tuple(int(s) for s in shape_zyx)
    spacing = np.asarray(spacing_zyx, float)
    extent = np.asarray(shape) * spacing
    parts = _draw_anatomy(rng, extent)
    labelled = {
        "kits21": {"kidney_-1": 1, "kidney_1": 1},
        "kits19": {"kidney_-1": 1, "kidney_1": 1},
        "spleen": {"spleen": 1},
        "liver": {"liver": 1},
    }[dataset]
    info: dict = {"lesion": None, "diameter_mm": None, "visible_diameter_mm": None}
    low, high = LESION_DIAMETER_FRACTION
    if dataset in ("kits21", "kits19"):
        kind = lesion or "tumor"
        diameter = float(rng.uniform(low, high) * extent.min())
        kidney = parts[-1 - int(rng.integers(2))]
        hu, texture, value = (80.0, 20.0, 2) if kind == "tumor" else (10.0, 0.0, 3)
        visible = None
        if lesion_margin == "soft":  # independent of the labelled diameter, and beyond the largest one
            visible = float(rng.uniform(*VISIBLE_RADIUS_FACTOR) * high / 2 * extent.min())
        parts.append(_lesion(rng, kidney, diameter, hu, texture, kind, visible))
        labelled[kind] = value
        info = {
            "lesion": kind,
            "diameter_mm": diameter,
            "visible_diameter_mm": diameter if visible is None else 2 * visible,
        }
    elif dataset == "liver":
        for i in range(int(rng.integers(1, 4))):
            diameter = float(rng.uniform(low, high / 2) * extent.min())
            parts.append(_lesion(rng, parts[3], diameter, 50.0, 8.0, f"cancer_{i}"))
            labelled[f"cancer_{i}"] = 2
    image = np.full(shape, AIR_HU, np.float32)
    label = np.zeros(shape, np.uint8)
    for part in parts:
        _paint(rng, image, label, part, labelled.get(part.name, 0), spacing)
    out = np.empty(shape, np.int16)
    for z in range(0, shape[0], 32):  # noise in chunks: bounded float32 temporaries on real-sized volumes
        chunk = image[z : z + 32] + NOISE_HU * rng.standard_normal(image[z : z + 32].shape, dtype=np.float32)
        out[z : z + 32] = np.clip(np.rint(chunk), -1024, 3071)
    return out, label, info


def _kits_affine(spacing_zyx: Sequence[float]) -> np.ndarray:
    # KiTS19-style: array axis 0 (slices) runs along world z, axes 1 and 2 along y and x (negative, as KiTS)
    sz, sy, sx = spacing_zyx
    return np.array([[0, 0, -sx, 0], [0, -sy, 0, 0], [-sz, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float64)


def _check_sizes(num_cases: int, shape: Sequence[int], spacing: Sequence[float]) -> None:
    if num_cases < 1:
        raise ValueError(f"num_cases must be >= 1, got {num_cases}.")
    if len(shape) != 3 or min(shape) < 16:
        raise ValueError(f"shape must be 3 sizes >= 16, got {tuple(shape)}.")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"spacing must be 3 positive sizes in mm, got {tuple(spacing)}.")


def _generate_kits(
    out_dir: str | os.PathLike,
    seed: int,
    num_cases: int,
    shape: Sequence[int],
    spacing: Sequence[float],
    version: str,
    lesion_margin: str,
) -> Path:
    _check_sizes(num_cases, shape, spacing)
    if lesion_margin not in LESION_MARGINS:
        raise ValueError(f"lesion_margin must be one of {LESION_MARGINS}, got {lesion_margin!r}.")
    root = Path(out_dir)
    rng = np.random.default_rng(seed)
    label_file = "aggregated_MAJ_seg.nii.gz" if version == "kits21" else "segmentation.nii.gz"
    affine = _kits_affine(spacing)
    sz, sy, sx = (float(s) for s in spacing)
    # KiTS21: about a third of the cases get a cyst instead of a tumour, shuffled; KiTS19 has tumours only
    lesions = ["cyst" if version == "kits21" and i % 3 == 2 else "tumor" for i in range(num_cases)]
    lesions = [str(k) for k in rng.permutation(lesions)]
    records = []
    for index in range(num_cases):
        case_id = f"case_{index:05d}"
        image, label, info = _render_case(rng, shape, spacing, version, lesions[index], lesion_margin)
        write_nifti(root / case_id / "imaging.nii.gz", image, affine)
        write_nifti(root / case_id / label_file, label, affine)
        size_cm = round(info["diameter_mm"] / 10, 1)
        tumour = info["lesion"] == "tumor"
        record = {
            "case_id": case_id,
            "age_at_nephrectomy": int(rng.integers(30, 80)),
            "gender": str(rng.choice(["male", "female"])),
            "radiographic_size": size_cm,
            # pathology measures the resected specimen: close to, but not the same as, the CT diameter
            "pathologic_size": round(max(0.1, size_cm * float(rng.normal(1.0, 0.06))), 1),
            "malignant": bool(tumour),
            "tumor_histologic_subtype": str(rng.choice(TUMOR_SUBTYPES)) if tumour else "other",
            "voxel_spacing": {"x_spacing": sx, "y_spacing": sy, "z_spacing": sz},
        }
        if version == "kits19":
            record.update(captured_pixel_width=sx, captured_slice_thickness=sz)
        records.append(record)
    write_json(root / "kits.json", records)
    return root


@writes_dataset()
def generate_kits21(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_cases: int = 6,
    shape: Sequence[int] = (48, 64, 64),
    spacing: Sequence[float] = (3.0, 1.0, 1.0),
    lesion_margin: str = "soft",
) -> Path:
    """Write a KiTS21-layout dataset of ``num_cases`` phantoms; returns ``out_dir`` (the root ``load_kits21`` reads).

    Each case has two kidneys (label 1) and either a tumour (label 2, ~2/3 of the cases) or a cyst (label 3). The
    lesion's labelled diameter is ``radiographic_size`` (cm) in ``kits.json``; ``pathologic_size`` differs by a few %.

    Args:
        out_dir: a new or empty folder.
        seed: random seed; the same seed gives identical files.
        num_cases: number of ``case_XXXXX`` folders.
        shape: array shape ``(num_slices, H, W)``.
        spacing: voxel size in mm, same order (slice thickness first).
        lesion_margin: ``"soft"`` (default): the lesion fades out to a visible radius drawn independently of the
            labelled one, so only ``radiographic_size`` tells the labelled extent; ``"sharp"``: the labelled sphere
            is painted with the lesion's HU, its extent plainly visible (see the module docstring).
    """
    return _generate_kits(out_dir, seed, num_cases, shape, spacing, "kits21", lesion_margin)


@writes_dataset()
def generate_kits19(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_cases: int = 6,
    shape: Sequence[int] = (48, 64, 64),
    spacing: Sequence[float] = (3.0, 1.0, 1.0),
    lesion_margin: str = "soft",
) -> Path:
    """Write a KiTS19-layout dataset (``segmentation.nii.gz``, labels 1 kidney, 2 tumour; every case a tumour).

    Arguments as :func:`generate_kits21`; ``kits.json`` also has ``captured_pixel_width``/``captured_slice_thickness``.
    """
    return _generate_kits(out_dir, seed, num_cases, shape, spacing, "kits19", lesion_margin)


def _write_apple_double(path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(_APPLE_DOUBLE)


def _generate_msd(
    out_dir: str | os.PathLike,
    seed: int,
    num_cases: int,
    num_test: int,
    shape: Sequence[int],
    spacing: Sequence[float],
    organ: str,
    apple_double: bool,
) -> Path:
    _check_sizes(num_cases, shape, spacing)
    if num_test < 0:
        raise ValueError(f"num_test must be >= 0, got {num_test}.")
    task = _MSD_TASKS[organ]
    root = Path(out_dir) / task["task"]
    rng = np.random.default_rng(seed)
    sx, sy, sz = (float(s) for s in spacing)
    affine = np.diag([-sx, -sy, sz, 1.0])
    # MSD case numbers are not contiguous per split (spleen_2, spleen_3, spleen_6, ...): interleave them too
    numbers = rng.permutation(num_cases + num_test)
    training, test = [], []
    for position, number in enumerate(numbers):
        name = f"{organ}_{int(number)}.nii.gz"
        image, label, _ = _render_case(rng, (shape[2], shape[1], shape[0]), (sz, sy, sx), organ)
        image, label = image.transpose(2, 1, 0), label.transpose(2, 1, 0)  # (z, y, x) -> MSD's (x, y, z)
        is_training = position < num_cases
        folder = "imagesTr" if is_training else "imagesTs"
        write_nifti(root / folder / name, image, affine)
        if apple_double:
            _write_apple_double(root / folder / f"._{name}")
        if is_training:
            write_nifti(root / "labelsTr" / name, label, affine)
            if apple_double:
                _write_apple_double(root / "labelsTr" / f"._{name}")
            training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
        else:
            test.append(f"./imagesTs/{name}")
    dataset = {
        "name": task["name"],
        "description": f"{task['name']} segmentation (synthetic phantom written by metaseg_monai)",
        "reference": "synthetic",
        "licence": "CC-BY-SA 4.0",
        "release": "1.0",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "labels": task["labels"],
        "numTraining": num_cases,
        "numTest": num_test,
        "training": training,
        "test": test,
    }
    write_json(root / "dataset.json", dataset)
    return root


@writes_dataset()
def generate_msd_spleen(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_cases: int = 4,
    num_test: int = 2,
    shape: Sequence[int] = (64, 64, 40),
    spacing: Sequence[float] = (1.0, 1.0, 3.0),
    apple_double: bool = True,
) -> Path:
    """Write ``out_dir/Task09_Spleen`` (labels 0 background, 1 spleen) and return that task folder.

    Args:
        out_dir: a new or empty folder; the task folder is created inside it.
        seed: random seed.
        num_cases: training cases (``imagesTr``/``labelsTr``); num_test: test images (``imagesTs``, no labels).
        shape: array shape ``(X, Y, num_slices)`` as MSD stores it; spacing: mm in the same order.
        apple_double: also write macOS ``._<name>`` files as found in the public tarballs.
    """
    return _generate_msd(out_dir, seed, num_cases, num_test, shape, spacing, "spleen", apple_double)


@writes_dataset()
def generate_msd_liver(
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_cases: int = 4,
    num_test: int = 2,
    shape: Sequence[int] = (64, 64, 40),
    spacing: Sequence[float] = (1.0, 1.0, 3.0),
    apple_double: bool = True,
) -> Path:
    """Write ``out_dir/Task03_Liver`` (labels 0 background, 1 liver, 2 cancer) and return that task folder.

    Arguments as :func:`generate_msd_spleen`; each case has 1-3 hypodense cancers inside the liver.
    """
    return _generate_msd(out_dir, seed, num_cases, num_test, shape, spacing, "liver", apple_double)


@writes_dataset()
def generate_multiorgan(
    out_dir: str | os.PathLike,
    seed: int = 0,
    scans_per_organ: int = 16,
    size: int = 64,
    num_slices: int = 24,
    apple_double: bool = True,
) -> Path:
    """Write the FiLM paper's multi-organ dataset: ``Task09_Spleen/``, ``Task03_Liver/`` and ``kits19/`` in one folder.

    Every scan is the same kind of abdominal phantom, showing spleen, liver and both kidneys (as a real abdominal CT
    does), but each dataset labels only its own organ (the liver's and kidneys' tumours with their own label): the
    missing-labels setting that the organ given through FiLM resolves. The Decathlon sets are stored (x, y, z) with a
    diagonal affine, KiTS19 (z, y, x) with its permuted affine, as the public downloads; in-plane they have the same
    size, so that after reorientation an axial slice has the same shape whichever set it comes from.

    Args:
        out_dir: a new or empty folder; returned, the ``dataset_dir`` of ``multiorgan_film_segmentation``.
        seed: random seed; each dataset draws from its own stream of it.
        scans_per_organ: labelled scans of each dataset (>= 3 for a 60/20/20 split; the few-label design needs 13
            or more: 12 for training and validation, the rest for testing).
        size: in-plane voxels (``size x size`` at 1.5 mm); num_slices: axial slices (4 mm).
        apple_double: also write macOS ``._*`` files beside the Decathlon volumes, as in the public tarballs.
    """
    root = Path(out_dir)
    spleen_seed, liver_seed, kidney_seed = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))
    msd_shape, msd_spacing = (size, size, num_slices), (1.5, 1.5, 4.0)
    _generate_msd(root, spleen_seed, scans_per_organ, 0, msd_shape, msd_spacing, "spleen", apple_double)
    _generate_msd(root, liver_seed, scans_per_organ, 0, msd_shape, msd_spacing, "liver", apple_double)
    _generate_kits(
        root / "kits19", kidney_seed, scans_per_organ, (num_slices, size, size), (4.0, 1.5, 1.5), "kits19", "sharp"
    )
    return root
