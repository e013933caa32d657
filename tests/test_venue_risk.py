"""Venue risk of a winning position (tailrisk.studies.venue_risk)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.config import ConfigError, parse_config
from tailrisk.studies.variants import Variant, simulate_variants
from tailrisk.studies.venue_risk import PROBE_NAME, _with_probe, venue_risk
from tailrisk.venue import build_population


def thin_fund_experiment():
    # fat-tailed, volatile paths and a small fund: longs' liquidations leave deficits that
    # pro-rata haircuts take from the shorts' winnings, the probe's included
    return parse_config(
        {
            "run": {"paths": 200, "chunk_size": 100, "steps": 16, "dt": "8h", "seed": 5},
            "model": {"name": "student_t", "s0": 100_000.0, "nu": 2.5, "sigma": 1.5},
            "venue": {
                "policy": "pro_rata",
                "fund": 2_000.0,
                "capital": 50_000.0,
                "eta": 0.004,
                "depth": 2e6,
                "check_every": 2,
                "population": {"n_accounts": 100, "size_median_usd": 20_000.0},
            },
        }
    )


@pytest.fixture(scope="module")
def risk():
    return venue_risk(thin_fund_experiment(), 1_000.0, "short", 10.0, level=0.9, progress=False)


def test_probability_of_haircut_is_the_share_of_paths_damped_below_undamped(risk):
    # an independent run of the same probe on the same paths
    exp = _with_probe(thin_fund_experiment(), "short", 10.0, 10.0)
    acc = build_population(exp.venue, exp.model.s0, exp.run.seed)
    (out,) = simulate_variants(exp, [Variant(acc, exp.venue, "pro_rata")])
    j = acc.probe_names.index(PROBE_NAME)
    damped, undamped = out["probe_damped"][:, j], out["probe_undamped"][:, j]
    strict = damped < undamped
    assert 0 < strict.mean() < 1  # the case has haircuts, and paths without
    assert risk.p_haircut.value == strict.mean()
    assert risk.p_haircut.mcse == pytest.approx(
        math.sqrt(strict.mean() * (1 - strict.mean()) / 200)
    )
    np.testing.assert_array_equal(risk.damped, damped)
    # pro rata never pays a winner more than it is entitled to (up to float32 round-off of
    # payoffs at prices near 1e5 USD: seen up to 7e-6 per USD of notional)
    assert (risk.haircut_per_usd >= -1e-4).all()
    assert risk.probe_notional_usd == pytest.approx(100.0)  # margin 10 USD at 10x


def test_largest_position_scales_linearly_with_the_budget(risk):
    es = risk.es_haircut_per_usd.value
    assert es > 0
    assert risk.max_position_usd() == pytest.approx(1_000.0 / es)
    assert risk.max_position_usd(3_000.0) == pytest.approx(3 * risk.max_position_usd())
    again = venue_risk(thin_fund_experiment(), 2_500.0, "short", 10.0, level=0.9, progress=False)
    assert again.max_position_usd() == pytest.approx(2.5 * risk.max_position_usd(), rel=1e-12)
    lo, hi = risk.max_position_interval()
    assert lo <= risk.max_position_usd() <= hi
    # the ES is the mean of the worst 10 % of haircuts per dollar (20 of 200 paths)
    worst = np.sort(risk.haircut_per_usd)[-20:]
    assert es == pytest.approx(worst.mean(), rel=1e-9)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="budget_usd") as info:
        venue_risk(thin_fund_experiment(), -5.0, "sideways", 10.0, progress=False)
    assert "side = 'sideways'" in str(info.value)
