"""The guard against exhausting the process's memory mappings with compiled programs."""

from __future__ import annotations

import mmap
import sys

import jax
import jax.numpy as jnp
import pytest

from tailrisk import _codemaps

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux
def test_map_pressure_sees_new_mappings(tmp_path):
    """Mapping every other page of a file makes 50 mappings the kernel cannot merge (their file
    offsets are not contiguous): the pressure must rise by 50 over the cap, give or take the
    few mappings the interpreter makes meanwhile."""
    with open("/proc/sys/vm/max_map_count") as fh:
        cap = int(fh.read())
    page = mmap.PAGESIZE
    path = tmp_path / "pages"
    path.write_bytes(b"\0" * page * 100)
    before = _codemaps.map_pressure() * cap
    with open(path, "rb") as fh:
        maps = [mmap.mmap(fh.fileno(), page, prot=mmap.PROT_READ, offset=2 * i * page)
                for i in range(50)]
        during = _codemaps.map_pressure() * cap
        for m in maps:
            m.close()
    assert 45 <= during - before <= 60
    assert _codemaps.map_pressure() * cap < during


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

    monkeypatch.setattr(_codemaps, "open", missing, raising=False)  # this module's open only
    assert _codemaps.map_pressure() == 0.0
