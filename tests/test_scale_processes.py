"""Many processes (issue 13, items 2 and 3): two processes on 127.0.0.1 joined by
``jax.distributed`` on the CPU give the chunks, the sweep table and the policy comparison that
one process gives, value for value, and one manifest.

Both processes run ``_scale_worker.py process``: ``tailrisk run --coordinator ...`` (chunk c by
process c mod 2), a resumed run after process 1's chunk was deleted, a sweep over three fund
sizes and a comparison of two policies spread over the two. The oracle is this process running
the same experiment, sweep and comparison alone.
"""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import _scale_worker
import numpy as np
import pytest
from test_scale_devices import ROOT, worker_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_two_processes(out: Path) -> list[dict]:
    """Both worker processes on a free loopback port; their pickled results."""
    _scale_worker.tiny_config(out)
    port = str(free_port())
    script = str(ROOT / "tests" / "_scale_worker.py")
    procs = [subprocess.Popen([sys.executable, script, "process", str(out), port, str(i)],
                              env=worker_env(), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in (0, 1)]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-4000:]
    return [pickle.loads((out / f"process{i}.pkl").read_bytes()) for i in (0, 1)]


def _rows_equal(a, b) -> bool:
    """Tidy rows equal value for value (NaN equal to NaN)."""
    def norm(rows):
        return json.dumps(rows, sort_keys=True, default=str)

    return norm(a) == norm(b)


# One test for the two processes: pytest-xdist sends tests, not modules, to its workers, and a
# shared fixture would launch them again on each worker that gets one of its tests.
def test_two_processes_give_what_one_process_gives(tmp_path):
    import pyarrow.parquet as pq

    from tailrisk.config import load_config
    from tailrisk.runner import load_run, run_experiment
    from tailrisk.studies.policy_comparison import compare_policies_run
    from tailrisk.studies.sweep import run_sweep

    results = run_two_processes(tmp_path)
    assert [r["group"] for r in results] == [(0, 2), (1, 2)]

    # one manifest, written by process 0, complete, with every chunk
    (run_dir,) = (tmp_path / "dist").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["processes"] == 2
    assert manifest["chunks_done"] == manifest["n_chunks"] == 2
    assert sorted(manifest["chunk_wall_s"]) == ["0", "1"]  # process 1's timing merged in
    # each chunk's checksum and non-finite counts, whichever process wrote it
    assert sorted(manifest["chunks"]) == ["0", "1"]
    assert all(len(r["sha256"]) == 64 for r in manifest["chunks"].values())
    from tailrisk.run_store import verify_run

    assert verify_run(run_dir).sound, verify_run(run_dir).problems
    assert len(manifest["attempts"]) == 2  # the run and its resumption
    assert sorted(p.name for p in (run_dir / "chunks").iterdir()) == [
        "chunk_00000.npz", "chunk_00001.npz"]
    # process 1's chunk, deleted, was computed again on resume, identically
    assert results[0]["resumed_same"] is True

    # the oracle: the same run, sweep and comparison in this one process
    exp = load_config(tmp_path / "tiny.toml")
    single = run_experiment(exp, tmp_path / "alone", progress=False)
    assert load_run(run_dir).config_hash == single.config_hash
    for c in range(2):
        name = f"chunk_{c:05d}.npz"
        with np.load(run_dir / "chunks" / name) as a, np.load(
                single.run_dir / "chunks" / name) as b:
            assert a.files == b.files
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name} {k}")

    sweep = run_sweep(exp, _scale_worker.SWEEP_GRID, out_path=tmp_path / "sweep_alone.parquet",
                      progress=False)
    assert {int(r["grid_point"]) for r in sweep.rows} == {0, 1, 2}
    for r in results:  # every process gets the whole table
        assert _rows_equal(r["sweep_rows"], sweep.rows)
    # the Parquet file process 0 wrote is the one a single process writes
    written, alone = pq.read_table(tmp_path / "sweep.parquet"), pq.read_table(sweep.out_path)
    assert written.schema == alone.schema
    assert _rows_equal(written.to_pylist(), alone.to_pylist())

    comparison, _ = compare_policies_run(exp, _scale_worker.POLICIES, progress=False)
    rows = comparison.to_rows()
    assert {r["policy"] for r in rows if "policy" in r} >= set(_scale_worker.POLICIES)
    for r in results:
        assert _rows_equal(r["compare_rows"], rows)


def test_launch_settings_are_checked_before_any_work():
    from tailrisk.scale import LaunchError, resolve_launch

    env = {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:7777", "JAX_NUM_PROCESSES": "4",
           "JAX_PROCESS_ID": "3"}
    assert resolve_launch(environ=env) == {"coordinator_address": "10.0.0.1:7777",
                                           "num_processes": 4, "process_id": 3,
                                           "source": "environment"}
    k8s = {"JAX_COORDINATOR_ADDRESS": "job-0.svc:1234", "JAX_NUM_PROCESSES": "2",
           "JOB_COMPLETION_INDEX": "1"}
    assert resolve_launch(environ=k8s)["process_id"] == 1
    assert resolve_launch(environ={"SLURM_PROCID": "0", "SLURM_NTASKS": "2"})["source"] == "slurm"
    explicit = resolve_launch("h:1", 2, 0, environ=env)  # arguments win over the environment
    assert (explicit["coordinator_address"], explicit["source"]) == ("h:1", "arguments")
    with pytest.raises(LaunchError) as err:
        resolve_launch("nohost", 2, 5, environ={})
    text = str(err.value)
    assert "coordinator = 'nohost': expected HOST:PORT" in text
    assert "process_id = 5: must be at least 0 and at most 1" in text
    with pytest.raises(LaunchError, match=r"JAX_NUM_PROCESSES = 'two': must be an integer"):
        resolve_launch(environ={"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "two",
                                "JAX_PROCESS_ID": "0"})
    with pytest.raises(LaunchError, match="no coordinator"):
        resolve_launch(environ={})


def test_process_group_shares_are_a_fixed_round_robin():
    from tailrisk.scale import SINGLE, ProcessGroup, split_items

    groups = [ProcessGroup(i, 3) for i in range(3)]
    shares = [list(g.share(8)) for g in groups]
    assert shares == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert sorted(i for s in shares for i in s) == list(range(8))  # every item once
    assert [g.writer for g in groups] == [True, False, False]
    assert split_items("abcde", groups[1]) == [(1, "b"), (4, "e")]
    assert SINGLE.gather("x", {"a": 1}) == [{"a": 1}]  # one process: no coordinator needed
    SINGLE.barrier("nothing to wait for")


def test_cli_refuses_bad_scale_options_before_any_work(capsys):
    from tailrisk.cli import _scale_kwargs

    with pytest.raises(SystemExit) as exit_:
        _scale_kwargs({"devices": 3})
    assert exit_.value.code == 2
    assert "devices = 3: must be an integer from 1 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        _scale_kwargs({"coordinator": "127.0.0.1:99999", "num_processes": 2, "process_id": 0})
    assert exit_.value.code == 2
    assert "coordinator port = 99999: must be at least 1 and at most 65535" in (
        capsys.readouterr().err)
