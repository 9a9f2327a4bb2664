import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("network", ["metaunet", "basicunet"])
def test_conditioning_overhead_quick_run_prints_every_ratio(tmp_path, network):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "conditioning_overhead.py"),
            "--quick",
            "--network",
            network,
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
    assert "train_ratio" in out and f"network={network}" in out
    results = json.loads((tmp_path / "o.json").read_text())["results"]
    assert [r["dims"] for r in results] == [2, 3]
    for result in results:
        ratios = {row["conditioning"]: row["train_ratio"] for row in result["rows"]}
        assert ratios["none"] == 1.0 and all(r > 0 for r in ratios.values())
