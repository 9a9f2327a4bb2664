"""metaseg_monai.utils.atomic: files and dataset folders renamed into place, with the usual permissions, and the
leftovers of a killed run removed by the next one."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from metaseg_monai.sample_data import generate_sample_data
from metaseg_monai.utils.atomic import (
    atomic_path,
    current_umask,
    partial_pattern,
    remove_partials,
    writes_dataset,
)


@pytest.fixture
def umask():
    """Set the process umask for one test (``umask(0o027)``), restored afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing(umask):
    umask(0o027)
    assert current_umask() == 0o027 and current_umask() == 0o027


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_atomic_path_gives_files_the_usual_permissions(tmp_path, umask, mask):
    umask(mask)
    target = tmp_path / "scores.csv"
    with atomic_path(target) as tmp, open(tmp, "w") as f:
        f.write("a,b\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n")
    assert _mode(target) == 0o666 & ~mask == _mode(plain)  # not mkstemp's 0o600


def test_atomic_path_temporary_name_and_clean_up_on_error(tmp_path):
    target = tmp_path / "case_00001.nii.gz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        name = Path(tmp).name
        assert Path(tmp).parent == tmp_path and name.endswith(".nii.gz")  # the writer still sees the suffix
        assert partial_pattern("case_00001.nii.gz").match(name) and partial_pattern().match(name)
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(b"x")
    with pytest.raises(FileExistsError, match="refusing to overwrite"), atomic_path(target):
        pass
    with atomic_path(target, overwrite=True, fsync=True) as tmp:
        Path(tmp).write_bytes(b"y")
    assert target.read_bytes() == b"y" and [p.name for p in tmp_path.iterdir()] == ["case_00001.nii.gz"]


def test_remove_partials_touches_only_our_naming(tmp_path):
    ours = [".out.partial-ab12cd34", ".out.partial-zz_99x0q.csv", ".model.pt.partial-k3j9x0_q.pt"]
    foreign = [".out.backup", "out.partial-ab12cd34", ".out.partial-toolong123", ".out.partial-AB12CD34", "tmpab12cd34"]
    for name in ours + foreign:
        (tmp_path / name).write_text("x")
    (tmp_path / ".out.partial-dir12345").mkdir()
    (tmp_path / ".out.partial-dir12345" / "image.png").write_text("x")
    removed = remove_partials(tmp_path, "out")
    assert sorted(p.name for p in removed) == [
        ".out.partial-ab12cd34",
        ".out.partial-dir12345",
        ".out.partial-zz_99x0q.csv",
    ]
    assert (tmp_path / ".model.pt.partial-k3j9x0_q.pt").exists()  # another target's
    assert [p.name for p in remove_partials(tmp_path)] == [".model.pt.partial-k3j9x0_q.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(foreign)
    assert remove_partials(tmp_path / "missing") == []


@writes_dataset()
def _toy_dataset(out_dir: Path, fail: bool = False) -> Path:
    (out_dir / "images").mkdir()
    with atomic_path(out_dir / "images" / "a.txt") as tmp, open(tmp, "w") as f:
        f.write("a")
    (out_dir / "table.csv").write_text("image\n")
    if fail:
        raise OSError("disk full")
    return out_dir


def test_writes_dataset_gives_the_folder_the_usual_permissions(tmp_path, umask):
    umask(0o022)
    root = _toy_dataset(tmp_path / "data")
    assert root == tmp_path / "data"
    assert _mode(root) == 0o755 and _mode(root / "images") == 0o755  # not mkdtemp's 0o700
    assert _mode(root / "images" / "a.txt") == 0o644 and _mode(root / "table.csv") == 0o644
    umask(0o077)
    assert _mode(_toy_dataset(tmp_path / "private")) == 0o700


def test_a_generated_sample_dataset_has_the_usual_permissions(tmp_path, umask):
    umask(0o022)
    root = generate_sample_data("dsb", tmp_path / "dsb", num_images=2)
    entries = [root, *root.rglob("*")]
    assert len(entries) > 3
    assert {_mode(p) for p in entries if p.is_dir()} == {0o755}
    assert {_mode(p) for p in entries if p.is_file()} == {0o644}


def test_writes_dataset_removes_stale_staging_folders_of_its_target_only(tmp_path, caplog):
    stale = tmp_path / ".data.partial-ab12cd34"
    (stale / "images").mkdir(parents=True)
    (stale / "images" / "half.png").write_bytes(b"")
    foreign = [tmp_path / ".other.partial-ab12cd34", tmp_path / ".data.backup", tmp_path / "data.partial-ab12cd34"]
    for path in foreign:
        path.mkdir()
    with caplog.at_level(logging.WARNING):
        root = _toy_dataset(tmp_path / "data")
    assert not stale.exists() and all(p.is_dir() for p in foreign)
    assert f"removed '{stale}'" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([root.name, *(p.name for p in foreign)])
    # an error still leaves nothing behind
    with pytest.raises(OSError, match="disk full"):
        _toy_dataset(tmp_path / "again", fail=True)
    assert not [p for p in tmp_path.iterdir() if "again" in p.name]


_KILLED_GENERATION = """
import os, signal
import metaseg_monai.utils.atomic as atomic

real_replace, calls = os.replace, []

def dying_replace(src, dst):
    calls.append(1)
    if len(calls) == 3:  # a few files in: SIGKILL, so no clean-up code runs
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)

os.replace = dying_replace
from metaseg_monai.sample_data import generate_sample_data
generate_sample_data("dsb", {out!r}, num_images=2)
"""


def test_sample_data_killed_then_run_again(tmp_path):
    out = tmp_path / "dsb"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_GENERATION.format(out=str(out))], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    (leftover,) = tmp_path.iterdir()
    assert partial_pattern("dsb").match(leftover.name) and leftover.is_dir()  # what a kill leaves
    root = generate_sample_data("dsb", out, num_images=2)
    assert [p.name for p in tmp_path.iterdir()] == ["dsb"] and any(root.iterdir())
