"""The chunk memory estimate and the check before a run (tailrisk._memory).

The estimate's accuracy is a benchmark (`tailrisk bench --what memory` measures peaks against
it); these tests check its arithmetic, the largest chunk that fits, and that a config too large
for the machine is refused before any work.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from tailrisk._memory import (
    HEADROOM,
    MemoryBudget,
    chunk_memory,
    fitting_chunk_size,
    format_bytes,
    machine_memory,
)
from tailrisk.cli import main

QUICKSTART = Path(__file__).resolve().parents[1] / "experiments" / "quickstart.toml"


def _sized(tmp_path: Path, paths: int, chunk: int, steps: int | None = None) -> Path:
    lines = []
    for line in QUICKSTART.read_text(encoding="utf-8").splitlines():
        key = line.split("=")[0].strip()
        if key == "paths":
            line = f"paths = {paths}"
        elif key == "chunk_size":
            line = f"chunk_size = {chunk}"
        elif key == "steps" and steps is not None:
            line = f"steps = {steps}"
        lines.append(line)
    path = tmp_path / "sized.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("itemsize", [4, 8])
def test_the_estimate_grows_with_every_size(itemsize):
    base = chunk_memory(10_000, 90, 2_000, itemsize, keep_paths=200)
    for bigger in (chunk_memory(20_000, 90, 2_000, itemsize, keep_paths=200),
                   chunk_memory(10_000, 180, 2_000, itemsize, keep_paths=200),
                   chunk_memory(10_000, 90, 20_000, itemsize, keep_paths=200),
                   chunk_memory(10_000, 90, 2_000, itemsize, keep_paths=2_000)):
        assert bigger.warm > base.warm
        assert bigger.first_run - bigger.warm == base.first_run - base.warm  # the compiler's
    # twice the paths: the path-sized part doubles exactly
    assert chunk_memory(20_000, 90, 2_000, itemsize).paths == 2 * base.paths
    # buffers that the kernel bounds stay bounded however many paths
    huge = chunk_memory(10_000_000, 90, 2_000, itemsize)
    assert huge.buffers == chunk_memory(5_000_000, 90, 2_000, itemsize).buffers
    assert chunk_memory(10_000, 90, 2_000, itemsize, policy_pools=False).buffers < base.buffers


def test_prices_only_needs_no_venue_memory():
    est = chunk_memory(10_000, 90, 0, 4)
    assert est.accounts_work == 0 and est.buffers == 0
    assert est.chunk == est.paths + est.kept_paths


@pytest.mark.parametrize("platform", ["cpu", "gpu"])
@pytest.mark.parametrize("steps,accounts,itemsize", [(90, 2_000, 4), (1_024, 100_000, 4),
                                                     (8, 10, 8), (365, 50_000, 8)])
@pytest.mark.parametrize("gib", [2, 24, 141])
def test_the_largest_chunk_that_fits_is_the_largest(platform, steps, accounts, itemsize, gib):
    budget = MemoryBudget(gib << 30, platform, "test")
    best = fitting_chunk_size(budget, steps, accounts, itemsize)
    limit = budget.bytes * HEADROOM
    if best == 0:
        assert budget.needed(chunk_memory(64, steps, accounts, itemsize)) > limit
        return
    assert best % 64 == 0
    assert budget.needed(chunk_memory(best, steps, accounts, itemsize)) <= limit
    assert budget.needed(chunk_memory(best + 64, steps, accounts, itemsize)) > limit


def test_an_accelerator_is_checked_against_its_own_memory():
    class Device:
        platform = "gpu"

        def memory_stats(self):
            return {"bytes_limit": 80 << 30, "bytes_in_use": 0}

    budget = machine_memory(Device())
    assert (budget.bytes, budget.platform) == (80 << 30, "gpu")
    est = chunk_memory(1_000_000, 1_024, 100_000, 4)
    assert budget.needed(est) == est.chunk  # the process lives on the host
    host = machine_memory(SimpleNamespace(platform="cpu"))
    assert host.platform == "cpu" and host.bytes > 0
    assert host.needed(est) == est.first_run


def test_format_bytes():
    assert format_bytes(1536 << 20) == "1.5 GiB"
    assert format_bytes(3 << 20) == "3.0 MiB"
    assert format_bytes(12) == "12 B"


def test_validate_config_prints_the_estimate(tmp_path):
    res = CliRunner().invoke(main, ["validate-config", str(QUICKSTART)])
    assert res.exit_code == 0, res.output
    line = [x for x in res.output.splitlines() if "memory:" in x]
    assert len(line) == 1
    assert "per chunk of 5,000 paths" in line[0]
    assert "20,000 paths x 90 steps x 2,000 accounts" in line[0]
    assert "4 chunks" in line[0]
    assert "GiB" in line[0] or "MiB" in line[0]


@pytest.mark.parametrize("command", ["validate-config", "run"])
def test_a_chunk_past_the_machine_is_refused_before_any_work(tmp_path, command):
    # 40 million paths in one chunk of 90 steps: hundreds of GiB on any machine
    config = _sized(tmp_path, 40_000_000, 40_000_000)
    out = tmp_path / "runs"
    args = [command, str(config)] + (["--out", str(out), "-q"] if command == "run" else [])
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "run.chunk_size = 40000000" in res.output
    assert "GiB" in res.output
    suggested = int(res.output.split("(run.chunk_size = ")[1].split(")")[0])
    assert 0 < suggested < 40_000_000
    assert not out.exists()  # nothing written


def test_the_suggested_chunk_size_passes(tmp_path, monkeypatch):
    import tailrisk._memory as memory

    # a fixed machine: the available memory of a real one moves between two calls
    monkeypatch.setattr(memory, "_host_available", lambda: (6 << 30, "test memory"))
    res = CliRunner().invoke(main, ["validate-config", str(_sized(tmp_path, 4_000_000,
                                                                  4_000_000))])
    assert res.exit_code == 2
    assert "6.0 GiB test memory" in res.output
    suggested = int(res.output.split("(run.chunk_size = ")[1].split(")")[0])
    ok = CliRunner().invoke(main, ["validate-config", str(_sized(tmp_path, 4_000_000,
                                                                 suggested))])
    assert ok.exit_code == 0, ok.output
    over = CliRunner().invoke(main, ["validate-config", str(_sized(tmp_path, 4_000_000,
                                                                   suggested + 64))])
    assert over.exit_code == 2, over.output


@pytest.mark.parametrize("steps", [8, 90, 256, 1_024, 8_760, 100_000])
def test_a_default_chunk_fits_a_laptop(steps):
    from tailrisk.config import parse_config

    exp = parse_config({"run": {"paths": 10_000_000, "steps": steps, "dt": 1e-6},
                        "model": {"name": "gbm"},
                        "venue": {"population": {"n_accounts": 100_000}}})
    chunk = exp.run.chunk_size
    assert chunk <= 50_000
    assert chunk == 50_000 or chunk % 64 == 0
    # a config that writes no chunk size gets one whose first run fits in 8 GiB with 100,000
    # accounts, whatever its horizon (down to the floor of 1,024 paths)
    if chunk > 1_024:
        assert chunk_memory(chunk, steps, 100_000, 4, keep_paths=200).first_run < 8 << 30
    # short horizons keep the old default (and so their config hashes)
    if steps <= 256:
        assert chunk == 50_000
