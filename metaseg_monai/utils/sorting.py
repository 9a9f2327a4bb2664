"""Natural sort order: embedded numbers compared by value, so that ``case_2`` comes before ``case_10``."""

from __future__ import annotations

import re

__all__ = ["natural_key"]


def natural_key(text: str) -> list:
    """Sort key ordering embedded numbers by value: ``spleen_2`` before ``spleen_10``, ``sub-2`` before ``sub-10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]
