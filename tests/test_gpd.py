"""The exact GPD maximum likelihood fit against scipy's generic optimiser, exact samplers and its
own invariances."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.optimize as so
import scipy.stats as st

from tailrisk.analytics._gpd import MIN_EXCEEDANCES, gpd_mle

SHAPES = [0.5, 0.25, 0.05, 0.0, -0.1, -0.3]


def _loglik(x, xi, scale):
    return float(st.genpareto.logpdf(x, xi, scale=scale).sum())


def _scipy_fit(x, tight):
    """``scipy.stats.genpareto.fit(x, floc=0)``: its default Nelder-Mead, or (``tight``) the same
    with tolerances near round-off; returns ``(xi, scale, converged)``."""
    flag = {}

    def nelder_mead(func, x0, args=(), disp=0):
        opts = {"xtol": 1e-10, "ftol": 1e-12, "maxiter": 20_000, "maxfun": 40_000}
        out = so.fmin(func, x0, args, disp=0, full_output=True, **opts)
        flag["warn"] = out[4]
        return out[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # probes outside the support
        if tight:
            xi, _, scale = st.genpareto.fit(x, floc=0, optimizer=nelder_mead)
            return xi, scale, flag["warn"] == 0
        xi, _, scale = st.genpareto.fit(x, floc=0)
        return xi, scale, True


@pytest.mark.parametrize("n", [200, 2000])
@pytest.mark.parametrize("xi", SHAPES)
def test_matches_scipy_maximum(xi, n):
    x = st.genpareto.rvs(xi, scale=3.0, size=n, random_state=np.random.default_rng(n + 7))
    fit = gpd_mle(x)
    ours = _loglik(x, float(fit.xi), float(fit.scale))
    # scipy's default fit stops at xtol = 1e-4: ours is never below its likelihood
    xi_d, scale_d, _ = _scipy_fit(x, tight=False)
    assert ours >= _loglik(x, xi_d, scale_d) - 1e-9 * n
    # driven to round-off, scipy's optimiser lands on the same maximum (it agrees to 3e-8 here)
    xi_t, scale_t, converged = _scipy_fit(x, tight=True)
    assert converged
    assert abs(float(fit.xi) - xi_t) < 1e-7
    assert float(fit.scale) == pytest.approx(scale_t, rel=1e-7)
    assert ours >= _loglik(x, xi_t, scale_t) - 1e-9 * n


def test_counts_equal_the_materialised_sample():
    rng = np.random.default_rng(3)
    values = st.genpareto.rvs(0.3, size=(4, 120), random_state=rng)
    counts = rng.integers(0, 4, size=values.shape)
    batch = gpd_mle(values, counts)
    for i in range(values.shape[0]):
        full = gpd_mle(np.repeat(values[i], counts[i]))
        assert float(batch.xi[i]) == pytest.approx(float(full.xi), rel=1e-11, abs=1e-13)
        assert float(batch.scale[i]) == pytest.approx(float(full.scale), rel=1e-11)
    # an absent slot's value is ignored, whatever it holds
    spoiled = np.where(counts == 0, -np.inf, values)
    again = gpd_mle(spoiled, counts)
    assert np.array_equal(again.xi, batch.xi) and np.array_equal(again.scale, batch.scale)


@pytest.mark.parametrize("factor", [1e-6, 7.0, 1e5])
def test_scale_equivariance(factor):
    x = st.genpareto.rvs(-0.2, size=500, random_state=np.random.default_rng(4))
    base, scaled = gpd_mle(x), gpd_mle(factor * x)
    assert float(scaled.xi) == pytest.approx(float(base.xi), abs=1e-12)
    assert float(scaled.scale) == pytest.approx(factor * float(base.scale), rel=1e-12)


@pytest.mark.parametrize("xi", [0.7, 0.2, 0.0, -0.4])
def test_consistent_at_large_n(xi):
    # asymptotic sd: xi (1 + xi) / sqrt(n), sigma sigma sqrt(2 (1 + xi) / n) (Smith 1984);
    # 4 sd: a false failure has probability about 6e-5 per check
    n, sigma = 50_000, 2.5
    x = st.genpareto.rvs(xi, scale=sigma, size=n, random_state=np.random.default_rng(5))
    fit = gpd_mle(x)
    assert abs(float(fit.xi) - xi) < 4 * (1 + xi) / math.sqrt(n)
    assert abs(float(fit.scale) / sigma - 1) < 4 * math.sqrt(2 * (1 + xi) / n)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(6)
    shapes = [1.5, 0.4, 0.0, -0.3, -0.8, 0.2]
    x = np.stack([st.genpareto.rvs(c, size=300, random_state=rng) for c in shapes])
    w = rng.integers(0, 3, size=x.shape)
    w[4] = 0
    w[4, :10] = 1  # too few: NaN
    batch = gpd_mle(x.reshape(2, 3, -1), w.reshape(2, 3, -1))
    assert batch.xi.shape == (2, 3)
    single = [gpd_mle(x[i], w[i]) for i in range(len(shapes))]
    np.testing.assert_allclose(batch.xi.ravel(), [float(s.xi) for s in single], rtol=1e-12)
    np.testing.assert_allclose(batch.scale.ravel(), [float(s.scale) for s in single], rtol=1e-12)
    assert np.isnan(batch.xi.ravel()[4]) and np.isfinite(np.delete(batch.xi.ravel(), 4)).all()


def test_constraint_and_undefined_fits():
    # xi = -2: the likelihood is unbounded below xi = -1, so the fit sits on the constraint, the
    # uniform law on [0, max x]
    x = st.genpareto.rvs(-2.0, size=400, random_state=np.random.default_rng(7))
    fit = gpd_mle(x)
    assert float(fit.xi) == -1.0 and float(fit.scale) == x.max()
    # no fit from too few or identical values
    assert np.isnan(gpd_mle(np.arange(1.0, MIN_EXCEEDANCES)).xi)
    assert np.isnan(gpd_mle(np.full(100, 2.0)).scale)
    assert np.isfinite(gpd_mle(np.arange(1.0, MIN_EXCEEDANCES + 1)).xi)
    with pytest.raises(ValueError):
        gpd_mle(np.array([1.0, -1.0]))
