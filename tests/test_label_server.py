"""MONAI Label serving every bundle: the real server (``metaseg label serve``) started on 127.0.0.1, images posted
with their metadata in the request's params, each mask compared with the bundle's own ``monai.bundle run`` inference
on the same image and metadata; requests without metadata, or with an unknown value, refused with the field named.

These run in the venv with the ``label`` extra (README, "Serving with MONAI Label"): ``pytest -m label``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from metaseg_monai.label import write_app
from metaseg_monai.sample_data import generate_sample_data

pytestmark = [
    pytest.mark.label,
    pytest.mark.skipif(
        importlib.util.find_spec("monailabel") is None, reason="MONAI Label is not installed (the label extra)"
    ),
]


def _copy_first(data: Path, pattern: str, dest: Path) -> None:
    shutil.copy(sorted(data.glob(pattern))[0], dest)


def _stack_contrasts(data: Path, patterns: tuple[str, ...], dest: Path) -> None:
    """One 4D NIfTI, the contrasts as its last axis: one file a request can carry for a multi-contrast bundle."""
    import nibabel as nib

    images = [nib.load(sorted(data.glob(p))[0]) for p in patterns]
    stacked = np.stack([np.asarray(i.dataobj, dtype=np.float32) for i in images], axis=-1)
    nib.save(nib.Nifti1Image(stacked, images[0].affine), dest)


@dataclass(frozen=True)
class Case:
    """One bundle's request: its sample data, the image posted, the metadata, and how the bundle itself is run on
    the same image (its data argument, the folder it reads, the file it writes)."""

    kind: str
    options: dict
    image: str  # glob inside the sample data: the image posted (and the bundle's input)
    params: dict
    suffix: str
    stack: tuple[str, ...] = ()  # globs of contrasts posted as one multi-channel image instead
    bundle_input: str | None = None  # folder inside the sample data the bundle reads instead of the image alone
    data_arg: str = "dataset_dir"
    output: str = "*"


CASES = {
    "cell_lines_nuclei_segmentation": Case(
        "cell-lines", {"images_per_line": 1, "size": 64}, "images/HeLa_*", {"cell_line": "HeLa"}, ".tif"
    ),
    "annotation_styles_nuclei_segmentation": Case(
        "annotation-styles", {"images_per_line": 1, "size": 64}, "images/MDCK_*", {"annotation_style": "coarse"}, ".tif"
    ),
    "nuclei_anomaly_segmentation": Case(
        "nuclei-anomaly", {"images_per_line": 1, "size": 64}, "images/A549_*", {"mask_type": "anomaly"}, ".tif"
    ),
    "kits21_tumor_size_segmentation": Case(
        "kits21",
        {"num_cases": 1, "shape": (20, 64, 64), "spacing": (12.5, 4.0, 4.0)},
        "case_*/imaging.nii.gz",
        {"radiographic_size": 3.2},
        ".nii.gz",
    ),
    "multiorgan_film_segmentation": Case(
        "multi-organ",
        {"scans_per_organ": 1, "size": 48, "num_slices": 16},
        "Task03_Liver/imagesTr/liver_*.nii.gz",
        {"organ": "liver"},
        ".nii.gz",
    ),
    "spinal_tumor_type_film_segmentation": Case(
        "tumor-type",
        {"subjects_per_type": 1},
        "",
        {"tumor_type": "ependymoma"},
        ".nii.gz",
        stack=("sub-001/anat/*_ce-gad_T1w.nii.gz", "sub-001/anat/*_T2w.nii.gz"),  # the bundle's contrasts, in order
        bundle_input="sub-001",
        output="sub-001/anat/*_seg.nii.gz",
    ),
    "video_nuclei_consistency_segmentation": Case(
        "video-nuclei",
        {"num_stills": 2, "num_frames": 2},
        "ctc/01/t000.tif",
        {},
        ".tif",
        data_arg="video",
        output="masks/*/mask000.tif",
    ),
}

START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    app: Path
    images: dict[str, Path]  # bundle -> the image posted (also in the studies folder, id = bundle name)
    log: Path
    data: Path  # the sample data, a folder per bundle


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("label")
    studies = root / "studies"
    studies.mkdir()
    images = {}
    for bundle, case in CASES.items():
        data = root / "data" / bundle
        generate_sample_data(case.kind, data, seed=0, **case.options)
        images[bundle] = studies / f"{bundle}{case.suffix}"
        if case.stack:
            _stack_contrasts(data, case.stack, images[bundle])
        else:
            _copy_first(data, case.image, images[bundle])
    app = write_app(root / "app", list(CASES))
    port = _free_port()
    log = root / "server.log"
    command = [sys.executable, "-m", "metaseg_monai.cli", "label", "serve", "--app_dir", str(app)]
    command += ["--studies", str(studies), "--bundles", ",".join(CASES), "--port", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server stopped (exit {server.returncode}):\n{log.read_text()[-4000:]}")
            try:
                urllib.request.urlopen(f"{url}/info/", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer from {url} in {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")
                time.sleep(1)
        yield Served(url, app, images, log, root / "data")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)


def _infer(served: Served, bundle: str, params: dict, upload: bool):
    import requests

    image = served.images[bundle]
    query = {"output": "image"} if upload else {"output": "image", "image": bundle}
    files = {"file": (image.name, image.read_bytes())} if upload else None
    return requests.post(
        f"{served.url}/infer/{bundle}", params=query, data={"params": json.dumps(params)}, files=files, timeout=300
    )


def _bundle_inference(served: Served, bundle: str, tmp_path: Path) -> np.ndarray:
    """The bundle's own inference (``python -m monai.bundle run``) on the same image and metadata."""
    from monai.transforms import LoadImage

    case = CASES[bundle]
    folder = tmp_path / "one"
    folder.mkdir()
    if case.bundle_input:
        shutil.copytree(served.data / bundle / case.bundle_input, folder / case.bundle_input)
    else:
        shutil.copy(served.images[bundle], folder / served.images[bundle].name)
    root = served.app / "model" / bundle
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(root / "configs" / "inference.json")]
    command += ["--bundle_root", str(root), f"--{case.data_arg}", str(folder), "--output_dir", str(tmp_path / "out")]
    for name, value in CASES[bundle].params.items():
        command += [f"--{name}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    outputs = [p for p in (tmp_path / "out").glob(case.output) if p.is_file() and not p.name.startswith(".")]
    assert len(outputs) == 1, outputs
    return np.asarray(LoadImage(image_only=True)(str(outputs[0])))


def test_info_lists_each_models_metadata(served):
    info = json.loads(urllib.request.urlopen(f"{served.url}/info/").read())
    assert set(info["models"]) == set(CASES)
    for bundle, case in CASES.items():
        fields = {f["name"]: f for f in info["models"][bundle]["metadata"]}
        assert set(fields) == set(case.params)
        for name in case.params:
            assert fields[name]["required"] is True
            if fields[name]["type"] == "categorical":
                assert case.params[name] in fields[name]["categories"]
                assert info["models"][bundle]["config"][name] == fields[name]["categories"]  # a client's choice
            else:
                assert fields[name]["range"] == "[0.0, inf)"


@pytest.mark.parametrize("bundle", sorted(CASES))
def test_mask_equals_the_bundles_own_inference(served, bundle, tmp_path):
    from monai.transforms import LoadImage

    volume = CASES[bundle].suffix == ".nii.gz"
    response = _infer(served, bundle, CASES[bundle].params, upload=volume)  # volumes uploaded, 2D images by id
    assert response.status_code == 200, response.text
    served_file = tmp_path / f"served{CASES[bundle].suffix}"
    served_file.write_bytes(response.content)
    got = np.asarray(LoadImage(image_only=True)(str(served_file)))
    expected = _bundle_inference(served, bundle, tmp_path)
    if expected.max() == 255:  # the microscopy bundles write 0/255 masks
        expected = expected / 255
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert got.any(), "an empty mask would match trivially"


@pytest.mark.parametrize("bundle", sorted(b for b, case in CASES.items() if case.params))
def test_request_without_metadata_is_refused(served, bundle):
    response = _infer(served, bundle, {}, upload=False)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    (name,) = CASES[bundle].params
    assert f"'{name}'" in detail and "needs the metadata field" in detail


@pytest.mark.parametrize(
    ("bundle", "params", "accepted"),
    [
        ("cell_lines_nuclei_segmentation", {"cell_line": "HeLa-S3"}, "['HeLa', 'MDCK'"),
        ("multiorgan_film_segmentation", {"organ": "pancreas"}, "['spleen', 'liver', 'kidney']"),
        ("kits21_tumor_size_segmentation", {"radiographic_size": -1.0}, "a number in [0.0, inf)"),
        ("kits21_tumor_size_segmentation", {"radiographic_size": "large"}, "a number in [0.0, inf)"),
    ],
)
def test_unaccepted_metadata_is_refused(served, bundle, params, accepted):
    response = _infer(served, bundle, params, upload=False)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert accepted in detail and repr(next(iter(params.values()))) in detail, detail
