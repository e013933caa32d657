"""Closed forms of tailrisk.pricing against independent oracles: QuantLib (analytic European,
barrier, one-touch and Bates engines), scipy, finite differences and hand-worked limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from tailrisk.pricing import (
    BGK_BETA,
    bs_greeks,
    bs_price,
    damped_barrier_price,
    implied_vol,
    implied_vol_reason,
    merton_price,
)

ql = pytest.importorskip("QuantLib")

TODAY = ql.Date(1, 1, 2026)
DC = ql.Actual365Fixed()


def _market(S0, sigma, r):
    ql.Settings.instance().evaluationDate = TODAY
    spot = ql.QuoteHandle(ql.SimpleQuote(S0))
    rts = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, r, DC))
    qts = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, 0.0, DC))
    vts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), sigma, DC))
    return spot, rts, qts, vts


def _maturity(days):
    mat = TODAY + days
    return mat, DC.yearFraction(TODAY, mat)


# ---------------------------------------------------------------- Black–Scholes


@pytest.mark.parametrize("kind", ["call", "put", "digital", "digital_put"])
def test_black_scholes_against_quantlib(kind):
    S0, sigma, r = 100.0, 0.55, 0.04
    spot, rts, qts, vts = _market(S0, sigma, r)
    proc = ql.BlackScholesMertonProcess(spot, qts, rts, vts)
    mat, T = _maturity(120)
    typ = ql.Option.Call if kind in ("call", "digital") else ql.Option.Put
    for K in (40.0, 80.0, 100.0, 125.0, 300.0):
        payoff = (ql.PlainVanillaPayoff(typ, K) if kind in ("call", "put")
                  else ql.CashOrNothingPayoff(typ, K, 1.0))
        opt = ql.EuropeanOption(payoff, ql.EuropeanExercise(mat))
        opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
        ours = float(bs_price(kind, S0, K, sigma, T, r))
        assert ours == pytest.approx(opt.NPV(), rel=1e-10, abs=1e-12)
        g = bs_greeks(kind, S0, K, sigma, T, r)
        assert float(g["delta"]) == pytest.approx(opt.delta(), rel=1e-8, abs=1e-12)
        assert float(g["gamma"]) == pytest.approx(opt.gamma(), rel=1e-8, abs=1e-12)
        # QuantLib's vega is per 1.00 of volatility, like ours
        assert float(g["vega"]) == pytest.approx(opt.vega(), rel=1e-8, abs=1e-10)


def test_black_scholes_deep_out_of_the_money_keeps_relative_precision():
    # the price as an integral of the lognormal density (scipy), far in the tail
    S0, K, sigma, T = 100.0, 400.0, 0.3, 0.25
    d = stats.lognorm(s=sigma * math.sqrt(T), scale=S0 * math.exp(-0.5 * sigma**2 * T))
    exact, _ = integrate.quad(lambda s: (s - K) * d.pdf(s), K, np.inf, epsabs=0, epsrel=1e-12)
    ours = float(bs_price("call", S0, K, sigma, T))
    assert 0 < exact < 1e-15
    assert ours == pytest.approx(exact, rel=1e-8)


def test_greeks_against_finite_differences():
    S0, K, sigma, T, r = 100.0, 110.0, 0.7, 0.5, 0.02
    for kind in ("call", "put", "digital", "digital_put"):
        g = bs_greeks(kind, S0, K, sigma, T, r)
        h = 1e-3 * S0
        up, mid, dn = (float(bs_price(kind, s, K, sigma, T, r)) for s in (S0 + h, S0, S0 - h))
        assert float(g["delta"]) == pytest.approx((up - dn) / (2 * h), rel=1e-5, abs=1e-9)
        assert float(g["gamma"]) == pytest.approx((up - 2 * mid + dn) / h**2, rel=1e-4, abs=1e-8)
        v = 1e-5
        dv = (float(bs_price(kind, S0, K, sigma + v, T, r))
              - float(bs_price(kind, S0, K, sigma - v, T, r))) / (2 * v)
        assert float(g["vega"]) == pytest.approx(dv, rel=1e-6, abs=1e-9)


# ---------------------------------------------------------------- implied volatility


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_implied_vol_round_trip_deep_in_and_out_and_near_expiry(dtype):
    S0, r = 100.0, 0.03
    strikes = np.array([5.0, 30.0, 70.0, 100.0, 140.0, 400.0, 2000.0])
    # tolerance by dtype: a price carries the dtype's rounding error, which the inversion turns
    # into a volatility error of about that error over the time value (times the inverse of the
    # price's elasticity in sigma); in-the-money options are checked where their time value is
    # at least `share` of the price (out-of-the-money ones, all time value, always)
    tol = {np.float32: 2e-3, np.float64: 1e-8}[dtype]
    share = {np.float32: 1e-3, np.float64: 1e-7}[dtype]
    for T in (1 / 365 / 24, 1 / 365, 0.1, 2.0):
        for sigma in (0.05, 0.6, 3.0):
            for kind in ("call", "put"):
                price = bs_price(kind, S0, strikes, sigma, T, r).astype(dtype)
                iv, code = implied_vol(kind, price, S0, strikes, T, r)
                # where the price is representable with relative precision above the dtype's
                # rounding, the volatility comes back
                intrinsic = np.maximum((S0 - strikes * math.exp(-r * T)) * (
                    1 if kind == "call" else -1), 0.0)
                time_value = price.astype(np.float64) - intrinsic
                ok = time_value > share * price
                ok &= price > np.finfo(dtype).tiny * 1e3
                assert np.all(code[ok] == 0), (T, sigma, kind, code)
                assert np.allclose(iv[ok], sigma, rtol=tol), (T, sigma, kind, iv[ok])


def test_implied_vol_tiny_prices_float64():
    # 1e-100 of the spot: the Mills-ratio form keeps the relative precision
    S0, K, T = 100.0, 300.0, 0.02
    sigma = 0.35
    price = bs_price("call", S0, K, sigma, T)
    assert 0 < float(price) < 1e-60
    iv, code = implied_vol("call", price, S0, K, T)
    assert code == 0 and float(iv) == pytest.approx(sigma, rel=1e-9)


def test_implied_vol_nan_with_reason_outside_bounds():
    S0, K, T, r = 100.0, 90.0, 0.5, 0.0
    prices = np.array([5.0, 100.0, 150.0, np.nan, 10.0])  # below intrinsic, at/above S0, nan, ok
    iv, code = implied_vol("call", prices, S0, K, T, r)
    reasons = implied_vol_reason(code)
    assert np.isnan(iv[:4]).all() and np.isfinite(iv[4])
    assert "lower bound" in reasons[0]
    assert "upper bound" in reasons[1] and "upper bound" in reasons[2]
    assert "not a finite" in reasons[3]
    assert reasons[4] == ""
    # a put above the discounted strike has no volatility either
    iv, code = implied_vol("put", 95.0, S0, K, T, r)
    assert np.isnan(iv) and "upper bound" in implied_vol_reason(code)
    # exactly intrinsic: zero volatility
    iv, code = implied_vol("call", 10.0, S0, K, T, r)
    assert code == 0 and float(iv) == pytest.approx(0.0, abs=1e-6)
    # non-positive maturity
    iv, code = implied_vol("call", 12.0, S0, K, 0.0, r)
    assert np.isnan(iv) and "maturity" in implied_vol_reason(code)


# ---------------------------------------------------------------- Merton


def test_merton_series_against_quantlib_bates_without_vol_of_vol():
    # QuantLib's Python build has no analytic Merton engine; its Bates engine (Heston plus
    # Merton jumps, by Fourier inversion) with a constant variance (v0 = theta, vol of vol
    # 1e-4) prices the Merton model
    S0, sigma, r, lam, mu_j, sigma_j = 100.0, 0.4, 0.03, 2.0, -0.1, 0.15
    spot, rts, qts, _ = _market(S0, sigma, r)
    mat, T = _maturity(182)
    proc = ql.BatesProcess(rts, qts, spot, sigma**2, 1.0, sigma**2, 1e-4, 0.0, lam, mu_j, sigma_j)
    engine = ql.BatesEngine(ql.BatesModel(proc), 192)
    for K in (60.0, 90.0, 100.0, 130.0):
        for typ, kind in ((ql.Option.Call, "call"), (ql.Option.Put, "put")):
            opt = ql.EuropeanOption(ql.PlainVanillaPayoff(typ, K), ql.EuropeanExercise(mat))
            opt.setPricingEngine(engine)
            ours = float(merton_price(kind, S0, K, sigma, T, r, lam, mu_j, sigma_j))
            assert ours == pytest.approx(opt.NPV(), rel=2e-8, abs=1e-7)


def test_merton_limits_and_parity():
    S0, K, sigma, T, r = 100.0, 105.0, 0.3, 0.75, 0.02
    # no jumps: Black–Scholes
    for kind in ("call", "put", "digital"):
        assert float(merton_price(kind, S0, K, sigma, T, r, 0.0, -0.1, 0.2)) == pytest.approx(
            float(bs_price(kind, S0, K, sigma, T, r)), rel=1e-12)
    c = float(merton_price("call", S0, K, sigma, T, r, 1.5, -0.2, 0.25))
    p = float(merton_price("put", S0, K, sigma, T, r, 1.5, -0.2, 0.25))
    assert c - p == pytest.approx(S0 - K * math.exp(-r * T), rel=1e-12)


# ---------------------------------------------------------------- the closed market's barrier


def _ql_barrier(option, S0, K, B, sigma, days, r, rebate):
    spot, rts, qts, vts = _market(S0, sigma, r)
    proc = ql.BlackScholesMertonProcess(spot, qts, rts, vts)
    mat, T = _maturity(days)
    typ = ql.Option.Put if option == "put" else ql.Option.Call
    kind = ql.Barrier.DownOut if B < S0 else ql.Barrier.UpOut
    opt = ql.BarrierOption(kind, B, rebate, ql.PlainVanillaPayoff(typ, K), ql.EuropeanExercise(mat))
    opt.setPricingEngine(ql.AnalyticBarrierEngine(proc))
    return opt.NPV(), T, proc, mat


def _ql_touch_at_expiry(S0, B, sigma, days, r):
    """QuantLib's one-touch paying 1 USD at expiry if the price touches B."""
    spot, rts, qts, vts = _market(S0, sigma, r)
    proc = ql.BlackScholesMertonProcess(spot, qts, rts, vts)
    mat, _ = _maturity(days)
    typ = ql.Option.Put if B < S0 else ql.Option.Call
    opt = ql.VanillaOption(ql.CashOrNothingPayoff(typ, B, 1.0),
                           ql.AmericanExercise(TODAY, mat, True))
    opt.setPricingEngine(ql.AnalyticDigitalAmericanEngine(proc))
    return opt.NPV()


@pytest.mark.parametrize("option", ["put", "call"])
@pytest.mark.parametrize("B", [80.0, 125.0])
def test_damped_barrier_price_against_quantlib_at_zero_rate(option, B):
    # QuantLib pays a knock-out's rebate when the barrier is hit; at r = 0 that equals paying
    # it at maturity, the damped asset's definition
    S0, sigma, days = 100.0, 0.6, 182
    for K in (60.0, 75.0, 80.0, 90.0, 100.0, 120.0, 125.0, 140.0):
        rebate = max(K - B, 0.0) if option == "put" else max(B - K, 0.0)
        ref, T, *_ = _ql_barrier(option, S0, K, B, sigma, days, 0.0, rebate)
        ours = float(damped_barrier_price(option, S0, K, B, sigma, T, 0.0))
        assert abs(ours - ref) < 1e-8, (K, ours, ref)


@pytest.mark.parametrize("option", ["put", "call"])
def test_damped_barrier_price_with_rate_rebate_at_maturity(option):
    # r > 0: the knock-out without rebate from QuantLib, plus the rebate paid at expiry, which
    # is the rebate times QuantLib's one-touch paying at expiry
    S0, B, sigma, days, r = 100.0, 85.0, 0.5, 300, 0.05
    touch = _ql_touch_at_expiry(S0, B, sigma, days, r)
    for K in (70.0, 95.0, 110.0):
        alive, T, *_ = _ql_barrier(option, S0, K, B, sigma, days, r, 0.0)
        rebate = max(K - B, 0.0) if option == "put" else max(B - K, 0.0)
        ours = float(damped_barrier_price(option, S0, K, B, sigma, T, r))
        assert abs(ours - (alive + rebate * touch)) < 1e-8


def test_damped_barrier_limits_and_parity():
    S0, sigma, T, r = 100.0, 0.6, 0.5, 0.02
    # a barrier far away: the vanilla option
    for option in ("put", "call"):
        far = float(damped_barrier_price(option, S0, 100.0, 1e-6, sigma, T, r))
        assert far == pytest.approx(float(bs_price(option, S0, 100.0, sigma, T, r)), rel=1e-9)
    # put-call parity on the damped asset: C - P = D (E[A_T] - K); with r = 0 the stopped
    # price is a martingale, E[A_T] = S0
    for B in (70.0, 130.0):
        for K in (50.0, 80.0, 100.0, 150.0):
            c = float(damped_barrier_price("call", S0, K, B, sigma, T, 0.0))
            p = float(damped_barrier_price("put", S0, K, B, sigma, T, 0.0))
            assert c - p == pytest.approx(S0 - K, abs=1e-9)


def test_bgk_shift_is_the_documented_one():
    S0, K, B, sigma, T = 100.0, 95.0, 80.0, 0.6, 0.5
    dt = 1 / 365
    shifted = B * math.exp(-0.5826 * sigma * math.sqrt(dt))
    assert BGK_BETA == pytest.approx(0.5826, abs=1e-4)
    # the discrete price = alive part with the shifted barrier + the rebate (K - B) at the
    # shifted barrier's hit probability; the hit probability from the reflection principle
    mu = -0.5 * sigma**2
    b = math.log(shifted / S0)
    st = sigma * math.sqrt(T)
    survive = stats.norm.cdf((mu * T - b) / st) - math.exp(2 * mu * b / sigma**2) * stats.norm.cdf(
        (mu * T + b) / st)
    alive_shifted = float(damped_barrier_price("put", S0, K, shifted, sigma, T)) - (
        K - shifted) * (1 - survive)
    expected = alive_shifted + (K - B) * (1 - survive)
    got = float(damped_barrier_price("put", S0, K, B, sigma, T, check_interval=dt))
    assert got == pytest.approx(expected, rel=2e-4)


def test_damped_barrier_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="K = -1"):
        damped_barrier_price("put", 100.0, -1.0, 80.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="option = 'straddle'"):
        damped_barrier_price("straddle", 100.0, 90.0, 80.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="sigma = nan"):
        damped_barrier_price("put", 100.0, 90.0, 80.0, float("nan"), 1.0)
    with pytest.raises(ValueError, match="check_interval"):
        damped_barrier_price("put", 100.0, 90.0, 80.0, 0.5, 1.0, check_interval=0.0)
