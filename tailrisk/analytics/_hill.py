"""The Hill (1975) estimator of a power-law tail index.

For a sample whose upper tail is ``P(X > x) ~ C x**(-alpha)``, with order statistics
``X_(1) >= X_(2) >= ... >= X_(n)``, the Hill estimate from the ``k`` largest values is

    alpha_hat(k) = 1 / ( (1/k) * sum_{i=1..k} log X_(i)  -  log X_(k+1) ).

It estimates the tail index ``alpha`` (not the extreme-value shape ``xi = 1/alpha``): a
Student-t with ``nu`` degrees of freedom has ``alpha = nu``, an alpha-stable law with ``alpha < 2``
has its own ``alpha``. Asymptotically ``sqrt(k) (alpha_hat - alpha) -> N(0, alpha**2)`` when
``k -> inf`` and ``k/n -> 0`` (Hall 1982), hence the standard error ``alpha_hat / sqrt(k)``. For
an exact Pareto sample ``k alpha / alpha_hat`` is Gamma(k, 1), so the interval is nearly exact.

Only the right tail is estimated. For the left tail pass ``-x``; for both tails together pass
``abs(x)``. Only the ``k + 1`` largest values need to be positive, so signed returns can be passed
as they are.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["HillPlotData", "hill", "hill_k_rule", "hill_plot_data"]


def hill_k_rule(n: int) -> int:
    """The default number of upper order statistics for a sample of size ``n``: ``ceil(sqrt(n))``.

    Why: consistency needs ``k -> inf`` and ``k / n -> 0``. The mean-squared-error optimal ``k``
    grows like ``n**(2 rho / (2 rho + 1))`` for a second-order tail parameter ``rho`` (Hall 1982),
    which is ``n**(1/2)`` for ``rho = 1/2`` (Student-t with nu = 4) and ``n**(2/3)`` for
    ``rho = 1`` (nu = 2). ``sqrt(n)`` therefore errs on the low-bias side for the fat tails this
    project cares about while keeping the standard error ``alpha / n**(1/4)`` useful: ``k = 64``
    and a relative error of 12% on the 4,061 daily BTC returns. Clipped to ``[1, n - 1]``.
    """
    n = _check_int(n, "n")
    if n < 2:
        raise ValueError(f"n = {n}: the Hill estimator needs at least 2 observations")
    return int(min(max(math.ceil(math.sqrt(n)), 1), n - 1))


def hill(x: np.typing.ArrayLike, k: int | np.typing.ArrayLike | None = None) -> np.ndarray:
    """Hill estimate of the right-tail index ``alpha`` of ``x``.

    Args:
        x: a one-dimensional sample, shape ``(n,)``; all values finite. The ``k + 1`` largest must
            be positive (pass ``-x`` for the left tail, ``abs(x)`` for both).
        k: number of upper order statistics, an integer in ``[1, n - 1]`` or an array of them;
            default :func:`hill_k_rule` ``(n)``.

    Returns:
        ``alpha_hat`` with the shape of ``k`` (a 0-d array for a scalar ``k``).
    """
    arr = _as_sample(x)
    ks = _check_k(k, arr.size)
    return _hill_from_logs(_sorted_logs(arr, ks), ks)


class HillPlotData(NamedTuple):
    """A Hill stability plot: ``alpha`` against ``k`` with a pointwise 95% band."""

    k: np.ndarray
    alpha: np.ndarray
    #: asymptotic standard error ``alpha / sqrt(k)``
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def hill_plot_data(x: np.typing.ArrayLike, ks: np.typing.ArrayLike | None = None) -> HillPlotData:
    """Hill estimates over a range of ``k`` for a stability ("Hill") plot.

    ``ks`` defaults to every ``k`` from 5 to ``min(n - 1, n // 5)`` (at most 400 points, spaced
    evenly). A flat stretch of the curve is the evidence for a chosen ``k``; the band is
    ``alpha +- 1.96 alpha / sqrt(k)``.
    """
    arr = _as_sample(x)
    n = arr.size
    if ks is None:
        hi = max(min(n - 1, n // 5), 1)
        lo = min(5, hi)
        ks = np.unique(np.linspace(lo, hi, num=min(400, hi - lo + 1)).round().astype(np.int64))
    ks = _check_k(ks, n)
    logs = _sorted_logs(arr, ks)
    alpha = np.atleast_1d(_hill_from_logs(logs, ks))
    kk = np.atleast_1d(ks).astype(np.float64)
    se = alpha / np.sqrt(kk)
    return HillPlotData(np.atleast_1d(ks), alpha, se, alpha - 1.96 * se, alpha + 1.96 * se)


def _hill_from_logs(logs_desc: np.ndarray, ks: np.ndarray) -> np.ndarray:
    csum = np.cumsum(logs_desc)
    mean_top = csum[ks - 1] / ks
    gap = mean_top - logs_desc[ks]
    with np.errstate(divide="ignore"):
        return np.where(gap > 0, 1.0 / np.where(gap > 0, gap, 1.0), np.inf)


def _as_sample(x: np.typing.ArrayLike) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"x: expected a one-dimensional sample, got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"x: the Hill estimator needs at least 2 observations, got {arr.size}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"x: {int(bad.sum())} non-finite value(s), first at index {int(np.argmax(bad))}"
        )
    return arr


def _sorted_logs(arr: np.ndarray, ks: np.ndarray) -> np.ndarray:
    top = int(np.max(ks)) + 1
    desc = -np.sort(-arr)
    if desc[top - 1] <= 0:
        raise ValueError(
            f"x: the {top} largest values must be positive for k = {top - 1}, but the "
            f"{top}-th largest is {desc[top - 1]:g} (pass -x for the left tail, abs(x) for both)"
        )
    return np.log(desc[:top])


def _check_k(k: object, n: int) -> np.ndarray:
    if k is None:
        return np.asarray(hill_k_rule(n))
    ks = np.asarray(k)
    if ks.size == 0:
        raise ValueError("k: no values given")
    if not np.issubdtype(ks.dtype, np.integer):
        if not np.issubdtype(ks.dtype, np.floating) or not np.all(np.isfinite(ks)):
            raise ValueError(f"k: must be integers, got {k!r}")
        if np.any(ks != np.round(ks)):
            raise ValueError(f"k: must be integers, got {k!r}")
        ks = ks.astype(np.int64)
    if np.any(ks < 1) or np.any(ks >= n):
        raise ValueError(f"k: every k must satisfy 1 <= k < n = {n}, got {k!r}")
    return ks.astype(np.int64)


def _check_int(v: object, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        raise ValueError(f"{name}: must be an integer, got {v!r}")
    return int(v)
