"""Writes that a kill never leaves half-done: a file renamed into place, a dataset folder renamed into place.

:func:`atomic_path` writes to a temporary file beside the target and renames it into place, and never overwrites an
existing file unless asked; :func:`writes_dataset` does the same for a whole folder written by one function.

Both name their temporary entry ``.NAME.partial-XXXXXXXX`` (a hidden sibling of the target ``NAME``; files keep the
target's suffixes after it, e.g. ``.case.nii.gz.partial-k3j9x0_q.nii.gz``). A kill (SIGKILL, power loss) leaves that
entry behind, since no clean-up code runs; :func:`remove_partials` deletes such leftovers, and
:func:`writes_dataset` calls it for its own target on the next run. Files and folders get the usual permissions
(``0o666`` / ``0o777`` less the umask), not the owner-only ones of :mod:`tempfile`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["PARTIAL_MARK", "atomic_path", "current_umask", "partial_pattern", "remove_partials", "writes_dataset"]

#: what sits between the target's name and the random part in the name of a temporary entry: ``.NAME.partial-XXXX``
PARTIAL_MARK = ".partial-"
# tempfile's random names: 8 characters of this alphabet
_RANDOM = r"[a-z0-9_]{8}"

logger = logging.getLogger(__name__)


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    # elsewhere the only way is to set it and set it back (not atomic with respect to other threads)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def partial_pattern(name: str | None = None) -> re.Pattern:
    """The regular expression matching temporary entries of this module's naming: those of the target ``name``
    (``.NAME.partial-XXXXXXXX`` optionally followed by suffixes), or of any target when ``name`` is None."""
    target = ".+" if name is None else re.escape(name)
    return re.compile(rf"^\.{target}{re.escape(PARTIAL_MARK)}{_RANDOM}(\.[^/]*)?$")


def remove_partials(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the leftovers of interrupted atomic writes in ``folder``: hidden files and folders named
    ``.NAME.partial-XXXXXXXX[.suffix]`` (:func:`partial_pattern`), of the target ``name`` only, or of every target
    when ``name`` is None. Nothing else is touched; a missing folder has none.

    Only call it where no write of this module is in progress into ``folder`` (at the start of a run): it cannot
    tell a leftover from a temporary entry that another process is still writing.

    Returns:
        the removed paths, sorted.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    regex = partial_pattern(name)
    removed = []
    for entry in sorted(root.iterdir()):
        if not regex.match(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False, fsync: bool = False) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    The temporary file is ``.NAME.partial-XXXXXXXX<suffixes of NAME>`` (see :func:`remove_partials`), created with
    mode ``0o666 & ~umask`` like a file opened for writing, so the renamed file has the usual permissions.

    Args:
        path: the file to write.
        overwrite: replace an existing ``path`` (atomically: it is never absent in between).
        fsync: flush the written file to disk before the rename, so that a power loss cannot leave an empty file
            under the final name (slower; for files whose loss costs a lot, such as checkpoints).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"'{target}' exists; refusing to overwrite it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # keep the full suffix (e.g. .nii.gz) so that writers choosing a format by name still see it
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}{PARTIAL_MARK}", suffix=suffix)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates 0o600
    finally:
        os.close(fd)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def writes_dataset(out_arg: str = "out_dir") -> Callable[[Callable[..., Path]], Callable[..., Path]]:
    """Decorate a function that writes a dataset into the folder named by its ``out_arg`` argument so that it writes
    into a hidden sibling folder, renamed into place only when the function returns: a kill or an error never leaves
    a half-written dataset that a reader would take for a complete one. The function's returned path (inside the
    staging folder) is mapped to the same place inside the final folder.

    The staging folder is ``.NAME.partial-XXXXXXXX`` beside the target ``NAME``; those left by a killed earlier run
    for the same target are removed first (logged), and no other sibling is touched. Two runs writing the same
    target at the same time are not supported. The final folder gets mode ``0o777 & ~umask`` (a staging folder from
    :func:`tempfile.mkdtemp` is owner-only)."""

    def decorate(fn: Callable[..., Path]) -> Callable[..., Path]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Path:
            bound = signature.bind(*args, **kwargs)
            final = Path(bound.arguments[out_arg])
            for stale in remove_partials(final.parent, final.name):
                logger.warning(f"removed '{stale}', left by an interrupted earlier run writing '{final}'.")
            # refuse a non-empty folder before any work, so no one's data is mixed or replaced; create nothing yet
            if final.exists() and (not final.is_dir() or any(final.iterdir())):
                raise FileExistsError(f"output folder '{final}' exists and is not empty; choose a new or empty folder.")
            final.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}{PARTIAL_MARK}"))
            try:
                bound.arguments[out_arg] = staging
                root = Path(fn(*bound.args, **bound.kwargs))
                os.chmod(staging, 0o777 & ~current_umask())
                if final.exists():
                    final.rmdir()  # empty, checked above
                os.replace(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return final / root.relative_to(staging)

        return wrapper

    return decorate
