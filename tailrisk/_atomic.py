"""Atomic files: write to a temporary file in the same folder, then ``os.replace`` it into place.

A reader sees the old file or the whole new one; a failed write leaves no temporary file behind.
A writer killed outright (``kill -9``, power loss) cannot clean up: its temporary file stays,
hidden (``.<name>.tmp<pid>.<random><suffix>``). The writer's process id in the name lets
:func:`remove_stale_temp_files` tell such leftovers from the files of a writer still at work (two
runs of one config may share a folder).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["FILE_MODE", "atomic_write", "remove_stale_temp_files", "stale_temp_files"]

_TEMP_NAME = re.compile(r"^\..+\.tmp(?P<pid>\d+)\.[^.]+(\.[^.]+)?$")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None],
                 suffix: str = ".tmp") -> None:
    """Call ``write(binary file)`` on a temporary file beside ``path``, then rename it there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp{os.getpid()}.",
                               suffix=suffix)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Temporary files in ``folder`` left by writers that are no longer running."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out = []
    for name in names:
        m = _TEMP_NAME.match(name)
        if m and not _alive(int(m.group("pid"))):
            out.append(Path(folder) / name)
    return out


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete what :func:`stale_temp_files` finds; returns the files removed."""
    removed = []
    for path in stale_temp_files(folder):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed
