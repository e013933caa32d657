"""The guard against exhausting the process's memory mappings with compiled programs."""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import pytest

from tailrisk import _codemaps

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux
def test_map_pressure_counts_this_process_mappings():
    with open("/proc/sys/vm/max_map_count") as fh:
        cap = int(fh.read())
    with open("/proc/self/maps") as fh:
        lines = len(fh.readlines())
    assert _codemaps.map_pressure() == pytest.approx(lines / cap, rel=0.05)


@linux
def test_relieve_clears_compiled_programs_only_above_the_threshold(monkeypatch):
    f = jax.jit(lambda x: x * 3 + 1)
    f(jnp.ones(3))
    assert f._cache_size() == 1
    monkeypatch.setitem(_codemaps._LAST, "t", -1.0)
    monkeypatch.setitem(_codemaps._LAST, "after", -1.0)
    assert not _codemaps.relieve_code_maps(threshold=1.0)
    assert f._cache_size() == 1
    # checked at most once a second: a second call right away does nothing
    assert not _codemaps.relieve_code_maps(threshold=0.0)
    monkeypatch.setitem(_codemaps._LAST, "t", -1.0)
    assert _codemaps.relieve_code_maps(threshold=0.0)
    assert f._cache_size() == 0
    before = _codemaps.map_pressure()
    assert _codemaps._LAST["after"] == pytest.approx(before, abs=0.01)
    f(jnp.ones(3))  # compiles again
    assert _codemaps.map_pressure() >= before
    # still above the threshold after clearing: no second clearing until a quarter more
    monkeypatch.setitem(_codemaps._LAST, "t", -1.0)
    assert not _codemaps.relieve_code_maps(threshold=0.0)
    assert f._cache_size() == 1


def test_no_proc_means_no_pressure(monkeypatch):
    def missing(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr("builtins.open", missing)
    assert _codemaps.map_pressure() == 0.0
