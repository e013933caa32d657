"""Throughput of the scale-out: 1, 2, 4 local devices and 1, 2 processes (``tailrisk bench
--scaling``).

Each setting runs in subprocesses it launches itself, because the number of host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count``) and the distributed runtime must be
chosen before JAX starts. A setting times whole passes over the same paths (the Student-t
sampler plus the venue kernel, ``tailrisk.venue.bench``'s venue, chunk by chunk, nothing
written), after one untimed pass that compiles; the figure is the median of ``repeats`` passes.
With processes, each runs its share of the chunks (chunk c by process c mod N) between two
barriers, and a pass takes as long as the slowest process. Importable without arviz or
matplotlib.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["bench_scaling"]


def _pythonpath() -> str:
    import tailrisk

    root = str(Path(tailrisk.__file__).resolve().parents[1])
    return os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(args: list[str], env_extra: dict[str, str]):
    env = dict(os.environ, PYTHONPATH=_pythonpath(), **env_extra)
    return subprocess.Popen([sys.executable, "-m", "tailrisk.scale._bench", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc, what: str) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"scaling benchmark, {what}: worker failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def bench_scaling(n_paths: int = 131_072, steps: int = 256, n_accounts: int = 10_000,
                  chunk: int = 16_384, repeats: int = 3, policy: str = "queue_bitmex",
                  devices=(1, 2, 4), processes=(1, 2), on_row=None) -> list[dict]:
    """Rows of plain dicts: one per setting, with ``seconds`` (median pass), ``path_steps_per_s``,
    ``ratio_to_best_single`` (throughput over the best one-device, one-process setting) and
    ``efficiency`` (that ratio over the number of devices or processes)."""
    common = [str(n_paths), str(steps), str(n_accounts), str(chunk), str(repeats), policy]
    rows: list[dict] = []

    def add(kind: str, count: int, note: str, res: dict) -> None:
        row = {"setting": kind, "count": count, "note": note, "paths": n_paths, "steps": steps,
               "accounts": n_accounts, "chunk": chunk, "policy": policy,
               "seconds": res["seconds"], "passes": res["passes"],
               "path_steps_per_s": n_paths * steps / res["seconds"]}
        rows.append(row)
        if on_row is not None:
            on_row(row)

    # one device in a plain process (what a user runs today)
    add("devices", 1, "plain process",
        _result(_launch(["devices", "1", *common], {}), "1 device")["1"])
    many = sorted({d for d in devices if d > 1})
    if many:
        forced = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={max(many)}"}
        res = _result(_launch(["devices", ",".join(map(str, [1, *many])), *common], forced),
                      "devices")
        add("devices", 1, f"1 of {max(many)} forced host devices", res["1"])
        for d in many:
            add("devices", d, f"{d} of {max(many)} forced host devices", res[str(d)])
    for p in sorted({p for p in processes if p > 1}):
        port = str(_free_port())
        procs = [_launch(["processes", port, str(p), str(i), *common], {}) for i in range(p)]
        results = [_result(q, f"{p} processes") for q in procs]
        add("processes", p, f"{p} processes on 127.0.0.1, 1 device each", results[0])
    best = max(r["path_steps_per_s"] for r in rows if r["count"] == 1)
    for r in rows:
        r["ratio_to_best_single"] = r["path_steps_per_s"] / best
        r["efficiency"] = r["ratio_to_best_single"] / r["count"]
    return rows


# ----------------------------------------------------------------------------- the workers


def _setup(n_paths, steps, n_accounts, policy):
    from .._compile_cache import enable_compile_cache

    enable_compile_cache(quiet=True)
    from ..venue import build_population
    from ..venue.bench import _experiment

    exp = _experiment(n_accounts)
    accounts = build_population(exp.venue, exp.model.s0, exp.run.seed)
    return exp, accounts


def _pass(exp, accounts, chunks, chunk, steps, policy, mesh) -> None:
    import numpy as np

    from .._rng import STREAM_PRICE, stream_key
    from ..venue.kernel import simulate_venue
    from ._devices import chunk_log_prices, padded_size

    key = stream_key(exp.run.seed, STREAM_PRICE)
    for c in chunks:
        index = np.arange(c * chunk, c * chunk + padded_size(chunk, mesh), dtype=np.uint32)
        pi, lp = chunk_log_prices(mesh, key, exp.model, index, steps, exp.run.dt, "float32")
        simulate_venue(accounts, exp.venue, lp, s0=exp.model.s0, seed=exp.run.seed,
                       path_index=pi, dt=exp.run.dt, policy=policy,
                       **({} if mesh is None else {"mesh": mesh}))


def _devices_worker(counts: str, n_paths, steps, n_accounts, chunk, repeats, policy) -> dict:
    import numpy as np

    from ._devices import paths_mesh

    exp, accounts = _setup(n_paths, steps, n_accounts, policy)
    chunks = range(-(-n_paths // chunk))
    out = {}
    for d in map(int, counts.split(",")):
        mesh = paths_mesh(d)
        _pass(exp, accounts, chunks, chunk, steps, policy, mesh)  # compiles
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _pass(exp, accounts, chunks, chunk, steps, policy, mesh)
            times.append(time.perf_counter() - t0)
        out[str(d)] = {"seconds": float(np.median(times)), "passes": times}
    return out


def _processes_worker(port, count, index, n_paths, steps, n_accounts, chunk, repeats,
                      policy) -> dict:
    import numpy as np

    from ._processes import init_distributed

    group = init_distributed(f"127.0.0.1:{port}", int(count), int(index))
    exp, accounts = _setup(n_paths, steps, n_accounts, policy)
    mine = group.share(-(-n_paths // chunk))
    _pass(exp, accounts, mine[:1], chunk, steps, policy, None)  # compiles
    times = []
    for r in range(repeats):
        group.barrier(f"bench/start/{r}")
        t0 = time.perf_counter()
        _pass(exp, accounts, mine, chunk, steps, policy, None)
        group.barrier(f"bench/end/{r}")  # a pass lasts until the slowest process is done
        times.append(time.perf_counter() - t0)
    return {"seconds": float(np.median(times)), "passes": times}


if __name__ == "__main__":
    what, rest = sys.argv[1], sys.argv[2:]
    if what == "devices":
        counts, (n, s, a, c, r), pol = rest[0], map(int, rest[1:6]), rest[6]
        print(json.dumps(_devices_worker(counts, n, s, a, c, r, pol)))
    else:
        port, count, index = rest[:3]
        n, s, a, c, r = map(int, rest[3:8])
        print(json.dumps(_processes_worker(port, count, index, n, s, a, c, r, rest[8])))
