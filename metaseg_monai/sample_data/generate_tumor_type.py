"""Sample-data generator for the FiLM paper's tumour-type experiment: spinal-cord-like volumes in a BIDS layout.

Three intramedullary tumour types, as in Lemay et al. (MIDL 2021), differ in size, position along the cord and
contrast pattern on T2w and on Gd-enhanced T1w, so that ``tumor_type`` is informative about the label:

================  ==========================  ========  ==============================  =============================
type              tumour core size            position  T2w                             Gd-enhanced T1w
================  ==========================  ========  ==============================  =============================
astrocytoma       large, long, infiltrative   superior  heterogeneous, off-centre       partial, moderate enhancement
ependymoma        medium, well circumscribed  middle    homogeneous, central, dark rim  homogeneous, dark rim
hemangioblastoma  small nodule                inferior  very bright, dorsal, oedema     intense; oedema dark
================  ==========================  ========  ==============================  =============================

The Gd-enhanced T1w (``ce-gad_T1w``, BIDS entity ``ce-gad``) is in the same space as the T2w and complements it,
as in the paper where both are needed to find the tumour core: the core enhances on T1w-Gd, but an astrocytoma only
partly (its non-enhancing part is near cord level on T1w-Gd and bright only on T2w), while the oedema / cyst around
a hemangioblastoma is bright on T2w (close to the other types' cores) and dark on T1w-Gd. CSF is bright on T2w and
dark on T1w-Gd. Its noise comes from a random stream of its own, so adding or leaving out ``ce-gad_T1w`` does not
change the other contrasts' files for a seed.

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

# per type: z half-length (fraction of the volume's z size), cross-section radius (fraction of the cord's),
# centre along z (fraction), offset of the centre in the cross-section (fraction of the cord radius, (x, y))
_GEOMETRY = {
    "astrocytoma": {"half_length": 0.22, "cross": 0.85, "z": 0.68, "offset": (0.25, 0.0)},
    "ependymoma": {"half_length": 0.13, "cross": 0.7, "z": 0.5, "offset": (0.0, 0.0)},
    "hemangioblastoma": {"half_length": 0.06, "cross": 0.45, "z": 0.3, "offset": (0.0, -0.45)},
}
# intensities per contrast: background, cerebrospinal fluid, cord, tumour core, rim / oedema
_INTENSITY = {
    "T2w": {"background": 0.05, "csf": 0.9, "cord": 0.45, "tumor": 0.7, "rim": 0.2, "edema": 0.62},
    "T1w": {"background": 0.05, "csf": 0.2, "cord": 0.6, "tumor": 0.5, "rim": 0.35, "edema": 0.5},
}
GD_T1W = "ce-gad_T1w"  # Gd-enhanced T1w, BIDS name sub-XXX_ce-gad_T1w.nii.gz
# Gd-enhanced T1w: enhancement of the tumour core per type (astrocytoma: only where its texture is positive, the rest
# at "tumor_off"), dark CSF, rim and oedema / cyst
_GD_INTENSITY = {
    "background": 0.05,
    "csf": 0.15,
    "cord": 0.45,
    "tumor_off": 0.5,
    "rim": 0.2,
    "edema": 0.28,
    "enhancement": {"astrocytoma": 0.72, "ependymoma": 0.8, "hemangioblastoma": 1.0},
}
_DEFAULT_INTENSITY = _INTENSITY["T2w"]


@writes_dataset()
def generate_tumor_type(
    out_dir: str | os.PathLike,
    seed: int = 0,
    subjects_per_type: int = 4,
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
    nx, ny, nz = shape
    z = np.arange(nz, dtype=np.float64).reshape(1, 1, nz)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = [-nx / 2, -ny / 2, -nz / 2]
    rows = []
    for number, tumor_type in enumerate(types, start=1):
        participant = f"sub-{number:0{width}d}"
        rows.append((participant, tumor_type))
        geometry = _GEOMETRY[tumor_type]
        # cord: an elliptic tube (wider left-right) that bends gently front-back along z
        radius = 0.15 * min(nx, ny) * rng.uniform(0.9, 1.1)
        cord_r = (1.2 * radius, radius)
        bend = rng.uniform(-0.1, 0.1) * ny * np.sin(np.pi * z / nz)
        cx, cy = nx / 2 + rng.uniform(-1, 1), ny / 2 + bend + rng.uniform(-1, 1)  # cy: (1, 1, nz)
        cord, csf = np.zeros(shape, bool), np.zeros(shape, bool)
        box, cross = ellipsoid_distance(shape, (cx, cy, 0.0), (*cord_r, None), reach=1.7)
        cord[box], csf[box] = cross <= 1.0, (cross > 1.0) & (cross <= 1.7**2)
        # tumour core: an ellipsoid inside the cord, jittered per subject
        scale = rng.uniform(0.85, 1.15)
        half_length = max(2.0, geometry["half_length"] * nz * scale)
        zc = (geometry["z"] + rng.uniform(-0.05, 0.05)) * nz
        off_x, off_y = geometry["offset"]
        centre_x = nx / 2 + off_x * cord_r[0] * rng.choice([-1.0, 1.0])
        centre_y = ny / 2 + off_y * cord_r[1]
        tumor_r = (geometry["cross"] * cord_r[0] * scale, geometry["cross"] * cord_r[1] * scale, half_length)
        # the cord centre bends with z; follow it so the tumour stays intramedullary
        box, dist = ellipsoid_distance(shape, (centre_x, centre_y + cy - ny / 2, zc), tumor_r, reach=2.0)
        tumor, rim, edema = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
        tumor[box] = (dist <= 1.0) & cord[box]
        rim[box] = (dist > 1.0) & (dist <= 1.6) & cord[box]
        edema[box] = (dist > 1.0) & (dist <= 4.0) & cord[box]
        texture = smooth_noise(rng, shape, 1.2, unit_std=False)
        noise_sigma = 0.03
        for contrast in contrasts:
            label_dir = root / "derivatives" / "labels" / participant / "anat"
            write_nifti(label_dir / f"{participant}_{contrast}_seg-tumor.nii.gz", tumor.astype(np.uint8), affine)
        for contrast in contrasts:
            if contrast == GD_T1W:
                volume = _gd_t1w(tumor_type, cord, csf, tumor, rim, edema, texture)
                volume = ndimage.gaussian_filter(volume, 0.6) + gd_rng.normal(0, noise_sigma, shape)
                write_nifti(
                    root / participant / "anat" / f"{participant}_{contrast}.nii.gz", volume.astype(np.float32), affine
                )
                continue
            level = _INTENSITY.get(contrast, _DEFAULT_INTENSITY)
            volume = np.full(shape, level["background"])
            volume[csf] = level["csf"]
            volume[cord] = level["cord"]
            if tumor_type == "astrocytoma":  # infiltrative, heterogeneous
                volume[tumor] = level["tumor"] + 0.25 * texture[tumor]
            elif tumor_type == "ependymoma":  # homogeneous core with a dark haemosiderin rim
                volume[rim] = level["rim"]
                volume[tumor] = level["tumor"] + 0.05
            else:  # small very bright nodule within oedema
                volume[edema] = level["edema"]
                volume[tumor] = min(1.0, level["tumor"] + 0.3)
            volume = ndimage.gaussian_filter(volume, 0.6) + rng.normal(0, noise_sigma, shape)
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


def _gd_t1w(
    tumor_type: str,
    cord: np.ndarray,
    csf: np.ndarray,
    tumor: np.ndarray,
    rim: np.ndarray,
    edema: np.ndarray,
    texture: np.ndarray,
) -> np.ndarray:
    """The noise-free Gd-enhanced T1w ``(X, Y, Z)`` float64 volume of one subject (masks ``(X, Y, Z)`` bool)."""
    level = _GD_INTENSITY
    enhancement = level["enhancement"][tumor_type]
    volume = np.full(cord.shape, level["background"])
    volume[csf] = level["csf"]
    volume[cord] = level["cord"]
    if tumor_type == "astrocytoma":  # partial, heterogeneous enhancement: the rest of the core is near cord level
        enhancing = tumor & (texture > 0)
        volume[tumor] = level["tumor_off"]
        volume[enhancing] = enhancement + 0.5 * texture[enhancing]
    elif tumor_type == "ependymoma":  # homogeneous enhancement, dark haemosiderin rim
        volume[rim] = level["rim"]
        volume[tumor] = enhancement
    else:  # intensely enhancing nodule within oedema / cyst that is dark on T1w
        volume[edema] = level["edema"]
        volume[tumor] = enhancement
    return volume
