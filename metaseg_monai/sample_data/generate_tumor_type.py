"""Sample-data generator for the FiLM paper's tumour-type experiment: spinal-cord-like volumes in a BIDS layout.

Three intramedullary tumour types, as in Lemay et al. (MIDL 2021). What makes the tumour type worth knowing is the
ambiguity the paper describes (its appendix B): a T2w-hyperintense region that does not enhance on Gd-enhanced T1w
is *tumour* in an astrocytoma (infiltrative, with partial moderate enhancement) but a *cyst / oedema* around the
small, intensely enhancing nodule of a hemangioblastoma. Both look alike here, on both contrasts: an enhancing part
inside a larger non-enhancing T2w-bright region, at the same heights along the cord and with overlapping sizes and
enhancement. The label (tumour core) is the whole region for an astrocytoma and the nodule alone for a
hemangioblastoma, so a network without the type must guess, as the paper's no-prior model did (it segmented only
the most enhancing part of astrocytomas). Ependymomas are distinct on the image (homogeneous enhancement with a
dark haemosiderin rim) and need no prior:

================  ===========================================  ===========================  ====================
type              image                                        tumour core label            enhancement (Gd)
================  ===========================================  ===========================  ====================
astrocytoma       enhancing part inside a non-enhancing         the whole region             partial, 0.65-1.0
                  T2w-bright region
ependymoma        homogeneous core, dark rim                    the core                     homogeneous 0.7-0.9
hemangioblastoma  enhancing nodule inside a non-enhancing       the nodule                   0.65-1.0
                  T2w-bright cyst / oedema
================  ===========================================  ===========================  ====================

The Gd-enhanced T1w (``ce-gad_T1w``, BIDS entity ``ce-gad``) is in the same space as the T2w; the enhancing part is
faint on T2w, the non-enhancing region near cord level on T1w-Gd, so both contrasts are needed to find the core.
CSF is bright on T2w and dark on T1w-Gd. Its noise comes from a random stream of its own, so adding or leaving out
``ce-gad_T1w`` does not change the other contrasts' files for a seed.

Volumes have 1 mm voxels and axes (x: left-right, y: posterior-anterior, z: inferior-superior); the cord runs along
z, so sagittal slices are ``volume[i, :, :]``. Read the result with
:func:`~metaseg_monai.data.bids.load_bids_tumor_type` (one sample per contrast) or
:func:`~metaseg_monai.data.bids.load_bids_multicontrast` (T1w-Gd and T2w as the two channels of one sample).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from metaseg_monai.data.image_io import write_nifti
from metaseg_monai.sample_data.phantoms import ellipsoid_distance, smooth_noise
from metaseg_monai.utils.atomic import writes_dataset
from metaseg_monai.utils.files import write_delimited, write_json

__all__ = ["GD_T1W", "TUMOR_TYPES", "generate_tumor_type"]

TUMOR_TYPES = ("astrocytoma", "ependymoma", "hemangioblastoma")
GD_T1W = "ce-gad_T1w"  # Gd-enhanced T1w, BIDS name sub-XXX_ce-gad_T1w.nii.gz

# intensities per contrast of the tissues (the enhancing part's Gd level is drawn per subject, _ENHANCEMENT)
_INTENSITY = {
    "T2w": {"background": 0.05, "csf": 0.9, "cord": 0.45, "region": 0.72, "enhancing": 0.6, "core": 0.7, "rim": 0.2},
    "T1w": {"background": 0.05, "csf": 0.2, "cord": 0.6, "region": 0.45, "enhancing": 0.5, "core": 0.5, "rim": 0.35},
    GD_T1W: {"background": 0.05, "csf": 0.15, "cord": 0.45, "region": 0.5, "rim": 0.2},
}
_DEFAULT_INTENSITY = _INTENSITY["T2w"]
# Gd enhancement of the enhancing part (astrocytoma, hemangioblastoma) or the core (ependymoma): a range per type
_ENHANCEMENT = {"astrocytoma": (0.65, 1.0), "ependymoma": (0.7, 0.9), "hemangioblastoma": (0.65, 1.0)}


@writes_dataset()
def generate_tumor_type(
    out_dir: str | os.PathLike,
    seed: int = 0,
    subjects_per_type: int = 6,
    shape: tuple[int, int, int] = (32, 64, 48),
    contrasts: Sequence[str] = ("T2w", GD_T1W),
) -> Path:
    """Write a BIDS dataset of ``3 * subjects_per_type`` subjects; returns ``out_dir`` (the dataset root).

    Files: ``participants.tsv`` (``participant_id``, ``tumor_type``), ``dataset_description.json``,
    ``sub-XXX/anat/sub-XXX_<contrast>.nii.gz`` (float32) and
    ``derivatives/labels/sub-XXX/anat/sub-XXX_<contrast>_seg-tumor.nii.gz`` (uint8 tumour core, the same for every
    contrast as the contrasts are co-registered). Subject numbers are shuffled across types.

    Args:
        out_dir: a new or empty folder.
        seed: random seed; the same seed writes the same files.
        subjects_per_type: subjects of each of the three types (>= 1).
        shape: ``(X, Y, Z)`` voxels, each >= 16.
        contrasts: contrasts written per subject; ``"T2w"``, ``"T1w"`` and ``"ce-gad_T1w"`` (Gd-enhanced T1w,
            see the module docstring) have their own appearance, other names use T2w's.
    """
    shape = tuple(int(s) for s in shape)
    if isinstance(contrasts, str):
        contrasts = (contrasts,)
    if subjects_per_type < 1 or len(shape) != 3 or min(shape) < 16:
        raise ValueError(f"need subjects_per_type >= 1 and a 3D shape, sides >= 16; got {subjects_per_type}, {shape}.")
    if not contrasts or len(set(contrasts)) < len(contrasts):
        raise ValueError(f"contrasts must be unique names such as ('T2w',), got {tuple(contrasts)}.")
    root = Path(out_dir)
    rng = np.random.default_rng(seed)
    gd_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])  # leaves rng's stream as it was
    types = [t for t in TUMOR_TYPES for _ in range(subjects_per_type)]
    types = [types[i] for i in rng.permutation(len(types))]
    width = max(3, len(str(len(types))))
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = [-s / 2 for s in shape]
    rows = []
    for number, tumor_type in enumerate(types, start=1):
        participant = f"sub-{number:0{width}d}"
        rows.append((participant, tumor_type))
        masks = _subject_masks(rng, shape, tumor_type)
        enhancement = rng.uniform(*_ENHANCEMENT[tumor_type])
        texture = smooth_noise(rng, shape, 1.2, unit_std=False)
        label_dir = root / "derivatives" / "labels" / participant / "anat"
        for contrast in contrasts:
            write_nifti(
                label_dir / f"{participant}_{contrast}_seg-tumor.nii.gz", masks["label"].astype(np.uint8), affine
            )
        for contrast in contrasts:
            volume = _render(masks, texture, contrast, enhancement)
            stream = gd_rng if contrast == GD_T1W else rng
            volume = ndimage.gaussian_filter(volume, 0.6) + stream.normal(0, 0.03, shape)
            write_nifti(
                root / participant / "anat" / f"{participant}_{contrast}.nii.gz", volume.astype(np.float32), affine
            )
    write_delimited(root / "participants.tsv", ["participant_id", "tumor_type"], rows, delimiter="\t")
    write_json(root / "dataset_description.json", {"Name": "metaseg tumour-type sample data", "BIDSVersion": "1.8.0"})
    write_json(
        root / "derivatives" / "labels" / "dataset_description.json",
        {
            "Name": "tumour core labels",
            "BIDSVersion": "1.8.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "metaseg_monai.sample_data.generate_tumor_type"}],
        },
    )
    return root


def _subject_masks(rng: np.random.Generator, shape: tuple[int, int, int], tumor_type: str) -> dict[str, np.ndarray]:
    """The ``(X, Y, Z)`` bool masks of one subject: ``cord``, ``csf``, ``region`` (the non-enhancing T2w-bright
    region), ``enhancing``, ``rim`` and ``label`` (the tumour core)."""
    nx, ny, nz = shape
    z = np.arange(nz, dtype=np.float64).reshape(1, 1, nz)
    # cord: an elliptic tube (wider left-right) that bends gently front-back along z
    radius = 0.15 * min(nx, ny) * rng.uniform(0.9, 1.1)
    cord_r = (1.2 * radius, radius)
    bend = rng.uniform(-0.1, 0.1) * ny * np.sin(np.pi * z / nz)
    cx, cy = nx / 2 + rng.uniform(-1, 1), ny / 2 + bend + rng.uniform(-1, 1)  # cy: (1, 1, nz)
    cord, csf = np.zeros(shape, bool), np.zeros(shape, bool)
    box, cross = ellipsoid_distance(shape, (cx, cy, 0.0), (*cord_r, None), reach=1.7)
    cord[box], csf[box] = cross <= 1.0, (cross > 1.0) & (cross <= 1.7**2)
    shift = cy - ny / 2  # the cord centre bends with z; lesions follow it so that they stay intramedullary

    def ellipsoid(centre: tuple[float, float, float], radii: tuple[float, float, float]) -> np.ndarray:
        mask = np.zeros(shape, bool)
        box, dist = ellipsoid_distance(shape, (centre[0], centre[1] + shift, centre[2]), radii, reach=1.3)
        mask[box] = (dist <= 1.0) & cord[box]
        return mask

    # every type sits anywhere along the middle of the cord: the height says nothing of the type
    zc = rng.uniform(0.35, 0.65) * nz
    side = rng.choice([-1.0, 1.0])
    masks = {"cord": cord, "csf": csf}
    if tumor_type == "ependymoma":
        half = rng.uniform(0.09, 0.15) * nz
        core_r = (0.7 * cord_r[0], 0.7 * cord_r[1], half)
        core = ellipsoid((nx / 2, ny / 2, zc), core_r)
        shell = ellipsoid((nx / 2, ny / 2, zc), tuple(1.35 * r for r in core_r))
        return {**masks, "region": np.zeros(shape, bool), "enhancing": core, "rim": shell & ~core, "label": core}
    # astrocytoma and hemangioblastoma: the same geometry, a small enhancing part in a larger non-enhancing region
    half = rng.uniform(0.14, 0.24) * nz
    region = ellipsoid((nx / 2 + side * 0.15 * cord_r[0], ny / 2, zc), (0.85 * cord_r[0], 0.85 * cord_r[1], half))
    part_r = rng.uniform(0.5, 0.7) * cord_r[1]
    part_centre = (
        nx / 2 + side * 0.2 * cord_r[0],
        ny / 2 - rng.uniform(0.1, 0.35) * cord_r[1],
        zc + rng.uniform(-0.4, 0.4) * half,
    )
    enhancing = ellipsoid(part_centre, (part_r, part_r, rng.uniform(1.0, 1.8) * part_r)) & region
    label = region if tumor_type == "astrocytoma" else enhancing
    return {
        **masks,
        "region": region & ~enhancing,
        "enhancing": enhancing,
        "rim": np.zeros(shape, bool),
        "label": label,
    }


def _render(masks: dict[str, np.ndarray], texture: np.ndarray, contrast: str, enhancement: float) -> np.ndarray:
    """The noise-free ``(X, Y, Z)`` float64 volume of one subject in ``contrast``."""
    level = _INTENSITY.get(contrast, _DEFAULT_INTENSITY)
    volume = np.full(masks["cord"].shape, level["background"])
    volume[masks["csf"]] = level["csf"]
    volume[masks["cord"]] = level["cord"]
    region, enhancing, rim = masks["region"], masks["enhancing"], masks["rim"]
    volume[region] = level["region"] + 0.3 * texture[region]  # heterogeneous, whether tumour or cyst / oedema
    volume[rim] = level["rim"]
    if contrast == GD_T1W:
        volume[enhancing] = enhancement + 0.3 * texture[enhancing]
    else:
        volume[enhancing] = level["core" if rim.any() else "enhancing"] + 0.15 * texture[enhancing]
    return volume
