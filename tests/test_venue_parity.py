"""The fast kernel against the plain reference, path by path, for every policy (float64)."""

from __future__ import annotations

import zlib

import jax
import numpy as np
import pytest

from tailrisk.venue import POLICIES, VenueConfig
from tailrisk.venue._accounts import Accounts
from tailrisk.venue.kernel import simulate_venue
from tailrisk.venue.reference import simulate_path_reference

SCALARS = (
    "fund_final", "fund_min", "shortfall", "capital_injected", "insolvent", "net_insolvent_debt",
    "liquidated_notional", "liquidated_count", "adl_notional", "adl_count", "adl_events",
    "backlog_max", "backlog_final", "converged", "fees", "pnl_rest", "token_revaluation",
    "winners", "winners_touched", "max_haircut_pct", "gini_haircut", "haircut_total", "overshoot",
    "covered",
)
ARRAYS = ("cohort_damped", "cohort_undamped", "probe_damped", "probe_undamped")


def _population(rng: np.random.Generator, n: int) -> Accounts:
    side = rng.choice([-1, 1], n)
    lev = rng.choice([2.0, 5.0, 10.0, 25.0, 50.0], n) * np.exp(rng.uniform(-0.1, 0.1, n))
    exempt = rng.random(n) < 0.1
    recourse = rng.random(n) < 0.05
    return Accounts.from_arrays(
        side=side, quantity=rng.lognormal(0.0, 1.0, n), entry=100 * np.exp(rng.normal(0, 0.03, n)),
        leverage=lev, mmr=rng.choice([0.0, 0.005, 0.01], n), exempt=exempt, recourse=recourse,
        cap=rng.choice([0.3, 1.0], n), cohort=(side < 0).astype(int) * 2 + (lev > 12),
        cohort_names=("long lo", "long hi", "short lo", "short hi"), probe_index=[0, 1],
        probe_names=("p0", "p1"),
    )


def _paths(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    inc = rng.standard_t(2.5, (n, steps)) * 0.015
    jumps = (rng.random((n, steps)) < 0.03) * rng.normal(-0.05, 0.08, (n, steps))
    return np.log(100.0) + np.cumsum(inc + jumps, axis=1)


VENUES = {
    "plain": dict(fund=2.0),
    "impact_capacity": dict(fund=1.0, eta=0.02, depth=2_000.0, gamma=0.7, capacity=300.0,
                            max_rounds=5),
    "sparse_checks_token_drawdown": dict(fund=20.0, check_every=3, fund_in_token=True,
                                         token_cojump=0.2, drawdown=0.3, drawdown_window=9,
                                         floor=1.0, capital=5.0),
}


# every policy and venue with the fast settlement; the exact per-account settlement (forced on
# every path: a traced flag, so these cases reuse the compiled programs of the fast ones) on one
# venue
CASES = [(p, v, False) for p in POLICIES for v in sorted(VENUES)] + [
    (p, "impact_capacity", True) for p in POLICIES
]


@pytest.mark.parametrize(("policy", "venue_name", "exact"), CASES,
                         ids=[f"{p}-{v}-{'exact' if e else 'fast'}" for p, v, e in CASES])
def test_kernel_matches_reference(policy, venue_name, exact):
    rng = np.random.default_rng(zlib.crc32(f"{policy}-{venue_name}".encode()))
    acc = _population(rng, 24)
    n_paths, steps = 12, 30
    logp = _paths(rng, n_paths, steps)
    venue = VenueConfig(policy=policy, **VENUES[venue_name])
    with jax.enable_x64(True):
        out = simulate_venue(acc, venue, jax.numpy.asarray(logp, jax.numpy.float64), s0=100.0,
                             seed=7, path_index=np.arange(n_paths), dt=1 / 365,
                             exact_settlement=exact, settle_window=3)
    # money agrees to 1e-9 of the venue's money (F_0 plus margins): summation order differs
    atol = acc.money_tolerance(venue.fund)
    for i in range(n_paths):
        prices = np.r_[100.0, np.exp(logp[i])]
        ref = simulate_path_reference(acc, venue, prices, seed=7, path=i, dt=1 / 365)
        for key in SCALARS + ARRAYS:
            if key == "winners" and not exact and out["winners_touched"][i] == 0:
                continue  # counted only where someone was touched (docs/venue.md)
            np.testing.assert_allclose(out[key][i], getattr(ref, key), rtol=1e-7, atol=atol,
                                       err_msg=f"{policy} {venue_name} path {i} {key}")
