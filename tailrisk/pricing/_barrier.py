"""Closed forms of the closed market (MODEL.md 3.6 and 4): options on a damped asset that is the
price stopped at the counterparties' bankruptcy barrier.

In the closed market (no ``rest`` account, no outside liquidity, one leverage, no maintenance
margin, no fund) a short's position is closed by ADL at the longs' bankruptcy price ``B < S0``
the first time the mark reaches it, so its damped asset is ``A_T = B`` if the price touched
``B`` before ``T`` and ``S_T`` otherwise. A put on it pays ``(K - S_T)+`` if the barrier was not
touched and ``(K - B)+`` at ``T`` if it was: a down-and-out put with a rebate ``(K - B)+`` paid
at maturity; a call is a down-and-out call with rebate ``(B - K)+``. A long's damped asset is
stopped at the shorts' bankruptcy price ``B > S0``: up-and-out options with the same rebates.
The direction follows from ``B`` against ``S0``.

Under Black–Scholes (log-drift ``mu = r - sigma^2/2``) the law of ``X_T = log(S_T/S0)`` on the
paths that never touch ``b = log(B/S0)`` has the density ``phi(x) - exp(2 mu b / sigma^2)
phi(x - 2b)`` on the side of ``b`` where ``S0`` lies (reflection principle; e.g. Shreve,
*Stochastic Calculus for Finance II*, 7.2), so every price below is a sum of truncated
lognormal expectations.

Discrete checks every ``check_interval`` years: Broadie, Glasserman and Kou ("A continuity
correction for discrete barrier options", Math. Finance 7, 1997) shift the barrier away from
``S0`` by ``exp(beta sigma sqrt(dt))``, ``beta = -zeta(1/2)/sqrt(2 pi) = 0.5826``. Here the
shifted barrier decides *whether* the position was closed; the rebate stays ``(K - B)+``
(``(B - K)+``), because ADL closes the position at the bankruptcy price ``B`` itself, not at the
mark that crossed it.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["BGK_BETA", "barrier_hit_probability", "damped_barrier_price"]

#: -zeta(1/2) / sqrt(2 pi)
BGK_BETA = 0.5825971579390106


def _partial(kind: str, S, K, mu, sig_t, T, lo, hi):
    """``E[payoff(S e^Y) 1{lo < S e^Y < hi}]`` for ``Y ~ N(mu T, sig_t^2)`` (undiscounted);
    ``payoff`` is ``(x - K)+`` (call) or ``(K - x)+`` (put); ``lo``/``hi`` may be 0/inf."""
    fwd = S * np.exp(mu * T + 0.5 * sig_t**2)

    def cdf_terms(h):
        # E[S e^Y 1{S e^Y > h}] = fwd N(d1(h)), P(S e^Y > h) = N(d2(h))
        with np.errstate(divide="ignore"):
            d2 = (np.log(S / h) + mu * T) / sig_t
        return fwd * special.ndtr(d2 + sig_t), special.ndtr(d2)

    if kind == "call":
        a = np.maximum(K, lo)
        ea, pa = cdf_terms(a)
        eh, ph = cdf_terms(hi)
        val = (ea - eh) - K * (pa - ph)
        return np.where(hi > a, val, 0.0)
    b = np.minimum(K, hi)
    eb, pb = cdf_terms(b)
    el, pl = cdf_terms(lo)
    # E[(K - x) 1{lo < x < b}] = K P(lo < x < b) - E[x 1{lo < x < b}]
    val = K * (pl - pb) - (el - eb)
    return np.where(b > lo, val, 0.0)


def _survival(S, B, mu, sigma, T, down):
    """P(the price never touches B before T) under continuous monitoring."""
    sig_t = sigma * np.sqrt(T)
    b = np.log(B / S)
    k = np.exp(2.0 * mu * b / sigma**2)
    if down:
        return special.ndtr((mu * T - b) / sig_t) - k * special.ndtr((mu * T + b) / sig_t)
    return special.ndtr((b - mu * T) / sig_t) - k * special.ndtr((-b - mu * T) / sig_t)


def _validate(option, S0, K, B, sigma, T, r, check_interval):
    problems = []
    for name, v in (("S0", S0), ("K", K), ("B", B), ("sigma", sigma), ("T", T)):
        a = np.asarray(v, np.float64)
        if not np.all(np.isfinite(a) & (a > 0)):
            problems.append(f"{name} = {v!r}: must be positive and finite")
    if not np.all(np.isfinite(np.asarray(r, np.float64))):
        problems.append(f"r = {r!r}: must be finite")
    if option not in ("put", "call"):
        problems.append(f"option = {option!r}: must be 'put' or 'call'")
    if check_interval is not None and not (
            np.all(np.isfinite(np.asarray(check_interval, np.float64)))
            and np.all(np.asarray(check_interval, np.float64) > 0)):
        problems.append(f"check_interval = {check_interval!r}: must be a positive number of years "
                        "or None (continuous monitoring)")
    if not problems:
        s, b = np.broadcast_arrays(np.asarray(S0, np.float64), np.asarray(B, np.float64))
        if np.any(s == b):
            problems.append(f"B = {B!r}: must differ from S0 = {S0!r} (a barrier at the start "
                            "price closes the position at once)")
        d = s > b
        if np.any(d) and not np.all(d):
            problems.append("B: must lie on the same side of S0 for every entry (all below: "
                            "a short's damped asset, all above: a long's)")
    if problems:
        raise ValueError("damped_barrier_price: " + "; ".join(problems))


def _shifted(S0, B, sigma, check_interval):
    down = bool(np.all(np.asarray(B) < np.asarray(S0)))
    if check_interval is None:
        return B, down
    shift = np.exp(BGK_BETA * sigma * np.sqrt(np.asarray(check_interval, np.float64)))
    return (B / shift if down else B * shift), down


def barrier_hit_probability(S0, B, sigma, T, r=0.0, check_interval=None) -> np.ndarray:
    """Risk-neutral probability that the price touches ``B`` before ``T`` (continuous
    monitoring, or discrete checks every ``check_interval`` years by the BGK shift)."""
    _validate("put", S0, 1.0, B, sigma, T, r, check_interval)
    S0, B, sigma, T, r = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                               for v in (S0, B, sigma, T, r)))
    Bs, down = _shifted(S0, B, sigma, check_interval)
    return 1.0 - _survival(S0, Bs, r - 0.5 * sigma**2, sigma, T, down)


def damped_barrier_price(option: str, S0, K, B, sigma, T, r=0.0, check_interval=None):
    """Price (USD per unit) of a European ``option`` on the closed market's damped asset.

    Args:
        option: ``"put"`` or ``"call"``.
        S0: spot in USD. K: strike in USD. B: the barrier in USD, the bankruptcy price of the
            counterparties: below ``S0`` for a short's damped asset (down-and-out with rebate),
            above for a long's (up-and-out with rebate).
        sigma: annualised volatility. T: maturity in years. r: continuously compounded rate.
        check_interval: years between checks; None for continuous monitoring. With a value, the
            barrier that decides the close is shifted away from ``S0`` by
            ``exp(0.5826 sigma sqrt(check_interval))`` (Broadie–Glasserman–Kou); the rebate
            stays ``(K - B)+`` for a put and ``(B - K)+`` for a call.

    The rebate is paid at maturity (the damped asset is the stopped price at ``T``), so it is
    discounted by ``exp(-r T)`` like the rest. Arrays broadcast.
    """
    _validate(option, S0, K, B, sigma, T, r, check_interval)
    S0, K, B, sigma, T, r = np.broadcast_arrays(*(np.asarray(v, np.float64)
                                                  for v in (S0, K, B, sigma, T, r)))
    Bs, down = _shifted(S0, B, sigma, check_interval)
    mu = r - 0.5 * sigma**2
    sig_t = sigma * np.sqrt(T)
    refl = np.exp(2.0 * mu * np.log(Bs / S0) / sigma**2)
    mirror = Bs * Bs / S0
    lo, hi = (Bs, np.inf) if down else (0.0, Bs)
    alive = (_partial(option, S0, K, mu, sig_t, T, lo, hi)
             - refl * _partial(option, mirror, K, mu, sig_t, T, lo, hi))
    rebate = np.maximum(K - B, 0.0) if option == "put" else np.maximum(B - K, 0.0)
    hit = 1.0 - _survival(S0, Bs, mu, sigma, T, down)
    return np.exp(-r * T) * (alive + rebate * hit)

