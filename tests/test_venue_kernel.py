"""The fast kernel on its own: invariances, float32 robustness, compile-once, the benchmark."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tailrisk.config import parse_config
from tailrisk.venue import POLICIES, VenueConfig, build_population, kernel
from tailrisk.venue._accounts import Accounts
from tailrisk.venue._events import event_sizes
from tailrisk.venue._state import pooled_fields
from tailrisk.venue._tables import count_triggered, prepare_side
from tailrisk.venue.kernel import _run_chunk, simulate_venue


def _population(n: int = 40, seed: int = 0) -> Accounts:
    rng = np.random.default_rng(seed)
    return Accounts.from_arrays(
        side=rng.choice([-1, 1], n), quantity=rng.lognormal(0, 1, n),
        entry=100 * np.exp(rng.normal(0, 0.02, n)), leverage=rng.choice([3.0, 10.0, 25.0, 60.0], n),
        mmr=0.005, exempt=rng.random(n) < 0.1,
    )


def _log_prices(n_paths: int, steps: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.log(100.0) + np.cumsum(rng.standard_t(2.5, (n_paths, steps)) * 0.02, axis=1)


@pytest.mark.parametrize("policy", ["queue_bitmex", "pro_rata", "none"])
def test_results_do_not_depend_on_chunking_or_sub_batches(policy):
    acc = _population()
    lp = jnp.asarray(_log_prices(100, 40), jnp.float32)
    venue = VenueConfig(policy=policy, fund=3.0, eta=0.01, depth=5_000.0)
    whole = simulate_venue(acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(100))
    parts = [simulate_venue(acc, venue, lp[a:b], s0=100.0, seed=3, path_index=np.arange(a, b))
             for a, b in ((0, 7), (7, 71), (71, 100))]
    # a memory budget of 64 paths' account rows splits the chunk into batches of 64
    small = simulate_venue(acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(100),
                           rows_budget=len(pooled_fields(policy)) * (acc.n + 2) * 4 * 64)
    # checks in batches of 8 paths, and the chunk in three parts run side by side
    batched = simulate_venue(acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(100),
                             compact=8, workers=3)
    for key, value in whole.items():
        np.testing.assert_array_equal(value, np.concatenate([p[key] for p in parts]), key)
        np.testing.assert_array_equal(value, small[key], key)
        np.testing.assert_array_equal(value, batched[key], key)
    assert whole["liquidated_count"].sum() > 0
    if policy != "none":
        # more paths had ADL than the 64-path pool holds: the rerun in smaller batches ran
        assert np.sum(whole["adl_events"] > 0) > 64


@pytest.mark.parametrize(("policy", "settings"), [
    ("none", {"capacity": 20.0}), ("queue_bitmex", {"check_every": 3, "gamma": 1.0}),
    ("random", {}), ("pro_rata", {"capacity": 20.0, "check_every": 2}),
])
def test_event_schedule_equals_the_scan_over_every_step(policy, settings):
    """Jumping each path to its next check with something to do gives the very same numbers as
    visiting every check. A small `compact` makes the event schedule shrink its batch twice, or
    (two of the cases) the scan check its paths in batches of 8."""
    acc = _population()
    lp = jnp.asarray(_log_prices(300, 40), jnp.float32)
    venue = VenueConfig(policy=policy, fund=3.0, eta=0.01, depth=5_000.0, **settings)
    run = partial(simulate_venue, acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(300))
    if policy in ("none", "random"):
        scan, events = run(schedule="scan", compact=8), run(schedule="events")
    else:
        scan, events = run(schedule="scan"), run(schedule="events", compact=8)
    for key, value in scan.items():
        np.testing.assert_array_equal(value, events[key], key)
    assert scan["liquidated_count"].sum() > 1000
    if policy != "none":
        assert np.sum(scan["adl_events"] > 0) > 100


@pytest.mark.parametrize("policy", ["queue_bitmex", "pro_rata"])
def test_reused_pool_buffers_do_not_change_the_numbers(policy, monkeypatch):
    """Chunks hand their pooled account rows on to the next chunk; whatever those rows hold (NaN
    here), every path starts from the static rows."""
    acc = _population()
    lp = jnp.asarray(_log_prices(100, 40), jnp.float32)
    venue = VenueConfig(policy=policy, fund=3.0, eta=0.01, depth=5_000.0)
    run = partial(simulate_venue, acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(100))
    fresh = run()
    monkeypatch.setattr(kernel, "take_buffers", lambda shapes, dtype: tuple(
        {f: jnp.full(shape, jnp.nan, dtype) for f, shape in d.items()} for d in shapes))
    for schedule in ("events", "scan"):
        dirty = run(schedule=schedule)
        for key, value in fresh.items():
            np.testing.assert_array_equal(value, dirty[key], key)
    assert np.sum(fresh["adl_events"] > 0) > 50


def test_event_schedule_sizes_and_its_limits():
    assert event_sizes(320, 8) == [320, 192, 64]
    assert event_sizes(32768, 1024) == [32768, 16384, 4096, 1024]
    acc = _population()
    lp = jnp.asarray(_log_prices(4, 10), jnp.float32)
    with pytest.raises(ValueError, match="schedule = 'events'"):
        simulate_venue(acc, VenueConfig(drawdown=0.5, drawdown_window=4), lp, s0=100.0, seed=0,
                       path_index=np.arange(4), schedule="events")
    with pytest.raises(ValueError, match="schedule = 'fast'"):
        simulate_venue(acc, VenueConfig(), lp, s0=100.0, seed=0, path_index=np.arange(4),
                       schedule="fast")


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_trigger_lookup_equals_searchsorted(dtype):
    """The bucket table plus short search gives exactly searchsorted's count, ties and all."""
    rng = np.random.default_rng(11)
    n = 600
    populations = [
        _population(n, seed=1),
        # many identical liquidation prices, and longs at leverage <= 1 that never trigger
        Accounts.from_arrays(side=rng.choice([-1, 1], n), quantity=np.ones(n),
                             entry=np.full(n, 100.0), leverage=rng.choice([0.5, 1.0, 2.0, 50.0], n),
                             mmr=0.005),
    ]
    with jax.enable_x64(dtype == jnp.float64):
        for acc in populations:
            for sign in (1, -1):
                side = prepare_side(acc, sign, dtype)
                lq = np.asarray(side.lq[:-1], np.float64)
                lq = lq[np.isfinite(lq) & (lq > 0)].astype(dtype)
                marks = np.concatenate([
                    lq, np.nextafter(lq, dtype(np.inf)), np.nextafter(lq, dtype(0)),
                    np.exp(rng.uniform(np.log(1e-3), np.log(1e5), 5000)).astype(dtype),
                ])
                got = count_triggered(side, sign, jnp.asarray(marks))
                key = -marks if sign > 0 else marks
                want = np.searchsorted(np.asarray(side.lq_key)[: side.q.shape[0]], key, "right")
                np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("policy", POLICIES)
def test_float32_is_finite_and_conserves_money(policy):
    """Float32 prefix sums can cancel to a hair below zero; the kernel must stay finite."""
    acc = _population(200, seed=5)
    lp = jnp.asarray(_log_prices(64, 60, seed=6), jnp.float32)
    venue = VenueConfig(policy=policy, fund=5.0, eta=0.02, depth=3_000.0, capacity=2_000.0)
    out = simulate_venue(acc, venue, lp, s0=100.0, seed=0, path_index=np.arange(64))
    for key, value in out.items():
        assert np.all(np.isfinite(value)), key
    total = out["cohort_damped"].sum(axis=1)
    residual = (total + out["pnl_rest"] + out["fund_final"] - venue.fund
                - out["token_revaluation"] - out["capital_injected"])
    scale = float(np.sum(acc.quantity * acc.entry)) + venue.fund
    assert np.max(np.abs(residual)) < 2e-5 * scale


@pytest.mark.parametrize("store", [False, True])
def test_numeric_venue_settings_do_not_recompile(store, monkeypatch, tmp_path):
    """Numeric settings are traced: three venues differing only in them compile one program,
    whether the kernel is called directly or through the program store (one stored program)."""
    from tailrisk import _program_store

    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(tmp_path) if store else "off")
    if store and _program_store.program_dir() is None:
        pytest.skip("the compile cache is off in this session, and the store with it")
    _program_store._MEMORY.clear()
    acc = _population()
    lp = jnp.asarray(_log_prices(8, 20), jnp.float32)
    before = _run_chunk._cache_size()
    for fund, eta, cap in ((1.0, 0.0, 1e3), (50.0, 0.02, 1e2), (7.0, 0.1, 5e2)):
        venue = VenueConfig(policy="queue_leverage", fund=fund, eta=eta, capacity=cap)
        simulate_venue(acc, venue, lp, s0=100.0, seed=0, path_index=np.arange(8))
    if store:
        assert len(_program_store._MEMORY) == 1
        assert len(list((tmp_path / "programs").iterdir())) == 1
    else:
        assert _run_chunk._cache_size() - before == 1


def test_a_single_liquidation_by_hand():
    """One 10x long (E=100, q=1, m=0): the price gaps from 100 to 85 at a check.

    Bankruptcy price 90, so the fund pays 1 x (90 - 85) = 5 USD; fund 20 -> 15. The short (E=100,
    q=1, 2x) gains 15 and is never touched; the rest account bought the long's contract at 85
    and holds it to S_T = 85.
    """
    acc = Accounts.from_arrays(side=[1, -1], quantity=[1.0, 1.0], entry=[100.0, 100.0],
                               leverage=[10.0, 2.0])
    lp = jnp.log(jnp.asarray([[99.0, 85.0]], jnp.float32))
    venue = VenueConfig(policy="queue_bitmex", fund=20.0)
    with jax.enable_x64(True):
        out = simulate_venue(acc, venue, lp.astype(jnp.float64), s0=100.0, seed=0,
                             path_index=np.arange(1))
    assert out["liquidated_count"][0] == 1
    assert out["fund_final"][0] == pytest.approx(15.0)
    assert out["adl_events"][0] == 0
    np.testing.assert_allclose(out["cohort_damped"][0], [-10.0, 15.0])
    assert out["pnl_rest"][0] == pytest.approx(0.0)


def test_bench_venue_runs_small():
    from tailrisk.venue.bench import bench_venue

    # the accounts curve at the same size reuses the policy rows' compiled programs
    rows = bench_venue(n_paths=64, steps=16, n_accounts=200, policies=("none", "queue_bitmex"),
                       chunk=64, repeats=1, accounts_curve=(200,), curve_paths=64,
                       reference_paths=1)
    cases = [r["case"] for r in rows]
    assert cases.count("policy") == 2 and "rng_floor" in cases and "reference" in cases
    assert all(r.get("seconds", 1.0) > 0 for r in rows)


def test_generated_population_runs_every_policy_in_float32():
    exp = parse_config({"model": {"name": "student_t", "nu": 3.0, "sigma": 0.8},
                        "venue": {"fund": 1e5, "population": {"n_accounts": 300}}})
    acc = build_population(exp.venue, exp.model.s0, 0)
    rng = np.random.default_rng(2)
    lp = np.log(exp.model.s0) + np.cumsum(rng.standard_t(3, (16, 30)) * 0.03, axis=1)
    for policy in ("queue_hyperliquid", "random", "socialized_at_settlement"):
        out = simulate_venue(acc, exp.venue, jnp.asarray(lp, jnp.float32), s0=exp.model.s0,
                             seed=0, path_index=np.arange(16), policy=policy)
        assert np.all(np.isfinite(out["cohort_damped"]))
        assert out["probe_damped"].shape == (16, len(acc.probe_names))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_gini_matches_the_reference_formula(dtype):
    """The kernel's two Ginis (on the device with XLA's sort of bit patterns, as on a GPU; on
    the host with numpy, as on a CPU) against the reference's plain numpy one, with masked
    entries, ties and zeros."""
    from tailrisk.venue._settlement import gini as kernel_gini
    from tailrisk.venue._settlement import gini_of_rows
    from tailrisk.venue.reference import gini

    rng = np.random.default_rng(11)
    x = rng.choice([0.0, 0.5, 1.0, 2.0, 7.5], (6, 300)) * rng.lognormal(0, 1, (6, 300))
    x[0] = 0.0  # all zero: 0
    x[1, 1:] = 0.0  # one positive amount
    mask = rng.random((6, 300)) < 0.6
    mask[2] = False  # nobody: 0
    with jax.enable_x64(dtype == jnp.float64):
        got = np.asarray(jax.jit(jax.vmap(kernel_gini))(jnp.asarray(x, dtype), jnp.asarray(mask)))
    host = gini_of_rows(np.where(mask, x.astype(dtype), np.inf))
    want = [gini(row[m]) for row, m in zip(x.astype(dtype), mask, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == jnp.float32 else 1e-12,
                               atol=1e-7)
    np.testing.assert_allclose(host, want, rtol=1e-12, atol=1e-12)
    assert want[0] == want[2] == 0.0 and want[3] > 0.1


@pytest.mark.parametrize("rows", [64, 16])
def test_gini_rows_overflow_reruns_with_the_same_numbers(rows):
    """On a CPU the haircuts of the paths settled account by account go to the host through a
    buffer of rows; a buffer smaller than those paths reruns the batch with a larger buffer (a
    budget of 64 rows) or in smaller batches (16), and every output stays the same."""
    acc = _population()
    lp = jnp.asarray(_log_prices(128, 40), jnp.float32)
    venue = VenueConfig(policy="pro_rata", fund=3.0, eta=0.01, depth=5_000.0)
    run = partial(simulate_venue, acc, venue, lp, s0=100.0, seed=3, path_index=np.arange(128))
    whole = run()
    # a Gini buffer of one lane (64 rows) against more than 64 paths settled one by one
    tight = run(rows_budget=rows * acc.n * 4)
    assert np.sum(whole["gini_haircut"] > 0) > 64
    for key, value in whole.items():
        np.testing.assert_array_equal(value, tight[key], key)
