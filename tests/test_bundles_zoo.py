"""Model Zoo checks that every bundle under bundles/ must pass: files, metadata schemas, config consistency."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from bundle_support import BUNDLE_NAMES, BUNDLES, IGNORE_DEPRECATED_PACKAGES, SCHEMA_MD5, SCHEMAS
from monai.bundle import ConfigParser, verify_metadata

from metaseg_monai.transforms import MetadataSpec

pytestmark = IGNORE_DEPRECATED_PACKAGES

REQUIRED_FILES = (
    "LICENSE",
    "docs/README.md",
    "configs/metadata.json",
    "configs/train.json",
    "configs/evaluate.json",
    "configs/inference.json",
    "configs/multi_gpu_train.json",
    "configs/logging.conf",
)
# every bundle accepts these as overrides (the comparison runner relies on them)
COMMON_IDS = ("dataset_dir", "output_dir", "epochs", "conditioning", "metadata_mode", "seed", "device", "progress_bar")


def test_the_four_paper_bundles_exist():
    expected = {
        "annotation_styles_nuclei_segmentation",
        "cell_lines_nuclei_segmentation",
        "kits21_tumor_size_segmentation",
        "nuclei_anomaly_segmentation",
    }
    assert expected <= set(BUNDLE_NAMES)


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_required_files(bundle):
    missing = [name for name in REQUIRED_FILES if not (BUNDLES / bundle / name).is_file()]
    assert missing == []


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
@pytest.mark.parametrize("schema", sorted(SCHEMA_MD5))
def test_metadata_valid_against_schema(bundle, schema, tmp_path):
    if not (SCHEMAS / schema).is_file():
        pytest.skip(f"offline schema copy {SCHEMAS / schema} not available")
    local = tmp_path / schema
    shutil.copy(SCHEMAS / schema, local)  # pre-placed: verify_metadata skips the download
    meta_file = BUNDLES / bundle / "configs" / "metadata.json"
    verify_metadata(meta_file=str(meta_file), filepath=str(local), hash_val=SCHEMA_MD5[schema])
    meta = json.loads(meta_file.read_text())
    assert meta["version"] in meta["changelog"]
    assert set(meta["optional_packages_version"]) == set(meta["required_packages_version"])


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_configs_are_formatted_and_agree(bundle):
    configs = BUNDLES / bundle / "configs"
    for path in [*sorted(configs.glob("*.json")), BUNDLES / bundle / "models" / "metadata_spec.json"]:
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=4) + "\n", f"{path.name} is not formatted with indent=4"
    train = json.loads((configs / "train.json").read_text())
    infer = json.loads((configs / "inference.json").read_text())
    assert [i for i in COMMON_IDS if i not in train] == []
    assert train["metadata_fields"] == infer["metadata_fields"]
    assert train["network_def"] == infer["network_def"]
    # the spec shipped beside the weights is the one training writes for these fields
    spec = json.loads((BUNDLES / bundle / "models" / "metadata_spec.json").read_text())
    assert spec == {"fields": MetadataSpec(train["metadata_fields"]).to_config()}
    meta = json.loads((configs / "metadata.json").read_text())
    fmt = meta["network_data_format"]
    # network_def is a definition, or (the cell-lines bundle's network_family) an expression choosing among *_def ids
    definitions = [train["network_def"]] if isinstance(train["network_def"], dict) else []
    definitions += [v for k, v in train.items() if k.endswith("_def") and k != "network_def" and isinstance(v, dict)]
    assert definitions, "no network definition"
    for definition in definitions:
        out_channels = definition.get("out_channels", definition.get("network", {}).get("out_channels"))
        assert fmt["outputs"]["pred"]["num_channels"] == out_channels, definition["_target_"]


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_every_reference_resolves(bundle):
    """train.json layered with each other config names only ids that exist (a typo'd @ref fails here, not in use)."""
    configs = BUNDLES / bundle / "configs"
    layers = [["train.json"], ["train.json", "evaluate.json"], ["train.json", "multi_gpu_train.json"]]
    layers += [["inference.json"]] + [["train.json", p.name] for p in sorted(configs.glob("*.json")) if _overlay(p)]
    for files in layers:
        parser = ConfigParser()
        parser.read_config([str(configs / f) for f in files])
        parser.read_meta(str(configs / "metadata.json"))
        refs = set(re.findall(r"[@%]([A-Za-z_][\w#]*)", json.dumps(parser.get())))
        missing = sorted(r for r in refs if r not in parser and r.split("#")[0] not in ("meta_file",))
        assert missing == [], files


def _overlay(path: Path) -> bool:
    return path.name not in {
        "train.json",
        "evaluate.json",
        "inference.json",
        "multi_gpu_train.json",
        "metadata.json",
    }


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_multi_gpu_config(bundle):
    configs = BUNDLES / bundle / "configs"
    parser = ConfigParser()
    parser.read_config([str(configs / "train.json"), str(configs / "multi_gpu_train.json")])
    assert parser["network"]["_target_"] == "torch.nn.parallel.DistributedDataParallel"
    assert parser["train#dataloader#sampler"] == "@train#sampler" and parser["train#dataloader#shuffle"] is False
    assert parser["device"] == "$metaseg_monai.bundle.distributed_device()"
    assert parser["network"]["device_ids"] == "$metaseg_monai.bundle.ddp_device_ids(@device)"
    # ranks above 0 drop the reporting handlers by type (tests/test_distributed.py runs it under torchrun)
    assert parser["train#trainer#train_handlers"] == "$metaseg_monai.bundle.handlers_for_rank(@train#handlers)"
    assert parser["validate#evaluator#val_handlers"] == "$metaseg_monai.bundle.handlers_for_rank(@validate#handlers)"
    # every rank waits for the others (rank 0 still saving) before gloo's connections close: a rank leaving early
    # once aborted with "terminate called without an active exception"
    assert parser["finalize"] == [
        "$dist.is_initialized() and dist.barrier()",
        "$dist.is_initialized() and dist.destroy_process_group()",
    ]


@pytest.mark.parametrize("bundle", BUNDLE_NAMES)
def test_train_handlers_are_inline_components(bundle):
    # MONAI's check_properties and MONAI Label read train#handlers as a list of component dicts, not references
    handlers = json.loads((BUNDLES / bundle / "configs" / "train.json").read_text())["train"]["handlers"]
    assert all(isinstance(h, dict) and "_target_" in h for h in handlers)
