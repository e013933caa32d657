"""Fit every model to one price series and compare their tails with the data's (Hill 1975)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config
from ..analytics import hill, hill_k_rule
from ._data import PriceSeries, default_data_path, read_prices
from ._fit import Fit, fit_model
from ._models import MODELS

__all__ = ["CalibrationResult", "HillRow", "calibrate_report", "to_config"]

#: tails in the Hill table: the name and how a return series is turned into the right tail
TAILS = {"left": lambda r: -r, "right": lambda r: r, "abs": np.abs}
#: simulated samples per fitted model for the tail comparison
HILL_REPLICATIONS = 20


def to_config(fit: Fit, s0: float = 100_000.0) -> config.ModelConfig:
    """The fitted model as a physical-mode :mod:`tailrisk.config` object (``mu`` = fitted drift).

    Units follow the config: ``mu``, ``sigma``, ``lam`` per year (``dt`` of the fit), GARCH
    ``omega`` per-step variance. The Student-t fit is given as ``scale`` (no finite variance
    assumed).
    """
    p = dict(fit.params)
    mu = p.pop("drift")
    common = {"name": fit.model, "s0": float(s0), "mu": mu}
    if fit.model == "garch_t":
        return config.GarchTModel(**common, **p)
    cls = {
        "gbm": config.GbmModel,
        "student_t": config.StudentTModel,
        "merton": config.MertonModel,
        "kou": config.KouModel,
        "hawkes": config.HawkesModel,
        "stable": config.StableModel,
    }[fit.model]
    return cls(**common, **p)


@dataclass(frozen=True)
class HillRow:
    """Hill tail indices of one source (the data, or a fitted model's simulations)."""

    source: str
    #: tail -> (mean, spread): for the data the estimate and its asymptotic standard error
    #: alpha / sqrt(k); for a model the mean and standard deviation over the replications
    tails: dict[str, tuple[float, float]]
    replications: int = 1

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "replications": self.replications,
            **{t: {"alpha": a, "spread": s} for t, (a, s) in self.tails.items()},
        }


@dataclass(frozen=True)
class CalibrationResult:
    """Fits of the chosen models to one series, and the Hill comparison of tails."""

    source: str
    n_returns: int
    first_date: str
    last_date: str
    dt: float
    fits: dict[str, Fit]
    hill_k: int
    hill: list[HillRow]
    seed: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "n_returns": self.n_returns,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "dt_years": self.dt,
            "fits": {name: fit.to_dict() for name, fit in self.fits.items()},
            "hill_k": self.hill_k,
            "hill": [row.to_dict() for row in self.hill],
            "seed": self.seed,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        out = [
            f"Calibration of {self.source}",
            f"  {self.n_returns} daily log returns, {self.first_date} to {self.last_date}; "
            f"dt = 1/{round(1 / self.dt)} yr (calendar days)",
            "  drift = location of the log return per year (config mu); sigma, scale per sqrt(yr);",
            "  lam, lam0, alpha/beta (hawkes) per yr; mu_j, sigma_j, 1/eta in log-return units;",
            "  omega = per-day variance; stable scale per yr^(1/alpha), drift = S1 location/yr.",
            "",
            _fit_summary(self.fits),
            "",
            _param_table(self.fits),
            "",
            _hill_table(self.hill, self.hill_k),
        ]
        if self.notes:
            out += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        out.append(f"\n({self.seconds:.1f} s)")
        return "\n".join(out)


def calibrate_report(
    data_path: str | Path | None = None,
    models: str | list[str] | tuple[str, ...] = "all",
    date_col: str = "date",
    price_col: str = "price",
    seed: int = 0,
) -> CalibrationResult:
    """Fit ``models`` ("all" or names from :data:`MODELS`) by maximum likelihood to the daily log
    returns of a CSV of prices (default: the shipped BTC/USD series, :func:`default_data_path`),
    and compare the Hill tail index of the data with that of returns simulated from each fit
    (same length, :data:`HILL_REPLICATIONS` replications, ``tailrisk.paths``)."""
    start = time.perf_counter()
    names = _model_names(models)
    series = read_prices(data_path or default_data_path(), date_col=date_col, price_col=price_col)
    r = series.returns
    fits = {name: fit_model(name, r, series.dt) for name in names}
    notes = _notes(fits)
    k = hill_k_rule(r.size)
    rows = [_data_hill(r, k)]
    for name, fit in fits.items():
        try:
            rows.append(_model_hill(fit, r.size, k, seed))
        except (ValueError, ArithmeticError) as err:  # a fit that is not a valid config
            notes.append(f"{name}: no simulated tail comparison ({err})")
    return CalibrationResult(
        source=_short_source(series),
        n_returns=r.size,
        first_date=str(series.dates[0]),
        last_date=str(series.dates[-1]),
        dt=series.dt,
        fits=fits,
        hill_k=k,
        hill=rows,
        seed=seed,
        seconds=time.perf_counter() - start,
        notes=notes,
    )


def _model_names(models) -> list[str]:
    if isinstance(models, str):
        models = list(MODELS) if models == "all" else [m.strip() for m in models.split(",")]
    names = list(models)
    if "all" in names:
        names = list(MODELS)
    bad = [m for m in names if m not in MODELS]
    if bad or not names:
        raise ValueError(
            f"models = {bad or names!r}: unknown model(s); allowed: all, {', '.join(MODELS)}"
        )
    return list(dict.fromkeys(names))


def _short_source(series: PriceSeries) -> str:
    path = Path(series.source)
    return (
        "shipped BTC/USD daily closes (tailrisk/data/btc_usd_daily.csv)"
        if (path == default_data_path())
        else path.name
    )


def _data_hill(r: np.ndarray, k: int) -> HillRow:
    tails = {}
    for tail, f in TAILS.items():
        a = float(hill(f(r), k))
        tails[tail] = (a, a / math.sqrt(k))
    return HillRow("data", tails)


def _model_hill(fit: Fit, n: int, k: int, seed: int) -> HillRow:
    import jax
    import jax.numpy as jnp

    from .. import _rng
    from ..paths import log_increments

    cfg = to_config(fit)
    key = jax.random.fold_in(_rng.stream_key(seed, _rng.STREAM_ANALYSIS), 7919)
    index = jnp.arange(HILL_REPLICATIONS)
    sims = np.asarray(log_increments(key, cfg, index, n, fit.dt, jnp.float32), dtype=np.float64)
    tails = {}
    for tail, f in TAILS.items():
        est = np.array([float(hill(f(row), k)) for row in sims])
        tails[tail] = (float(est.mean()), float(est.std(ddof=1)))
    return HillRow(fit.model, tails, HILL_REPLICATIONS)


def _notes(fits: dict[str, Fit]) -> list[str]:
    notes = []
    for name, fit in fits.items():
        if not fit.converged:
            notes.append(f"{name}: optimiser did not converge ({fit.message})")
        if any(not math.isfinite(v) for v in fit.se.values()):
            notes.append(f"{name}: some standard errors unavailable ({fit.message})")
        if MODELS[name].note:
            notes.append(f"{name}: {MODELS[name].note}")
    g = fits.get("garch_t")
    if g is not None and g.params["alpha"] + g.params["beta"] > 0.999:
        notes.append(
            "garch_t: alpha + beta = "
            f"{g.params['alpha'] + g.params['beta']:.5f} is at the stationarity bound "
            "(integrated GARCH); its standard errors are conditional on that, and simulations "
            "start at the stationary variance omega/(1 - alpha - beta), which is then huge"
        )
    h = fits.get("hawkes")
    if h is not None:
        ratio = h.params["alpha"] / h.params["beta"]
        mean_rate = h.params["lam0"] / (1 - ratio)
        notes.append(
            f"hawkes: branching ratio alpha/beta = {ratio:.3f}, stationary mean intensity "
            f"{mean_rate:.3g}/yr ({mean_rate / 365:.2g}/day); tailrisk.paths merges counts "
            "above 12 jumps a day"
        )
    return notes


def _fmt(v: float, width: int = 11) -> str:
    if not math.isfinite(v):
        return "n/a".rjust(width)
    a = abs(v)
    s = f"{v:.4g}" if a == 0 or 1e-3 <= a < 1e5 else f"{v:.3e}"
    return s.rjust(width)


def _fit_summary(fits: dict[str, Fit]) -> str:
    best = min(f.aic for f in fits.values())
    head = f"{'model':<10} {'k':>2} {'log-lik':>11} {'AIC':>11} {'dAIC':>9} {'BIC':>11}  converged"
    lines = ["Fit summary (log-likelihood in nats, daily log returns)", head, "-" * len(head)]
    for name, f in sorted(fits.items(), key=lambda kv: kv[1].aic):
        lines.append(
            f"{name:<10} {f.n_params:>2} {f.loglik:>11.2f} {f.aic:>11.2f} {f.aic - best:>9.2f} "
            f"{f.bic:>11.2f}  {'yes' if f.converged else 'NO'}"
        )
    return "\n".join(lines)


def _param_table(fits: dict[str, Fit]) -> str:
    head = f"{'model':<10} {'parameter':<10} {'unit':<14} {'estimate':>11} {'std.err':>11}"
    lines = ["Parameters (maximum likelihood; std.err from the inverse Hessian)", head]
    lines.append("-" * len(head))
    for name, f in fits.items():
        for i, (p, v) in enumerate(f.params.items()):
            lines.append(
                f"{name if i == 0 else '':<10} {p:<10} {f.units[p]:<14} {_fmt(v)} {_fmt(f.se[p])}"
            )
    return "\n".join(lines)


def _hill_table(rows: list[HillRow], k: int) -> str:
    head = f"{'source':<10} {'left tail':>17} {'right tail':>17} {'|returns|':>17}"
    lines = [
        f"Hill tail index alpha (k = {k} largest = ceil(sqrt(n)); data: estimate +- alpha/sqrt(k);",
        f"models: mean +- sd over {HILL_REPLICATIONS} simulated series of the same length)",
        head,
        "-" * len(head),
    ]
    for row in rows:
        cells = [f"{row.tails[t][0]:7.2f} +- {row.tails[t][1]:<5.2f}" for t in TAILS]
        lines.append((f"{row.source:<10} " + " ".join(c.rjust(17) for c in cells)).rstrip())
    return "\n".join(lines)
