"""Deterministic stand-ins for the price and venue layers (runner, CLI and report tests).

They honour the contracts the runner relies on: one key per path from ``fold_in(key, index)``
(so results do not depend on the batch), ``(n, steps)`` log prices, per-path venue outputs.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from tailrisk.venue import VenueConfig


def gbm_log_prices(key, model, path_index, steps, dt, dtype):
    """log S_1..S_T of a driftless GBM with sigma = 0.6, shape (n, steps)."""

    def one(i):
        z = jax.random.normal(jax.random.fold_in(key, i), (steps,), dtype)
        sd = 0.6 * math.sqrt(dt)
        return math.log(model.s0) + jnp.cumsum(sd * z - 0.5 * sd * sd)

    return jax.vmap(one)(path_index)


class Population:
    """What the runner reads from an account table."""

    def __init__(self, n: int):
        self.n = n
        self.cohort_names = ("long", "short")
        self.probe_names = ()


def build_population(venue_cfg: VenueConfig, s0: float, seed: int) -> Population:
    pop = Population(venue_cfg.population.n_accounts)
    BUILDS.append(pop)
    return pop


BUILDS: list[Population] = []


def simulate_venue(accounts, venue_cfg, log_prices, *, s0, seed, path_index, dt, policy=None):
    """A toy venue: the fund loses what longs lose below -10 %; payoffs per cohort (n, 2)."""
    r = np.asarray(log_prices, np.float64)[:, -1] - math.log(s0)
    move = np.expm1(r) * 1e6
    loss = np.maximum(-move - 1e5, 0.0)
    fund_final = venue_cfg.fund - loss
    undamped = np.stack([move, -move], axis=1)
    damped = np.minimum(undamped, np.maximum(venue_cfg.fund, 0.0) + 2e5)
    return {
        "fund_final": fund_final,
        "fund_min": np.minimum(fund_final, venue_cfg.fund),
        "adl_events": (loss > venue_cfg.fund).astype(np.int64),
        "insolvent": loss > 2 * venue_cfg.fund,
        "cohort_damped": damped,
        "cohort_undamped": undamped,
        "path_index_seen": np.asarray(path_index, np.int64),
    }


def small_venue_experiment(paths: int = 40, **venue):
    """A small stressed pro_rata venue (100 accounts, 16 steps of 8 h) for the issue-4 tests."""
    from tailrisk.config import parse_config

    return parse_config(
        {
            "run": {"paths": paths, "chunk_size": 20, "steps": 16, "dt": "8h", "seed": 5},
            "model": {"name": "student_t", "s0": 100_000.0, "nu": 2.5, "sigma": 1.5},
            "venue": {
                "policy": "pro_rata",
                "fund": 20_000.0,
                "capital": 50_000.0,
                "eta": 0.002,
                "depth": 5e6,
                **venue,
                "population": {"n_accounts": 100, "size_median_usd": 20_000.0},
            },
        }
    )


def nonfinite_venue(bad_paths=None):
    """A :func:`simulate_venue` with the outputs venue_metrics needs, non-finite on chosen paths.

    On the paths whose global index is in ``bad_paths`` (every path when None), ``fund_final``
    is NaN and the short cohort's damped payoff is +inf; every other output stays finite.
    """

    def simulate(accounts, venue_cfg, log_prices, *, s0, seed, path_index, dt, policy=None):
        out = simulate_venue(
            accounts, venue_cfg, log_prices, s0=s0, seed=seed, path_index=path_index, dt=dt
        )
        loss = np.maximum(-np.asarray(out["cohort_undamped"])[:, 0], 0.0)
        out["net_insolvent_debt"] = np.where(out["insolvent"], loss, 0.0)
        out["liquidated_notional"] = loss * 3.0
        out["adl_notional"] = np.where(out["adl_events"] > 0, loss, 0.0)
        index = np.asarray(path_index, np.int64)
        bad = np.ones(index.shape, bool) if bad_paths is None else np.isin(index, list(bad_paths))
        out["fund_final"] = np.where(bad, np.nan, out["fund_final"])
        damped = np.array(out["cohort_damped"], np.float64)
        damped[bad, 1] = np.inf
        out["cohort_damped"] = damped
        return out

    return simulate
