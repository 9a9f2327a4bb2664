"""Route network outputs by task: the channels of one head of a multi-head output, or one output key per task.

The metadata-SE paper's task switch (Plutenko et al., section 3.3) gives every sample a task (e.g. ``mask_type`` =
``nuclei`` or ``anomaly``). A multi-head network (:class:`~metaseg_monai.networks.MultiHeadUNet`) predicts all tasks
at once; :class:`SelectHeadd` keeps the head of the sample's task, so that it is scored on the same rows as a
single-head, metadata-switched network. :class:`RouteByTaskd` moves a prediction to a per-task key, so that a saver per
task can name its files after the task (one image listed once per task would otherwise overwrite its own mask).
:class:`ClassIndexLabeld` turns a sample's binary label into the class index of its task, for a multi-class network
trained on data where each sample is labelled for its own task only (the FiLM paper's multi-class baseline), and
:class:`ForegroundOfTaskd` turns that network's one-hot output back into the binary mask of the sample's task, so that
it is scored like a network that draws one task at a time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from monai.config import KeysCollection
from monai.transforms import MapTransform

from metaseg_monai.transforms.metadata import sample_id_of

__all__ = ["ClassIndexLabeld", "ForegroundOfTaskd", "RouteByTaskd", "SelectHeadd", "task_of"]


def _check_tasks(tasks: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tasks, str):
        raise ValueError(f"tasks must be a list of task names, got the string {tasks!r}.")
    names = tuple(str(t) for t in tasks)
    if not names or len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise ValueError(f"tasks must be unique, non-empty names, got {list(names)}.")
    return names


def task_of(data: Mapping[Hashable, Any], task_key: Hashable, tasks: Sequence[str], id_key: Hashable = "image") -> int:
    """The index in ``tasks`` of the sample's task ``data[task_key]`` (a string, matched after ``str().strip()``).

    Raises:
        KeyError: the sample has no ``task_key``. ValueError: its task is not one of ``tasks``.
    """
    if task_key not in data:
        raise KeyError(
            f"sample {sample_id_of(data, id_key)!r}: task field {task_key!r} is missing; keys present: "
            f"{sorted(map(str, data))}."
        )
    value = data[task_key]
    # a one-item list or tuple is what a collated-then-decollated string may look like
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    name = str(value).strip()
    if name not in tasks:
        raise ValueError(
            f"sample {sample_id_of(data, id_key)!r}: field {task_key!r} has value {value!r}; expected one of "
            f"{list(tasks)}."
        )
    return tasks.index(name)


class _TaskTransform(MapTransform):
    """A dictionary transform whose work depends on each sample's task ``d[task_key]``, one of ``tasks``."""

    def __init__(
        self,
        keys: KeysCollection,
        task_key: str,
        tasks: Sequence[str],
        id_key: Hashable = "image",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.task_key, self.tasks, self.id_key = task_key, _check_tasks(tasks), id_key

    def task_index(self, d: Mapping[Hashable, Any]) -> int:
        return task_of(d, self.task_key, self.tasks, self.id_key)


class SelectHeadd(_TaskTransform):
    """Keep, in each of ``keys``, only the channels of the head that belongs to the sample's task.

    For a multi-head output whose heads are concatenated along the channel axis (as
    :class:`~metaseg_monai.networks.MultiHeadUNet` returns them), ``d[key]`` of shape
    ``(sum(head_channels), *spatial)`` becomes ``(head_channels[i], *spatial)`` with ``i`` the index of
    ``d[task_key]`` in ``tasks``. Use it in an evaluator's post-processing (after decollation, so one sample a dict).
    A ``MetaTensor`` keeps its metadata. The input dict is not modified; a shallow copy is returned.

    Args:
        keys: keys of the channel-first outputs to cut, e.g. ``"pred"``.
        task_key: data key naming each sample's task, e.g. ``"mask_type"``.
        tasks: the task of each head, in head order, e.g. ``["nuclei", "anomaly"]``.
        head_channels: channels of each head, in the same order; default 1 per head (sigmoid heads).
        id_key: data key used to name the sample in error messages.
        allow_missing_keys: skip keys that are absent.

    Raises:
        KeyError: a sample without ``task_key``. ValueError: an unknown task, or an output whose channel count is
        not ``sum(head_channels)``.
    """

    def __init__(
        self,
        keys: KeysCollection,
        task_key: str,
        tasks: Sequence[str],
        head_channels: Sequence[int] | None = None,
        id_key: Hashable = "image",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, task_key, tasks, id_key, allow_missing_keys)
        channels = [1] * len(self.tasks) if head_channels is None else [int(c) for c in head_channels]
        if len(channels) != len(self.tasks) or min(channels) < 1:
            raise ValueError(
                f"head_channels must give one positive width per task {list(self.tasks)}, got {list(channels)}."
            )
        starts = [sum(channels[:i]) for i in range(len(channels))]
        self.head_slices = [slice(s, s + c) for s, c in zip(starts, channels, strict=True)]
        self.total_channels = sum(channels)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        head = self.task_index(d)
        for key in self.key_iterator(d):
            if d[key].shape[0] != self.total_channels:
                raise ValueError(
                    f"sample {sample_id_of(d, self.id_key)!r}: {key!r} has {d[key].shape[0]} channels (shape "
                    f"{tuple(d[key].shape)}); expected {self.total_channels}, the heads of tasks {list(self.tasks)} "
                    "concatenated along the first axis."
                )
            d[key] = d[key][self.head_slices[head]]
        return d


class RouteByTaskd(_TaskTransform):
    """Move each of ``keys`` to ``f"{key}_{task}"``, the task being the sample's ``d[task_key]``.

    E.g. ``{"pred": p, "mask_type": "anomaly"}`` becomes ``{"pred_anomaly": p, "mask_type": "anomaly"}``; then one
    ``SaveImaged(keys="pred_anomaly", output_postfix="anomaly", allow_missing_keys=True)`` per task writes each
    task's masks under their own names. The value itself is not changed. The input dict is not modified.

    Args:
        keys: keys to move, e.g. ``"pred"``.
        task_key: data key naming each sample's task.
        tasks: the allowed tasks.
        id_key: data key used to name the sample in error messages.
        allow_missing_keys: skip keys that are absent.

    Raises:
        KeyError: a sample without ``task_key``. ValueError: an unknown task, or a target key that already exists
        (it is never overwritten).
    """

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        task = self.tasks[self.task_index(d)]
        for key in self.key_iterator(d):
            target = f"{key}_{task}"
            if target in d:
                raise ValueError(
                    f"sample {sample_id_of(d, self.id_key)!r}: cannot move {key!r} to {target!r}, which already "
                    "exists; rename one of them."
                )
            d[target] = d.pop(key)
        return d


class ClassIndexLabeld(_TaskTransform):
    """Turn a binary label into the class index of the sample's task: foreground becomes ``1 + tasks.index(task)``.

    For ``tasks=["spleen", "liver", "kidney"]`` a liver scan's mask (0/1) becomes 0/2, so that a multi-class network
    (one channel per task plus background) can be trained on samples that each carry one task's label, the others
    left as background (the FiLM paper's multi-class U-Net on missing labels). MONAI's ``MapLabelValued`` maps by one
    table for every sample; here the value comes from each sample's metadata. The input dict is not modified.

    Args:
        keys: label keys, binary masks (0/1 or bool) of any shape.
        task_key: data key naming each sample's task, e.g. ``"organ"``.
        tasks: the tasks in class order (class 1 is ``tasks[0]``).
        id_key: data key used to name the sample in error messages.
        allow_missing_keys: skip keys that are absent.

    Raises:
        KeyError: a sample without ``task_key``. ValueError: an unknown task, or a label with values other than 0/1.
    """

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        index = 1 + self.task_index(d)
        for key in self.key_iterator(d):
            label = d[key]
            if ((label != 0) & (label != 1)).any():
                raise ValueError(
                    f"sample {sample_id_of(d, self.id_key)!r}: {key!r} must be a binary mask (0/1) to become class "
                    f"{index} ({self.tasks[index - 1]}); found other values."
                )
            d[key] = label * index
        return d


class ForegroundOfTaskd(_TaskTransform):
    """Reduce a multi-class one-hot map to the two-channel one-hot mask of the sample's task's class.

    ``d[key]`` of shape ``(1 + len(tasks), *spatial)`` (background, then one channel per task, e.g. after
    ``AsDiscreted(argmax=True, to_onehot=4)``) becomes ``(2, *spatial)``: channel 1 is the channel of class
    ``1 + tasks.index(d[task_key])``, channel 0 its complement. Other classes count as background, as the label of a
    scan annotated for one organ has them. A ``MetaTensor`` keeps its metadata; the input dict is not modified.

    Args:
        keys: keys of the one-hot maps (``"pred"``, and ``"label"`` when it is one-hot too).
        task_key, tasks, id_key, allow_missing_keys: as :class:`ClassIndexLabeld`.

    Raises:
        KeyError: a sample without ``task_key``. ValueError: an unknown task, or a map whose channel count is not
        ``1 + len(tasks)``.
    """

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        index = 1 + self.task_index(d)
        for key in self.key_iterator(d):
            value = d[key]
            if value.shape[0] != 1 + len(self.tasks):
                raise ValueError(
                    f"sample {sample_id_of(d, self.id_key)!r}: {key!r} has {value.shape[0]} channels (shape "
                    f"{tuple(value.shape)}); expected {1 + len(self.tasks)}, background then {list(self.tasks)}."
                )
            foreground = value[index : index + 1]
            d[key] = _stack_channels(1 - foreground, foreground)
        return d


def _stack_channels(*channels: Any) -> Any:
    """Concatenate ``(1, *spatial)`` tensors or arrays along the channel axis, keeping a tensor's type."""
    import numpy as np
    import torch

    if isinstance(channels[0], torch.Tensor):
        return torch.cat(channels, dim=0)
    return np.concatenate(channels, axis=0)
