"""Pre-flight checks for the bundles' workflows: a wrong override fails before training or inference starts."""

from metaseg_monai.engines.preflight import (
    check_choice,
    check_metadata_width,
    check_output_dir,
    check_validation_schedule,
)

__all__ = [
    "check_choice",
    "check_metadata_width",
    "check_output_dir",
    "check_validation_schedule",
]
