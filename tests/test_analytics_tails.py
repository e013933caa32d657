"""Tail statistics and their Monte Carlo errors against closed forms and exact samplers."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats as st

from tailrisk.analytics import (
    _tails,
    arviz_mcse,
    expected_shortfall,
    gpd_fit,
    mean_estimate,
    survival_curve,
    tail_summary,
    value_at_risk,
)


def _t_es(p: float, nu: float) -> float:
    """Closed-form expected shortfall of a standard Student-t loss at level p."""
    q = st.t.ppf(p, nu)
    return (nu + q**2) / (nu - 1.0) * st.t.pdf(q, nu) / (1.0 - p)


def test_empirical_es_is_the_mean_of_the_worst_losses():
    losses = np.arange(1000.0)[::-1]  # order must not matter
    assert value_at_risk(losses, 0.99).value == 989.0
    assert expected_shortfall(losses, 0.99).value == pytest.approx(np.mean(np.arange(990, 1000)))
    # a fractional boundary path: n (1 - p) = 12.5 worst losses
    x = np.random.default_rng(3).normal(size=1000)
    worst = -np.sort(-x)
    expected = (worst[:12].sum() + 0.5 * worst[12]) / 12.5
    assert expected_shortfall(x, 0.9875).value == pytest.approx(expected)
    # too few paths beyond the level: no number rather than a wild one
    assert math.isnan(expected_shortfall(x, 0.9999).value)


@pytest.mark.parametrize("p", [0.99, 0.999, 0.9999])
def test_var_es_gaussian(p):
    # 4 MCSE: a false failure has probability about 6e-5 per check
    x = np.random.default_rng(11).normal(size=400_000)
    var, es = value_at_risk(x, p), expected_shortfall(x, p)
    q = st.norm.ppf(p)
    assert abs(var.value - q) < 4 * var.mcse, (var, q)
    assert abs(es.value - st.norm.pdf(q) / (1 - p)) < 4 * es.mcse, es


@pytest.mark.parametrize("p", [0.99, 0.999])
def test_var_es_student_t(p):
    nu = 4.0
    x = st.t.rvs(nu, size=400_000, random_state=np.random.default_rng(12))
    var, es = value_at_risk(-x, p), expected_shortfall(-x, p)
    assert abs(var.value - st.t.ppf(p, nu)) < 4 * var.mcse, var
    assert abs(es.value - _t_es(p, nu)) < 4 * es.mcse, (es, _t_es(p, nu))


def _covered(estimates, truth):
    return np.mean([abs(e.value - truth) < 1.96 * e.mcse for e in estimates])


def test_mcse_coverage_mean_var_es():
    # 200 replications; nominal 95% coverage has a binomial sd of 1.5%, so [0.90, 0.99]
    # fails with probability about 0.2% when the errors are right.
    rng = np.random.default_rng(2024)
    reps, p = 200, 0.99
    means, vars_, ess = [], [], []
    for _ in range(reps):
        x = rng.normal(size=20_000)
        means.append(mean_estimate(x))
        vars_.append(value_at_risk(x, p))
        ess.append(expected_shortfall(x, p))
    q = st.norm.ppf(p)
    cover = {
        "mean": _covered(means, 0.0),
        "var99": _covered(vars_, q),
        "es99": _covered(ess, st.norm.pdf(q) / (1 - p)),
    }
    for name, c in cover.items():
        assert 0.90 <= c <= 0.99, (name, cover)


def test_arviz_wrapper_shapes_and_constants():
    x = np.random.default_rng(0).normal(size=4000)
    assert arviz_mcse(x) == pytest.approx(arviz_mcse(x.reshape(1, -1)))
    assert arviz_mcse(x) == pytest.approx(x.std() / math.sqrt(x.size), rel=0.1)
    assert arviz_mcse(np.ones(100)) == 0.0
    with pytest.raises(ValueError):
        arviz_mcse(np.zeros((2, 2, 2)))


@pytest.mark.parametrize(("xi", "kind"), [(0.25, "gpd"), (0.5, "pareto")])
def test_gpd_recovers_shape(xi, kind):
    rng = np.random.default_rng(5)
    n = 100_000
    if kind == "gpd":
        x = st.genpareto.rvs(xi, size=n, random_state=rng)
    else:  # Pareto(alpha = 2) on [1, inf): excesses over any u >= 1 are GPD with xi = 1/alpha
        x = rng.pareto(1.0 / xi, size=n) + 1.0
    fit = gpd_fit(x, 0.99)
    assert fit.n_exceed == 1000
    # MLE sd of xi is about (1 + xi) / sqrt(n_exceed) = 0.04 to 0.05
    assert abs(fit.xi.value - xi) < 4 * (1 + xi) / math.sqrt(fit.n_exceed)
    summary = tail_summary(-x, "exact", n_resamples=200, seed=1)
    g = summary.tails["loss"].gpd
    assert g.xi.kind == "bootstrap95"
    assert g.xi.ci_low < xi < g.xi.ci_high, g.xi
    assert g.xi.value == pytest.approx(fit.xi.value, rel=1e-6)
    hill = summary.tails["loss"].hill_alpha
    assert hill.ci_low < 1.0 / xi < hill.ci_high or kind == "gpd", hill


class _ShortRng:
    """A ``numpy.random.Generator`` whose copy counts of resample ``short`` hold no top value, so
    that resample must be drawn in full; records those full draws."""

    def __init__(self, seed: int, short: int):
        self.rng, self.short, self.full = np.random.default_rng(seed), short, []

    def multinomial(self, n, pvals, size):
        counts = self.rng.multinomial(n, pvals, size=size)
        counts[self.short] = 0
        counts[self.short, -1] = n
        return counts

    def integers(self, low, high, size):
        self.full.append(self.rng.integers(low, high, size=size))
        return self.full[-1]


def test_bootstrap_counts_give_the_materialised_resample_statistics():
    # rounded values: ties at the threshold and in the Hill and ES heads
    y = np.round(st.t.rvs(3.0, size=5000, random_state=np.random.default_rng(9)), 1)
    n, k, q, top_level = y.size, 71, 0.99, 0.999
    need, m = 72, 300
    top = -np.sort(-y)[:m]
    rng = _ShortRng(10, short=3)
    reps = _tails._bootstrap(y, top, need, k, q, top_level, 12, rng)
    counts = np.random.default_rng(10).multinomial(n, np.r_[np.full(m, 1 / n), 1 - m / n], 12)
    assert len(rng.full) == 1
    n_exceed = []
    for b in range(12):
        if b == rng.short:
            rtop = -np.sort(-y[rng.full[0]])
        else:
            rtop = np.repeat(top, counts[b, :m])
        xi, scale, n_b = _tails._gpd_from_top(rtop, n, q)
        want = [_tails._safe_hill(rtop, k), xi, scale, _tails._es_from_top(rtop, n, top_level)]
        np.testing.assert_allclose(reps[b], want, rtol=1e-10)
        n_exceed.append(n_b)
    # values tied with the threshold (position 50) are not exceedances
    assert min(n_exceed) < 45 and max(n_exceed) <= 50


def test_arviz_import_prints_no_warning(tmp_path):
    # ArviZ 0.23 warns about its refactor once a day, stamped in the user cache: use a fresh one
    code = "import numpy as np; from tailrisk.analytics import arviz_ess; arviz_ess(np.arange(9.))"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", code],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and "Warning" not in out.stderr, out.stderr


def test_survival_curve_is_the_empirical_tail():
    x = np.array([3.0, -1.0, 2.0, 5.0, 0.0, 1.0])
    curve = survival_curve(x)
    assert np.array_equal(curve.x, [5.0, 3.0, 2.0, 1.0])
    assert np.allclose(curve.survival, np.arange(1, 5) / 6)
    assert np.allclose(curve.se, np.sqrt(curve.survival * (1 - curve.survival) / 6))


def test_tail_summary_rows():
    x = st.t.rvs(3.0, size=20_000, random_state=np.random.default_rng(8))
    rows = tail_summary(x, "t3", n_resamples=50).to_rows()
    keys = {"sample", "quantity", "statistic", "value", "mcse_or_ci_low", "ci_high", "unit"}
    assert all(keys <= set(r) for r in rows)
    stats = {(r["quantity"], r["statistic"]): r for r in rows}
    assert stats[("loss", "ES_0.99")]["error_kind"] == "mcse"
    assert math.isnan(stats[("loss", "ES_0.99")]["ci_high"])
    # 20,000 paths leave 2 beyond 99.99%: no number
    assert math.isnan(stats[("gain", "ES_0.9999")]["value"])
    h = stats[("gain", "hill_alpha")]
    assert h["error_kind"] == "bootstrap95" and h["mcse_or_ci_low"] < h["value"] < h["ci_high"]
    assert stats[("gain", "hill_k")]["value"] == math.ceil(math.sqrt(20_000))


def _closed_market_short(n_paths, n_steps, nu, scale, entry, leverage, seed):
    """Per-unit payoffs of a short in the closed market of MODEL.md 3.6 (no fund, m = 0).

    The price is an arithmetic Student-t random walk started at ``entry``, so the undamped
    payoff ``entry - S_T`` has power tails of index ``nu``. The longs' bankruptcy price is
    ``B = entry (1 - 1/L)``; the first time the running minimum reaches ``B`` the longs are
    liquidated and, with nobody else to take the other side, the short is deleveraged at ``B``:
    a knock-out forward with rebate ``entry - B``.
    """
    rng = np.random.default_rng(seed)
    steps = scale * rng.standard_t(nu, size=(n_paths, n_steps))
    path = entry + np.cumsum(steps, axis=1)
    barrier = entry * (1.0 - 1.0 / leverage)
    knocked = path.min(axis=1) <= barrier
    undamped = entry - path[:, -1]
    damped = np.where(knocked, entry - barrier, undamped)
    return damped, undamped, knocked


def test_closed_market_damped_tails_are_thinner():
    damped, undamped, knocked = _closed_market_short(
        n_paths=40_000, n_steps=100, nu=3.0, scale=0.6, entry=100.0, leverage=10.0, seed=31
    )
    assert 0.1 < knocked.mean() < 0.6  # the barrier matters on a fair share of paths
    d = tail_summary(damped, "damped", n_resamples=100, seed=1)
    u = tail_summary(undamped, "undamped", n_resamples=100, seed=1)

    # winners' (gain) tail: capped at the rebate, so thinner beyond the error bars
    hd, hu = d.tails["gain"].hill_alpha, u.tails["gain"].hill_alpha
    assert 1.5 < hu.value < 10.0 and np.isfinite(hu.ci_high), hu
    assert hd.value > hu.value and hd.ci_low > hu.ci_high, (hd, hu)
    for p in (0.99, 0.999):
        ed, eu = d.tails["gain"].es[p], u.tails["gain"].es[p]
        assert ed.value + 2 * ed.mcse < eu.value - 2 * eu.mcse, (p, ed, eu)
    # loss tail: knocked-out paths lose nothing, so the damped ES is no larger
    for p in (0.99, 0.999):
        assert d.tails["loss"].es[p].value <= u.tails["loss"].es[p].value
    # Not asserted: lower kurtosis. With nu = 3 the fourth moment is infinite, and damping only
    # the winners' side shrinks the variance while the loss tail stays, so the damped sample's
    # kurtosis is not smaller here (8.6 against 6.7 with batch SEs of 5 and 3).
