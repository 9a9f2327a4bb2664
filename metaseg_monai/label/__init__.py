"""Serving the bundles with MONAI Label, with each request's metadata (``metaseg label app`` / ``serve``).

:mod:`~metaseg_monai.label.app_writer` and :mod:`~metaseg_monai.label.request_metadata` need no MONAI Label;
:mod:`~metaseg_monai.label.infer_task` and :mod:`~metaseg_monai.label.label_app` run inside its server and import it.
"""

from metaseg_monai.label.app_writer import SERVER_ENV, parse_bundle_names, serve, server_command, write_app
from metaseg_monai.label.request_metadata import (
    MetadataRequestError,
    accepted_values,
    check_request_metadata,
    describe_fields,
)

__all__ = [
    "SERVER_ENV",
    "MetadataRequestError",
    "accepted_values",
    "check_request_metadata",
    "describe_fields",
    "parse_bundle_names",
    "serve",
    "server_command",
    "write_app",
]
