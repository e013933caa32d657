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
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "FAULT_ENV",
    "FILE_MODE",
    "atomic_write",
    "fault_point",
    "remove_stale_temp_files",
    "stale_temp_files",
]

_TEMP_NAME = re.compile(r"^\..+\.tmp(?P<pid>\d+)\.[^.]+(\.[^.]+)?$")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600

#: test hook, read only by :func:`fault_point`: "kill@POINT" or "pause@POINT"
FAULT_ENV = "TAILRISK_TEST_FAULT"
#: how long "pause@POINT" holds the process, seconds
_FAULT_PAUSE_S = 3.0


def fault_point(point: str) -> None:
    """A place where the fault-injection tests interrupt a process (a no-op unless
    $TAILRISK_TEST_FAULT names it): ``kill@POINT`` kills this process with SIGKILL, as a crash
    or ``kill -9`` would; ``pause@POINT`` says so on stderr and holds the process for a few
    seconds, for a test to send it a signal. :func:`atomic_write` has the point
    ``rename:<file name>`` (the temporary file whole, not yet renamed into place); the runner
    names its own."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, _, where = spec.partition("@")
    if where != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "pause":
        print(f"test hook: paused at {point}", file=sys.stderr, flush=True)
        end = time.monotonic() + _FAULT_PAUSE_S
        while time.monotonic() < end:
            time.sleep(0.05)


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
        fault_point(f"rename:{path.name}")
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
