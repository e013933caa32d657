"""Damped assets at several maturities from one venue run, against the plain reference venue run
on the path cut at each maturity; the price grid on them (parity, monotone and convex in the
strike, the control variate) and the price of ADL. One venue program (float64) for the module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.config import parse_config
from tailrisk.pricing import adl_price, damped_assets, price_grid
from tailrisk.venue import build_population, simulate_path_reference

DT = 1 / 365
MATURITIES = (5 * DT, 12 * DT, 24 * DT)

CONFIG = {
    "run": {"seed": 7, "dtype": "float64", "paths": 256, "chunk_size": 128, "steps": 24,
            "dt": "1d"},
    "model": {"name": "gbm", "s0": 100.0, "sigma": 1.2, "mode": "risk_neutral", "r": 0.0},
    "venue": {
        "policy": "queue_bitmex", "fund": 2000.0, "eta": 0.002, "depth": 1e6, "capital": 0.0,
        "population": {
            "n_accounts": 200, "size_median_usd": 2000.0, "long_share": 0.5,
            "probes": [
                {"name": "short_10x", "side": "short", "leverage": 10.0, "quantity": 1e-3},
                {"name": "long_10x", "side": "long", "leverage": 10.0, "quantity": 1e-3},
                {"name": "short_3x", "side": "short", "leverage": 3.0, "quantity": 1e-3},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def exp():
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def assets(exp):
    import jax

    with jax.enable_x64(True):
        return damped_assets(exp, MATURITIES)


def test_every_maturity_matches_the_reference_cut_there(exp, assets):
    """The reference venue run on the path up to T_k settles each probe at T_k: its damped
    payoff there is what the one run to the longest maturity recorded for T_k."""
    import jax
    import jax.numpy as jnp

    from tailrisk._rng import STREAM_PRICE, stream_key
    from tailrisk.paths import log_prices

    acc = build_population(exp.venue, exp.model.s0, exp.run.seed)
    with jax.enable_x64(True):
        lp = np.asarray(log_prices(stream_key(exp.run.seed, STREAM_PRICE), exp.model,
                                   jnp.arange(16, dtype=jnp.uint32), exp.run.steps, DT,
                                   jnp.float64))
    q = acc.quantity[acc.probe_index]
    e = acc.entry[acc.probe_index]
    s = acc.side[acc.probe_index]
    touched = 0
    for i in range(16):
        prices = np.concatenate([[exp.model.s0], np.exp(lp[i])])
        for k, t in enumerate(assets.steps):
            ref = simulate_path_reference(acc, exp.venue, prices[: t + 1], seed=exp.run.seed,
                                          path=i, dt=DT)
            want = e + s * ref.probe_damped / q
            entitled = e + s * ref.probe_undamped / q
            np.testing.assert_allclose(assets.damped[i, k], want, rtol=0, atol=1e-7)
            np.testing.assert_allclose(assets.entitled[i, k], entitled, rtol=0, atol=1e-7)
            assert assets.undamped[i, k] == pytest.approx(prices[t], rel=1e-12)
            touched += int(np.sum(np.abs(want - entitled) > 1e-9))
    assert touched > 0, "no probe was damped on these paths: the check would be empty"


def test_assets_do_not_depend_on_how_paths_are_split(exp, assets):
    """192 paths in chunks of 128 (the last one padded) give the first 192 of the 256: the same
    compiled program (the kernel's own tests vary the chunk size itself)."""
    import jax

    with jax.enable_x64(True):
        again = damped_assets(exp, MATURITIES, paths=192)
    np.testing.assert_array_equal(again.damped, assets.damped[:192])
    np.testing.assert_array_equal(again.entitled, assets.entitled[:192])
    np.testing.assert_array_equal(again.undamped, assets.undamped[:192])


def test_parity_monotone_convex_in_strike(assets):
    strikes = np.linspace(60.0, 140.0, 17)
    g = price_grid(assets, strikes, ("call", "put", "digital", "digital_put"))
    for name in assets.probe_names:
        for k, T in enumerate(assets.maturities):
            j = assets.probe_names.index(name)
            fwd = float(np.mean(assets.damped[:, k, j]))

            def rows(kind, name=name, T=T):
                m = ((g["asset"] == "damped") & (g["probe"] == name)
                     & (g["maturity_years"] == T) & (g["kind"] == kind))
                return g["price_plain_usd"][m], g["price_usd"][m]

            c, c_cv = rows("call")
            p, p_cv = rows("put")
            d, _ = rows("digital")
            dp, _ = rows("digital_put")
            disc = math.exp(-assets.r * T)
            # put-call parity on the damped asset at every strike (plain and control variate)
            np.testing.assert_allclose(c - p, disc * (fwd - strikes), atol=1e-9 * fwd)
            assert np.all(np.diff(c) <= 1e-12) and np.all(np.diff(p) >= -1e-12)
            assert np.all(np.diff(c, 2) >= -1e-9) and np.all(np.diff(p, 2) >= -1e-9)
            # digitals: between 0 and the discount factor, a call's minus slope bound
            assert np.all((d >= 0) & (d + dp <= disc + 1e-12))
            assert np.all(np.diff(d) <= 1e-12)
            # the control-variate estimate keeps the no-arbitrage bounds within its error
            assert np.all(c_cv >= -1e-9) and np.all(p_cv >= -1e-9)


def test_control_variate_matches_a_hand_regression(assets):
    """The control-variate price and its error against a direct least-squares computation."""
    from tailrisk.pricing import bs_price

    strikes = np.array([80.0, 100.0, 120.0])
    g = price_grid(assets, strikes, ("call",))
    k, j = 2, 0
    T = float(assets.maturities[k])
    x = np.maximum(assets.damped[:, k, j][:, None] - strikes, 0.0)
    y = np.maximum(assets.undamped[:, k][:, None] - strikes, 0.0)
    c = bs_price("call", assets.s0, strikes, assets.model.sigma, T, 0.0)
    n = x.shape[0]
    b = np.array([np.cov(x[:, i], y[:, i])[0, 1] / np.var(y[:, i], ddof=1) for i in range(3)])
    want = x.mean(0) - b * (y.mean(0) - c)
    resid = np.var(x - b * y, axis=0, ddof=1)
    m = (g["probe"] == assets.probe_names[j]) & (g["maturity_years"] == T)
    np.testing.assert_allclose(g["price_usd"][m], want, rtol=1e-9)
    np.testing.assert_allclose(g["se_usd"][m], np.sqrt(resid / n), rtol=1e-6)
    ok = resid > 1e-12 * np.var(x, 0, ddof=1)  # else the control explains it all: vrf inf
    np.testing.assert_allclose(g["vrf"][m][ok], np.var(x, 0, ddof=1)[ok] / resid[ok], rtol=1e-6)
    # no residual: infinite reduction, or 1 where the payoff itself never varies (0 everywhere)
    vx = np.var(x, 0, ddof=1)[~ok]
    assert np.all(np.where(vx > 0, g["vrf"][m][~ok] > 1e6, g["vrf"][m][~ok] == 1.0))


def test_adl_price_is_the_mean_claim(assets):
    a = adl_price(assets)
    for r in range(len(a["probe"])):
        j = assets.probe_names.index(a["probe"][r])
        k = list(assets.maturities).index(a["maturity_years"][r])
        s = assets.probe_side[j]
        diff = s * (assets.entitled[:, k, j] - assets.damped[:, k, j])
        assert a["adl_price_usd"][r] == pytest.approx(diff.mean(), abs=1e-12)
        assert a["adl_price_se_usd"][r] == pytest.approx(diff.std(ddof=1) / math.sqrt(diff.size))
        T = a["maturity_years"][r]
        assert a["adl_rate_per_year"][r] == pytest.approx(
            diff.mean() / (assets.probe_entry[j] * T), abs=1e-15)


def test_control_priced_from_an_independent_sample(assets):
    """Without a closed form the control's price is the mean payoff of an independent
    price-only sample, and its error enters the price's: se^2 = Var(x - b y) / n + b^2
    Var(c_hat), by a direct computation (the model is relabelled so that no closed form
    exists; the sample is drawn here with numpy)."""
    import dataclasses
    from types import SimpleNamespace

    strikes = np.array([80.0, 100.0, 120.0])
    relabelled = dataclasses.replace(
        assets, model=SimpleNamespace(name="student_t", mode="risk_neutral"))
    rng = np.random.default_rng(3)
    T = assets.maturities
    sample = 100.0 * np.exp(1.2 * np.sqrt(T)[None] * rng.standard_normal((2560, 1))
                            - 0.72 * T[None])
    g = price_grid(relabelled, strikes, ("call",), control_sample=sample)
    k, j = 2, 0
    x = np.maximum(assets.damped[:, k, j][:, None] - strikes, 0.0)
    y = np.maximum(assets.undamped[:, k][:, None] - strikes, 0.0)
    ys = np.maximum(sample[:, k][:, None] - strikes, 0.0)
    n, m = x.shape[0], ys.shape[0]
    b = np.array([np.cov(x[:, i], y[:, i])[0, 1] / np.var(y[:, i], ddof=1) for i in range(3)])
    want = x.mean(0) - b * (y.mean(0) - ys.mean(0))
    se = np.sqrt(np.var(x - b * y, axis=0, ddof=1) / n + b**2 * np.var(ys, 0, ddof=1) / m)
    rows = (g["probe"] == assets.probe_names[j]) & (g["maturity_years"] == float(T[k]))
    np.testing.assert_allclose(g["price_usd"][rows], want, rtol=1e-9)
    np.testing.assert_allclose(g["se_usd"][rows], se, rtol=1e-6)
    ok = se > 0  # else the payoff never pays on these paths (a short's capped asset): vrf 1
    np.testing.assert_allclose(g["vrf"][rows][ok], np.var(x, 0, ddof=1)[ok] / n / se[ok]**2,
                               rtol=1e-6)
    assert np.all(g["vrf"][rows][~ok] == 1.0)
    assert np.all(np.isnan(g["closed_form_usd"][rows]))


def test_variants_share_one_draw_and_match_their_own_runs(exp, assets):
    """The Greeks' variants (s0 +-1%, sigma +-0.01) from one pass that draws each chunk once:
    each is what a run of its own model gives. s0 enters the paths only as log s0, so those
    are bit-identical, the base among them; the gbm volatility is an affine map of the base
    draw, equal to its own draw to float64 rounding."""
    import jax
    import jax.numpy as jnp

    from tailrisk._rng import STREAM_PRICE, stream_key
    from tailrisk.paths import log_prices
    from tailrisk.pricing._damped_assets import variant_assets

    acc = build_population(exp.venue, exp.model.s0, exp.run.seed)
    models = [exp.model] + [exp.model.model_copy(update=u) for u in (
        {"s0": 101.0}, {"s0": 99.0}, {"sigma": 1.21}, {"sigma": 1.19})]
    with jax.enable_x64(True):
        runs = variant_assets(exp, MATURITIES, models, venue=exp.venue, accounts=acc)
        own = [damped_assets(exp.model_copy(update={"model": m}), MATURITIES, venue=exp.venue,
                             accounts=acc) for m in models[1:]]
        lps = [np.asarray(log_prices(stream_key(exp.run.seed, STREAM_PRICE), m,
                                     jnp.arange(256, dtype=jnp.uint32), exp.run.steps, DT,
                                     jnp.float64)) for m in models]
    cut = np.asarray(assets.steps) - 1
    for field in ("undamped", "damped", "entitled"):
        np.testing.assert_array_equal(getattr(runs[0], field), getattr(assets, field))
    for i, (run, m) in enumerate(zip(runs, models, strict=True)):
        assert run.s0 == m.s0 and run.model is m
        exact = i < 3
        if exact:
            np.testing.assert_array_equal(run.undamped, np.exp(lps[i][:, cut]))
        else:
            np.testing.assert_allclose(run.undamped, np.exp(lps[i][:, cut]), rtol=1e-13)
        if i == 0:
            continue
        for field in ("undamped", "damped", "entitled"):
            got, want = getattr(run, field), getattr(own[i - 1], field)
            if exact:
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
            # and the variant did move the asset, so the comparison is not of the base twice
            assert np.max(np.abs(got - getattr(assets, field))) > 1e-3
