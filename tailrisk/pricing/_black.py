"""Black–Scholes prices, Greeks and a robust implied-volatility inversion (plain numpy/scipy).

Conventions: spot ``S`` and strike ``K`` in USD, ``sigma`` annualised, ``T`` in years, ``r`` the
continuously compounded rate per year; no dividends, so the forward is ``F = S exp(r T)`` and
the discount factor ``D = exp(-r T)``. Kinds: ``call`` and ``put`` pay ``(S_T - K)+`` and
``(K - S_T)+`` USD per unit; ``digital`` and ``digital_put`` pay 1 USD if ``S_T > K``
(``S_T < K``).

The inversion works on the out-of-the-money option in normalised form, ``b = price / (D
sqrt(F K))``, written with the scaled complementary error function so that deep out-of-the-money
prices (1e-200 of the forward and below) keep their relative precision (the idea of Jäckel, "Let's
be rational", Wilmott 2015, without his rational initial guesses): a safeguarded Newton iteration
on ``log b`` in the total volatility ``w = sigma sqrt(T)``, kept inside a bisection bracket.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = [
    "KINDS",
    "bs_greeks",
    "bs_price",
    "implied_vol",
    "implied_vol_reason",
]

KINDS = ("call", "put", "digital", "digital_put")

_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _f64(*xs):
    return np.broadcast_arrays(*(np.asarray(x, np.float64) for x in xs))


def _d1_d2(S, K, sigma, T, r):
    w = sigma * np.sqrt(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(S / K) + (r + 0.5 * sigma**2) * T) / w
    return d1, d1 - w


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}: must be one of {', '.join(KINDS)}")


def bs_price(kind: str, S, K, sigma, T, r=0.0) -> np.ndarray:
    """Black–Scholes price (USD per unit) of a European option; arrays broadcast.

    At ``sigma = 0`` or ``T = 0`` the price is the discounted payoff on the forward.
    """
    _check_kind(kind)
    S, K, sigma, T, r = _f64(S, K, sigma, T, r)
    D = np.exp(-r * T)
    F = S / D
    if kind in ("call", "put"):
        x = np.log(F / K)
        w = sigma * np.sqrt(T)
        otm = _otm_normalised(-np.abs(x), w)  # the out-of-the-money option, normalised
        # the in-the-money option adds its intrinsic value (normalised) to the out-of-the-money
        # one, so each side keeps its relative precision
        sign = 1.0 if kind == "call" else -1.0
        itm = sign * x > 0
        norm = np.where(itm, otm + sign * (np.exp(0.5 * x) - np.exp(-0.5 * x)), otm)
        return np.maximum(D * np.sqrt(F * K) * norm, 0.0)
    _, d2 = _d1_d2(S, K, sigma, T, r)
    flat = (sigma * np.sqrt(T)) == 0
    above = np.where(flat, (F > K).astype(np.float64), special.ndtr(d2))
    below = np.where(flat, (F < K).astype(np.float64), special.ndtr(-d2))
    return D * (above if kind == "digital" else below)


def _otm_normalised(x, w):
    """``b(x, w) = exp(x/2) N(x/w + w/2) - exp(-x/2) N(x/w - w/2)`` for ``x <= 0`` (an
    out-of-the-money call on a forward of ``exp(x/2)`` against a strike of ``exp(-x/2)``), via
    the Mills ratio ``Y(z) = N(z)/phi(z) = sqrt(pi/2) erfcx(-z/sqrt 2)``:
    ``b = phi0 (Y(d1) - Y(d2))``, ``phi0 = exp(-(h^2 + t^2)/2) / sqrt(2 pi)``."""
    x, w = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(w, np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = x / w
        t = 0.5 * w
        phi0 = np.exp(-0.5 * (h * h + t * t)) * _INV_SQRT_2PI
        y1 = _SQRT_HALF_PI * special.erfcx(-(h + t) / np.sqrt(2.0))
        y2 = _SQRT_HALF_PI * special.erfcx(-(h - t) / np.sqrt(2.0))
        b = phi0 * (y1 - y2)
        # small w: the difference of Mills ratios cancels; the direct form is accurate there
        direct = np.exp(0.5 * x) * special.ndtr(h + t) - np.exp(-0.5 * x) * special.ndtr(h - t)
        b = np.where(w < 1e-3 * np.maximum(1.0, np.abs(x)), np.maximum(direct, 0.0), b)
    b = np.where(w <= 0, 0.0, b)
    return np.where(np.isinf(w), np.exp(0.5 * x), b)


def bs_greeks(kind: str, S, K, sigma, T, r=0.0) -> dict[str, np.ndarray]:
    """Delta (per unit of spot), gamma (per USD of spot) and vega (USD per unit of sigma, i.e.
    per 1.00 of annualised volatility) of a European option under Black–Scholes."""
    _check_kind(kind)
    S, K, sigma, T, r = _f64(S, K, sigma, T, r)
    D = np.exp(-r * T)
    d1, d2 = _d1_d2(S, K, sigma, T, r)
    sq = np.sqrt(T)
    pdf1 = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    pdf2 = np.exp(-0.5 * d2 * d2) * _INV_SQRT_2PI
    if kind in ("call", "put"):
        delta = special.ndtr(d1) - (kind == "put")
        gamma = pdf1 / (S * sigma * sq)
        vega = S * pdf1 * sq
    else:
        sign = 1.0 if kind == "digital" else -1.0
        delta = sign * D * pdf2 / (S * sigma * sq)
        gamma = -sign * D * pdf2 * d1 / (S * S * sigma * sigma * T)
        vega = -sign * D * pdf2 * d1 / sigma
    return {"delta": delta, "gamma": gamma, "vega": vega}


# reasons an implied volatility does not exist (codes, with their messages)
IV_OK, IV_NOT_FINITE, IV_BELOW, IV_ABOVE, IV_BAD_INPUT, IV_DIGITAL = range(6)
_REASONS = {
    IV_OK: "",
    IV_NOT_FINITE: "price is not a finite number",
    IV_BELOW: "price below the no-arbitrage lower bound (discounted intrinsic value)",
    IV_ABOVE: "price at or above the no-arbitrage upper bound (discounted forward for a call, "
              "discounted strike for a put)",
    IV_BAD_INPUT: "spot, strike and maturity must be positive and finite",
    IV_DIGITAL: "no Black implied volatility for digital options (not monotone in sigma)",
}


def implied_vol_reason(code) -> np.ndarray:
    """The message of each reason code returned by :func:`implied_vol` ('' where it exists)."""
    code = np.asarray(code)
    if code.ndim == 0:
        return _REASONS[int(code)]
    return np.vectorize(_REASONS.__getitem__, otypes=[object])(code) if code.size else code


def implied_vol(kind: str, price, S, K, T, r=0.0, *, tol: float = 1e-12,
                max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Black implied volatility (annualised) of call or put prices (USD per unit).

    Returns ``(sigma, code)``: ``sigma`` is NaN where no volatility reproduces the price, and
    ``code`` says why (:func:`implied_vol_reason` gives the message): a price below the
    discounted intrinsic value or at or above the upper bound (no-arbitrage bounds), a price or
    input that is not finite. A price equal to the intrinsic value gives ``sigma = 0``. The
    iteration converges to ``tol`` in the total volatility ``sigma sqrt(T)`` (float64), deep in
    and out of the money and near expiry.
    """
    _check_kind(kind)
    price, S, K, T, r = _f64(price, S, K, T, r)
    if kind not in ("call", "put"):
        return np.full(price.shape, np.nan), np.full(price.shape, IV_DIGITAL)
    code = np.zeros(price.shape, np.int64)
    bad_in = ~(np.isfinite(S) & np.isfinite(K) & np.isfinite(T) & np.isfinite(r)
               & (S > 0) & (K > 0) & (T > 0))
    code[~np.isfinite(price)] = IV_NOT_FINITE
    code[bad_in] = IV_BAD_INPUT
    with np.errstate(invalid="ignore", divide="ignore"):
        D = np.exp(-r * T)
        F = S / D
        x = np.log(F / K)
        # normalised out-of-the-money price: the in-the-money option less its intrinsic value
        # (an out-of-the-money price is taken as it is, keeping its relative precision)
        scale = D * np.sqrt(F * K)
        sign = 1.0 if kind == "call" else -1.0
        itm = sign * x > 0
        intrinsic = np.where(itm, sign * (np.exp(0.5 * x) - np.exp(-0.5 * x)), 0.0)
        beta = price / scale - intrinsic
        upper = np.exp(0.5 * sign * x)  # F for a call, D K for a put, normalised
    ok = code == IV_OK
    # a price within rounding of a bound is that bound
    eps = 64 * np.finfo(np.float64).eps * np.maximum(upper, 1e-300)
    below = ok & (beta < -eps)
    above = ok & (price / scale >= upper - eps * 0.5) & ~below
    code[below] = IV_BELOW
    code[above] = IV_ABOVE
    ok = code == IV_OK
    beta = np.where(ok, np.maximum(beta, 0.0), 1.0)
    xo = np.where(ok, -np.abs(x), -1.0)  # the out-of-the-money side
    w = _solve_w(xo, beta, tol, max_iter)
    sigma = np.where(ok, w / np.sqrt(np.where(ok, T, 1.0)), np.nan)
    return sigma, code


def _solve_w(x, beta, tol, max_iter):
    """Total volatility ``w`` with ``b(x, w) = beta`` (x <= 0, 0 <= beta < exp(x/2))."""
    zero = beta <= 0
    logb = np.log(np.where(zero, 1.0, beta))
    lo = np.zeros_like(x)
    hi = np.full_like(x, 1.0)
    # widen the bracket until b(hi) >= beta (b rises to exp(x/2) as w grows)
    for _ in range(12):
        short = _otm_normalised(x, hi) < beta
        if not short.any():
            break
        lo = np.where(short, hi, lo)
        hi = np.where(short, hi * 4.0, hi)
    # start from the point of inflection of b in w, sqrt(2 |x|), inside the bracket
    w = np.clip(np.sqrt(2.0 * np.abs(x)), lo, hi)
    w = np.where((w <= lo) | (w >= hi), 0.5 * (lo + hi), w)
    for _ in range(max_iter):
        b = _otm_normalised(x, w)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = np.log(b) - logb
            h = x / w
            t = 0.5 * w
            dlogb = np.exp(-0.5 * (h * h + t * t)) * _INV_SQRT_2PI / b  # (db/dw) / b
            step = f / dlogb
        lo = np.where(f < 0, w, lo)
        hi = np.where(f > 0, w, hi)
        new = w - step
        bad = ~np.isfinite(new) | (new <= lo) | (new >= hi)
        new = np.where(bad, 0.5 * (lo + hi), new)
        done = np.abs(new - w) <= tol * np.maximum(1.0, w)
        w = new
        if np.all(done | zero):
            break
    return np.where(zero, 0.0, w)
