"""Monte Carlo prices of European options on a grid of strikes, with standard errors and the
undamped payoff as a control variate.

Every payoff here is a function of one terminal value and a strike, so one pass over the paths
serves every strike at once: each path is put in the bucket of the strikes around its value (a
lookup table, :class:`StrikeBuckets`), a few weighted counts per bucket are taken
(``bincount``), and cumulative sums over the buckets give, for every strike, the sums ``sum f``,
``sum f^2`` of the payoff, calls from the buckets above the strike and puts from those below.
The control variate needs the cross sums ``sum f(X) f(Y)`` of the damped value ``X`` and the
undamped ``Y``: a call pays on both only when ``min(X, Y) > K``, a put only when ``max(X, Y) <
K``, and the bucket of ``min(X, Y)`` is the smaller of the two buckets, so every series is
bucketed once (:func:`payoff_sums`) and the pairs cost a few counts more. Cost: O(paths) per
maturity and probe, whatever the number of strikes and kinds. Paths are taken in blocks of a
fixed size in path order and the sums are float64, so the numbers do not depend on how the
paths were chunked when simulated.

Estimators (``n`` paths, discount ``D``): plain, ``D mean f(X)`` with standard error
``D sd f(X) / sqrt n``; with the control ``f(Y)`` whose price ``c`` is known,
``D (mean f(X) - b (mean f(Y) - c / D))`` with ``b = cov / var f(Y)`` estimated from the same
paths (a bias of order 1/n, far below the error), standard error
``D sqrt((var f(X) - cov^2 / var f(Y)) / n)``; the variance-reduction factor is the ratio of
the two variances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._black import KINDS

__all__ = ["PayoffSums", "PriceEstimate", "StrikeBuckets", "StrikeSums", "antithetic_sums",
           "estimate", "payoff_sums", "strike_sums"]

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


class StrikeBuckets:
    """The bucket of each value among sorted strikes ``k``: ``#{j: k_j < v}`` (``left``) or
    ``#{j: k_j <= v}``, as ``np.searchsorted`` gives it, but by a lookup table: a uniform grid
    whose cells are under half the smallest strike gap holds at most one strike in any two
    neighbouring cells, so the table's count at the value's cell is off by at most one (the
    cell itself, or floating rounding of the cell index), which one comparison each way mends.
    Falls back to ``searchsorted`` for repeated strikes or a grid that would be too fine."""

    MAX_CELLS = 1 << 20

    def __init__(self, k):
        self.k = np.asarray(k, np.float64)
        m = self.k.shape[0]
        self.padded = np.concatenate([[-np.inf], self.k, [np.inf]])
        self.table = None
        gaps = np.diff(self.k)
        if m >= 2 and gaps.min() > 0:
            span = float(self.k[-1] - self.k[0])
            cells = math.ceil(2.0 * span / float(gaps.min())) + 1
            if cells <= self.MAX_CELLS:
                self.lo, self.scale, self.cells = float(self.k[0]), cells / span, cells
                edges = self.lo + np.arange(cells + 1) / self.scale
                self.table = np.searchsorted(self.k, edges, side="left").astype(np.intp)

    def index(self, v, side: str = "left"):
        """``searchsorted(k, v, side)`` for the float64 values ``v``."""
        if self.table is None:
            return np.searchsorted(self.k, v, side=side)
        # a NaN gets a valid cell here and the last bucket below
        c = np.nan_to_num(np.clip((v - self.lo) * self.scale, 0.0, float(self.cells)),
                          nan=0.0).astype(np.intp)
        g = self.table[c]
        g += v > self.padded[g + 1]
        g -= v <= self.padded[g]
        if side == "right":
            g += v == self.padded[g + 1]
        m = self.k.shape[0]
        np.clip(g, 0, m, out=g)  # infinite values: the end buckets
        return np.where(np.isnan(v), m, g)  # NaN sorts last, as in searchsorted


def _above_below(idx, weights, m):
    """For bucket indices ``idx`` (``#strikes < v``) and each weight vector: the sums over
    ``v > K_j`` and over ``v <= K_j``, each ``(len(weights), m)``, from one weighted count per
    bucket."""
    above = np.empty((len(weights), m))
    below = np.empty((len(weights), m))
    for i, w in enumerate(weights):
        counts = np.bincount(idx, weights=w, minlength=m + 1)
        cum = np.cumsum(counts)
        below[i] = cum[:m]
        above[i] = cum[m] - cum[:m]
    return above, below


def _bucket_sums(v, strikes, weights, above: bool):
    """For every strike ``K_j``, ``sum_i w_i 1{v_i > K_j}`` (``above``) or ``1{v_i < K_j}``,
    for each weight vector in ``weights``; shape ``(len(weights), strikes)``."""
    m = strikes.shape[0]
    buckets = StrikeBuckets(strikes)
    idx = buckets.index(v, side="left" if above else "right")
    out = np.empty((len(weights), m))
    for i, w in enumerate(weights):
        counts = np.bincount(idx, weights=w, minlength=m + 1)
        if above:  # v > K_j  <=>  j < idx: buckets j+1 .. m
            out[i] = np.cumsum(counts[::-1])[::-1][1:]
        else:  # v < K_j  <=>  idx <= j: buckets 0 .. j
            out[i] = np.cumsum(counts)[:m]
    return out


@dataclass
class PayoffSums:
    """Per-strike sums over paths of one kind's payoff on several series (float64): ``f`` and
    ``f2`` ``(series, strikes)``, the sums of ``f`` and ``f^2``; ``fxy`` ``(pairs, strikes)``,
    the sums of ``f(x_a) f(x_b)`` for each requested pair ``(a, b)``."""

    n: int
    f: np.ndarray
    f2: np.ndarray
    fxy: np.ndarray

    def pair(self, a: int, b: int) -> StrikeSums:
        """The sums of series ``a`` with ``b`` as its control (``b``'s cross sums with ``a``:
        ``pairs`` must hold ``(a, b)`` or ``(b, a)``)."""
        j = self.pairs.index((a, b) if (a, b) in self.pairs else (b, a))
        return StrikeSums(self.n, self.f[a], self.f2[a], self.f[b], self.f2[b], self.fxy[j])

    pairs: tuple = ()


def _money(kind, k, c, s, ss):
    """A call's (``(v - K)+``, from the sums above the strike) or a put's (``(K - v)+``, from
    the sums below) sum and squared sum: ``c, s, ss`` the count, sum and squared sum there."""
    sign = 1.0 if kind == "call" else -1.0
    return sign * (s - k * c), ss - 2 * k * s + k * k * c


def payoff_sums(kinds: Sequence[str], series: Sequence, strikes, pairs: Sequence[tuple[int, int]]
                = (), centre: float = 0.0) -> dict[str, PayoffSums]:
    """Sums over the paths of each kind's payoff on each series, for every strike (sorted
    ascending, USD), and the cross sums of the requested pairs of series; one bucketing of
    each series serves every kind, strike and pair (see the module docstring: the bucket of
    ``min(x, y)`` is the smaller of the two buckets). Series: per-path values (USD), all of one
    length; centred at ``centre`` before squaring. Blocks of ``BLOCK`` paths in path order."""
    strikes = np.asarray(strikes, np.float64)
    if np.any(np.diff(strikes) < 0):
        raise ValueError("strikes must be sorted ascending")
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r}: must be one of {KINDS}")
    k = strikes - centre
    m = k.shape[0]
    buckets = StrikeBuckets(k)
    n = int(np.asarray(series[0]).shape[0])
    pairs = tuple((int(a), int(b)) for a, b in pairs)
    ns, npair = len(series), len(pairs)
    acc = {kind: [np.zeros((ns, m)), np.zeros((ns, m)), np.zeros((npair, m))] for kind in kinds}
    money = [kind for kind in kinds if kind in ("call", "put")]
    for lo in range(0, n, BLOCK):
        xs = [np.asarray(x[lo:lo + BLOCK], np.float64) - centre for x in series]
        idx = [buckets.index(x) for x in xs]
        right = ([buckets.index(x, "right") for x in xs] if "digital_put" in kinds else None)
        for i, (x, ix) in enumerate(zip(xs, idx, strict=True)):
            if money:
                up, dn = _above_below(ix, (None, x, x * x), m)
            else:
                up, dn = _above_below(ix, (None,), m)
            for kind in kinds:
                a = acc[kind]
                if kind in ("call", "put"):
                    f, f2 = _money(kind, k, *(up if kind == "call" else dn))
                elif kind == "digital":
                    f = f2 = up[0]
                else:  # strictly below: #(v < K_j) = #(bucket_right <= j)
                    f = f2 = np.cumsum(np.bincount(right[i], minlength=m + 1))[:m]
                a[0][i] += f
                a[1][i] += f2
        for p, (ia, ib) in enumerate(pairs):
            xa, xb = xs[ia], xs[ib]
            if "call" in kinds or "digital" in kinds:  # both pay iff min(xa, xb) > K
                wts = (None, xa + xb, xa * xb) if "call" in kinds else (None,)
                up, _ = _above_below(np.minimum(idx[ia], idx[ib]), wts, m)
                if "call" in kinds:
                    acc["call"][2][p] += up[2] - k * up[1] + k * k * up[0]
                if "digital" in kinds:
                    acc["digital"][2][p] += up[0]
            if "put" in kinds:  # both pay iff max(xa, xb) < K (a tie pays zero)
                _, dn = _above_below(np.maximum(idx[ia], idx[ib]), (None, xa + xb, xa * xb), m)
                acc["put"][2][p] += dn[2] - k * dn[1] + k * k * dn[0]
            if "digital_put" in kinds:
                ix = np.maximum(right[ia], right[ib])
                acc["digital_put"][2][p] += np.cumsum(np.bincount(ix, minlength=m + 1))[:m]
    out = {}
    for kind in kinds:
        f, f2, fxy = acc[kind]
        out[kind] = PayoffSums(n, f, f2, fxy, pairs)
    return out


def antithetic_sums(s: PayoffSums, xa: int, xb: int, ya: int | None = None,
                    yb: int | None = None) -> StrikeSums:
    """The sums over pairs of the pair means ``(f(x_a) + f(x_b)) / 2`` (and of the control's
    ``(f(y_a) + f(y_b)) / 2``) from the sums over the even (``a``) and odd (``b``) paths of an
    antithetic sample: ``s.pairs`` must hold ``(xa, xb)`` and, with a control, ``(ya, yb)`` and
    the four cross pairs of ``x`` and ``y``. ``n`` is the number of pairs."""
    def cross(i, j):
        return s.fxy[s.pairs.index((i, j) if (i, j) in s.pairs else (j, i))]

    fx = (s.f[xa] + s.f[xb]) / 2
    fx2 = (s.f2[xa] + s.f2[xb] + 2 * cross(xa, xb)) / 4
    if ya is None:
        return StrikeSums(s.n, fx, fx2)
    fy = (s.f[ya] + s.f[yb]) / 2
    fy2 = (s.f2[ya] + s.f2[yb] + 2 * cross(ya, yb)) / 4
    fxy = (cross(xa, ya) + cross(xb, yb) + cross(xa, yb) + cross(xb, ya)) / 4
    return StrikeSums(s.n, fx, fx2, fy, fy2, fxy)


def strike_sums(kind: str, x, strikes, y=None, centre: float = 0.0) -> StrikeSums:
    """Sums of the payoff of ``kind`` over the paths, for every strike (sorted ascending, USD).

    ``x``: the asset's value at maturity per path (USD); ``y``: the control asset per path (or
    None). Values are centred at ``centre`` (e.g. the start price) before squaring, which keeps
    the float64 sums accurate for assets of 1e5 USD.
    """
    if y is None:
        s = payoff_sums((kind,), (x,), strikes, (), centre)[kind]
        return StrikeSums(s.n, s.f[0], s.f2[0])
    return payoff_sums((kind,), (x, y), strikes, ((0, 1),), centre)[kind].pair(0, 1)


@dataclass
class PriceEstimate:
    """Prices per strike (USD per unit, discounted) with standard errors."""

    price: np.ndarray  # the control-variate estimate where a control is given, else plain
    se: np.ndarray
    price_plain: np.ndarray
    se_plain: np.ndarray
    #: variance of the plain estimator over that of the control-variate one (1 without control)
    vrf: np.ndarray


def estimate(s: StrikeSums, discount: float = 1.0, control_price=None,
             control_price_var=None) -> PriceEstimate:
    """Plain and control-variate estimates from the sums (see the module docstring).
    ``control_price``: the price of the control's payoff per strike (discounted, USD), known
    or estimated from an independent sample whose variance (discounted USD squared) is
    ``control_price_var``: its error then enters as ``b^2 control_price_var`` (independent of
    these paths), and ``vrf`` is the plain variance over the whole controlled one."""
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
        var_cv = discount**2 * vres / n
        if control_price_var is not None:
            var_cv = var_cv + b * b * np.asarray(control_price_var, np.float64)
        vrf = np.where(var_cv > 0, se_plain**2 / var_cv, np.where(vx > 0, np.inf, 1.0))
    return PriceEstimate(cv, np.sqrt(var_cv), plain, se_plain, vrf)


def _weighted_sums(kind: str, x, k, c, centre: float):
    """``sum f``, ``sum f^2`` and, per column of ``c`` (``(paths, m)``), ``sum f c`` per strike
    (``k`` centred strikes), by the bucket sums of the module docstring."""
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
    return s_f, s_ff, s_fc


def control_estimate(kind: str, x, strikes, controls, centre: float = 0.0,
                     discount: float = 1.0, *, mirror=None, mirror_controls=None,
                     pair_sums: StrikeSums | None = None) -> PriceEstimate:
    """Prices per strike with several controls of known zero mean: ``controls`` is
    ``(paths, m)``, each column a per-path quantity whose expectation is exactly 0 (for example
    ``S_T - F`` and ``(log S_T - E log S_T)^2 - Var log S_T`` under a model that gives both in
    closed form). The regression estimator ``mean f - b . mean c`` with ``b`` the least-squares
    coefficients per strike; its error from the residual variance. The sums over paths are the
    bucket sums of the module docstring, weighted by the controls.

    Antithetic pairs: ``x`` and ``controls`` the even paths, ``mirror`` and ``mirror_controls``
    the odd ones, ``pair_sums`` the pair means' sums (:func:`antithetic_sums`); the regression
    is then over the pairs' means of payoff and controls."""
    strikes = np.asarray(strikes, np.float64)
    k = strikes - centre
    c = np.asarray(controls, np.float64)
    if mirror is None:
        s_f, s_ff, s_fc = _weighted_sums(kind, x, k, c, centre)
    else:
        c = (c + np.asarray(mirror_controls, np.float64)) / 2
        _, _, fa = _weighted_sums(kind, x, k, c, centre)
        _, _, fb = _weighted_sums(kind, mirror, k, c, centre)
        s_f, s_ff, s_fc = pair_sums.fx, pair_sums.fx2, (fa + fb) / 2
    n, m = c.shape
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
