"""The bundles travel: shipped in the wheel, listed, copied out (``init``), zipped (``export``); one recipe."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bundle_support import BUNDLE_NAMES, BUNDLES, IGNORE_DEPRECATED_PACKAGES, REPO, TINY, bundle_workflow

from metaseg_monai.bundle import bundle_files, export_bundle, init_bundle, list_bundles, missing_ids, resolve_bundle

pytestmark = IGNORE_DEPRECATED_PACKAGES

ZOO_PARTS = {"configs/metadata.json", "configs/train.json", "configs/inference.json", "LICENSE", "models/model.pt"}


def _build_wheel(folder: Path) -> Path:
    """The wheel of this repository, built into ``folder`` as ``pip wheel`` would for a release."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder)]
    subprocess.run([*command, str(REPO)], check=True, capture_output=True)
    (wheel,) = folder.glob("metaseg_monai-*.whl")
    return wheel


def test_recipe_generates_the_bundles_unchanged():
    # every bundle's shared configs come from recipe/; a hand edit of a generated file is drift
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_bundles.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_list_names_every_bundle_with_its_experiment_and_fields():
    listed = {b.name: b for b in list_bundles()}
    assert sorted(listed) == BUNDLE_NAMES
    assert listed["kits21_tumor_size_segmentation"].metadata_fields == ("radiographic_size",)
    assert listed["nuclei_anomaly_segmentation"].metadata_fields == ("mask_type",)
    assert all(b.version and "experiment" in b.experiment and b.sample_data for b in listed.values())


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_every_bundle_keeps_the_runner_contract(bundle):
    assert missing_ids(BUNDLES / bundle) == {}


def test_resolve_names_the_shipped_bundles_when_unknown(tmp_path):
    assert resolve_bundle("cell_lines_nuclei_segmentation") == (BUNDLES / "cell_lines_nuclei_segmentation").resolve()
    with pytest.raises(FileNotFoundError, match=r"nor one of the shipped bundles .*kits21_tumor_size_segmentation"):
        resolve_bundle("no_such_bundle")
    (tmp_path / "configs").mkdir()
    with pytest.raises(FileNotFoundError, match=r"lacks configs/metadata\.json"):
        resolve_bundle(tmp_path)


def test_init_copies_the_zoo_files_only_and_never_into_a_used_folder(tmp_path):
    source = BUNDLES / "cell_lines_nuclei_segmentation"
    dest = init_bundle("cell_lines_nuclei_segmentation", tmp_path / "mine")
    copied = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert ZOO_PARTS <= copied
    assert copied == {p.as_posix() for p in bundle_files(source)}
    assert not any(part in ("sample_data", "output", "__pycache__") for c in copied for part in Path(c).parts)
    assert (dest / "models" / "model.pt").read_bytes() == (source / "models" / "model.pt").read_bytes()
    with pytest.raises(FileExistsError, match="not empty"):
        init_bundle("cell_lines_nuclei_segmentation", dest)
    assert not list(tmp_path.glob(".mine.partial-*"))  # no staging folder left behind


def test_an_initialized_bundle_trains_from_another_working_directory(tmp_path, monkeypatch):
    dest = init_bundle("cell_lines_nuclei_segmentation", tmp_path / "mine", sample_data=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    wf = bundle_workflow(dest, "train.json", "train", output_dir=str(tmp_path / "run"), epochs=1, **TINY)
    wf.initialize()
    assert wf.check_properties() == []
    wf.run()
    assert (tmp_path / "run" / "models" / "model.pt").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing written into the working directory


def test_export_writes_the_zoo_archive_layout(tmp_path):
    out = export_bundle("kits21_tumor_size_segmentation", tmp_path / "kits.zip")
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
    assert {f"kits21_tumor_size_segmentation/{p}" for p in ZOO_PARTS} <= names
    assert all(n.startswith("kits21_tumor_size_segmentation/") for n in names)
    with pytest.raises(FileExistsError):
        export_bundle("kits21_tumor_size_segmentation", out)
    with pytest.raises(ValueError, match=r"must name a \.zip file"):
        export_bundle("kits21_tumor_size_segmentation", tmp_path / "kits.tar")


def test_the_wheel_holds_every_bundle(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for bundle in BUNDLE_NAMES:
        for rel in bundle_files(BUNDLES / bundle):
            assert f"metaseg_monai/bundles/{bundle}/{rel.as_posix()}" in names


@pytest.mark.slow
def test_a_sent_bundle_runs_from_a_fresh_non_editable_install(tmp_path):
    """What a clinical group does: install the wheel (torch pinned), init, train, export, unzip elsewhere, infer."""
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, metaseg = str(venv / "bin" / "python"), str(venv / "bin" / "metaseg")
    subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0", str(wheel)], check=True)
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str, cwd: Path = work) -> None:
        subprocess.run(list(args), cwd=cwd, check=True)

    def bundle_run(config: str, *overrides: str, cwd: Path = work) -> None:
        args = ["--config_file", f"mine/configs/{config}", "--bundle_root", "mine", *overrides]
        run(python, "-m", "monai.bundle", "run", *args, cwd=cwd)

    run(metaseg, "bundle", "init", "cell_lines_nuclei_segmentation", "mine", "--sample_data")
    bundle_run("train.json", "--output_dir", "run", "--features", "[8,8,8]", "--epochs", "1")
    assert (work / "run" / "models" / "model.pt").is_file()
    run(metaseg, "bundle", "export", "mine", "--out", "mine.zip")
    receiver = tmp_path / "receiver"
    receiver.mkdir()
    with zipfile.ZipFile(work / "mine.zip") as archive:
        archive.extractall(receiver)
    data = str(work / "mine" / "sample_data")
    bundle_run("inference.json", "--dataset_dir", data, "--split", "test", "--output_dir", "masks", cwd=receiver)
    assert len(list((receiver / "masks").glob("*_seg.tif"))) == 7  # one test image per cell line
