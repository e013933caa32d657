"""The exemption frontier (tailrisk.studies.frontier)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.config import ConfigError, parse_config
from tailrisk.studies.frontier import _first_crossing, exemption_frontier, wilson_interval


def frontier_experiment():
    # no 50x/100x accounts, no fund and no venue capital: a gap that ADL cannot cover (too few
    # non-exempt winners) makes the venue insolvent
    return parse_config(
        {
            "run": {"paths": 200, "chunk_size": 20, "steps": 30, "dt": "8h", "seed": 5},
            "model": {"name": "student_t", "s0": 100_000.0, "nu": 2.5, "sigma": 1.0},
            "venue": {
                "policy": "pro_rata",
                "fund": 0.0,
                "capital": 0.0,
                "eta": 0.002,
                "depth": 5e6,
                "population": {
                    "n_accounts": 100,
                    "size_median_usd": 20_000.0,
                    "leverage_weights": [0.3, 0.3, 0.3, 0.1, 0.0, 0.0],
                },
            },
        }
    )


def test_insolvency_nondecreasing_in_exempt_share():
    shares = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    f = exemption_frontier(frontier_experiment(), shares, progress=False)
    p = np.array([e.value for e in f.insolvency])
    se = np.array([e.mcse for e in f.insolvency])
    # within error (the shares share their paths, so this unpaired bound is conservative)
    assert (np.diff(p) >= -2 * np.hypot(se[1:], se[:-1])).all(), p
    # and the rise is real: everyone exempt leaves every unabsorbed gap to the (zero) capital
    assert p[-1] - p[0] > 5 * math.hypot(se[0], se[-1]), p
    # with everyone exempt, insolvency is ADL-needed (no winner can be touched)
    assert p[-1] == pytest.approx(f.adl[-1].value)
    half = next(c for c in f.crossings if c.threshold == 0.5)
    i = int(np.flatnonzero(p >= 0.5)[0])
    expect = shares[i - 1] + (0.5 - p[i - 1]) * (shares[i] - shares[i - 1]) / (p[i] - p[i - 1])
    assert half.share == pytest.approx(expect)
    assert half.low <= half.share <= half.high
    rows = f.to_rows()
    assert len(rows) == 2 * len(shares) + 3


def test_crossing_and_wilson_helpers():
    x = np.array([0.0, 0.5, 1.0])
    assert _first_crossing(x, np.array([0.0, 0.2, 0.6]), 0.4) == pytest.approx(0.75)
    assert _first_crossing(x, np.array([0.0, 0.2, 0.6]), 0.0) == 0.0
    assert math.isnan(_first_crossing(x, np.array([0.0, 0.2, 0.3]), 0.5))
    # Wilson at p = 0 from n = 100: upper bound z^2 / (n + z^2)
    lo, hi = wilson_interval(0.0, 100)
    assert lo == 0.0 and hi == pytest.approx(1.96**2 / (100 + 1.96**2))
    lo, hi = wilson_interval(0.3, 1000)
    assert lo < 0.3 < hi and hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.21 / 1000), rel=0.01)


def test_bad_shares_are_config_errors():
    with pytest.raises(ConfigError, match="ascending"):
        exemption_frontier(frontier_experiment(), (0.5, 0.1), progress=False)
    with pytest.raises(ConfigError, match=r"exempt_share = 1\.5"):
        exemption_frontier(frontier_experiment(), (0.5, 1.5), progress=False)
