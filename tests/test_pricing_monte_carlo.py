"""Monte Carlo prices on prices-only paths (no venue) against closed forms: gbm against
Black–Scholes in float32 and float64, merton against Merton's series, the closed market's
stopped price against the barrier formula as the check interval shrinks, and Greeks (bumps on
common random numbers, JAX forward mode) against Black–Scholes Greeks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.config import parse_config
from tailrisk.pricing import bs_greeks, damped_assets, price_grid
from tailrisk.pricing._closed_market import closed_market_check
from tailrisk.pricing._greeks import bump_greeks, pathwise_greeks

STRIKES = np.array([50.0, 70.0, 85.0, 95.0, 100.0, 105.0, 115.0, 130.0, 160.0, 220.0])
MATS = (0.125, 0.25)


def _gbm(dtype, paths=1_000_000, r=0.03, steps=2, dt=0.125, sigma=0.6):
    return parse_config({
        "run": {"seed": 11, "dtype": dtype, "paths": paths, "chunk_size": min(paths, 500_000),
                "steps": steps, "dt": dt},
        "model": {"name": "gbm", "s0": 100.0, "sigma": sigma, "mode": "risk_neutral", "r": r},
    })


@pytest.fixture(scope="module", params=["float32", "float64"])
def gbm_grid(request):
    import jax

    with jax.enable_x64(request.param == "float64"):
        assets = damped_assets(_gbm(request.param), MATS)
    return request.param, assets, price_grid(assets, STRIKES, ("call", "put", "digital"))


#: 60 comparisons a grid: the band that keeps a family-wise false alarm at 1% (Bonferroni)
Z_FAMILY = 3.8
#: the dtype's own bias, relative to the price: float32 paths (log prices summed and
#: exponentiated in float32, float32 normals) move the moments the controls assume by about
#: 1e-4; the plain estimator's errors are far above it, the controlled one's are not
DTYPE_BIAS = {"float32": 2e-4, "float64": 0.0}


def test_gbm_within_three_standard_errors_of_black_scholes(gbm_grid):
    """Every strike and maturity, calls, puts and digitals: the plain estimator within 3
    standard errors of Black–Scholes; the one with moment controls (forward and log-variance,
    never the option's own price; errors 5-100x smaller) within the family-wise band plus the
    dtype's bias."""
    dtype, assets, g = gbm_grid
    assert assets.n_paths == 1_000_000
    z = (g["price_plain_usd"] - g["closed_form_usd"]) / g["se_plain_usd"]
    assert np.all(np.isfinite(z)) and np.all(g["se_plain_usd"] > 0)
    assert np.max(np.abs(z)) < 3.0, (dtype, np.round(z, 2))
    err = np.abs(g["price_usd"] - g["closed_form_usd"])
    band = Z_FAMILY * g["se_usd"] + DTYPE_BIAS[dtype] * g["closed_form_usd"]
    assert np.all(err < band), (dtype, np.round(err / g["se_usd"], 2))
    # the controls pay: at the money the variance falls more than tenfold for calls
    atm = (g["strike_usd"] == 100.0) & (g["kind"] == "call")
    assert np.all(g["vrf"][atm] > 10)


def test_gbm_at_the_money_within_a_tenth_of_a_percent(gbm_grid):
    """At the money (K = 100 = S0), 1,000,000 paths, the estimator with moment controls: its
    standard error is about 0.03% of the price, so 0.1% is a band of more than 3 errors (the
    plain estimator's error, 0.15%, would make it a coin toss)."""
    dtype, _, g = gbm_grid
    atm = (g["strike_usd"] == 100.0) & (g["kind"] != "digital")
    rel_se = g["se_usd"][atm] / g["closed_form_usd"][atm]
    assert np.all(rel_se < 1e-3 / 3), rel_se
    rel = np.abs(g["price_usd"][atm] / g["closed_form_usd"][atm] - 1)
    assert np.all(rel < 1e-3), (dtype, rel, rel_se)


def test_gbm_implied_vol_flat_and_dtypes_agree(gbm_grid):
    dtype, _, g = gbm_grid
    m = (g["kind"] != "digital") & (g["strike_usd"] >= 70) & (g["strike_usd"] <= 160)
    err = np.abs(g["implied_vol"][m] - 0.6)
    tol = {"float32": 1e-3, "float64": 1e-7}[dtype]
    assert np.all(err < Z_FAMILY * g["implied_vol_se"][m] + tol), (dtype, err)
    assert np.all(g["iv_reason"][m] == "")


def test_merton_against_the_series():
    import jax

    from tailrisk.pricing import merton_price

    exp = parse_config({
        "run": {"seed": 3, "dtype": "float64", "paths": 200_000, "chunk_size": 200_000,
                "steps": 8, "dt": 1 / 32},
        "model": {"name": "merton", "s0": 100.0, "sigma": 0.4, "lam": 3.0, "mu_j": -0.08,
                  "sigma_j": 0.12, "mode": "risk_neutral", "r": 0.02},
    })
    with jax.enable_x64(True):
        assets = damped_assets(exp, (0.25,))
    g = price_grid(assets, STRIKES, ("call", "put"))
    want = np.concatenate([merton_price(k, 100.0, STRIKES, 0.4, 0.25, 0.02, 3.0, -0.08, 0.12)
                           for k in ("call", "put")])
    np.testing.assert_allclose(g["closed_form_usd"], want, rtol=1e-12)
    z = (g["price_usd"] - want) / g["se_usd"]
    assert np.max(np.abs(z)) < 3.0, np.round(z, 2)


@pytest.fixture(scope="module")
def closed_market():
    return closed_market_check(paths=60_000, intervals=(1, 2, 4, 8, 16, 32), fine_steps=480)


def test_closed_market_fine_checks_converge_to_the_continuous_price(closed_market):
    """The gap to the continuous closed form is within the Monte Carlo error plus the
    discretisation error, and shrinks as the check interval shrinks (like sqrt(dt))."""
    c = closed_market
    for option in ("put", "call"):
        m = c["option"] == option
        gap = np.abs(c["mc_usd"][m] - c["continuous_usd"][m])
        disc = np.abs(c["bgk_usd"][m] - c["continuous_usd"][m])  # the leading discretisation
        assert np.all(gap <= 3 * c["se_usd"][m] + 1.5 * disc)
        # the sequence: smaller interval, smaller gap (common random numbers), ~ sqrt(dt)
        assert np.all(np.diff(gap) > 0), gap
        ratio = gap[1:] / gap[:-1]
        assert np.all((ratio > 1.15) & (ratio < 1.75)), ratio


def test_closed_market_coarse_checks_match_the_bgk_price(closed_market):
    c = closed_market
    m = c["interval_steps"] >= 8  # checks every 0.5 to 2 days
    z = (c["mc_usd"][m] - c["bgk_usd"][m]) / c["se_usd"][m]
    assert np.max(np.abs(z)) < 3.0, np.round(z, 2)
    # and the correction matters: the continuous price is many errors away
    zc = (c["mc_usd"][m] - c["continuous_usd"][m]) / c["se_usd"][m]
    assert np.min(np.abs(zc)) > 5


def test_greeks_bumps_and_forward_mode_against_black_scholes():
    import jax

    exp = _gbm("float64", paths=200_000, r=0.0, steps=1, dt=0.25, sigma=0.5)
    strikes = np.array([80.0, 100.0, 125.0])
    with jax.enable_x64(True):
        bumps = bump_greeks(exp, (0.25,), strikes, ("call", "put"))
        for kind in ("call", "put"):
            path = pathwise_greeks(exp, 0.25, strikes, kind)
            exact = bs_greeks(kind, 100.0, strikes, 0.5, 0.25, 0.0)
            m = bumps["kind"] == kind
            for greek in ("delta", "gamma", "vega"):
                # bumps: central differences of h = 1% of S0 (gamma) and 0.01 of vol bias by
                # O(h^2); the smoothed kink (0.5 USD) biases forward mode by O(eps^2)
                b, b_se = bumps[greek][m], bumps[f"{greek}_se"][m]
                p, p_se = path[greek], path[f"{greek}_se"]
                bias = 0.01 * np.abs(exact[greek])
                assert np.all(np.abs(b - exact[greek]) < 3 * b_se + bias), (kind, greek, b)
                assert np.all(np.abs(p - exact[greek]) < 3 * p_se + bias), (kind, greek, p)
                assert np.all(np.abs(p - b) < 3 * np.hypot(p_se, b_se) + 2 * bias)
    assert math.isfinite(float(np.sum(bumps["delta"])))


def test_antithetic_paths_against_black_scholes_and_the_plain_error():
    """gbm without a venue: the antithetic estimate (errors over pairs of a path and its
    mirror) is within the family-wise band of Black–Scholes at every strike and maturity, and
    its error is below that of as many independent paths (calls and puts are monotone in the
    normal draws, so each pair's two payoffs are negatively correlated); no control variates,
    so that the comparison is antithetic against plain."""
    import jax

    exp = _gbm("float64", paths=100_000, steps=2)
    ks = STRIKES[1:-1]
    with jax.enable_x64(True):
        anti = damped_assets(exp, MATS, antithetic=True)
        plain = damped_assets(exp, MATS)
    ga = price_grid(anti, ks, ("call", "put"), control_variate=False)
    gp = price_grid(plain, ks, ("call", "put"), control_variate=False)
    z = (ga["price_usd"] - ga["closed_form_usd"]) / ga["se_usd"]
    assert np.max(np.abs(z)) < Z_FAMILY, np.round(z, 2)
    atm = ga["strike_usd"] == 100.0
    assert np.max(np.abs(z[atm])) < 3.0
    assert np.all(ga["se_usd"] < gp["se_usd"]), ga["se_usd"] / gp["se_usd"]
    # the same paths' error as if independent is the plain one's, within sampling noise
    np.testing.assert_allclose(ga["se_plain_usd"], gp["se_usd"], rtol=0.05)
    assert np.all(ga["vrf"] > 1)
    # with the moment controls regressed on the pairs' means: still on Black–Scholes, and
    # the error falls further
    gc = price_grid(anti, ks, ("call", "put"))
    zc = (gc["price_usd"] - gc["closed_form_usd"]) / gc["se_usd"]
    assert np.max(np.abs(zc)) < Z_FAMILY, np.round(zc, 2)
    assert np.all(gc["se_usd"][atm] < ga["se_usd"][atm] / 2)


def test_antithetic_paths_do_not_depend_on_the_chunk_size():
    """Path 2j is path j of the plain run, path 2j + 1 its mirror about the drift line, in
    chunks of any size (odd ones split a pair)."""
    import jax

    exp = _gbm("float64", paths=1000, steps=2)
    with jax.enable_x64(True):
        a = damped_assets(exp, MATS, antithetic=True, chunk=1000)
        b = damped_assets(exp, MATS, antithetic=True, chunk=333)
        plain = damped_assets(exp, MATS, paths=500, chunk=1000)
    np.testing.assert_array_equal(a.undamped, b.undamped)
    np.testing.assert_allclose(a.undamped[0::2], plain.undamped, rtol=1e-14)
    # the mirror: log S' = 2 (log s0 + drift t) - log S, so the product is deterministic
    t = np.asarray(MATS)
    line = np.log(100.0) + (0.03 - 0.5 * 0.6**2) * t
    np.testing.assert_allclose(np.log(a.undamped[0::2]) + np.log(a.undamped[1::2]),
                               np.broadcast_to(2 * line, (500, 2)), rtol=1e-12)


@pytest.mark.parametrize("mode", ["risk_neutral", "physical"])
def test_gbm_vol_variants_are_their_own_draws_to_rounding(mode):
    """float32, plain and antithetic: a gbm volatility variant mapped from the base draw is
    within a few float32 units in the last place of the log price of the paths drawn for the
    variant itself (their own drift: risk-neutral r - sigma^2 / 2 or physical mu); another
    change of the model (here r) is drawn, so it is the variant's own run bit for bit."""
    from tailrisk.pricing._damped_assets import variant_assets
    from tailrisk.pricing._scenario_paths import how_drawn

    exp = _gbm("float32", paths=2000, steps=2)
    if mode == "physical":
        exp = exp.model_copy(update={"model": exp.model.model_copy(
            update={"mode": "physical", "mu": 0.2})})
    models = [exp.model.model_copy(update=u) for u in (
        {"sigma": 0.61}, {"sigma": 0.59}, {"sigma": 0.61, "s0": 101.0}, {"r": 0.05})]
    assert [how_drawn(exp.model, m) for m in models] == ["affine"] * 3 + ["draw"]
    for anti in (False, True):
        runs = variant_assets(exp, MATS, models, antithetic=anti)
        for m, run in zip(models, runs, strict=True):
            own = damped_assets(exp.model_copy(update={"model": m}), MATS, antithetic=anti)
            if m.sigma == exp.model.sigma:
                np.testing.assert_array_equal(run.undamped, own.undamped)
                continue
            lp = np.log(own.undamped)
            ulp = np.spacing(np.float32(np.max(np.abs(lp))))
            assert np.max(np.abs(np.log(run.undamped) - lp)) < 4 * ulp, (anti, m.sigma)
            # a volatility bump moves a path by far more than that
            base = damped_assets(exp, MATS, antithetic=anti)
            assert np.max(np.abs(lp - np.log(base.undamped))) > 1000 * ulp


def test_only_gbm_volatility_and_start_prices_share_the_draw():
    from tailrisk.pricing._scenario_paths import how_drawn

    gbm = _gbm("float64", paths=2).model
    st = parse_config({
        "run": {"seed": 1, "paths": 2, "steps": 2, "dt": 0.125},
        "model": {"name": "student_t", "s0": 100.0, "sigma": 0.6, "nu": 4.0,
                  "mode": "risk_neutral", "r": 0.0},
    }).model
    assert how_drawn(gbm, gbm) == "shift"
    assert how_drawn(gbm, gbm.model_copy(update={"s0": 90.0})) == "shift"
    assert how_drawn(gbm, gbm.model_copy(update={"sigma": 0.7})) == "affine"
    assert how_drawn(gbm, gbm.model_copy(update={"sigma": 0.7, "r": 0.1})) == "draw"
    assert how_drawn(st, st.model_copy(update={"s0": 90.0})) == "shift"
    assert how_drawn(st, st.model_copy(update={"sigma": 0.7})) == "draw"
    assert how_drawn(gbm, st) == "draw"
