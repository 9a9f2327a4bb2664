"""Writes that a kill never leaves half-done: a file renamed into place, a dataset folder renamed into place.

:func:`atomic_path` writes to a temporary file beside the target and renames it into place, and never overwrites an
existing file unless asked; :func:`writes_dataset` does the same for a whole folder written by one function.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "writes_dataset"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"'{target}' exists; refusing to overwrite it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # keep the full suffix (e.g. .nii.gz) so that writers choosing a format by name still see it
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def writes_dataset(out_arg: str = "out_dir") -> Callable[[Callable[..., Path]], Callable[..., Path]]:
    """Decorate a function that writes a dataset into the folder named by its ``out_arg`` argument so that it writes
    into a hidden sibling folder, renamed into place only when the function returns: a kill or an error never leaves
    a half-written dataset that a reader would take for a complete one. The function's returned path (inside the
    staging folder) is mapped to the same place inside the final folder."""

    def decorate(fn: Callable[..., Path]) -> Callable[..., Path]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Path:
            bound = signature.bind(*args, **kwargs)
            final = Path(bound.arguments[out_arg])
            # refuse a non-empty folder before any work, so no one's data is mixed or replaced; create nothing yet
            if final.exists() and (not final.is_dir() or any(final.iterdir())):
                raise FileExistsError(f"output folder '{final}' exists and is not empty; choose a new or empty folder.")
            final.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.partial-"))
            try:
                bound.arguments[out_arg] = staging
                root = Path(fn(*bound.args, **bound.kwargs))
                if final.exists():
                    final.rmdir()  # empty, checked above
                os.replace(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return final / root.relative_to(staging)

        return wrapper

    return decorate
