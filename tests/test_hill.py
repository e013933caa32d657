"""The Hill estimator against scipy samplers with known tail index."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st

from tailrisk.analytics import hill, hill_k_rule, hill_plot_data


@pytest.mark.parametrize("nu", [2.0, 3.0, 4.0])
def test_recovers_student_t_degrees_of_freedom(nu):
    # n = 200,000 gives k = 448 and a standard error of nu / 21 (5%); the second-order bias of the
    # t tail at this k is below 5% for nu <= 4. Tolerance 15% is about 3 standard errors.
    x = st.t.rvs(nu, size=200_000, random_state=np.random.default_rng(int(nu * 10)))
    for sample in (x, -x, np.abs(x)):
        alpha = float(hill(sample))
        assert abs(alpha - nu) < 0.15 * nu, (nu, alpha)


def test_pareto_interval_coverage():
    # Exact Pareto(alpha) on [1, inf): the 95% asymptotic interval
    # alpha_hat +- 1.96 alpha_hat / sqrt(k) should cover the truth in about 95% of replications.
    # With 400 replications the binomial standard error is 1.1%; [0.91, 0.985] fails with
    # probability < 0.2% if coverage is 95%.
    alpha, k, reps = 2.5, 200, 400
    rng = np.random.default_rng(7)
    x = rng.pareto(alpha, size=(reps, 5_000)) + 1.0
    est = np.array([float(hill(row, k)) for row in x])
    covered = np.abs(est - alpha) < 1.96 * est / math.sqrt(k)
    assert 0.91 <= covered.mean() <= 0.985
    # and the estimator is centred (mean within 4 standard errors of the truth)
    assert abs(est.mean() - alpha) < 4 * alpha / math.sqrt(k) / math.sqrt(reps) + 0.02


def test_vectorised_over_k_and_plot_data():
    x = np.random.default_rng(0).pareto(3.0, size=10_000) + 1.0
    ks = np.array([10, 100, 1000])
    many = hill(x, ks)
    assert many.shape == (3,)
    assert np.allclose(many, [float(hill(x, int(k))) for k in ks])
    plot = hill_plot_data(x, ks)
    assert np.array_equal(plot.k, ks)
    assert np.allclose(plot.alpha, many)
    assert np.allclose(plot.se, many / np.sqrt(ks))
    assert np.all(plot.lower < plot.alpha) and np.all(plot.alpha < plot.upper)
    default = hill_plot_data(x)
    assert default.k[0] == 5 and default.k[-1] == 2_000 and default.k.size <= 400


def test_exact_on_hand_computed_sample():
    # top values 8, 4, 2 above X_(4) = 1: mean log excess = (log 8 + log 4 + log 2)/3 = 2 log 2
    x = np.array([1.0, 2.0, 0.5, 8.0, 4.0, -3.0])
    assert float(hill(x, 3)) == pytest.approx(1.0 / (2.0 * math.log(2.0)))
    # scale invariance: alpha does not change with the units of x
    assert float(hill(1e3 * x, 3)) == pytest.approx(float(hill(x, 3)))


def test_k_rule():
    assert hill_k_rule(4_061) == 64
    assert hill_k_rule(2) == 1
    assert hill_k_rule(100) == 10
    with pytest.raises(ValueError, match="n"):
        hill_k_rule(1)


@pytest.mark.parametrize(
    ("x", "k", "name"),
    [
        (np.arange(1.0, 11.0), 10, "k"),
        (np.arange(1.0, 11.0), 0, "k"),
        (np.arange(1.0, 11.0), [1, 12], "k"),
        (np.arange(1.0, 11.0), 2.5, "k"),
        (np.array([1.0, np.nan, 3.0, 4.0]), 1, "x"),
        (np.array([1.0, np.inf, 3.0, 4.0]), 1, "x"),
        (np.ones((3, 3)), 1, "x"),
        (np.array([3.0, 2.0, -1.0, -2.0]), 2, "x"),  # X_(3) <= 0
    ],
)
def test_bad_input_names_the_argument(x, k, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        hill(x, k)
