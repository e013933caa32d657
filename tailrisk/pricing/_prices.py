"""The price grid: European options on the damped and the undamped asset, every strike, maturity
and probe, with standard errors, the closed-form price of the undamped option where one exists
(beside its Monte Carlo estimate),
the control variate's variance-reduction factor and Black implied volatilities.

One row a (asset, probe, maturity, kind, strike). Units: prices and standard errors in USD per
unit of the underlying (discounted to time 0 at the model's rate), strikes in USD, maturities in
years, implied volatilities annualised (Black's, on the asset's forward: ``S0 e^{rT}`` for the
undamped asset, the Monte Carlo mean of ``A(T)`` for a damped one). The undamped asset
``S(T)`` is the same for every probe: its rows carry ``probe = ""``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._black import bs_greeks, bs_price, implied_vol, implied_vol_reason
from ._damped_assets import DampedAssets
from ._merton import merton_price
from ._monte_carlo import (
    StrikeSums,
    antithetic_sums,
    control_estimate,
    estimate,
    payoff_sums,
    strike_sums,
)

__all__ = ["closed_form_price", "price_grid"]


def closed_form_price(model, kind: str, s0: float, strikes, T: float, r: float):
    """The undamped option's closed-form price (USD per unit) under the risk-neutral ``model``
    (Black–Scholes for ``gbm``, Merton's series for ``merton``), or None for other models."""
    name = getattr(model, "name", "")
    if getattr(model, "mode", "") != "risk_neutral":
        return None
    if name == "gbm":
        return bs_price(kind, s0, strikes, model.sigma, T, r)
    if name == "merton":
        return merton_price(kind, s0, strikes, model.sigma, T, r, model.lam, model.mu_j,
                            model.sigma_j)
    return None


def moment_controls(model, S, s0: float, T: float, r: float):
    """Per-path controls of known zero mean for the undamped asset ``S`` (``(paths,)``) under
    the risk-neutral ``model``: ``S - s0 e^{rT}`` (every model: the risk-neutral forward) and,
    for ``gbm`` and ``merton``, ``(log S - m)^2 - v`` with the log price's mean ``m`` and
    variance ``v`` in closed form; None for a physical model."""
    if getattr(model, "mode", "") != "risk_neutral":
        return None
    cols = [S - s0 * math.exp(r * T)]
    name = getattr(model, "name", "")
    if name == "gbm":
        m = math.log(s0) + (r - 0.5 * model.sigma**2) * T
        v = model.sigma**2 * T
    elif name == "merton":
        k = math.expm1(model.mu_j + 0.5 * model.sigma_j**2)
        m = math.log(s0) + (r - 0.5 * model.sigma**2 - model.lam * k + model.lam * model.mu_j) * T
        v = (model.sigma**2 + model.lam * (model.mu_j**2 + model.sigma_j**2)) * T
    else:
        return np.stack(cols, axis=1)
    cols.append((np.log(S) - m) ** 2 - v)
    return np.stack(cols, axis=1)


def _iv_columns(kind, price, se, s0, strikes, T, r):
    iv, code = implied_vol(kind, price, s0, strikes, T, r)
    with np.errstate(invalid="ignore", divide="ignore"):
        vega = bs_greeks(kind if kind in ("call", "put") else "call", s0, strikes,
                         np.where(np.isfinite(iv) & (iv > 0), iv, 1.0), T, r)["vega"]
        iv_se = np.where(np.isfinite(iv) & (iv > 0), se / vega, np.nan)
    return iv, iv_se, implied_vol_reason(code)


def _ratio(se_plain, se):
    """Variance-reduction factor ``se_plain^2 / se^2`` (1 where both are 0, inf where only the
    reduced one is)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, (se_plain / np.where(se > 0, se, 1.0)) ** 2,
                        np.where(se_plain > 0, np.inf, 1.0))


def _sample_price(kind, S, strikes, s0, disc):
    """The undamped option's price per strike and the variance of that estimate (discounted
    USD, USD squared) from an independent price-only sample ``S`` (``(paths,)``)."""
    est = estimate(strike_sums(kind, S, strikes, centre=s0), disc)
    return est.price, est.se**2


def price_grid(assets: DampedAssets, strikes: Sequence[float], kinds: Sequence[str] = ("call",),
               *, control_variate: bool = True, control_sample=None) -> dict[str, np.ndarray]:
    """Prices of every option of the grid on the damped asset of each probe and on the
    undamped asset; returns a column table (``{column: array}``, one entry a row).

    With ``control_variate`` the damped prices use the undamped option on the same path as a
    control variate when its closed form is known (``gbm``, ``merton``); the undamped prices are
    then the closed form's, and ``price_plain`` / ``se_plain`` hold the plain Monte Carlo
    estimate beside them. ``vrf`` is the variance-reduction factor achieved (1 without a
    control); ``vrf_potential`` what the control would achieve if its price were known (the
    variance of the plain estimator over that of the regression residual). Undamped rows hold
    the Monte Carlo estimate with moment controls of known mean (:func:`moment_controls`: the
    forward, and for gbm and merton the log price's variance), never the option's own closed
    form, which sits beside it (``closed_form_usd``) as the check.

    control_sample: ``(paths', maturities)`` undamped values from an independent price-only
    simulation (no venue, many more paths): where no closed form exists, the control's price is
    estimated from it and its error enters the damped price's (``b^2 Var(c_hat)``).
    With antithetic assets (``assets.antithetic``) every estimate is over the pairs' means;
    ``price_plain_usd`` is the mean over all paths and ``se_plain_usd`` the error that as many
    independent paths would have, so ``vrf`` compares at equal path count; the undamped prices
    regress the pairs' means on the pairs' mean moment controls.
    """
    strikes = np.sort(np.asarray(strikes, np.float64))
    s0, r = assets.s0, assets.r
    cols: dict[str, list] = {c: [] for c in (
        "asset", "probe", "side", "leverage", "maturity_years", "kind", "strike_usd",
        "moneyness", "price_usd", "se_usd", "price_plain_usd", "se_plain_usd", "vrf",
        "vrf_potential", "closed_form_usd", "forward_usd", "implied_vol", "implied_vol_se",
        "iv_reason", "paths")}
    n = assets.n_paths

    def add(asset, probe, side, lev, T, kind, est_price, est_se, plain, se_plain, vrf, vrf_pot,
            closed, forward):
        m = strikes.shape[0]
        # Black's inversion on the asset's own forward (a damped asset's risk-neutral mean is
        # not S0 e^{rT}): calls and puts then give one volatility, as parity holds on it
        spot = forward * math.exp(-r * T)
        iv, iv_se, reason = _iv_columns(kind, est_price, est_se, spot, strikes, T, r)
        for c, v in (("asset", asset), ("probe", probe), ("side", side), ("leverage", lev),
                     ("maturity_years", T), ("kind", kind), ("paths", n),
                     ("forward_usd", forward)):
            cols[c].extend([v] * m)
        cols["strike_usd"].extend(strikes)
        cols["moneyness"].extend(strikes / s0)
        for c, v in (("price_usd", est_price), ("se_usd", est_se), ("price_plain_usd", plain),
                     ("se_plain_usd", se_plain), ("vrf", vrf), ("vrf_potential", vrf_pot),
                     ("closed_form_usd", closed), ("implied_vol", iv), ("implied_vol_se", iv_se)):
            cols[c].extend(np.broadcast_to(np.asarray(v, np.float64), (m,)))
        cols["iv_reason"].extend(reason)

    n_probes = len(assets.probe_names)
    anti = assets.antithetic
    for k, T in enumerate(assets.maturities):
        T = float(T)
        disc = math.exp(-r * T)
        S = assets.undamped[:, k]
        # one bucketing of S and of each probe's damped asset serves every kind and strike;
        # antithetic: even and odd paths are separate series, paired
        series = [S] + [assets.damped[:, k, j] for j in range(n_probes)]
        if anti:
            series = [half for x in series for half in (x[0::2], x[1::2])]
            pairs = [(0, 1)]
            for j in range(n_probes):
                da, db = 2 * j + 2, 2 * j + 3
                pairs += [(da, db), (da, 0), (db, 1), (da, 1), (db, 0)]
        else:
            pairs = [(j + 1, 0) for j in range(n_probes)]
        sums = payoff_sums(kinds, series, strikes, pairs, s0)
        forwards = np.mean(assets.damped[:, k, :], axis=0) if n_probes else ()
        for kind in kinds:
            ks = sums[kind]
            closed = closed_form_price(assets.model, kind, s0, strikes, T, r)
            control, control_var = closed, None
            if closed is None and control_sample is not None:
                control, control_var = _sample_price(kind, control_sample[:, k], strikes, s0,
                                                     disc)
            if anti:
                pair_sums = antithetic_sums(ks, 0, 1)
                und = estimate(pair_sums, disc)
                und_iid = estimate(StrikeSums(2 * ks.n, ks.f[0] + ks.f[1], ks.f2[0] + ks.f2[1]),
                                   disc)
                und_price, und_se = und.price, und.se
                ctl = moment_controls(assets.model, S, s0, T, r) if control_variate else None
                if ctl is not None:  # moment controls on the pairs' means
                    mc = control_estimate(kind, S[0::2], strikes, ctl[0::2], s0, disc,
                                          mirror=S[1::2], mirror_controls=ctl[1::2],
                                          pair_sums=pair_sums)
                    und_price, und_se = mc.price, mc.se
                und_vrf = _ratio(und_iid.se_plain, und_se)
            else:
                und_iid = und = estimate(StrikeSums(ks.n, ks.f[0], ks.f2[0]), disc)
                ctl = moment_controls(assets.model, S, s0, T, r) if control_variate else None
                if ctl is not None:  # the undamped price with moment controls (no circularity)
                    mc = control_estimate(kind, S, strikes, ctl, s0, disc)
                    und_price, und_se, und_vrf = mc.price, mc.se, mc.vrf
                else:
                    und_price, und_se, und_vrf = und.price, und.se, np.ones_like(und.price)
            add("undamped", "", "", math.nan, T, kind, und_price, und_se, und_iid.price_plain,
                und_iid.se_plain, und_vrf, und_vrf, math.nan if closed is None else closed,
                s0 * math.exp(r * T))
            for j, name in enumerate(assets.probe_names):
                if anti:
                    pair = antithetic_sums(ks, 2 * j + 2, 2 * j + 3, 0, 1)
                    a, b = 2 * j + 2, 2 * j + 3
                    iid = estimate(StrikeSums(2 * ks.n, ks.f[a] + ks.f[b], ks.f2[a] + ks.f2[b]),
                                   disc)
                else:
                    pair = ks.pair(j + 1, 0)
                    iid = None
                pot = estimate(pair, disc, und.price_plain)  # control priced by the same paths
                if control_variate and control is not None:
                    est = estimate(pair, disc, control, control_var)
                    price, se = est.price, est.se
                else:  # plain (antithetic: over the pairs)
                    price, se = pot.price_plain, pot.se_plain
                plain_se = pot.se_plain if iid is None else iid.se_plain
                # variance-reduction factors at equal path count, against plain sampling
                vrf, vrf_pot = _ratio(plain_se, se), _ratio(plain_se, pot.se)
                side = "long" if assets.probe_side[j] > 0 else "short"
                add("damped", name, side, float(assets.probe_leverage[j]), T, kind, price,
                    se, pot.price_plain, plain_se, vrf, vrf_pot, math.nan, float(forwards[j]))
    out = {c: np.asarray(v) for c, v in cols.items()}
    out["unit"] = np.full(out["price_usd"].shape, "USD per unit")
    return out
