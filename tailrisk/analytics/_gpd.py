"""Maximum likelihood fit of a generalised Pareto distribution (GPD) to exceedances, many samples
at once.

The GPD with shape ``xi`` and scale ``sigma`` (location 0) has the density
``(1 / sigma) (1 + xi x / sigma) ** (-1 - 1 / xi)`` on ``x >= 0`` (and ``x <= sigma / |xi|`` when
``xi < 0``); ``xi = 0`` is the exponential law. Its likelihood is maximised exactly through the
profile likelihood in ``theta = xi / sigma`` (Grimshaw 1993, "Computing maximum likelihood
estimates for the generalized Pareto distribution", Technometrics 35): for fixed ``theta`` the
shape that maximises the likelihood of a sample of size ``N`` is ``xi(theta) = mean(log1p(theta
x))``, ``sigma = xi(theta) / theta``, and the profile log-likelihood is
``-N log(xi(theta) / theta) - N (1 + xi(theta))`` for ``theta`` in ``(-1 / max(x), inf)``.

The one-dimensional search runs in ``s = log1p(theta * max(x))``, which maps that interval onto
the real line (``s ~ xi log N`` for both heavy and bounded tails): a fixed grid locates the
highest profile value of each sample, golden-section search narrows the bracket around it, and the
Illinois (modified regula falsi) iteration finds the root of the profile score inside it to
round-off. Every step acts on a whole batch of samples at once; samples are given as values and
weights (integer copy counts, or 0 for an absent slot), so a bootstrap resample held as copy
counts is fitted without materialising it.

Two points of the method:

- the exponential limit ``theta -> 0`` needs no special care beyond ``theta = 0`` itself:
  every ``log1p(theta x)`` has the sign of ``theta`` and ``log1p`` is accurate to relative
  round-off, so ``xi(theta) / theta`` is accurate however small ``theta`` is, and equals
  ``mean(x)`` at ``theta = 0``; the score uses a series where ``theta x`` is small;
- for ``xi < -1`` the likelihood is unbounded (the density is infinite at the endpoint, which can
  be put on the largest value; Smith 1985), so the fit is constrained to ``xi >= -1``. For fixed
  ``theta`` the constrained optimum is ``max(xi(theta), -1)``, and as ``theta -> -1 / max(x)``
  the constrained profile rises to the corner ``xi = -1, sigma = max(x)`` (the uniform law on
  ``[0, max(x)]``, log-likelihood ``-N log max(x)``). The fit returns that corner whenever it beats
  the best interior maximum, so ``xi = -1`` reads "at the constraint", not an estimate.

Shapes beyond the grid's top, ``s = 100`` (``xi`` of order ``100 / log N``), are not searched: such
a sample gets the profile maximum at that edge.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["MIN_EXCEEDANCES", "GPDParams", "gpd_mle"]

#: a GPD is fitted only to at least this many exceedances (counted with their weights)
MIN_EXCEEDANCES = 30

#: profile grid in ``s = log1p(theta * max(x))``: steps of 0.5 where ``xi log N`` lies for
#: ``-1 < xi < 3`` and the sample sizes of a tail fit, coarser beyond
_S_GRID = np.concatenate(
    [np.arange(-40.0, -10.0, 1.0), np.arange(-10.0, 30.0, 0.5), np.arange(30.0, 100.5, 2.0)]
)
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
#: golden-section steps: shrink a bracket of two grid steps (at most 4) below 1e-4
_GOLDEN_STEPS = 24
_ILLINOIS_MAX_STEPS = 60
#: below this ``|theta x|`` the score uses a series for ``log1p(y) - y / (1 + y)``
_SERIES_Y = 0.02
#: coefficients of that series, ``sum_{k>=2} (-1)^k (k - 1) / k y^k``, highest power first
_SERIES = np.array([(-1.0) ** k * (k - 1) / k for k in range(2, 14)])[::-1]


class GPDParams(NamedTuple):
    """Fitted GPD parameters, each of the batch shape (``x.shape[:-1]``); NaN where undefined.

    ``xi`` is the shape (dimensionless); ``scale`` is ``sigma`` in the unit of ``x``.
    """

    xi: np.ndarray
    scale: np.ndarray


def gpd_mle(
    x: np.typing.ArrayLike,
    weights: np.typing.ArrayLike | None = None,
    *,
    min_count: float = MIN_EXCEEDANCES,
) -> GPDParams:
    """Maximum likelihood GPD fit (location 0, ``xi >= -1``) of each sample in a batch.

    Args:
        x: exceedances, shape ``(..., m)``: the last axis holds one sample, leading axes are the
            batch. Values must be finite and ``>= 0`` wherever their weight is positive.
        weights: copy counts (or any non-negative weights) of the values, broadcastable to the
            shape of ``x``; 0 marks an absent slot, whose value is ignored. Default: all 1.
        min_count: a sample whose total weight is below this gets NaN parameters.

    Returns:
        :class:`GPDParams` with arrays of shape ``x.shape[:-1]``; NaN for samples with total weight
        below ``min_count`` or whose present values are all equal.
    """
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim == 0:
        raise ValueError("x: expected at least one dimension (the sample axis)")
    w = np.ones_like(xa) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.broadcast_to(w, xa.shape)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights: must be finite and non-negative")
    present = w > 0
    if np.any(present & ~(np.isfinite(xa) & (xa >= 0))):
        raise ValueError("x: values with a positive weight must be finite and >= 0")

    batch = xa.shape[:-1]
    shape2 = (math.prod(batch), xa.shape[-1])
    xs = np.where(present, xa, 0.0).reshape(shape2)
    ws = np.where(present, w, 0.0).reshape(shape2)
    pres = present.reshape(shape2)
    total = ws.sum(axis=1)
    xmax = xs.max(axis=1, initial=0.0)
    xmin = np.where(pres, xs, np.inf).min(axis=1, initial=np.inf)
    ok = (total >= min_count) & (total > 0) & (xmax > xmin)

    xi = np.full(xs.shape[0], np.nan)
    scale = np.full(xs.shape[0], np.nan)
    if np.any(ok):
        xi_ok, ratio_ok = _fit_scaled(xs[ok], ws[ok], xmax[ok], total[ok])
        xi[ok] = xi_ok
        scale[ok] = ratio_ok * xmax[ok]
    return GPDParams(xi.reshape(batch), scale.reshape(batch))


class _Scaled(NamedTuple):
    """One batch of samples scaled by their maxima: ``r = x / max(x)``, ``q = 1 - r`` (computed
    from the difference, exact for ``r`` near 1), weights ``w`` and totals ``n``."""

    r: np.ndarray
    q: np.ndarray
    w: np.ndarray
    n: np.ndarray


def _fit_scaled(
    x: np.ndarray, w: np.ndarray, xmax: np.ndarray, total: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The constrained MLE of each row: ``(xi, sigma / max(x))``, each of shape ``(B,)``."""
    d = _Scaled(x / xmax[:, None], (xmax[:, None] - x) / xmax[:, None], w, total)
    rows = np.arange(x.shape[0])

    # 1. grid: the highest constrained profile value of each row
    grid = np.stack([_profile(np.full(rows.size, s), d)[0] for s in _S_GRID], axis=1)
    j = np.argmax(grid, axis=1)
    a = _S_GRID[np.maximum(j - 1, 0)]
    b = _S_GRID[np.minimum(j + 1, _S_GRID.size - 1)]

    # 2. golden section on the profile inside [a, b]
    c = b - _INV_PHI * (b - a)
    e = a + _INV_PHI * (b - a)
    fc, fe = _profile(c, d)[0], _profile(e, d)[0]
    for _ in range(_GOLDEN_STEPS):
        left = fc >= fe  # the maximum lies in [a, e]
        a, b = np.where(left, a, c), np.where(left, e, b)
        new = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        fnew = _profile(new, d)[0]
        c, e, fc, fe = (
            np.where(left, new, e),
            np.where(left, c, new),
            np.where(left, fnew, fe),
            np.where(left, fc, fnew),
        )
    s_best = np.where(fc >= fe, c, e)

    # 3. Illinois on the score where it changes sign across the final bracket: the root is the
    # profile maximum to round-off, which the value comparisons above cannot resolve
    ha, hb = _score(a, d), _score(b, d)
    root = (ha > 0) & (hb < 0)
    if np.any(root):
        sub = _Scaled(d.r[root], d.q[root], d.w[root], d.n[root])
        s_best[root] = _illinois(a[root], b[root], ha[root], hb[root], sub)

    lp, xi, ratio = _profile(s_best, d)
    # the corner xi = -1, sigma = max(x) has profile value 0 in these units and beats every point
    # where xi(theta) < -1 (at the grid's bottom the two can tie in floating point)
    corner = (lp < 0.0) | (xi < -1.0)
    return np.where(corner, -1.0, xi), np.where(corner, 1.0, ratio)


def _log1p_theta_x(s: np.ndarray, d: _Scaled) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 + theta x)`` and ``1 + theta x`` for ``theta = expm1(s) / max(x)``, shape
    ``(B, m)``. Below ``s = -1``, ``1 + theta x = (1 - r) + e^s r`` is a sum of non-negative terms,
    exact where ``theta x`` is close to -1; above, ``log1p`` keeps small ``theta x`` exact."""
    low = s < -1.0
    u = np.expm1(s)[:, None]
    if not np.any(low):
        y1 = 1.0 + u * d.r
        return np.log1p(u * d.r), y1
    y1 = np.empty_like(d.r)
    logs = np.empty_like(d.r)
    y1[low] = d.q[low] + np.exp(s[low])[:, None] * d.r[low]
    logs[low] = np.log(y1[low])
    high = ~low
    if np.any(high):
        y = u[high] * d.r[high]
        y1[high] = 1.0 + y
        logs[high] = np.log1p(y)
    return logs, y1


def _profile(s: np.ndarray, d: _Scaled) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constrained profile log-likelihood per observation at ``s`` (shape ``(B,)``), less the
    constant ``-log max(x)``, with ``xi(theta)`` and ``sigma(theta) / max(x)``.

    Where ``xi(theta) < -1`` the value is that of ``xi = -1`` at this ``theta``, ``log(-theta
    max(x))``; the ``xi`` returned there is the unconstrained one (the caller never reports it).
    """
    logs, _ = _log1p_theta_x(s, d)
    u = np.expm1(s)
    xi = np.einsum("ij,ij->i", d.w, logs) / d.n
    # below |u| = 1e-150 every theta x may underflow; there xi / theta equals its limit mean(x)
    at_zero = np.abs(u) < 1e-150
    mean_r = np.einsum("ij,ij->i", d.w, d.r) / d.n
    ratio = np.where(at_zero, mean_r, xi / np.where(at_zero, 1.0, u))
    with np.errstate(invalid="ignore", divide="ignore"):
        lp = np.where(xi < -1.0, np.log(-u), -np.log(ratio) - 1.0 - xi)
    return lp, xi, ratio


def _score(s: np.ndarray, d: _Scaled) -> np.ndarray:
    """The sign-carrying part of the profile score ``d lp / ds``, shape ``(B,)``.

    With ``y = theta x``, ``d(lp/N)/ds = e^s [mean(log1p(y) - y/(1+y)) / (u xi) - mean(r/(1+y))]``
    for ``u = expm1(s)``; the bracket is returned. Its first term is a ratio of two quantities of
    order ``u^2`` near ``theta = 0``, so the numerator uses a series for small ``|y|`` and the
    ratio its limit ``mean(r^2) / (2 mean(r))`` for negligible ``u``.
    """
    logs, y1 = _log1p_theta_x(s, d)
    u = np.expm1(s)
    y = u[:, None] * d.r
    direct = logs - y / y1
    poly = np.zeros_like(y)
    for coef in _SERIES:
        poly = poly * y + coef
    gap = np.where(np.abs(y) < _SERIES_Y, y * y * poly, direct)
    xi = np.einsum("ij,ij->i", d.w, logs) / d.n
    tiny = np.abs(u) < 1e-100
    num = np.einsum("ij,ij->i", d.w, gap) / d.n
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.where(
            tiny,
            np.einsum("ij,ij->i", d.w, d.r * d.r) / (2.0 * np.einsum("ij,ij->i", d.w, d.r)),
            num / (u * xi),
        )
    return first - np.einsum("ij,ij->i", d.w, d.r / y1) / d.n


def _illinois(
    a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray, d: _Scaled
) -> np.ndarray:
    """Root of the score in ``[a, b]`` (``fa > 0 > fb``) for each row, by the Illinois method."""
    a, b, fa, fb = a.copy(), b.copy(), fa.copy(), fb.copy()
    c = (a + b) / 2.0
    done = np.zeros(a.size, dtype=bool)
    for _ in range(_ILLINOIS_MAX_STEPS):
        with np.errstate(invalid="ignore", divide="ignore"):  # rows already done may give 0/0
            c_new = np.where(done, c, (a * fb - b * fa) / (fb - fa))
        c_new = np.clip(c_new, np.minimum(a, b), np.maximum(a, b))
        fc = _score(c_new, d)
        done |= (np.abs(c_new - c) <= 4e-16 * np.maximum(1.0, np.abs(c_new))) | (fc == 0.0)
        c = c_new
        if np.all(done):
            break
        # keep the sign change in [a, b]; halve the stale end's value when b is kept twice
        swap = np.sign(fc) == np.sign(fb)
        a, fa = np.where(swap, a, b), np.where(swap, fa / 2.0, fb)
        b, fb = c, fc
    return c
