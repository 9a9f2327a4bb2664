"""One check of a bundle workflow's common settings before any work starts (``initialize`` of every config).

Each config gathers the ids every bundle shares into a ``settings`` section and its ``initialize`` calls
:func:`check_settings` on it, so a wrong override fails at once with the id, what was expected and what was found,
before a dataset is read or cached, or a file written; then :func:`check_datalists` reads every split the workflow
uses (the config's ``datalists`` section) so that bad data fails before training rather than after it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from metaseg_monai.bundle.preflight import check_metadata_width, check_output_dir
from metaseg_monai.data import check_readable, command_line_metadata
from metaseg_monai.handlers import SPEC_FILENAME, existing_report_files
from metaseg_monai.networks import CONDITIONINGS
from metaseg_monai.optimizers import CYCLIC_MODES
from metaseg_monai.transforms import ENCODE_MODES, MetadataSpec, sample_id_of
from metaseg_monai.utils import read_json
from metaseg_monai.utils.checks import is_int_at_least

__all__ = ["TRAIN_MODES", "WORKFLOWS", "check_datalists", "check_settings", "check_trained_spec"]

WORKFLOWS = ("train", "evaluate", "infer")
TRAIN_MODES = ("true", "dummy")  # the metadata modes training and inference accept ("swap" is for evaluation)


class _Checker:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings
        self.where = settings.get("config_file", "the bundle config")

    def fail(self, key: str, expected: str, found: Any) -> None:
        raise ValueError(f"{self.where}: {key} must be {expected}, got {found!r}.")

    def choice(self, key: str, choices: Sequence[Any]) -> None:
        if key in self.settings and self.settings[key] not in choices:
            self.fail(key, f"one of {list(choices)}", self.settings[key])

    def integer(self, key: str, minimum: int) -> None:
        value = self.settings.get(key, minimum)
        if not is_int_at_least(value, minimum):
            self.fail(key, f"an integer >= {minimum}", value)

    def boolean(self, key: str) -> None:
        if key in self.settings and not isinstance(self.settings[key], bool):
            self.fail(key, "true or false", self.settings[key])


def _check_device(checker: _Checker, device: Any) -> None:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        checker.fail("device", "a torch device such as 'cpu' or 'cuda:0'", device)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            available = ["cpu"] + [f"cuda:{i}" for i in range(count)]
            raise ValueError(
                f"{checker.where}: 'device' is {str(device)!r}, but this machine has no such CUDA device (torch "
                f"{torch.__version__}, CUDA {'available' if count else 'not available'}); available: {available}. "
                "Pass --device cpu, or install a CUDA build of torch on a GPU machine."
            )


def _sample_name(item: Mapping[str, Any], default: str) -> str:
    """How an error names a sample: its path or id (a KiTS slice holds its pixels under ``image``, not a path)."""
    names = (sample_id_of(item, key) for key in ("image", "slice_id", "case_id"))
    return next((n for n in names if n != sample_id_of({})), default)


def check_trained_spec(checkpoint: str | os.PathLike, spec: MetadataSpec, where: str = "") -> None:
    """Compare the metadata spec a checkpoint was trained with (``metadata_spec.json`` beside it) with ``spec``.

    Raises:
        ValueError: the widths or the encodings differ (fields, categories, a continuous field's scaling); names both.
    """
    path = Path(checkpoint).with_name(SPEC_FILENAME)
    if not path.is_file():
        return  # weights from elsewhere: the network's own shape check is all there is
    trained = MetadataSpec.from_config(read_json(path, "the metadata spec the checkpoint was trained with"))
    where = where or "the config"
    if trained.feature_names != spec.feature_names:
        raise ValueError(
            f"{where}: the checkpoint '{checkpoint}' expects metadata width {trained.num_features} "
            f"({', '.join(trained.feature_names)}), the config gives {spec.num_features} "
            f"({', '.join(spec.feature_names)}); use the metadata_fields it was trained with ({path})."
        )
    if _encoding(trained) != _encoding(spec):  # same width, but a value would be scaled otherwise than in training
        raise ValueError(
            f"{where}: the checkpoint '{checkpoint}' was trained with the metadata encoding {_encoding(trained)}, the "
            f"config gives {_encoding(spec)}; use the metadata_fields it was trained with ({path})."
        )


def _encoding(spec: MetadataSpec) -> list[dict[str, Any]]:
    """How a spec turns values into the vector (the valid range only refuses values, so it is left out)."""
    return [{k: v for k, v in field.items() if k not in ("valid_min", "valid_max")} for field in spec.to_config()]


def check_settings(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """Check a workflow's common settings; returns them unchanged.

    ``settings["workflow"]`` is ``train``, ``evaluate`` or ``infer``; the other keys are the bundle's ids:
    ``dataset_dir``, ``output_dir``, ``epochs``, ``val_interval``, ``conditioning``, ``metadata_mode``, ``seed``,
    ``device``, ``progress_bar``, ``batch_size``, ``num_workers``, ``lr_mode``, ``network_family``, ``network_def``
    (its metadata width is compared with the spec's), ``metadata_spec``, and per workflow ``checkpoint`` (checked unless
    ``load_pretrain`` is false), ``eval_dir``/``eval_overwrite`` (evaluate),
    ``metadata`` (command-line metadata, infer) and ``output_overwrite`` (infer). Absent keys are not checked.

    Raises:
        ValueError: the first bad setting, naming the id, what was expected and what was found.
        FileNotFoundError: no dataset folder, or no trained model to evaluate or infer with.
    """
    checker = _Checker(settings)
    workflow = settings.get("workflow")
    if workflow not in WORKFLOWS:
        checker.fail("workflow", f"one of {list(WORKFLOWS)}", workflow)
    checker.choice("conditioning", CONDITIONINGS)
    checker.choice("lr_mode", CYCLIC_MODES)
    # the cell-lines bundle: its MetaUNet, or MONAI's BasicUNet wrapped by MetadataConditioned
    checker.choice("network_family", ("metaunet", "basicunet"))
    checker.choice("stage", (0, 1))  # the Siamese-consistency bundle: supervised warm-up, then consistency
    checker.choice("metadata_mode", ENCODE_MODES if workflow == "evaluate" else TRAIN_MODES)
    for key in ("epochs", "val_interval", "batch_size"):
        checker.integer(key, 1)
    for key in ("seed", "num_workers"):
        checker.integer(key, 0)
    for key in ("progress_bar", "eval_overwrite", "output_overwrite"):
        checker.boolean(key)
    if "val_interval" in settings and settings["val_interval"] > settings.get("epochs", settings["val_interval"]):
        raise ValueError(
            f"{checker.where}: val_interval={settings['val_interval']} exceeds epochs={settings['epochs']}: no "
            "validation would run and no best model would be saved; set val_interval <= epochs."
        )
    if "device" in settings:
        _check_device(checker, settings["device"])
    dataset_dir = settings.get("dataset_dir")
    if dataset_dir is not None and not Path(dataset_dir).is_dir():
        raise FileNotFoundError(f"{checker.where}: 'dataset_dir' {str(dataset_dir)!r} is not a folder.")
    for key in ("output_dir", "eval_dir"):
        if settings.get(key) is not None and dataset_dir is not None:
            check_output_dir(settings[key], dataset_dir, key)
    spec = MetadataSpec.from_config(settings.get("metadata_spec", []))
    if "network_def" in settings:
        check_metadata_width(settings["network_def"], spec.num_features, checker.where)
    checkpoint = settings.get("checkpoint") if settings.get("load_pretrain", True) else None
    if checkpoint is not None:
        if not Path(checkpoint).is_file():
            option = settings.get("checkpoint_id", "the checkpoint id")
            raise FileNotFoundError(
                f"{checker.where}: no trained model at '{checkpoint}' (--{option}). Train one first: python -m "
                "monai.bundle run --config_file configs/train.json --bundle_root BUNDLE --output_dir OUT (it writes "
                f"OUT/models/model.pt and metadata_spec.json beside it), then pass --{option} OUT/models/model.pt."
            )
        check_trained_spec(checkpoint, spec, checker.where)
    if workflow == "evaluate" and settings.get("eval_dir") is not None and not settings.get("eval_overwrite", False):
        done = existing_report_files(settings["eval_dir"])
        if done:
            raise FileExistsError(
                f"{checker.where}: '{settings['eval_dir']}' already holds an evaluation report ({done[0].name}, "
                f"{len(done)} files); pass --eval_overwrite True to replace it, or --eval_dir another folder."
            )
    if workflow == "infer":
        given = command_line_metadata(settings.get("metadata"))
        if given is not None:
            # a list gives several values, each run in turn (e.g. one mask per organ): every one must encode
            choices = [v if isinstance(v, list | tuple) else [v] for v in given.values()]
            for values in itertools.product(*choices):
                spec.encode(dict(zip(given, values, strict=True)), "metadata given on the command line")
        out = settings.get("output_dir")
        if out is not None and Path(out).is_dir() and any(Path(out).iterdir()):
            if not settings.get("output_overwrite", False):
                raise FileExistsError(
                    f"{checker.where}: output_dir '{out}' already holds files; choose a new folder, or pass "
                    "--output_overwrite True to write masks over those of the same names."
                )
    return settings


def check_datalists(datalists: Mapping[str, Any], settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """Read every split a workflow will use before any work starts, after :func:`check_settings` passed.

    ``datalists`` maps split name to datalist (the config's ``datalists`` section; referencing them runs the
    readers, which check files, shapes and tables). Here each sample's metadata is also encoded (unless
    ``metadata_mode`` is ``dummy``, or ``settings["metadata_encoded"]`` is false: a network that reads none, such as
    the two-heads baseline, whose training samples carry no mask type), so a bad row of the test split fails
    before training, not after it; the splits the workflow cannot do without (train and val, test, the inference
    inputs) must not be empty, and inference inputs must be readable images, so that no mask is written before a
    bad file stops the run.

    Raises:
        ValueError: an empty required split, or a sample's metadata that does not encode (naming the sample).
        FileNotFoundError: an inference input is missing.
    """
    checker = _Checker(settings)
    workflow = settings.get("workflow")
    spec = MetadataSpec.from_config(settings.get("metadata_spec", []))
    required = {"train": ("train", "val"), "evaluate": ("test",), "infer": ("infer",)}.get(workflow, ())
    encode = settings.get("metadata_encoded", True) and settings.get("metadata_mode", "true") != "dummy"
    for name, items in datalists.items():
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            checker.fail(f"datalists#{name}", "a list of samples", type(items).__name__)
        if name in required and len(items) == 0:
            raise ValueError(
                f"{checker.where}: the {name} data is empty (dataset_dir {settings.get('dataset_dir')!r})."
            )
        for index, item in enumerate(items):
            where = _sample_name(item, f"{name} sample {index}")
            if encode:
                spec.encode(item, where)
            if name == "infer":  # an image may be a list of co-registered files (the channels)
                for path in item["image"] if isinstance(item["image"], list | tuple) else [item["image"]]:
                    check_readable(path, "inference input")
    return datalists
