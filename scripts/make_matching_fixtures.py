"""Write tests/fixtures/stardist_matching.json: label-image pairs and what ``stardist.matching.matching`` says of them.

Run once, in an environment with ``pip install stardist`` (it imports without TensorFlow); the test suite compares
``metaseg_monai.metrics.instance_matching`` against the file and does not need StarDist.

    python scripts/make_matching_fixtures.py
"""

import json
from pathlib import Path

import numpy as np
from stardist import __version__ as stardist_version
from stardist.matching import matching

THRESHOLDS = (0.1, 0.3, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
KEYS = ("tp", "fp", "fn", "precision", "recall", "f1", "accuracy", "n_true", "n_pred", "mean_matched_score")
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stardist_matching.json"


def discs(rng: np.random.Generator, shape: tuple[int, int], n: int, r: tuple[int, int]) -> np.ndarray:
    """Up to n discs painted in order (later ones cover earlier ones), labels 1..n."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, np.int32)
    for k in range(1, n + 1):
        cy, cx = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        rad = rng.uniform(*r)
        out[(yy - cy) ** 2 + (xx - cx) ** 2 <= rad**2] = k
    return out


def perturb(rng: np.random.Generator, true: np.ndarray) -> np.ndarray:
    """A prediction: objects shifted, some dropped, some merged, a false positive or two, labels shuffled."""
    pred = np.zeros_like(true)
    ids = [i for i in np.unique(true) if i]
    perm = rng.permutation(len(ids) + 10) + 3  # non-consecutive, shuffled labels
    for j, i in enumerate(ids):
        if rng.random() < 0.15:
            continue  # missed
        dy, dx = rng.integers(-3, 4, size=2)
        pred[np.roll(np.roll(true == i, dy, 0), dx, 1)] = perm[j]
    if len(ids) >= 2 and rng.random() < 0.5:  # merge two neighbours
        pred[pred == perm[1]] = perm[0]
    fp = discs(rng, true.shape, 2, (2, 5))
    pred[(fp > 0) & (pred == 0)] = 200 + fp[(fp > 0) & (pred == 0)]
    return pred


def hand_made() -> list[tuple[str, np.ndarray, np.ndarray]]:
    cases = []
    t = np.zeros((8, 8), np.int32)
    t[0:2, 0:4] = 1  # 8 px
    p = np.zeros_like(t)
    p[0:2, 2:6] = 5  # overlap 4, union 12: IoU 1/3
    p[4:6, 0:4] = 9
    cases.append(("one third and a false positive", t, p))
    t = np.zeros((8, 8), np.int32)
    t[0:2, 0:4] = 1
    p = np.zeros_like(t)
    p[0:2, 0:2] = 2  # IoU exactly 0.5 with object 1
    p[0:2, 2:4] = 3  # IoU exactly 0.5 with object 1
    cases.append(("split in two halves, IoU exactly 0.5", t, p))
    t = np.zeros((8, 8), np.int32)
    t[0:2, 0:2], t[0:2, 2:4] = 4, 7
    p = np.zeros_like(t)
    p[0:2, 0:4] = 1
    cases.append(("two merged", t, p))
    t = np.zeros((6, 6), np.int32)
    t[1:3, 1:3] = 1
    cases.append(("prediction empty", t, np.zeros_like(t)))
    cases.append(("truth empty", np.zeros_like(t), t.copy()))
    cases.append(("both empty", np.zeros_like(t), np.zeros_like(t)))
    return cases


def main() -> None:
    rng = np.random.default_rng(2018)
    cases = hand_made()
    for k in range(10):
        true = discs(rng, (48, 48), int(rng.integers(3, 15)), (3, 8))
        cases.append((f"random {k}", true, perturb(rng, true)))
    records = []
    for name, true, pred in cases:
        stats = [matching(true, pred, thresh=t, criterion="iou") for t in THRESHOLDS]
        records.append(
            {
                "name": name,
                "true": true.tolist(),
                "pred": pred.tolist(),
                "results": [
                    {"threshold": t, **{k: float(getattr(s, k)) for k in KEYS}}
                    for t, s in zip(THRESHOLDS, stats, strict=True)
                ],
            }
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {"stardist_version": stardist_version, "thresholds": THRESHOLDS, "cases": records}
    OUT.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(records)} cases, stardist {stardist_version})")


if __name__ == "__main__":
    main()
