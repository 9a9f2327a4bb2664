"""Small predicates shared by argument checks, so that each caller keeps its own error message."""

from __future__ import annotations

from typing import Any

__all__ = ["is_int_at_least"]


def is_int_at_least(value: Any, minimum: int) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``, which is one in Python) and ``>= minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
