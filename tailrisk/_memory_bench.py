"""The memory estimate against the measured peak: ``tailrisk bench --what memory``.

Each size runs ``tailrisk run`` twice in a child process with a compile cache of its own: the
first run compiles (its peak is set against :attr:`ChunkMemory.first_run`), the second finds
its programs in the cache (against :attr:`ChunkMemory.warm`). The peak is the child's largest
resident set, as the kernel reports it to :func:`os.wait4`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._memory import MB, experiment_memory

__all__ = ["bench_memory", "memory_config"]

_CONFIG = """\
[run]
name = "memory"
seed = 1
dtype = "{dtype}"
paths = {paths}
chunk_size = {paths}
steps = {steps}
dt = "8h"
keep_paths = 200

[model]
name = "student_t"
nu = 3.0
sigma = 0.8

[venue]
policy = "{policy}"
fund = {fund}
eta = 0.002
depth = 50000000.0

[venue.population]
n_accounts = {accounts}
size_median_usd = 20000.0
"""


def memory_config(paths: int, steps: int, accounts: int, dtype: str, policy: str) -> str:
    """The TOML of one benchmark case: one chunk of ``paths`` paths."""
    return _CONFIG.format(paths=paths, steps=steps, accounts=accounts, dtype=dtype,
                          policy=policy, fund=500.0 * accounts)


def _peak_of_run(config: Path, out: Path, cache: Path) -> tuple[float, float]:
    """(peak resident memory in bytes, wall seconds) of one ``tailrisk run`` child."""
    env = {**os.environ, "TAILRISK_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "tailrisk", "run", str(config), "--out", str(out),
           "--no-report", "--no-resume", "-q"]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"memory benchmark run failed ({child.returncode}): {err[-500:]}")
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return float(peak), wall


def bench_memory(sizes: Sequence[int] = (10_000, 40_000, 160_000), steps: int = 90,
                 accounts: int = 2_000, dtype: str = "float32", policy: str = "queue_bitmex",
                 on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Estimate and measure one chunk of each size (paths); rows in MiB with their ratios."""
    import tomllib

    from .config import parse_config

    rows = []
    with tempfile.TemporaryDirectory(prefix="tailrisk-memory-") as tmp:
        root = Path(tmp)
        for paths in sizes:
            text = memory_config(paths, steps, accounts, dtype, policy)
            config = root / f"memory_{paths}.toml"
            config.write_text(text, encoding="utf-8")
            est = experiment_memory(parse_config(tomllib.loads(text), str(config)))
            cache = root / f"cache_{paths}"
            cold, cold_s = _peak_of_run(config, root / "runs", cache)
            warm, warm_s = _peak_of_run(config, root / "runs", cache)
            row = {
                "chunk_paths": paths, "steps": steps, "accounts": accounts, "dtype": dtype,
                "policy": policy,
                "first_run_estimate_mib": round(est.first_run / MB),
                "first_run_peak_mib": round(cold / MB),
                "first_run_ratio": round(est.first_run / cold, 2),
                "repeat_estimate_mib": round(est.warm / MB),
                "repeat_peak_mib": round(warm / MB),
                "repeat_ratio": round(est.warm / warm, 2),
                "first_run_s": round(cold_s, 1), "repeat_s": round(warm_s, 1),
            }
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
