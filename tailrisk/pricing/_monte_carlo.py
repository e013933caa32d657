"""Monte Carlo prices of European options on a grid of strikes, with standard errors and the
undamped payoff as a control variate.

Every payoff here is a function of one terminal value and a strike, so one pass over the paths
serves every strike at once: each path is put in the bucket of the strikes around its value
(``searchsorted``), a few weighted counts per bucket are taken (``bincount``), and cumulative
sums over the buckets give, for every strike, the sums ``sum f``, ``sum f^2`` of the payoff.
The control variate needs the cross sums ``sum f(X) f(Y)`` of the damped value ``X`` and the
undamped ``Y``: a call pays on both only when ``min(X, Y) > K``, a put only when ``max(X, Y) <
K``, so the same buckets of ``min`` (``max``) give them. Cost: O(paths) per maturity and probe,
whatever the number of strikes. Paths are taken in blocks of a fixed size in path order and the
sums are float64, so the numbers do not depend on how the paths were chunked when simulated.

Estimators (``n`` paths, discount ``D``): plain, ``D mean f(X)`` with standard error
``D sd f(X) / sqrt n``; with the control ``f(Y)`` whose price ``c`` is known,
``D (mean f(X) - b (mean f(Y) - c / D))`` with ``b = cov / var f(Y)`` estimated from the same
paths (a bias of order 1/n, far below the error), standard error
``D sqrt((var f(X) - cov^2 / var f(Y)) / n)``; the variance-reduction factor is the ratio of
the two variances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PriceEstimate", "StrikeSums", "estimate", "strike_sums"]

#: paths per block of the sums (fixed, so the sums do not depend on the chunking)
BLOCK = 1 << 16


@dataclass
class StrikeSums:
    """Per-strike sums over paths of a payoff of ``X`` (and of a control ``Y``), float64."""

    n: int
    fx: np.ndarray
    fx2: np.ndarray
    fy: np.ndarray | None = None
    fy2: np.ndarray | None = None
    fxy: np.ndarray | None = None


def _bucket_sums(v, strikes, weights, above: bool):
    """For every strike ``K_j``, ``sum_i w_i 1{v_i > K_j}`` (``above``) or ``1{v_i < K_j}``,
    for each weight vector in ``weights``; shape ``(len(weights), strikes)``."""
    m = strikes.shape[0]
    side = "left" if above else "right"
    idx = np.searchsorted(strikes, v, side=side)  # above: #strikes < v; below: #strikes <= v
    out = np.empty((len(weights), m))
    for i, w in enumerate(weights):
        counts = np.bincount(idx, weights=w, minlength=m + 1)
        if above:  # v > K_j  <=>  j < idx: buckets j+1 .. m
            out[i] = np.cumsum(counts[::-1])[::-1][1:]
        else:  # v < K_j  <=>  idx <= j: buckets 0 .. j
            out[i] = np.cumsum(counts)[:m]
    return out


def _sums_block(kind, x, y, k):
    """Sums over one block: x, y centred values (float64), k centred strikes (sorted)."""
    above = kind in ("call", "digital")
    ones = np.ones_like(x)
    s1, sx, sxx = _bucket_sums(x, k, (ones, x, x * x), above)
    if kind in ("call", "put"):
        sign = 1.0 if kind == "call" else -1.0
        fx = sign * (sx - k * s1)
        fx2 = sxx - 2 * k * sx + k * k * s1
    else:
        fx = fx2 = s1
    if y is None:
        return fx, fx2, None, None, None
    t1, ty, tyy = _bucket_sums(y, k, (ones, y, y * y), above)
    both = np.minimum(x, y) if above else np.maximum(x, y)
    c1, cs, cp = _bucket_sums(both, k, (ones, x + y, x * y), above)
    if kind in ("call", "put"):
        fy = sign * (ty - k * t1)
        fy2 = tyy - 2 * k * ty + k * k * t1
        fxy = cp - k * cs + k * k * c1
    else:
        fy = fy2 = t1
        fxy = c1
    return fx, fx2, fy, fy2, fxy


def strike_sums(kind: str, x, strikes, y=None, centre: float = 0.0) -> StrikeSums:
    """Sums of the payoff of ``kind`` over the paths, for every strike (sorted ascending, USD).

    ``x``: the asset's value at maturity per path (USD); ``y``: the control asset per path (or
    None). Values are centred at ``centre`` (e.g. the start price) before squaring, which keeps
    the float64 sums accurate for assets of 1e5 USD.
    """
    strikes = np.asarray(strikes, np.float64)
    if np.any(np.diff(strikes) < 0):
        raise ValueError("strikes must be sorted ascending")
    k = strikes - centre
    n = int(np.asarray(x).shape[0])
    acc = None
    for lo in range(0, n, BLOCK):
        xb = np.asarray(x[lo:lo + BLOCK], np.float64) - centre
        yb = None if y is None else np.asarray(y[lo:lo + BLOCK], np.float64) - centre
        part = _sums_block(kind, xb, yb, k)
        acc = part if acc is None else tuple(
            None if a is None else a + b for a, b in zip(acc, part, strict=True))
    if acc is None:
        z = np.zeros_like(k)
        acc = (z, z, None, None, None) if y is None else (z, z, z, z, z)
    return StrikeSums(n, *acc)


@dataclass
class PriceEstimate:
    """Prices per strike (USD per unit, discounted) with standard errors."""

    price: np.ndarray  # the control-variate estimate where a control is given, else plain
    se: np.ndarray
    price_plain: np.ndarray
    se_plain: np.ndarray
    #: variance of the plain estimator over that of the control-variate one (1 without control)
    vrf: np.ndarray


def estimate(s: StrikeSums, discount: float = 1.0, control_price=None) -> PriceEstimate:
    """Plain and control-variate estimates from the sums (see the module docstring).
    ``control_price``: the known price of the control's payoff per strike (discounted, USD)."""
    n = s.n
    mx = s.fx / n
    vx = np.maximum(s.fx2 / n - mx * mx, 0.0) * n / max(n - 1, 1)
    plain = discount * mx
    se_plain = discount * np.sqrt(vx / n)
    if control_price is None or s.fy is None:
        return PriceEstimate(plain, se_plain, plain, se_plain, np.ones_like(plain))
    my = s.fy / n
    vy = np.maximum(s.fy2 / n - my * my, 0.0) * n / max(n - 1, 1)
    cov = (s.fxy / n - mx * my) * n / max(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(vy > 0, cov / vy, 0.0)
        vres = np.maximum(vx - b * cov, 0.0)
        cv = discount * (mx - b * (my - np.asarray(control_price, np.float64) / discount))
        vrf = np.where(vres > 0, vx / vres, np.where(vx > 0, np.inf, 1.0))
    return PriceEstimate(cv, discount * np.sqrt(vres / n), plain, se_plain, vrf)


def control_estimate(kind: str, x, strikes, controls, centre: float = 0.0,
                     discount: float = 1.0) -> PriceEstimate:
    """Prices per strike with several controls of known zero mean: ``controls`` is
    ``(paths, m)``, each column a per-path quantity whose expectation is exactly 0 (for example
    ``S_T - F`` and ``(log S_T - E log S_T)^2 - Var log S_T`` under a model that gives both in
    closed form). The regression estimator ``mean f - b . mean c`` with ``b`` the least-squares
    coefficients per strike; its error from the residual variance. The sums over paths are the
    bucket sums of the module docstring, weighted by the controls."""
    strikes = np.asarray(strikes, np.float64)
    k = strikes - centre
    c = np.asarray(controls, np.float64)
    n, m = c.shape
    above = kind in ("call", "digital")
    s_f = np.zeros(len(k))
    s_ff = np.zeros(len(k))
    s_fc = np.zeros((m, len(k)))
    for lo in range(0, n, BLOCK):
        xb = np.asarray(x[lo:lo + BLOCK], np.float64) - centre
        cb = c[lo:lo + BLOCK]
        ones = np.ones_like(xb)
        weights = [ones, xb, xb * xb]
        for j in range(m):
            weights += [cb[:, j], xb * cb[:, j]]
        sums = _bucket_sums(xb, k, weights, above)
        s1, sx, sxx = sums[:3]
        if kind in ("call", "put"):
            sign = 1.0 if kind == "call" else -1.0
            s_f += sign * (sx - k * s1)
            s_ff += sxx - 2 * k * sx + k * k * s1
            for j in range(m):
                s_fc[j] += sign * (sums[4 + 2 * j] - k * sums[3 + 2 * j])
        else:
            s_f += s1
            s_ff += s1
            for j in range(m):
                s_fc[j] += sums[3 + 2 * j]
    mean_c = c.mean(axis=0)
    cov_cc = np.cov(c, rowvar=False).reshape(m, m)
    mf = s_f / n
    vf = np.maximum(s_ff / n - mf * mf, 0.0) * n / max(n - 1, 1)
    cov_fc = (s_fc / n - mean_c[:, None] * mf[None]) * n / max(n - 1, 1)  # (m, strikes)
    b = np.linalg.solve(cov_cc, cov_fc)  # (m, strikes)
    price = discount * (mf - b.T @ mean_c)
    vres = np.maximum(vf - np.sum(b * cov_fc, axis=0), 0.0)
    plain = discount * mf
    se_plain = discount * np.sqrt(vf / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        vrf = np.where(vres > 0, vf / vres, np.inf)
    return PriceEstimate(price, discount * np.sqrt(vres / n), plain, se_plain, vrf)
