"""Tail statistics of a sample of payoffs, each with its Monte Carlo error (docs/model.md,
tail statistics).

Sign convention: a *payoff* is what the holder receives (USD, positive = gain). The *loss* is
``-payoff`` and the *gain* is ``payoff``; both tails are studied as upper tails of these. VaR at
level ``p`` is the empirical ``p``-quantile of the loss (inverse of the empirical CDF) and expected
shortfall is the mean of the worst ``1 - p`` fraction of losses, computed exactly on the empirical
distribution (Acerbi and Tasche 2002); for the gain tail the same two numbers describe the
winners' upper tail.

Estimators and their errors:

- mean, sd: ArviZ MCSE; excess kurtosis: batch-means SE (for an infinite fourth moment it is
  not a meaningful number and neither is its error: read it beside the Hill index);
- VaR: ArviZ quantile MCSE; ES: written as the mean of ``VaR + (L - VaR)_+ / (1 - p)``
  (Rockafellar and Uryasev 2002) whose ArviZ mean MCSE is the ES error to first order;
- Hill tail index (Hill 1975) with ``k = hill_k_rule(n)`` from :mod:`tailrisk.analytics._hill`,
  a peaks-over-threshold GPD fit (Pickands 1975; Balkema and de Haan 1974) above the stated
  quantile, by exact maximum likelihood (:mod:`tailrisk.analytics._gpd`), and ES at the highest
  level: percentile bootstrap intervals.

The bootstrap only needs the upper order statistics: in a resample of size ``n`` the copy counts
of the ``m`` largest values are ``Multinomial(n; 1/n, ..., 1/n, (n - m)/n)``, so the resample's
upper tail is drawn exactly without resampling all ``n`` paths (the full resample is drawn in the
rare case the ``m`` largest do not cover the statistics' needs). The statistics of all resamples
are read off the matrix of copy counts at once, the GPD fits as one batch of weighted samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._errors import (
    DEFAULT_BATCHES,
    DEFAULT_RESAMPLES,
    Estimate,
    arviz_ess,
    arviz_mcse,
    batch_estimate,
    bootstrap_interval,
    mean_estimate,
    quantile_estimate,
)
from ._gpd import MIN_EXCEEDANCES as MIN_EXCEEDANCES
from ._gpd import gpd_mle
from ._hill import HillPlotData, hill, hill_k_rule, hill_plot_data

__all__ = [
    "TAIL_LEVELS",
    "GPDFit",
    "SurvivalCurve",
    "TailSide",
    "TailSummary",
    "expected_shortfall",
    "gpd_fit",
    "survival_curve",
    "tail_summary",
    "value_at_risk",
]

#: VaR / ES levels of docs/model.md, tail statistics
TAIL_LEVELS = (0.99, 0.999, 0.9999)
#: a VaR / ES level is reported only when at least this many paths lie beyond it
MIN_TAIL_PATHS = 10


def _n_beyond(n: int, level: float) -> float:
    """``n (1 - level)``, with float noise (0.01 * 1e6 = 10000.000000000002) rounded off."""
    return round(n * (1.0 - level), 9)


def value_at_risk(losses: np.typing.ArrayLike, level: float) -> Estimate:
    """Empirical ``level``-quantile of ``losses`` (shape ``(paths,)``, USD) with ArviZ MCSE.

    NaN when fewer than :data:`MIN_TAIL_PATHS` paths lie beyond the level.
    """
    arr = np.asarray(losses, dtype=np.float64).ravel()
    if _n_beyond(arr.size, level) < MIN_TAIL_PATHS:
        return Estimate(math.nan)
    return quantile_estimate(arr, level)


def expected_shortfall(losses: np.typing.ArrayLike, level: float) -> Estimate:
    """Expected shortfall of ``losses`` (shape ``(paths,)``, USD) at ``level``, with ArviZ MCSE.

    ``ES = VaR + E[(L - VaR)_+] / (1 - level)`` on the empirical distribution, which equals the
    average of the worst ``n (1 - level)`` losses (the boundary path counted fractionally).
    NaN when fewer than :data:`MIN_TAIL_PATHS` paths lie beyond the level.
    """
    arr = np.asarray(losses, dtype=np.float64).ravel()
    if _n_beyond(arr.size, level) < MIN_TAIL_PATHS:
        return Estimate(math.nan)
    var = float(np.quantile(arr, level, method="inverted_cdf"))
    y = var + np.maximum(arr - var, 0.0) / (1.0 - level)
    return Estimate(float(y.mean()), arviz_mcse(y, "mean"), kind="mcse")


def _es_from_top(top_desc: np.ndarray, n: int, level: float) -> float:
    k = _n_beyond(n, level)
    kf = math.floor(k)
    if kf < 1 or top_desc.size <= kf:
        return math.nan
    return float((top_desc[:kf].sum() + (k - kf) * top_desc[kf]) / k)


@dataclass(frozen=True)
class GPDFit:
    """Generalised Pareto fit to the exceedances ``x - threshold`` of ``x > threshold``.

    ``xi`` is the shape (``xi = 1 / alpha`` for a power tail, ``xi < 0`` for a bounded tail),
    ``scale`` in the unit of ``x``; ``threshold`` is the empirical ``threshold_quantile``-quantile.
    """

    xi: Estimate
    scale: Estimate
    threshold: float
    threshold_quantile: float
    n_exceed: int


def _gpd_from_top(top_desc: np.ndarray, n: int, q: float) -> tuple[float, float, int]:
    """GPD fit above the value at position ``floor(n (1 - q))`` of ``top_desc`` (the largest
    values of a sample of size ``n``, descending): ``(xi, scale, number of exceedances)``."""
    idx = math.floor(_n_beyond(n, q))
    if idx >= top_desc.size:
        return math.nan, math.nan, 0
    u = top_desc[idx]
    excess = top_desc[:idx][top_desc[:idx] > u] - u
    xi, scale = gpd_mle(excess)
    return float(xi), float(scale), int(excess.size)


def _gpd_from_counts(
    top_desc: np.ndarray, counts: np.ndarray, cum: np.ndarray, n: int, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_gpd_from_top` for a batch of resamples given as copy counts (shape ``(B, m)``, with
    cumulative sums ``cum``) of ``top_desc`` (shape ``(m,)``), each covering position
    ``floor(n (1 - q))``: ``(xi, scale)``, each of shape ``(B,)``.

    The threshold of a resample is its value at that position; its exceedances are the values
    strictly above it, which all precede that position, each with its copy count.
    """
    idx = math.floor(_n_beyond(n, q))
    u = top_desc[(cum <= idx).sum(axis=1)]
    width = int((top_desc > u.min()).sum())  # top_desc is descending
    excess = top_desc[None, :width] - u[:, None]
    xi, scale = gpd_mle(excess, np.where(excess > 0, counts[:, :width], 0))
    return xi, scale


def gpd_fit(x: np.typing.ArrayLike, threshold_quantile: float = 0.99) -> GPDFit:
    """Peaks-over-threshold fit of a GPD (exact maximum likelihood with location 0 and
    ``xi >= -1``, :func:`tailrisk.analytics._gpd.gpd_mle`) to the upper tail of ``x`` (shape
    ``(n,)``), without errors; :func:`tail_summary` adds bootstrap intervals. NaN parameters when
    fewer than :data:`MIN_EXCEEDANCES` values exceed the threshold or all exceedances are equal.
    """
    arr = np.asarray(x, dtype=np.float64).ravel()
    idx = math.floor(_n_beyond(arr.size, threshold_quantile))
    top = -np.sort(-arr)[: idx + 1]
    xi, scale, n_exceed = _gpd_from_top(top, arr.size, threshold_quantile)
    return GPDFit(Estimate(xi), Estimate(scale), float(top[idx]), threshold_quantile, n_exceed)


@dataclass(frozen=True)
class SurvivalCurve:
    """Empirical survival ``P(X > x)`` at positive sample values, for a log-log plot.

    ``x`` (descending, unit of the sample), ``survival`` (``i / n`` at the ``i``-th largest
    value) and its binomial standard error ``se``, thinned to at most a few thousand log-spaced
    ranks. All three have shape ``(points,)``.
    """

    x: np.ndarray
    survival: np.ndarray
    se: np.ndarray


def survival_curve(x: np.typing.ArrayLike, max_points: int = 2000) -> SurvivalCurve:
    """Empirical survival curve of the positive values of ``x`` (shape ``(n,)``)."""
    arr = np.asarray(x, dtype=np.float64).ravel()
    n = arr.size
    pos = -np.sort(-arr[arr > 0])
    if pos.size == 0:
        empty = np.zeros(0)
        return SurvivalCurve(empty, empty, empty)
    ranks = np.unique(np.geomspace(1, pos.size, num=min(max_points, pos.size)).round()).astype(int)
    surv = ranks / n
    return SurvivalCurve(pos[ranks - 1], surv, np.sqrt(surv * (1.0 - surv) / n))


@dataclass(frozen=True)
class TailSide:
    """One tail (``"loss"`` = upper tail of ``-payoff``, ``"gain"`` = upper tail of ``payoff``)."""

    side: str
    var: dict[float, Estimate]
    es: dict[float, Estimate]
    hill_alpha: Estimate
    hill_k: int
    gpd: GPDFit
    survival: SurvivalCurve
    hill_plot: HillPlotData | None


@dataclass(frozen=True)
class TailSummary:
    """Tail statistics of one payoff sample; see :func:`tail_summary`."""

    label: str
    unit: str
    n: int
    n_batches: int
    n_resamples: int
    seed: int
    mean: Estimate
    sd: Estimate
    kurtosis_excess: Estimate
    ess_mean: float
    tails: dict[str, TailSide] = field(default_factory=dict)

    def to_rows(self) -> list[dict]:
        """Tidy rows ``{sample, quantity, statistic, value, mcse_or_ci_low, ci_high, unit,
        error_kind}``: ``mcse_or_ci_low`` is the standard error (``ci_high`` NaN) unless
        ``error_kind == "bootstrap95"``, when the two columns bound the 95% interval."""
        u, ctx = self.unit, {"sample": self.label}
        rows = [
            self.mean.row("payoff", "mean", u, **ctx),
            self.sd.row("payoff", "sd", u, **ctx),
            self.kurtosis_excess.row("payoff", "kurtosis_excess", "1", **ctx),
            Estimate(self.ess_mean).row("payoff", "ess_mean", "paths", **ctx),
            Estimate(float(self.n)).row("payoff", "n", "paths", **ctx),
        ]
        for side in self.tails.values():
            for lvl, est in side.var.items():
                rows.append(est.row(side.side, f"VaR_{lvl:g}", u, **ctx))
            for lvl, est in side.es.items():
                rows.append(est.row(side.side, f"ES_{lvl:g}", u, **ctx))
            rows.append(side.hill_alpha.row(side.side, "hill_alpha", "1", **ctx))
            rows.append(Estimate(float(side.hill_k)).row(side.side, "hill_k", "paths", **ctx))
            g = side.gpd
            rows.append(g.xi.row(side.side, "gpd_xi", "1", **ctx))
            rows.append(g.scale.row(side.side, "gpd_scale", u, **ctx))
            rows.append(Estimate(g.threshold).row(side.side, "gpd_threshold", u, **ctx))
            rows.append(Estimate(float(g.n_exceed)).row(side.side, "gpd_n_exceed", "paths", **ctx))
        return rows


def _kurtosis(x: np.ndarray) -> float:
    import scipy.stats as st

    if x.size < 4 or np.ptp(x) == 0:
        return math.nan
    return float(st.kurtosis(x, fisher=True, bias=True))


def _safe_hill(top_desc: np.ndarray, k: int) -> float:
    if top_desc.size < k + 1 or top_desc[k] <= 0:
        return math.nan
    return float(hill(top_desc[: k + 1], k))


def _head(
    top_desc: np.ndarray, counts: np.ndarray, cum: np.ndarray, p: int, f_top: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For resamples given as copy counts (shape ``(B, m)``, cumulative sums ``cum``) of
    ``top_desc`` (shape ``(m,)``, descending): the value at position ``p`` (0-based) of each
    descending resample and the sum of ``f_top`` over its first ``p`` values, each shape ``(B,)``.
    Every resample must hold more than ``p`` values."""
    j = (cum <= p).sum(axis=1)
    width = int(j.max()) + 1
    c, cm = counts[:, :width], cum[:, :width]
    first = np.minimum(c, np.maximum(p - (cm - c), 0))
    return top_desc[j], first @ f_top[:width]


def _replicates_from_counts(
    top_desc: np.ndarray, counts: np.ndarray, n: int, k: int, q: float, top_level: float
) -> np.ndarray:
    """Bootstrap replicates ``(Hill alpha, GPD xi, GPD scale, ES at top_level)``, shape
    ``(B, 4)``, of resamples given as copy counts (shape ``(B, m)``) of the ``m`` largest values
    ``top_desc`` (descending), each holding the order statistics the four need. Same definitions
    as :func:`_safe_hill`, :func:`_gpd_from_top` and :func:`_es_from_top` on the materialised
    resample."""
    out = np.full((counts.shape[0], 4), np.nan)
    cum = np.cumsum(counts, axis=1)

    with np.errstate(divide="ignore"):
        log_top = np.log(np.where(top_desc > 0, top_desc, 1.0))
    kth, log_sum = _head(top_desc, counts, cum, k, log_top)
    pos = kth > 0
    gap = log_sum[pos] / k - np.log(kth[pos])
    with np.errstate(divide="ignore"):
        out[pos, 0] = np.where(gap > 0, 1.0 / np.where(gap > 0, gap, 1.0), np.inf)

    out[:, 1], out[:, 2] = _gpd_from_counts(top_desc, counts, cum, n, q)

    beyond = _n_beyond(n, top_level)
    kf = math.floor(beyond)
    if kf >= 1:
        at_kf, head_sum = _head(top_desc, counts, cum, kf, top_desc)
        out[:, 3] = (head_sum + (beyond - kf) * at_kf) / beyond
    return out


def _bootstrap(
    y: np.ndarray,
    top_desc: np.ndarray,
    need: int,
    k: int,
    q: float,
    top_level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Bootstrap replicates ``(Hill alpha, GPD xi, GPD scale, ES at top_level)`` of the sample
    ``y`` (shape ``(n,)``), shape ``(n_resamples, 4)``.

    Each resample's copy counts of the ``m`` largest values ``top_desc`` are drawn at once; a
    resample whose counts hold fewer than ``need`` values is drawn in full, after all counts.
    """
    n, m = y.size, top_desc.size
    reps = np.full((n_resamples, 4), np.nan)
    probs = np.full(m + 1, 1.0 / n)
    probs[m] = max(0.0, 1.0 - m / n)
    counts = rng.multinomial(n, probs / probs.sum(), size=n_resamples)[:, :m]
    covered = counts.sum(axis=1) >= need
    if np.any(covered):
        reps[covered] = _replicates_from_counts(top_desc, counts[covered], n, k, q, top_level)
    for b in np.flatnonzero(~covered):
        rtop = -np.sort(-y[rng.integers(0, n, size=n)])
        xi_b, scale_b, _ = _gpd_from_top(rtop, n, q)
        reps[b] = (_safe_hill(rtop, k), xi_b, scale_b, _es_from_top(rtop, n, top_level))
    return reps


def _tail_side(
    y: np.ndarray,
    side: str,
    levels: tuple[float, ...],
    threshold_quantile: float,
    k: int,
    n_resamples: int,
    rng: np.random.Generator,
) -> TailSide:
    n = y.size
    top_level = max(levels)
    need = max(k + 1, math.floor(_n_beyond(n, threshold_quantile)) + 1)
    need = max(need, math.floor(_n_beyond(n, top_level)) + 1)
    m = int(min(n, 2 * need + 10 * math.sqrt(need) + 50))
    top = -np.sort(-y)[:m]

    hill_hat = _safe_hill(top, k)
    xi_hat, scale_hat, n_exceed = _gpd_from_top(top, n, threshold_quantile)
    threshold = float(top[min(math.floor(_n_beyond(n, threshold_quantile)), m - 1)])
    es_top_hat = _es_from_top(top, n, top_level)

    reps = _bootstrap(y, top, need, k, threshold_quantile, top_level, n_resamples, rng)

    def boot(value: float, col: int) -> Estimate:
        if math.isnan(value):
            return Estimate(math.nan)
        lo, hi = bootstrap_interval(reps[:, col])
        return Estimate(value, ci_low=lo, ci_high=hi, kind="bootstrap95")

    var = {lvl: value_at_risk(y, lvl) for lvl in levels}
    es = {lvl: expected_shortfall(y, lvl) for lvl in levels}
    if np.isfinite(es_top_hat) and _n_beyond(n, top_level) >= MIN_TAIL_PATHS:
        es[top_level] = boot(es_top_hat, 3)

    npos = int((y > 0).sum())
    plot = None
    hi_k = min(n // 5, npos - 1)
    if hi_k >= 1:
        lo_k = min(5, hi_k)
        ks = np.unique(np.linspace(lo_k, hi_k, num=min(400, hi_k - lo_k + 1)).round())
        with np.errstate(invalid="ignore"):  # tied top values give alpha = inf, band inf - inf
            plot = hill_plot_data(top if m > hi_k else y, ks.astype(np.int64))

    return TailSide(
        side=side,
        var=var,
        es=es,
        hill_alpha=boot(hill_hat, 0),
        hill_k=k,
        gpd=GPDFit(boot(xi_hat, 1), boot(scale_hat, 2), threshold, threshold_quantile, n_exceed),
        survival=survival_curve(y),
        hill_plot=plot,
    )


def tail_summary(
    payoffs: np.typing.ArrayLike,
    label: str = "payoff",
    *,
    unit: str = "USD",
    levels: tuple[float, ...] = TAIL_LEVELS,
    threshold_quantile: float = 0.99,
    k: int | None = None,
    n_batches: int = DEFAULT_BATCHES,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> TailSummary:
    """Tail statistics of a payoff sample (shape ``(paths,)``, ``unit``), both tails.

    Args:
        payoffs: one payoff per i.i.d. path, in path-index order (batches are by index).
        label: names the sample in the tidy rows (e.g. ``"damped"``, ``"undamped"``).
        levels: VaR / ES levels, applied to the loss ``-payoff`` and the gain ``payoff``.
        threshold_quantile: the GPD threshold is the empirical quantile at this level of each
            tail variable (default 0.99: the top 1% of paths are the exceedances).
        k: Hill order statistics; default ``hill_k_rule(n) = ceil(sqrt(n))``.
        n_batches: batches for the batch-means error of the kurtosis.
        n_resamples: bootstrap resamples for the Hill index, GPD parameters and the ES at the
            highest level (percentile 95% intervals).
        seed: seeds the ``numpy.random.Generator`` of the bootstrap.
    """
    x = np.asarray(payoffs, dtype=np.float64).ravel()
    if x.size < 2 * n_batches:
        raise ValueError(f"payoffs: need at least {2 * n_batches} paths, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("payoffs: every value must be finite")
    k = hill_k_rule(x.size) if k is None else int(k)
    rng = np.random.default_rng(seed)
    tails = {
        side: _tail_side(y, side, tuple(levels), threshold_quantile, k, n_resamples, rng)
        for side, y in (("loss", -x), ("gain", x))
    }
    sd = Estimate(float(x.std(ddof=1)), arviz_mcse(x, "sd"), kind="mcse")
    return TailSummary(
        label=label,
        unit=unit,
        n=int(x.size),
        n_batches=n_batches,
        n_resamples=n_resamples,
        seed=seed,
        mean=mean_estimate(x),
        sd=sd,
        kurtosis_excess=batch_estimate(x, _kurtosis, n_batches),
        ess_mean=arviz_ess(x, "mean") if np.ptp(x) > 0 else float(x.size),
        tails=tails,
    )
