"""Benchmarks of the venue kernel: against the RNG floor, the reference, and the account count.

The *RNG floor* is the time to draw the same Student-t increments with the same sampler, chunking
and dtype and reduce them (a sum), so nothing is optimised away; every policy row times drawing
the paths plus running the venue, measured in the same call. Medians over ``repeats``.
Importable without arviz or matplotlib (it runs on the GPU machine too).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from .._rng import STREAM_PRICE, stream_key
from ..config import parse_config
from ..config.venue import POLICIES

__all__ = ["BENCH_CONFIG", "bench_venue"]

#: the benchmark venue: 1-hour steps of a Student-t (nu 3) BTC-like path, a generated population,
#: a fund of 500 USD per account (5M USD at 10,000 accounts, where ADL happens on a few per cent
#: of paths at most); the fund grows with the population so every size sees the same stress
BENCH_CONFIG = {
    "run": {"dt": "1h", "seed": 0},
    "model": {"name": "student_t", "nu": 3.0, "sigma": 0.6, "s0": 100_000.0},
    "venue": {"policy": "queue_bitmex"},
}
FUND_PER_ACCOUNT = 500.0  # USD


def _median_time(fn, repeats: int, warm=None) -> float:
    (warm or fn)()  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _experiment(n_accounts: int):
    cfg = {k: dict(v) for k, v in BENCH_CONFIG.items()}
    cfg["venue"]["population"] = {"n_accounts": n_accounts}
    cfg["venue"]["fund"] = FUND_PER_ACCOUNT * n_accounts
    return parse_config(cfg, "<bench>")


def bench_venue(n_paths: int = 65_536, steps: int = 256, n_accounts: int = 10_000,
                policies=POLICIES, chunk: int = 8192, repeats: int = 3,
                accounts_curve=(1_000, 10_000, 100_000, 1_000_000), curve_paths: int = 1024,
                reference_paths: int = 2, knobs: dict | None = None,
                on_row=None, warmup: str = "full") -> list[dict]:
    """Time the kernel for every policy against the RNG floor; rows of plain dicts.

    Rows: ``rng_floor``; one per policy (``ratio_to_floor``); the account-count curve for
    ``none`` and ``queue_bitmex`` on ``curve_paths`` paths; and the reference implementation's
    time per path-step beside the kernel's at ``n_accounts`` (``speedup``). ``knobs`` go to
    ``simulate_venue`` (block, compact, rows_budget, schedule: only the time changes, and with
    ``block`` the last bit of ADL sums at most);
    ``on_row(row)`` is called as each row is done. ``warmup``: the untimed call before the timed
    ones runs every chunk ("full") or only the first ("chunk": enough to compile when every chunk
    has the same shapes, as on a GPU whose pool holds every path with ADL).
    """
    if warmup not in ("full", "chunk"):
        raise ValueError(f"warmup = {warmup!r}: must be 'full' or 'chunk'")
    from ..paths import log_prices
    from .kernel import simulate_venue
    from .population import build_population
    from .reference import simulate_path_reference

    exp = _experiment(n_accounts)
    key = stream_key(exp.run.seed, STREAM_PRICE)
    dt = exp.run.dt
    chunk = min(chunk, n_paths)
    starts = list(range(0, n_paths, chunk))
    draw_sum = jax.jit(lambda i: jnp.sum(log_prices(key, exp.model, i, steps, dt)))

    def floor_run(first_only=False):
        for lo in starts[:1] if first_only else starts:
            draw_sum(jnp.arange(lo, lo + chunk)).block_until_ready()

    def warm(run):
        return (lambda: run(True)) if warmup == "chunk" else None

    knobs = knobs or {}  # simulate_venue fills in the device's defaults
    rows: list[dict] = []

    def add(row):
        rows.append(row)
        if on_row is not None:
            on_row(row)

    floor = _median_time(floor_run, repeats, warm(floor_run))
    add({"case": "rng_floor", "policy": "-", "accounts": n_accounts, "paths": n_paths,
         "steps": steps, "seconds": floor, "ratio_to_floor": 1.0,
         "path_steps_per_s": n_paths * steps / floor})
    accounts = build_population(exp.venue, exp.model.s0, exp.run.seed)

    def venue_run(policy, acc, paths):
        def run(first_only=False):
            for lo in range(0, min(chunk, paths) if first_only else paths, min(chunk, paths)):
                idx = jnp.arange(lo, lo + min(chunk, paths))
                lp = log_prices(key, exp.model, idx, steps, dt)
                simulate_venue(acc, exp.venue, lp, s0=exp.model.s0, seed=exp.run.seed,
                               path_index=idx, dt=dt, policy=policy, **knobs)
        return run

    kernel_seconds = {}
    for policy in policies:
        run = venue_run(policy, accounts, n_paths)
        sec = _median_time(run, repeats, warm(run))
        kernel_seconds[policy] = sec
        add({"case": "policy", "policy": policy, "accounts": n_accounts, "paths": n_paths,
             "steps": steps, "seconds": sec, "ratio_to_floor": sec / floor,
             "path_steps_per_s": n_paths * steps / sec})
    for n_acc in accounts_curve:
        acc = build_population(_experiment(n_acc).venue, exp.model.s0, exp.run.seed)
        for policy in ("none", "queue_bitmex"):
            sec = _median_time(venue_run(policy, acc, curve_paths), 1)
            add({"case": "accounts_curve", "policy": policy, "accounts": n_acc,
                 "paths": curve_paths, "steps": steps, "seconds": sec,
                 "ratio_to_floor": float("nan"), "path_steps_per_s": curve_paths * steps / sec})
    if reference_paths:
        lp = np.asarray(log_prices(key, exp.model, jnp.arange(reference_paths), steps, dt),
                        np.float64)
        t0 = time.perf_counter()
        for i in range(reference_paths):
            simulate_path_reference(accounts, exp.venue, np.r_[exp.model.s0, np.exp(lp[i])],
                                    seed=exp.run.seed, path=i, dt=dt)
        ref_per = (time.perf_counter() - t0) / (reference_paths * steps)
        pol = exp.venue.policy
        ker_per = kernel_seconds.get(pol, float("nan")) / (n_paths * steps)
        add({"case": "reference", "policy": pol, "accounts": n_accounts,
             "paths": reference_paths, "steps": steps,
             "seconds_per_path_step": ref_per, "kernel_seconds_per_path_step": ker_per,
             "speedup": ref_per / ker_per})
    return rows
