"""Monte Carlo errors for estimates computed from i.i.d. simulated paths.

Three kinds of error are used, and every estimate says which one it carries (:class:`Estimate`):

- ``"mcse"``: a Monte Carlo standard error from ArviZ (``ess`` / ``mcse``, Vehtari et al. 2021,
  "Rank-normalization, folding, and localization: an improved R-hat"), for means, quantiles and
  the expected shortfall written as a mean (Rockafellar and Uryasev 2002);
- ``"batch_se"``: the standard error of the mean of one statistic over ``B`` independent batches of
  paths (batches by path index; the paths are i.i.d., so the batch values are too);
- ``"binomial_se"``: ``sqrt(p (1 - p) / n)`` for a probability;
- ``"bootstrap95"``: a percentile bootstrap 95% interval (Efron 1979) from a seeded
  ``numpy.random.Generator``, for tail estimators whose sampling law is far from normal.

Draws are passed to ArviZ in path-index order. The paths are i.i.d., so the ESS is about the
number of paths; an array sorted or grouped by value would look autocorrelated and get a much larger
(autocorrelation-aware) MCSE, so never sort before estimating an error.

ArviZ is imported inside the functions that use it, so importing :mod:`tailrisk.analytics` stays
cheap; ArviZ 0.23 announces its coming 1.0 refactor with a FutureWarning on import, which is
silenced there (only ``ess`` and ``mcse`` on plain arrays are used, the API both versions share).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "Estimate",
    "arviz_ess",
    "arviz_mcse",
    "batch_estimate",
    "binomial_estimate",
    "bootstrap_interval",
    "mean_estimate",
    "quantile_estimate",
]

ErrorKind = Literal["mcse", "batch_se", "binomial_se", "bootstrap95", "none"]

#: default number of batches for batch-means errors
DEFAULT_BATCHES = 20
#: default number of bootstrap resamples; a 95% percentile interval from 200 resamples has its
#: end points at the 5th and 195th ordered replicate.
DEFAULT_RESAMPLES = 200


@dataclass(frozen=True)
class Estimate:
    """A number with its Monte Carlo error.

    ``mcse`` is a standard error (same unit as ``value``) for the kinds ``"mcse"``,
    ``"batch_se"`` and ``"binomial_se"``; ``ci_low`` / ``ci_high`` bound a 95% interval for
    ``"bootstrap95"``. Fields that do not apply are NaN.
    """

    value: float
    mcse: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    kind: ErrorKind = "none"

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """A two-sided interval: the bootstrap one, or ``value +- z * mcse``."""
        if self.kind == "bootstrap95":
            return self.ci_low, self.ci_high
        return self.value - z * self.mcse, self.value + z * self.mcse

    def row(self, quantity: str, statistic: str, unit: str, **context: object) -> dict:
        """One tidy row (see :func:`tailrisk.analytics.to_table`)."""
        if self.kind == "bootstrap95":
            low, high = self.ci_low, self.ci_high
        else:
            low, high = self.mcse, math.nan
        return {
            **context,
            "quantity": quantity,
            "statistic": statistic,
            "value": float(self.value),
            "mcse_or_ci_low": float(low),
            "ci_high": float(high),
            "unit": unit,
            "error_kind": self.kind,
        }


# --- the one place that talks to ArviZ -------------------------------------------------------


def _arviz():
    """The ``arviz`` module, imported without ArviZ 0.23's FutureWarning about its 1.0 refactor
    (raised by ``arviz/__init__.py`` at most once a day; ArviZ 1.x has no such warning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"\s*ArviZ is undergoing a major refactor",
            category=FutureWarning,
            module=r"arviz(\.|$)",
        )
        import arviz
    return arviz


def _as_chains(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        # ArviZ 0.x reads a 1-D array as one chain, ArviZ 1.x may not: be explicit.
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(f"expected draws of shape (draw,) or (chain, draw), got {arr.shape}")
    return arr


def arviz_ess(x: np.typing.ArrayLike, method: str = "mean", prob: float | None = None) -> float:
    """Effective sample size of draws ``x`` (shape ``(draw,)`` or ``(chain, draw)``).

    Thin wrapper over ``arviz.ess``: it passes a plain 2-D array shaped ``(chain, draw)`` and only
    the keyword arguments ``method`` and ``prob``, the part of the API that ArviZ 0.23 (Python
    3.11) and ArviZ 1.x (``arviz_stats``, Python 3.12+; default ``chain_axis=-2, draw_axis=-1``)
    share. Methods used here: ``"mean"``, ``"bulk"``, ``"tail"``, ``"quantile"``.
    """
    arviz = _arviz()
    kwargs = {"method": method}
    if prob is not None:
        kwargs["prob"] = prob
    return float(np.asarray(arviz.ess(_as_chains(x), **kwargs)))


def arviz_mcse(x: np.typing.ArrayLike, method: str = "mean", prob: float | None = None) -> float:
    """Monte Carlo standard error of the mean / sd / median / ``prob``-quantile of draws ``x``.

    Thin wrapper over ``arviz.mcse`` with the same cross-version contract as :func:`arviz_ess`:
    a 2-D ``(chain, draw)`` array and the keywords ``method`` (``"mean"``, ``"sd"``, ``"median"``,
    ``"quantile"``) and ``prob``. Draws that are all equal give an MCSE of 0 (ArviZ would return
    NaN or warn), which is what a constant estimate has.
    """
    arr = _as_chains(x)
    if arr.size == 0:
        return math.nan
    if np.ptp(arr) == 0:
        return 0.0
    arviz = _arviz()
    kwargs = {"method": method}
    if prob is not None:
        kwargs["prob"] = prob
    return float(np.asarray(arviz.mcse(arr, **kwargs)))


# --- estimates --------------------------------------------------------------------------------


def mean_estimate(x: np.typing.ArrayLike) -> Estimate:
    """Sample mean of ``x`` (shape ``(paths,)``) with its ArviZ MCSE."""
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        return Estimate(math.nan)
    return Estimate(float(arr.mean()), arviz_mcse(arr, "mean"), kind="mcse")


def quantile_estimate(x: np.typing.ArrayLike, prob: float) -> Estimate:
    """Empirical ``prob``-quantile of ``x`` (inverse of the empirical CDF) with its ArviZ MCSE."""
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        return Estimate(math.nan)
    value = float(np.quantile(arr, prob, method="inverted_cdf"))
    return Estimate(value, arviz_mcse(arr, "quantile", prob=prob), kind="mcse")


def binomial_estimate(flags: np.typing.ArrayLike) -> Estimate:
    """Probability of an event from per-path flags (bool, shape ``(paths,)``); SE
    ``sqrt(p (1 - p) / n)``. With no (or only) events the SE is 0: read it with the count.
    """
    arr = np.asarray(flags).astype(bool).ravel()
    n = arr.size
    if n == 0:
        return Estimate(math.nan)
    p = float(arr.mean())
    return Estimate(p, math.sqrt(p * (1.0 - p) / n), kind="binomial_se")


def batch_estimate(
    x: np.typing.ArrayLike,
    statistic: Callable[[np.ndarray], float],
    n_batches: int = DEFAULT_BATCHES,
) -> Estimate:
    """``statistic(x)`` on the whole sample, with the batch-means standard error.

    The paths are split by index into ``n_batches`` contiguous batches (the last ones one path
    shorter when ``n`` is not a multiple); the SE is ``sd(batch values) / sqrt(n_batches)``. It is
    the error of the batch average, a slight over-statement of the full-sample error for
    statistics with a small-sample bias (kurtosis, extreme quantiles).
    """
    arr = np.asarray(x, dtype=np.float64).ravel()
    if n_batches < 2:
        raise ValueError(f"n_batches: need at least 2, got {n_batches}")
    if arr.size < 2 * n_batches:
        return Estimate(float(statistic(arr)) if arr.size else math.nan)
    values = np.array([statistic(b) for b in np.array_split(arr, n_batches)], dtype=np.float64)
    finite = values[np.isfinite(values)]
    se = float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size >= 2 else math.nan
    return Estimate(float(statistic(arr)), se, kind="batch_se")


def bootstrap_interval(replicates: np.typing.ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (no interpolation, so infinite replicates,
    e.g. a Hill estimate on tied data, stay meaningful). NaN replicates are dropped."""
    reps = np.asarray(replicates, dtype=np.float64).ravel()
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [tail, 1.0 - tail], method="inverted_cdf")
    return float(lo), float(hi)
