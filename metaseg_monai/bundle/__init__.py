"""The bundles as things to find, copy, export and run: the shipped bundles, their settings check and contract."""

from metaseg_monai.bundle.contract import COMMON_OVERRIDES, missing_ids
from metaseg_monai.bundle.copy import bundle_files, export_bundle, init_bundle
from metaseg_monai.bundle.datalists import evaluation_datalist
from metaseg_monai.bundle.distributed import REPORTING_HANDLERS, ddp_device_ids, distributed_device, handlers_for_rank
from metaseg_monai.bundle.packaged import BundleInfo, bundle_info, list_bundles, packaged_bundles_dir, resolve_bundle
from metaseg_monai.bundle.settings import check_datalists, check_settings, check_trained_spec

__all__ = [
    "COMMON_OVERRIDES",
    "REPORTING_HANDLERS",
    "BundleInfo",
    "bundle_files",
    "bundle_info",
    "check_datalists",
    "check_settings",
    "check_trained_spec",
    "ddp_device_ids",
    "distributed_device",
    "evaluation_datalist",
    "export_bundle",
    "handlers_for_rank",
    "init_bundle",
    "list_bundles",
    "missing_ids",
    "packaged_bundles_dir",
    "resolve_bundle",
]
