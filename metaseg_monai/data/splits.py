"""A deterministic train/val/test split of cases, so that samples taken from one case (e.g. its slices) share a split.

Datasets such as KiTS21 come without a split. :func:`split_cases` assigns whole cases by their ids: each id is ranked
by a hash of ``(seed, id)``, and the ranking is cut by the fractions. The result depends only on the set of ids, the
fractions and the seed (not on the order the ids are listed in, the platform or ``PYTHONHASHSEED``), so a training
run and a later evaluation or inference run agree on which cases are the test cases.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SPLIT_NAMES", "rank_cases", "select_split", "split_cases"]

SPLIT_NAMES = ("train", "val", "test")


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    if isinstance(fractions, str | bytes) or not isinstance(fractions, Sequence) or len(fractions) != len(SPLIT_NAMES):
        raise ValueError(f"split fractions must be 3 numbers for {list(SPLIT_NAMES)}, got {fractions!r}.")
    values = []
    for name, value in zip(SPLIT_NAMES, fractions, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"split fraction of {name!r} must be a finite number >= 0, got {value!r}.")
        values.append(float(value))
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"split fractions {list(fractions)} for {list(SPLIT_NAMES)} must sum to 1, sum {sum(values)}.")
    return tuple(values)


def _split_sizes(n: int, fractions: tuple[float, ...]) -> list[int]:
    """Cases per split: largest remainders of ``n * fraction``; every positive fraction gets a case if n allows."""
    raw = [f * n for f in fractions]
    sizes = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - sizes[i]), i))
    for i in by_remainder[: n - sum(sizes)]:
        sizes[i] += 1
    positive = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(positive):
        for i in positive:
            if sizes[i] == 0:  # a split asked for but rounded away (few cases): take one from the largest split
                sizes[max(range(len(sizes)), key=lambda j: sizes[j])] -= 1
                sizes[i] = 1
    return sizes


def _rank_key(seed: int, case_id: str) -> str:
    return hashlib.sha256(f"{seed}:{case_id}".encode()).hexdigest()


def rank_cases(case_ids: Iterable[Hashable], seed: int = 0) -> list[str]:
    """The distinct case ids (as strings) in the random order ``seed`` gives them, the order :func:`split_cases`
    cuts into train, val and test; the same ids and seed always give the same order."""
    return sorted({str(c) for c in case_ids}, key=lambda c: _rank_key(seed, c))


def split_cases(
    case_ids: Iterable[Hashable], fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0
) -> dict[str, list[str]]:
    """Assign every case to ``train``, ``val`` or ``test``, deterministically by case id.

    Args:
        case_ids: the cases' ids (e.g. ``"case_00003"``); repeated ids count once; ids are compared as strings.
        fractions: shares of the cases for ``(train, val, test)``, each >= 0, summing to 1. Counts are the largest
            remainders of ``fraction * n``; a split with a positive fraction gets at least one case when there are
            enough cases (16 cases with ``(0.6, 0.2, 0.2)``: 10 / 3 / 3).
        seed: changes the assignment; the same ids, fractions and seed always give the same split.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each list of ids sorted.

    Raises:
        ValueError: bad fractions or seed, or no case ids.
    """
    fractions = _check_fractions(fractions)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"split seed must be an integer, got {seed!r}.")
    ids = sorted({str(c) for c in case_ids})
    if not ids:
        raise ValueError("cannot split: no case ids given.")
    ranked = rank_cases(ids, seed)
    split: dict[str, list[str]] = {}
    start = 0
    for name, size in zip(SPLIT_NAMES, _split_sizes(len(ranked), fractions), strict=True):
        split[name] = sorted(ranked[start : start + size])
        start += size
    return split


def select_split(
    datalist: Sequence[Mapping[str, Any]],
    split: str,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    key: str = "case_id",
    stratify_key: str | None = None,
) -> list[dict]:
    """The items of ``datalist`` whose case falls in ``split`` under :func:`split_cases` (items keep their order).

    Several items of one case (e.g. the slices of a volume) always land in the same split. With ``stratify_key``
    the cases of each value of that key (a tumour type, an organ) are split on their own, so that every split holds
    each value in the same proportions (the FiLM paper's "evenly separated" groups).

    Args:
        datalist: dicts that each hold the case id under ``key`` (e.g. from ``load_kits21``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        fractions, seed: as :func:`split_cases`; use the same values for every split of one experiment.
        key: the item key holding the case id.
        stratify_key: the item key of the group to split within (one value per case), or ``None``.

    Raises:
        ValueError: unknown split, an item without ``key`` (or ``stratify_key``), a case with two group values, or
            the split has no case (too few cases or a zero fraction); the message gives the case counts.
    """
    if split not in SPLIT_NAMES:
        raise ValueError(f"split must be one of {list(SPLIT_NAMES)}, got {split!r}.")
    for position, item in enumerate(datalist):
        if key not in item:
            raise ValueError(f"datalist item {position} has no {key!r} to split by; keys: {sorted(map(str, item))}.")
    if stratify_key is None:
        cases = split_cases((item[key] for item in datalist), fractions, seed)
    else:
        groups: dict[str, str] = {}
        for position, item in enumerate(datalist):
            if stratify_key not in item:
                raise ValueError(f"datalist item {position} has no {stratify_key!r} to stratify the split by.")
            case, group = str(item[key]), str(item[stratify_key])
            if groups.setdefault(case, group) != group:
                raise ValueError(f"case {case!r} has two {stratify_key!r} values, {groups[case]!r} and {group!r}.")
        cases = {name: [] for name in SPLIT_NAMES}
        for group in sorted(set(groups.values())):
            part = split_cases([c for c, g in groups.items() if g == group], fractions, seed)
            for name in SPLIT_NAMES:
                cases[name] = sorted(cases[name] + part[name])
    chosen = set(cases[split])
    if not chosen:
        counts = {name: len(ids) for name, ids in cases.items()}
        raise ValueError(
            f"split {split!r} has no case: {sum(counts.values())} cases with fractions {list(fractions)} give "
            f"{counts}; use more cases or other fractions."
        )
    return [dict(item) for item in datalist if str(item[key]) in chosen]
