"""The subprocess side of tests/test_scale_*.py (run as a script: the test process has one
device and no distributed runtime, and both must be chosen before JAX starts).

    python tests/_scale_worker.py devices OUT       XLA_FLAGS gives 4 host devices: the tiny
                                                     run on 1, 2 and 4 of them
    python tests/_scale_worker.py process OUT PORT I one of two processes on 127.0.0.1:PORT: a
                                                     distributed run (through the CLI), a
                                                     resumed chunk, a sweep, a policy comparison
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

#: the tiny experiment every scale test runs: 256 paths in 2 chunks x 16 daily steps x 64
#: accounts, a small fund so that ADL (and the per-account settlement and its Gini) happens
TINY_TOML = """
[run]
name = "tiny"
seed = 7
dtype = "float32"
paths = 256
chunk_size = 128
steps = 16
dt = "1d"
keep_paths = 8

[model]
name = "student_t"
s0 = 100000.0
nu = 3.0
sigma = 2.5

[venue]
policy = "queue_bitmex"
fund = 1000.0
capital = 0.0
depth = 5000000.0

[venue.population]
n_accounts = 64
size_median_usd = 20000.0
long_share = 0.55
"""
SWEEP_GRID = {"venue.fund": [1e3, 1e5, 1e7]}
#: process 0 (the same device as the test process) gets the policy the run did not compile
POLICIES = ("none", "queue_bitmex")


def tiny_config(folder: Path) -> Path:
    path = folder / "tiny.toml"
    if not path.exists():
        path.write_text(TINY_TOML)
    return path


def devices(out: Path) -> None:
    import jax

    from tailrisk._compile_cache import enable_compile_cache
    from tailrisk.runner import run_experiment

    enable_compile_cache()
    assert jax.local_device_count() == 4, jax.local_devices()
    cfg = tiny_config(out)
    for n in (1, 2, 4):
        run_experiment(cfg, out / f"d{n}", devices=n, progress=False)


def process(out: Path, port: int, index: int) -> None:
    import numpy as np

    from tailrisk.cli import main
    from tailrisk.config import load_config
    from tailrisk.runner import _chunk_path, run_dir_for, run_experiment
    from tailrisk.scale import (
        compare_policies_distributed,
        init_distributed,
        run_sweep_distributed,
    )

    cfg = out / "tiny.toml"  # written by the test
    runs = out / "dist"
    try:
        main(["run", str(cfg), "--out", str(runs), "--no-report", "-q",
              "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
              "--process-id", str(index)], standalone_mode=False)
    except SystemExit as err:  # click's exit 0
        if err.code:
            raise
    group = init_distributed()  # the runtime the command started
    exp = load_config(cfg)
    run_dir = run_dir_for(exp, runs)
    # resume: chunk 1 (process 1's) goes missing; the same command computes just that chunk
    chunk1 = _chunk_path(run_dir, 1)
    if group.writer:
        with np.load(chunk1) as z:
            before = {k: z[k] for k in z.files}
        chunk1.unlink()
    group.barrier("test/deleted")
    run_experiment(exp, runs, progress=False, group=group)
    if group.writer:
        with np.load(chunk1) as z:
            after = {k: z[k] for k in z.files}
        resumed_same = before.keys() == after.keys() and all(
            np.array_equal(before[k], after[k], equal_nan=True) for k in before)
    sweep = run_sweep_distributed(exp, SWEEP_GRID, out_path=out / "sweep.parquet", group=group)
    comparison, _ = compare_policies_distributed(exp, POLICIES, group=group)
    result = {"sweep_rows": sweep.rows, "sweep_compiles": sweep.compiles,
              "compare_rows": comparison.to_rows(), "group": (group.index, group.count)}
    if group.writer:
        result["resumed_same"] = resumed_same
    (out / f"process{index}.pkl").write_bytes(pickle.dumps(result))


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "devices":
        devices(folder)
    else:
        process(folder, int(sys.argv[3]), int(sys.argv[4]))
