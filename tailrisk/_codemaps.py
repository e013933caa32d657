"""A guard against the CPU back end running out of memory mappings.

XLA's CPU back end maps the code of every compiled program into the process in sections of their
own; a large venue program takes about a thousand mappings. Linux caps a process's mappings
(``vm.max_map_count``, 65,530 by default), and a process that has compiled some sixty such
programs (a long sweep over policies and venue settings, a long test session) crashes inside
the next compile. ``relieve_code_maps`` drops JAX's compiled programs while the process is well
below that cap; they compile again when next called. Costs nothing where the counts cannot be
read (not Linux) and reads them at most once a second.
"""

from __future__ import annotations

import gc
import time

#: time of the last look; the pressure just after the last clearing (-1: none yet)
_LAST = {"t": -1.0, "after": -1.0}


def _count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def map_pressure() -> float:
    """This process's memory mappings as a share of the system's cap (0.0 where unknown)."""
    try:
        with open("/proc/sys/vm/max_map_count") as fh:
            cap = int(fh.read())
        return _count_lines("/proc/self/maps") / cap if cap > 0 else 0.0
    except (OSError, ValueError):
        return 0.0


def relieve_code_maps(threshold: float = 0.5, every: float = 1.0) -> bool:
    """Clear JAX's compiled programs if the mappings exceed ``threshold`` of the cap; True if
    cleared. Checks at most once every ``every`` seconds. If clearing left the mappings high
    (they are not JAX's), the next clearing waits until they grow by another quarter of the cap,
    so that programs are not compiled again and again for nothing."""
    now = time.monotonic()
    if 0.0 <= _LAST["t"] and now - _LAST["t"] < every:
        return False
    _LAST["t"] = now
    limit = threshold if _LAST["after"] < 0 else max(threshold, _LAST["after"] + 0.25)
    if map_pressure() <= limit:
        return False
    import jax

    jax.clear_caches()
    gc.collect()
    _LAST["after"] = map_pressure()
    return True
