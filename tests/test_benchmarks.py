import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_conditioning_overhead_quick_run_prints_every_ratio(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "conditioning_overhead.py"),
            "--quick",
            "--json",
            str(tmp_path / "o.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    for conditioning in ("none", "se", "me", "sme", "film"):
        assert any(line.startswith(conditioning + " ") for line in out.splitlines()), out
    assert "train_ratio" in out and (tmp_path / "o.json").stat().st_size > 0
