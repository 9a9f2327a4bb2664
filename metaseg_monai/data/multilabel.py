"""Join a task-switch datalist (one row per image and task) into a multilabel one (one sample per image).

A task-switch table lists an image once per mask it has, e.g. ``mask_type`` = ``nuclei`` and ``anomaly`` (the
metadata-SE paper's section 3.3). A multi-head network, trained on all tasks at once, needs one sample per image with
every task's label: only the images that have all of them (the paper's "multilabel subset").
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

__all__ = ["multilabel_datalist", "task_label_keys"]


def task_label_keys(label_key: str, tasks: Sequence[str]) -> list[str]:
    """The keys under which :func:`multilabel_datalist` puts each task's label: ``label_nuclei``, ``label_anomaly``."""
    return [f"{label_key}_{task}" for task in tasks]


def _where(item: Mapping[Hashable, Any]) -> str:
    return f"row {item['row']}" if "row" in item else "a row"


def multilabel_datalist(
    datalist: Sequence[Mapping[Hashable, Any]],
    task_key: str = "mask_type",
    tasks: Sequence[str] = ("nuclei", "anomaly"),
    label_key: str = "label",
    image_key: str = "image",
) -> list[dict]:
    """One sample per image that has a label for every task, in order of first appearance.

    ``[{"image": a, "label": n, "mask_type": "nuclei", "split": "train", "cell_line": "HeLa", "row": 1},
    {"image": a, "label": m, "mask_type": "anomaly", ...}]`` becomes
    ``[{"image": a, "label_nuclei": n, "label_anomaly": m, "split": "train", "cell_line": "HeLa"}]``: each task's
    label under ``f"{label_key}_{task}"``; every other field (other than ``row``, the table row index of
    :func:`~metaseg_monai.data.load_table_dataset`) must agree between an image's rows and is kept once. Images that
    lack a task are left out.

    Args:
        datalist: rows such as :func:`~metaseg_monai.data.load_table_dataset` returns.
        task_key: field naming each row's task.
        tasks: the tasks every kept image must have; rows of other tasks are an error.
        label_key, image_key: fields holding each row's label and image.

    Raises:
        ValueError: a row lacks a field or has an unknown task, an image has two rows of one task, an image's rows
        disagree on another field, or no image has every task. Errors name the rows.
    """
    if isinstance(tasks, str) or not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must be a list of unique task names, got {tasks!r}.")
    tasks = [str(t) for t in tasks]
    by_image: dict[Any, dict[str, Mapping[Hashable, Any]]] = {}
    for item in datalist:
        missing = [k for k in (image_key, label_key, task_key) if k not in item]
        if missing:
            raise ValueError(
                f"multilabel_datalist: {_where(item)} lacks field(s) {missing}; found {sorted(map(str, item))}."
            )
        task = str(item[task_key]).strip()
        if task not in tasks:
            raise ValueError(
                f"multilabel_datalist: {_where(item)} ({item[image_key]}) has {task_key}={item[task_key]!r}; "
                f"expected one of {tasks}."
            )
        rows = by_image.setdefault(item[image_key], {})
        if task in rows:
            raise ValueError(
                f"multilabel_datalist: image '{item[image_key]}' has two {task_key}={task!r} rows "
                f"({_where(rows[task])} and {_where(item)}); expected one label per task."
            )
        rows[task] = item
    samples = []
    for image, rows in by_image.items():
        if len(rows) < len(tasks):
            continue
        first = rows[tasks[0]]
        sample = {k: v for k, v in first.items() if k not in (label_key, task_key, "row")}
        for task in tasks[1:]:
            other = {k: v for k, v in rows[task].items() if k not in (label_key, task_key, "row")}
            if other != sample:
                differ = sorted(str(k) for k in set(sample) | set(other) if sample.get(k) != other.get(k))
                raise ValueError(
                    f"multilabel_datalist: the rows of image '{image}' ({_where(first)} and {_where(rows[task])}) "
                    f"disagree on {differ}; an image's rows may differ only in {label_key!r} and {task_key!r}."
                )
        clash = sorted(k for k in task_label_keys(label_key, tasks) if k in sample)
        if clash:
            raise ValueError(f"multilabel_datalist: the rows of image '{image}' already have field(s) {clash}.")
        sample.update(dict(zip(task_label_keys(label_key, tasks), (rows[t][label_key] for t in tasks), strict=True)))
        samples.append(sample)
    if not samples:
        raise ValueError(
            f"multilabel_datalist: none of the {len(by_image)} images has a row for every task {tasks}; the "
            "multilabel subset is empty."
        )
    return samples
