"""All local devices (issue 13, item 1): a chunk's paths split over 1, 2 or 4 devices give the
same per-path arrays, bit for bit, and the same statistics.

The test process has one CPU device; a subprocess gets four host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``, set before JAX starts) and runs the
tiny experiment of ``_scale_worker.py`` on 1, 2 and 4 of them; this process compares the run
folders. The oracle is the plain single-device run (no mesh, no shard_map).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import _scale_worker
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def worker_env(**extra: str) -> dict[str, str]:
    """The subprocess imports this checkout's tailrisk and shares the compile cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_on_four_devices(out: Path) -> dict:
    """The tiny run on 1, 2 and 4 of four forced host devices (a subprocess), loaded here."""
    from tailrisk.runner import load_run

    _scale_worker.tiny_config(out)
    env = worker_env(XLA_FLAGS="--xla_force_host_platform_device_count=4")
    subprocess.run([sys.executable, str(ROOT / "tests" / "_scale_worker.py"), "devices",
                    str(out)], env=env, cwd=ROOT, check=True, timeout=600)
    found = {}
    for n in (1, 2, 4):
        (run_dir,) = (out / f"d{n}").iterdir()
        found[n] = load_run(run_dir)
    return found


def _metric_rows(result) -> list:
    from tailrisk.analytics import venue_metrics

    m = result.manifest
    return venue_metrics(result.venue, floor=result.experiment.venue.floor,
                         cohort_names=m["cohort_names"], probe_names=m["probe_names"]).to_rows()


# One test per subprocess: pytest-xdist sends tests, not modules, to its workers, and a shared
# fixture would run once on each worker that gets one of its tests.
def test_one_two_and_four_devices_give_identical_runs(tmp_path):
    runs = run_on_four_devices(tmp_path)
    one = runs[1]
    assert one.n_paths == 256
    # enough ADL for the pooled rows and the host's Gini rows to be used on every device
    assert np.sum(one.venue["adl_count"] > 0) >= 16
    assert np.sum(one.venue["gini_haircut"] > 0) >= 8
    stats = _metric_rows(one)
    for n in (2, 4):
        many = runs[n]
        for k, v in one.per_path.items():  # per-path arrays, bit for bit
            assert v.dtype == many.per_path[k].dtype
            np.testing.assert_array_equal(many.per_path[k], v, err_msg=f"{n} devices: {k}")
        assert one.venue.keys() == many.venue.keys()
        for k, v in one.venue.items():
            np.testing.assert_array_equal(many.venue[k], v, err_msg=f"{n} devices: {k}")
        np.testing.assert_array_equal(many.sample_log_prices, one.sample_log_prices)
        # the reported statistics, with their Monte Carlo errors
        assert _metric_rows(many) == stats
        np.testing.assert_array_equal(many.step_quantiles, one.step_quantiles)


def test_too_many_devices_is_refused_before_any_work():
    from tailrisk.scale import paths_mesh

    assert paths_mesh(1) is None
    with pytest.raises(ValueError, match=r"devices = 2: must be an integer from 1 to 1"):
        paths_mesh(2)
    with pytest.raises(ValueError, match=r"devices = 0"):
        paths_mesh(0)
