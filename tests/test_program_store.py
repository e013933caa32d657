"""The program store: the venue kernel's traced program kept on disk gives the same numbers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tailrisk import _program_store
from tailrisk.venue import VenueConfig
from tailrisk.venue._accounts import Accounts
from tailrisk.venue.kernel import simulate_venue


def _run(policy: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 40
    acc = Accounts.from_arrays(
        side=rng.choice([-1, 1], n), quantity=rng.lognormal(0, 1, n),
        entry=100 * np.exp(rng.normal(0, 0.02, n)), leverage=rng.choice([3.0, 10.0, 25.0], n),
        mmr=0.005)
    lp = np.log(100.0) + np.cumsum(np.random.default_rng(1).standard_t(2.5, (64, 24)) * 0.02,
                                   axis=1)
    venue = VenueConfig(policy=policy, fund=3.0, eta=0.01, depth=5_000.0)
    return simulate_venue(acc, venue, jnp.asarray(lp, jnp.float32), s0=100.0, seed=3,
                          path_index=np.arange(64))


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh store in a temporary cache folder (JAX's compile cache stays the session's)."""
    if not jax.config.jax_compilation_cache_dir:
        pytest.skip("the compile cache is off in this session, and the store with it")
    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(tmp_path))
    _program_store._MEMORY.clear()
    yield tmp_path / "programs"
    _program_store._MEMORY.clear()


@pytest.mark.parametrize("policy", ["queue_bitmex"])
def test_stored_program_gives_the_numbers_of_the_traced_one(store, monkeypatch, policy):
    stored = _run(policy)
    (path,) = store.iterdir()
    assert path.name.startswith("venue_chunk-") and path.stat().st_size > 10_000
    # a new process: nothing in memory; the file must serve, with no new export
    _program_store._MEMORY.clear()
    jax.clear_caches()
    exports = []
    real = jax.export.export

    def counted(*a, **k):
        exports.append(1)
        return real(*a, **k)

    monkeypatch.setattr(jax.export, "export", counted)
    loaded = _run(policy)
    assert not exports, "traced again although the program was stored"
    monkeypatch.undo()
    monkeypatch.setenv("TAILRISK_CACHE_DIR", "off")  # the store off: traced as usual
    plain = _run(policy)
    assert stored["adl_events"].sum() > 0
    for key, value in plain.items():
        np.testing.assert_array_equal(value, stored[key], key)
        np.testing.assert_array_equal(value, loaded[key], key)


def test_damaged_program_is_traced_again(store):
    first = _run("none")
    (path,) = store.iterdir()
    path.write_bytes(b"not a program")
    _program_store._MEMORY.clear()
    again = _run("none")
    assert path.stat().st_size > 10_000, "written again"
    for key, value in first.items():
        np.testing.assert_array_equal(value, again[key], key)


def test_key_follows_shapes_and_static_arguments():
    leaves = [jnp.zeros((3, 2), jnp.float32)]
    tree = jax.tree.structure((0,))
    key = _program_store._key("f", leaves, tree, {"a": 1}, ("tailrisk.venue",))
    assert key == _program_store._key("f", leaves, tree, {"a": 1}, ("tailrisk.venue",))
    assert key != _program_store._key("f", leaves, tree, {"a": 2}, ("tailrisk.venue",))
    assert key != _program_store._key("f", [jnp.zeros((4, 2), jnp.float32)], tree, {"a": 1},
                                      ("tailrisk.venue",))
    assert key != _program_store._key("f", leaves, tree, {"a": 1}, ("tailrisk.paths",))
