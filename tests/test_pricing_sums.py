"""The strike-grid sums against brute force: the lookup-table buckets against
``np.searchsorted`` (ties on strikes, values outside the grid, uneven strikes), every kind's
sums and cross sums against the payoff matrix summed directly, and the antithetic pair means
against pairs formed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tailrisk.pricing._monte_carlo import StrikeBuckets, antithetic_sums, payoff_sums

KINDS = ("call", "put", "digital", "digital_put")


def _payoff(kind, v, k):
    v, k = v[:, None], k[None, :]
    return {"call": np.maximum(v - k, 0.0), "put": np.maximum(k - v, 0.0),
            "digital": (v > k) * 1.0, "digital_put": (v < k) * 1.0}[kind]


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(5)
    n = 3000
    x = 100.0 * np.exp(0.4 * rng.standard_normal(n))
    y = np.minimum(x * np.exp(0.1 * rng.standard_normal(n)), 118.0)  # stopped, like ADL
    k = np.sort(np.concatenate([np.geomspace(40.0, 260.0, 23), [118.0, 100.0, 100.5]]))
    x[:40] = k[7]  # ties on a strike
    y[20:60] = k[7]
    y[60:70] = 118.0
    return x, y, k


@pytest.mark.parametrize("side", ["left", "right"])
def test_buckets_are_searchsorted(sample, side):
    x, y, k = sample
    b = StrikeBuckets(k)
    assert b.table is not None  # the lookup table, not the fallback
    v = np.concatenate([x, y, k, k - 1e-12, k + 1e-12,
                        [-1e9, 0.0, 1e9, np.inf, -np.inf, np.nan]])
    np.testing.assert_array_equal(b.index(v, side), np.searchsorted(k, v, side))
    close = np.sort(np.concatenate([k, [100.0 + 1e-9]]))  # too fine a grid: the fallback
    assert StrikeBuckets(close).table is None
    np.testing.assert_array_equal(StrikeBuckets(close).index(v, side),
                                  np.searchsorted(close, v, side))


def test_sums_and_cross_sums_are_the_payoffs_summed(sample):
    x, y, k = sample
    centre = 100.0
    s = payoff_sums(KINDS, (x, y), k, ((0, 1),), centre)
    for kind in KINDS:
        fx, fy = _payoff(kind, x - centre, k - centre), _payoff(kind, y - centre, k - centre)
        got = s[kind]
        assert got.n == x.shape[0]
        for i, f in ((0, fx), (1, fy)):
            np.testing.assert_allclose(got.f[i], f.sum(0), rtol=1e-10, atol=1e-7)
            np.testing.assert_allclose(got.f2[i], (f * f).sum(0), rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(got.fxy[0], (fx * fy).sum(0), rtol=1e-10, atol=1e-6)


def test_antithetic_pair_means(sample):
    x, y, k = sample
    xa, xb, ya, yb = x[0::2], x[1::2], y[0::2], y[1::2]
    pairs = ((0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2))
    s = payoff_sums(("call",), (xa, xb, ya, yb), k, pairs, 100.0)["call"]
    got = antithetic_sums(s, 0, 1, 2, 3)
    gx = (_payoff("call", xa, k) + _payoff("call", xb, k)) / 2
    gy = (_payoff("call", ya, k) + _payoff("call", yb, k)) / 2
    assert got.n == xa.shape[0]
    np.testing.assert_allclose(got.fx, gx.sum(0), rtol=1e-10, atol=1e-7)
    np.testing.assert_allclose(got.fx2, (gx * gx).sum(0), rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(got.fy2, (gy * gy).sum(0), rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(got.fxy, (gx * gy).sum(0), rtol=1e-10, atol=1e-6)
