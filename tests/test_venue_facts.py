"""MODEL.md 3.6 facts reproduced by the fast kernel on Monte Carlo paths.

Closed market: longs and shorts of one leverage L and entry E, equal quantities (so the rest
account holds nothing), m = 0, no fund, contract-space ADL. A winner closed at the bankruptcy
price gives up what its position would still have earned, a martingale increment, so under the
risk-neutral measure (r = 0) the expected damped payoff equals the undamped one when checks are
continuous and there are no gaps; with gaps, the expected haircut equals the expected gap the
fund could not cover (the `covered` output).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from tailrisk._rng import STREAM_PRICE, stream_key
from tailrisk.analytics import tail_summary
from tailrisk.config import parse_config
from tailrisk.paths import log_prices
from tailrisk.venue import VenueConfig
from tailrisk.venue._accounts import Accounts
from tailrisk.venue.kernel import simulate_venue

S0, L = 100.0, 5.0


def _closed_market(n_pairs: int = 3) -> Accounts:
    side = np.r_[np.ones(n_pairs), -np.ones(n_pairs)].astype(int)
    return Accounts.from_arrays(side=side, quantity=1.0, entry=S0, leverage=L, mmr=0.0)


def _paths(model: dict, n: int, steps: int, dt: float):
    exp = parse_config({"model": {"s0": S0, "mode": "risk_neutral", "r": 0.0, **model}})
    key = stream_key(11, STREAM_PRICE)
    return log_prices(key, exp.model, jnp.arange(n), steps, dt)


def _run(acc, logp, policy="queue_bitmex"):
    venue = VenueConfig(policy=policy, fund=0.0, fee=0.0)
    return simulate_venue(acc, venue, logp, s0=S0, seed=0, path_index=np.arange(logp.shape[0]))


def test_continuous_checks_without_gaps_keep_the_expected_payoff():
    # 1-minute steps of a GBM: the mark crosses a bankruptcy price by a tiny overshoot only
    logp = _paths({"name": "gbm", "sigma": 0.8}, n=4096, steps=1500, dt=1 / (365 * 24 * 60) * 60)
    out = _run(_closed_market(), logp)
    diff = out["cohort_damped"].sum(axis=1) - out["cohort_undamped"].sum(axis=1)
    short_diff = out["cohort_damped"][:, 1] - out["cohort_undamped"][:, 1]
    assert np.mean(out["adl_events"] > 0) > 0.2  # ADL really happens
    se = np.std(short_diff) / np.sqrt(short_diff.size)
    assert abs(np.mean(short_diff)) < 4 * se + 1e-3
    assert abs(np.mean(diff)) < 4 * np.std(diff) / np.sqrt(diff.size) + 1e-3


def test_with_gaps_the_expected_haircut_is_the_uncovered_gap():
    logp = _paths({"name": "merton", "sigma": 0.5, "lam": 40.0, "mu_j": -0.08, "sigma_j": 0.1},
                  n=4096, steps=120, dt=1 / 365)
    out = _run(_closed_market(), logp)
    taken = out["cohort_undamped"].sum(axis=1) - out["cohort_damped"].sum(axis=1)
    assert np.mean(out["covered"]) > 0.01  # gaps really happen
    gap = taken - out["covered"]  # the overshoot output, per path
    np.testing.assert_allclose(gap, out["overshoot"], rtol=1e-5, atol=1e-4)
    assert abs(np.mean(gap)) < 4 * np.std(gap) / np.sqrt(gap.size) + 1e-3


@pytest.mark.parametrize("policy", ["queue_bitmex", "contract_pro_rata"])
def test_damped_short_has_thinner_tails_than_undamped(policy):
    """The closed-market short is a knock-out forward: its gains stop at E - B = E / L."""
    logp = _paths({"name": "student_t", "nu": 3.0, "sigma": 0.8}, n=8192, steps=60, dt=1 / 365)
    out = _run(_closed_market(1), logp, policy)
    damped = tail_summary(out["cohort_damped"][:, 1], "damped", n_resamples=50, seed=1)
    undamped = tail_summary(out["cohort_undamped"][:, 1], "undamped", n_resamples=50, seed=1)
    assert np.max(out["cohort_damped"][:, 1]) <= S0 / L + 1e-3
    assert np.max(out["cohort_undamped"][:, 1]) > S0 / L
    d_rows = {(r["quantity"], r["statistic"]): r for r in damped.to_rows()}
    u_rows = {(r["quantity"], r["statistic"]): r for r in undamped.to_rows()}
    es_keys = [("gain", "ES_0.99")]  # 99.9% has under 10 paths beyond it at n = 8192
    assert es_keys
    for k in es_keys:
        assert d_rows[k]["value"] <= u_rows[k]["value"] + 1e-9
    hill = [k for k in d_rows if k == ("gain", "hill_alpha")]
    assert hill
    assert d_rows[hill[0]]["value"] > u_rows[hill[0]]["value"]
