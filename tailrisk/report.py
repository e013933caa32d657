"""The PDF report of a finished run (matplotlib, imported only inside the functions here).

Pages, in order:

1. title: config summary, hash, seed, versions, device, wall time, units;
2. with a venue, the headline: damped vs undamped payoffs of the total long and total short
   cohorts (and of each probe, two groups a page), log-log survival of gains and losses and a
   table of :func:`tailrisk.analytics.tail_summary` estimates with their Monte Carlo errors;
3. with a venue: venue risk metrics (:func:`tailrisk.analytics.venue_metrics`) with errors;
4. fan chart of price paths (USD, log axis, days);
5. log-log survival of |one-day log returns| of each of the seven price models at its default
   parameters, against a Gaussian with the same standard deviation;
6. the run's own terminal log returns: survival of both tails against a Gaussian;
7. with a venue: insurance fund and ADL distributions;
8. with a venue: damped vs undamped payoff survival per cohort (and per probe), log-log;
9. a table of per-path summaries, means and quantiles with their ArviZ MCSE.

Paths with a non-finite venue output (older runs) are counted, left out of every venue
statistic, and the pages say so. The report is written atomically (a temporary PDF in the same
folder, then ``os.replace``).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .runner import RunResult

__all__ = [
    "HEADLINE_RESAMPLES",
    "MODEL_DEFAULTS",
    "build_report",
    "headline_groups",
    "headline_rows",
    "model_one_day_returns",
    "report_pages",
    "venue_metric_set",
]

#: the configuration each model is shown at on the model-survival page (config defaults; the
#: Student-t needs a scale, given as a 60 % annual standard deviation like the GBM default)
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "gbm": {"name": "gbm"},
    "student_t": {"name": "student_t", "nu": 3.0, "sigma": 0.6},
    "merton": {"name": "merton"},
    "kou": {"name": "kou"},
    "garch_t": {"name": "garch_t"},
    "hawkes": {"name": "hawkes"},
    "stable": {"name": "stable"},
}
#: one-day returns drawn per model: paths x steps, pooled (so GARCH and Hawkes show clustering)
MODEL_PATHS, MODEL_STEPS = 1_000, 100

_PAGE = (11.0, 8.5)  # inches, landscape letter
_BLUE, _ORANGE, _GREY = "#1f77b4", "#d62728", "0.45"


#: rows of the summary table per page
TABLE_ROWS = 30


def report_pages(result: RunResult) -> list[str]:
    """Titles of the pages :func:`build_report` writes for ``result``, in order."""
    pages = ["title"]
    if result.venue:
        chunks = _headline_chunks(_headline_specs(result))
        pages += [
            f"headline: damped vs undamped ({i + 1} of {len(chunks)})" for i in range(len(chunks))
        ]
        pages.append("Hill stability plots")
        pages.append("venue risk metrics")
    pages += [
        "fan chart of price paths",
        "model return tails (one day)",
        "terminal return tails of this run",
    ]
    if result.venue:
        pages += ["insurance fund and ADL", "damped vs undamped payoffs"]
    n_tables = max(1, math.ceil(len(_summary_rows(result)) / TABLE_ROWS))
    pages += [f"summary table {i + 1} of {n_tables}" for i in range(n_tables)]
    return pages


def build_report(result: RunResult, path: str | Path) -> Path:
    """Write the multi-page PDF report of ``result`` to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from ._atomic import atomic_write

    path = Path(path)
    exp = result.experiment
    meta = {
        "Title": f"tailrisk report: {exp.run.name} ({result.config_hash})",
        "Creator": "tailrisk",
        "CreationDate": None,
    }

    def write(fh) -> None:
        with plt.rc_context(_STYLE), PdfPages(fh, metadata=meta) as pdf:
            pages = [_title_page]
            if result.venue:
                headline_groups_all = headline_groups(result)
                chunks = _headline_chunks(headline_groups_all)
                for i, chunk in enumerate(chunks):
                    pages.append(partial(_headline_page, groups=chunk, index=i, count=len(chunks)))
                pages.append(partial(_hill_stability_page, groups=headline_groups_all))
                pages.append(_venue_metrics_page)
            pages += [_fan_page, _models_page, _terminal_page]
            if result.venue:
                pages += [_fund_page, _payoff_page]
            rows = _summary_rows(result)
            n_tables = max(1, math.ceil(len(rows) / TABLE_ROWS))
            for i in range(n_tables):
                part = rows[i * TABLE_ROWS : (i + 1) * TABLE_ROWS]
                pages.append(lambda r, part=part, i=i: _table_page(r, part, i, n_tables))
            for page in pages:
                fig = page(result)
                pdf.savefig(fig)
                plt.close(fig)

    atomic_write(path, write, suffix=".pdf")
    return path


_STYLE = {
    "figure.figsize": _PAGE,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


# ----------------------------------------------------------------------------- helpers


def _survival(x: np.ndarray, max_points: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    """Empirical P(X >= x) at sorted sample points, thinned to ~``max_points`` log-spaced ranks."""
    x = np.sort(np.asarray(x, np.float64)[np.isfinite(x)])
    n = x.size
    if n == 0:
        return x, x
    surv = 1.0 - np.arange(n) / n  # P(X >= x_(i)); the largest point has 1/n
    keep = np.unique(np.geomspace(1, n, min(n, max_points)).astype(np.int64) - 1)
    keep = n - 1 - keep  # dense in the upper tail
    return x[keep[::-1]], surv[keep[::-1]]


def _gauss_surv_abs(x: np.ndarray, sd: float) -> np.ndarray:
    from scipy.special import erfc

    return erfc(np.asarray(x) / (sd * math.sqrt(2.0)))


def _gauss_surv(x: np.ndarray, sd: float) -> np.ndarray:
    return 0.5 * _gauss_surv_abs(x, sd)


def _hill_alpha(x: np.ndarray) -> float:
    """Hill tail index of the positive sample ``x`` (k by the analytics default rule), or NaN."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 50 or np.count_nonzero(x > 0) < 20:
        return math.nan
    try:
        from .analytics import hill
    except ImportError:  # pragma: no cover
        return math.nan
    try:
        return float(hill(x))
    except ValueError:
        return math.nan


def _usd(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    for div, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:,.2f}{unit} USD"
    return f"{v:,.2f} USD"


def _step_text(dt_years: float) -> str:
    """A time step in the friendliest unit: '1 d', '8 h', '5 min'."""
    days = dt_years * 365.0
    if days >= 1:
        return f"{days:.4g} d"
    if days * 24 >= 1:
        return f"{days * 24:.4g} h"
    return f"{days * 24 * 60:.4g} min"


def _finite_mask(result: RunResult) -> np.ndarray:
    """``(paths,)`` True where every floating-point venue output of the path is finite."""
    n = result.n_paths
    ok = np.ones(n, bool)
    for arr in (result.venue or {}).values():
        a = np.asarray(arr)
        if a.dtype.kind == "f" and a.shape[:1] == (n,):
            ok &= np.isfinite(a.reshape(n, -1)).all(axis=1)
    return ok


def _finite_share(result: RunResult) -> tuple[int, int]:
    """(paths with a non-finite venue output, paths)."""
    return int((~_finite_mask(result)).sum()), result.n_paths


def _style_table(table, row_scale: float, tall_header: bool = False, stripe: bool = False) -> None:
    """The report's table look: 8 pt, left-aligned first column, grey bold header, and
    optionally a taller header and shaded every other value column (damped/undamped pairs)."""
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, row_scale)
    for (r, c), cell in table.get_celld().items():
        if c == 0:
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.9")
            if tall_header:
                cell.set_height(cell.get_height() * 1.8)
        elif stripe and c > 0 and (c - 1) % 2 == 0:
            cell.set_facecolor("#eef4fb")


def _footer(fig, result: RunResult, note: str = "") -> None:
    exp = result.experiment
    text = f"tailrisk | {exp.run.name} | config {result.config_hash} | seed {exp.run.seed}"
    fig.text(0.01, 0.01, text, fontsize=7, color=_GREY)
    if note:
        fig.text(0.99, 0.01, note, fontsize=7, color=_GREY, ha="right")


# ----------------------------------------------------------------------------- pages


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, key + ".")
        else:
            out.append((key, v))
    return out


def _title_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp, m = result.experiment, result.manifest
    env = m.get("environment", {})
    run = exp.run
    fig = plt.figure()
    fig.text(0.05, 0.93, f"tailrisk report: {run.name}", fontsize=20, weight="bold")
    venue = f"venue policy {exp.venue.policy}" if exp.venue else "price paths only (no venue)"
    fig.text(
        0.05,
        0.885,
        f"{exp.model.name} model, {run.paths:,} paths x {run.steps} steps of "
        f"{_step_text(run.dt)} ({run.horizon * 365:g} days), {venue}",
        fontsize=11,
    )
    wall = m.get("wall_time_s") or math.nan
    chunk_times = list(m.get("chunk_wall_s", {}).values())
    rate = run.paths / sum(chunk_times) if chunk_times and sum(chunk_times) > 0 else math.nan
    info = [
        ("config hash", result.config_hash),
        ("seed", str(m.get("seed", run.seed))),
        ("run folder", result.run_dir.name),
        ("status", f"{m.get('status')}, {m.get('chunks_done')} of {m.get('n_chunks')} chunks"),
        ("started / ended (UTC)", f"{m.get('started')} / {m.get('ended')}"),
        ("wall time", f"{wall:,.1f} s ({rate:,.0f} paths/s over the chunks)"),
        ("device", f"jax {env.get('jax_backend')}: {', '.join(env.get('jax_devices', []))}"),
        (
            "versions",
            f"tailrisk {env.get('tailrisk')}, Python {env.get('python')}, "
            f"numpy {env.get('numpy')}, jax {env.get('jax')}, jaxlib {env.get('jaxlib')}",
        ),
        ("platform", env.get("platform", "")),
    ]
    if exp.venue and "n_accounts" in m:
        info.append(("accounts", f"{m['n_accounts']:,}; cohorts: {', '.join(m['cohort_names'])}"))
    y = 0.82
    for k, v in info:
        fig.text(0.05, y, k, fontsize=9, weight="bold")
        fig.text(0.22, y, textwrap.shorten(str(v), 120), fontsize=9, family="monospace")
        y -= 0.03
    units = (
        "Units: prices and money in USD; time in days on axes (years in the config); "
        "returns are log returns log(S_t / S_0); volatilities and rates annualised; "
        "quantities in contracts (units of the underlying)."
    )
    fig.text(0.05, y - 0.01, textwrap.fill(units, 150), fontsize=8.5, style="italic")
    rows = [f"{k} = {v!r}" for k, v in _flatten(exp.to_dict())]
    fig.text(0.05, y - 0.06, "configuration (validated, defaults filled in)", weight="bold")
    cols = 3
    per_col = math.ceil(len(rows) / cols)
    font = 7 if per_col <= 32 else max(4.5, 7 * 32 / per_col)
    for c in range(cols):
        chunk = rows[c * per_col : (c + 1) * per_col]
        text = "\n".join(textwrap.shorten(r, 58) for r in chunk)
        fig.text(0.05 + c * 0.31, y - 0.08, text, fontsize=font, family="monospace", va="top")
    return fig


def _fan_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    t = np.concatenate([[0.0], result.times_days])
    s0 = exp.model.s0
    q = np.exp(result.step_quantiles)
    q = np.concatenate([np.full((q.shape[0], 1), s0), q], axis=1)
    fig, ax = plt.subplots()
    levels = result.quantile_levels
    bands = [(0, 6, 0.15), (1, 5, 0.25), (2, 4, 0.4)]
    for lo, hi, alpha in bands:
        ax.fill_between(
            t,
            q[lo],
            q[hi],
            color=_BLUE,
            alpha=alpha,
            lw=0,
            label=f"{levels[lo] * 100:g}-{levels[hi] * 100:g} %",
        )
    ax.plot(t, q[3], color=_BLUE, lw=2, label="median")
    kept = result.kept_log_prices
    for i in range(min(8, kept.shape[0])):
        ax.plot(
            t,
            np.concatenate([[s0], np.exp(kept[i])]),
            color="k",
            lw=0.6,
            alpha=0.6,
            label="sample paths" if i == 0 else None,
        )
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    decades = math.log10(hi / lo)
    fine = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
    subs = fine if decades < 1 else (1.0, 2.0, 5.0) if decades < 4 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time (days)")
    ax.set_ylabel("price S_t (USD, log scale)")
    ax.set_xlim(0, t[-1])
    ns = result.sample_log_prices.shape[0]
    ax.set_title(
        f"{exp.model.name}: per-step quantiles of the price over the first {ns:,} paths "
        f"(by global index; fixed whatever the chunk size)"
    )
    ax.legend(loc="upper left")
    _footer(fig, result, f"s0 = {_usd(s0)}")
    return fig


def model_one_day_returns(seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    """``{model: (MODEL_PATHS * MODEL_STEPS,)}`` pooled one-day log returns at MODEL_DEFAULTS."""
    import jax.numpy as jnp

    from ._rng import STREAM_ANALYSIS, stream_key
    from .config import parse_config
    from .paths import log_increments

    key = stream_key(seed, STREAM_ANALYSIS)
    index = jnp.arange(MODEL_PATHS, dtype=jnp.uint32)
    out = {}
    for name, cfg in MODEL_DEFAULTS.items():
        model = parse_config({"model": cfg}, f"<report model {name}>").model
        inc = log_increments(key, model, index, MODEL_STEPS, 1.0 / 365.0, dtype)
        out[name] = np.asarray(inc, np.float64).ravel()
    return out


def _param_label(name: str) -> str:
    from .config import parse_config

    model = parse_config({"model": MODEL_DEFAULTS[name]}, "<report>").model
    skip = {"name", "s0", "mode", "mu", "r", "clip", "scale"} - (
        {"scale"} if name == "stable" else set()
    )
    parts = [f"{k}={v:g}" for k, v in model.model_dump().items() if k not in skip and v is not None]
    return ", ".join(parts)


def _models_page(result: RunResult):
    import matplotlib.pyplot as plt

    draws = model_one_day_returns(result.experiment.run.seed)
    fig, axes = plt.subplots(3, 3, sharex=True, sharey=True)
    xs = np.concatenate([np.abs(r) for r in draws.values()])
    lo = max(np.quantile(xs, 0.05), 1e-5)
    for ax, (name, r) in zip(axes.flat, draws.items(), strict=False):
        a = np.abs(r)
        x, s = _survival(a)
        sd = float(np.std(r))
        grid = np.geomspace(lo, a.max() * 1.5, 200)
        ax.loglog(x, s, color=_BLUE, lw=1.5, label="model")
        ax.loglog(
            grid,
            _gauss_surv_abs(grid, sd),
            color=_ORANGE,
            ls="--",
            lw=1.2,
            label="Gaussian, same s.d.",
        )
        alpha = _hill_alpha(a)
        ax.set_title(f"{name}  (Hill α ≈ {alpha:.2f})", fontsize=9)
        ax.text(
            0.03,
            0.04,
            textwrap.fill(_param_label(name), 38) + f"\ns.d. = {sd:.4f}",
            transform=ax.transAxes,
            fontsize=6.5,
            color=_GREY,
        )
    for ax in axes.flat[len(draws) :]:
        ax.set_visible(False)
    n = MODEL_PATHS * MODEL_STEPS
    axes.flat[len(draws) - 1].legend(loc="upper right")
    notes = axes.flat[len(draws)]
    notes.set_visible(True)
    notes.axis("off")
    notes.text(
        0.02,
        0.95,
        textwrap.fill(
            f"Each panel: {n:,} one-day log returns ({MODEL_PATHS:,} paths x {MODEL_STEPS} daily "
            "steps, pooled) at the model's default parameters, risk-neutral mode off. "
            "Dashed: a Gaussian with the sample standard deviation (for the alpha-stable model "
            "the true variance is infinite; the sample s.d. is shown only for scale). "
            "Hill α: tail index of |return| with the analytics default k.",
            55,
        ),
        transform=notes.transAxes,
        va="top",
        fontsize=8,
    )
    for ax in axes[-1]:
        ax.set_xlabel("|one-day log return| x")
    for ax in axes[:, 0]:
        ax.set_ylabel("P(|R| > x)")
    ax0 = axes.flat[0]
    ax0.set_xlim(lo, xs.max() * 1.5)
    ax0.set_ylim(0.5 / n, 1.1)
    fig.suptitle("Return tails of the seven price models: survival of |one-day log returns|")
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    _footer(fig, result)
    return fig


def _terminal_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    r = result.per_path["terminal_log_return"]
    centred = r - np.median(r)
    sd = float(np.std(r))
    horizon = exp.run.horizon * 365
    a = np.abs(centred)
    lo = max(float(np.quantile(a, 0.1)), 1e-8)
    grid = np.geomspace(lo, a.max() * 1.5, 200)
    fig, (ax1, ax2) = plt.subplots(1, 2, sharex=True)

    x, s = _survival(a)
    ax1.loglog(x, s, color=_BLUE, lw=1.5, label="this run")
    ax1.loglog(
        grid,
        _gauss_surv_abs(grid, sd),
        color=_ORANGE,
        ls="--",
        label=f"Gaussian, same s.d. ({sd:.3f})",
    )
    ax1.set_xlabel(f"|R - median|, R = log return over {horizon:g} days")
    ax1.set_ylabel("P(|R - median| > x)")
    ax1.set_ylim(0.5 / r.size, 1.1)
    ax1.set_title(f"both tails together (Hill α ≈ {_hill_alpha(a):.2f})")
    ax1.legend(loc="lower left")

    for sample, colour, label in (
        (-centred, _ORANGE, "losses  -(R - median)"),
        (centred, _BLUE, "gains  R - median"),
    ):
        pos = sample[sample > 0]
        x, s = _survival(pos)
        ax2.loglog(
            x,
            s * pos.size / sample.size,
            color=colour,
            lw=1.5,
            label=f"{label} (Hill α ≈ {_hill_alpha(sample):.2f})",
        )
    ax2.loglog(grid, _gauss_surv(grid, sd), color=_GREY, ls="--", label="Gaussian, same s.d.")
    ax2.set_xlabel(f"one-sided move x, log return over {horizon:g} days")
    ax2.set_ylabel("P(move > x)")
    ax2.set_ylim(0.5 / r.size, 0.6)
    ax2.set_title("losses and gains separately")
    ax2.legend(loc="lower left")
    ax1.set_xlim(lo, a.max() * 1.5)
    fig.suptitle(
        f"Terminal log returns R = log(S_T / S_0) of this run: {r.size:,} paths, "
        f"{exp.model.name} model, horizon {horizon:g} days"
    )
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    _footer(fig, result)
    return fig


def _venue_array(result: RunResult, name: str) -> np.ndarray | None:
    v = (result.venue or {}).get(name)
    return None if v is None else np.asarray(v)


def _fund_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    venue = exp.venue
    fig, axes = plt.subplots(2, 2)
    (a1, a2), (a3, a4) = axes
    fund_final = _venue_array(result, "fund_final")
    fund_min = _venue_array(result, "fund_min")
    for arr, label, colour in (
        (fund_final, "final fund", _BLUE),
        (fund_min, "minimum fund", _ORANGE),
    ):
        if arr is not None:
            arr = arr[_finite_mask(result)]
            a1.hist(arr / 1e6, bins=60, histtype="step", lw=1.5, color=colour, label=label)
    a1.axvline(venue.fund / 1e6, color="k", lw=1, ls=":", label=f"start {_usd(venue.fund)}")
    a1.set_xlabel("insurance fund (million USD)")
    a1.set_ylabel("paths")
    a1.set_yscale("log")
    a1.set_title("insurance fund at the horizon and its minimum over the path")
    a1.legend()

    from .analytics import binomial_estimate

    n = result.n_paths
    ok = _finite_mask(result)
    probs = []
    for label, arr in (
        ("fund hit the floor", None if fund_min is None else fund_min <= venue.floor + 1e-6),
        ("ADL on the path", _flag(result, "adl_events")),
        ("capital injected", _flag(result, "capital_injected")),
        ("insolvent", _flag(result, "insolvent")),
        ("backlog at horizon", _flag(result, "backlog_final")),
        ("not converged", _not(_venue_array(result, "converged"))),
    ):
        if arr is not None:
            est = binomial_estimate(np.asarray(arr)[ok])
            probs.append((label, est.value, est.mcse))
    if probs:
        labels, ps, ses = zip(*probs, strict=True)
        y = np.arange(len(labels))
        a2.barh(y, np.array(ps) * 100, xerr=np.array(ses) * 196, color=_BLUE, alpha=0.7)
        a2.set_yticks(y, labels)
        a2.invert_yaxis()
        for yi, p, se in zip(y, ps, ses, strict=True):
            a2.text((p + 1.96 * se) * 100, yi, f"  {p * 100:.2f} %", va="center", fontsize=8)
        a2.set_xlim(0, max(max(ps) * 130, 1.0))
    a2.set_xlabel("probability per path (%), bars: 95 % binomial interval")
    a2.set_title("how often the venue needed help")

    for ax, key, title in (
        (a3, "liquidated_notional", "liquidated notional"),
        (a4, "adl_notional", "ADL notional"),
    ):
        arr = _venue_array(result, key)
        if arr is not None:
            arr = arr[np.isfinite(arr)]
        if arr is None or not np.any(arr > 0):
            ax.text(0.5, 0.5, f"no {title}\non any path", ha="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{title} (USD)")
            continue
        pos = arr[arr > 0]
        x, s = _survival(pos)
        ax.loglog(x, s * pos.size / arr.size, color=_BLUE)
        what = "contracts x close price or haircut, " if key == "adl_notional" else ""
        ax.set_xlabel(f"{title} per path ({what}USD)")
        ax.set_ylabel("P(per-path total > x)")
        ax.set_title(
            f"{title}: {pos.size / arr.size * 100:.1f} % of paths, "
            f"99 % quantile {_usd(float(np.quantile(arr, 0.99)))}",
            fontsize=9,
        )
    bad, _ = _finite_share(result)
    fig.suptitle(
        f"Venue: policy {venue.policy}, start fund {_usd(venue.fund)}, capital "
        f"{_usd(venue.capital)}, {n:,} paths"
        + (f" ({bad:,} with non-finite venue outputs, left out)" if bad else "")
    )
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    _footer(fig, result)
    return fig


def _flag(result: RunResult, key: str) -> np.ndarray | None:
    arr = _venue_array(result, key)
    return None if arr is None else np.asarray(arr) > 0


def _not(arr: np.ndarray | None) -> np.ndarray | None:
    return None if arr is None else ~np.asarray(arr, bool)


def _payoff_groups(result: RunResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, damped, undamped)`` per cohort and per probe, each of shape (paths,)."""
    m = result.manifest
    groups = []
    for kind, names in (("cohort", m.get("cohort_names", [])), ("probe", m.get("probe_names", []))):
        damped = _venue_array(result, f"{kind}_damped")
        undamped = _venue_array(result, f"{kind}_undamped")
        if damped is None or undamped is None:
            continue
        damped = damped.reshape(damped.shape[0], -1)
        undamped = undamped.reshape(undamped.shape[0], -1)
        for j in range(damped.shape[1]):
            label = names[j] if j < len(names) else f"{kind} {j}"
            groups.append((f"{kind} {label}", damped[:, j], undamped[:, j]))
    return groups


def _payoff_page(result: RunResult):
    import matplotlib.pyplot as plt

    groups = _payoff_groups(result)
    shown = groups[:12]
    cols = 4 if len(shown) > 6 else 3 if len(shown) > 4 else max(1, min(2, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False)
    n = result.n_paths
    for ax, (label, damped, undamped) in zip(axes.flat, shown, strict=False):
        for arr, colour, name, ls in (
            (undamped, _ORANGE, "undamped", "--"),
            (damped, _BLUE, "damped", "-"),
        ):
            pos = arr[arr > 0]
            if pos.size:
                x, s = _survival(pos)
                ax.loglog(
                    x,
                    s * pos.size / n,
                    color=colour,
                    ls=ls,
                    lw=1.4,
                    label=f"{name} (Hill α ≈ {_hill_alpha(arr):.2f})",
                )
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("payoff to winners x (USD)")
        ax.set_ylabel("P(payoff > x)")
        ax.legend(loc="lower left", fontsize=7)
    for ax in axes.flat[len(shown) :]:
        ax.set_visible(False)
    if not shown:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "the venue reported no cohort payoffs", ha="center")
    more = f" (first 12 of {len(groups)})" if len(groups) > 12 else ""
    fig.suptitle(
        "Damped (what the venue paid) vs undamped (what was owed) payoffs, winners' tail, per "
        f"cohort{more}; USD summed over the cohort's accounts"
    )
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    _footer(fig, result, f"{n:,} paths; policy {result.experiment.venue.policy}")
    return fig


# ----------------------------------------------------------------------------- headline

#: bootstrap resamples of the headline tail statistics (the analytics default is 200; 100 keeps
#: the quickstart report within seconds, and a percentile 95 % interval then runs from the 3rd
#: to the 98th ordered replicate)
HEADLINE_RESAMPLES = 100
#: VaR / ES levels on the headline page; the highest one carries a bootstrap interval
HEADLINE_LEVELS = (0.99, 0.999)
#: probes shown on headline pages (each probe is one group; two groups a page)
HEADLINE_PROBES = 4
#: points per plotted survival curve (keeps the PDF small)
HEADLINE_POINTS = 300


@dataclass(frozen=True)
class HeadlineGroup:
    """Damped and undamped payoff per path of one side or probe, over the finite paths (USD).

    ``summaries`` maps ``"damped"`` / ``"undamped"`` to a :class:`~tailrisk.analytics.TailSummary`
    (None, with ``error`` saying why, when the sample is too small)."""

    label: str
    damped: np.ndarray
    undamped: np.ndarray
    n_excluded: int
    summaries: dict[str, Any]
    error: str = ""


def _headline_specs(result: RunResult) -> list[tuple[str, str, tuple[int, ...]]]:
    """``(label, "cohort" | "probe", columns)`` of the headline groups: the long side and the
    short side (sums of the cohorts whose names start with "long" / "short"; all cohorts when no
    name does), then each probe (at most :data:`HEADLINE_PROBES`)."""
    venue, n, m = result.venue or {}, result.n_paths, result.manifest
    specs: list[tuple[str, str, tuple[int, ...]]] = []
    for kind in ("cohort", "probe"):
        if f"{kind}_damped" not in venue or f"{kind}_undamped" not in venue:
            continue
        ncol = np.asarray(venue[f"{kind}_damped"]).reshape(n, -1).shape[1]
        names = list(m.get(f"{kind}_names", []))[:ncol]
        names += [f"{kind} {j}" for j in range(len(names), ncol)]
        if kind == "cohort":
            found = []
            for side in ("long", "short"):
                cols = tuple(j for j, nm in enumerate(names) if str(nm).lower().startswith(side))
                if cols:
                    many = f"{len(cols)} cohorts" if len(cols) > 1 else "1 cohort"
                    found.append((f"{side} side ({many})", kind, cols))
            if not found and ncol:
                found.append((f"all {ncol} cohorts", kind, tuple(range(ncol))))
            specs += found
        else:
            specs += [(f"probe {nm}", kind, (j,)) for j, nm in enumerate(names[:HEADLINE_PROBES])]
    return specs


def _headline_chunks(groups: list) -> list[list]:
    """Groups two to a headline page (one page even without groups)."""
    return [groups[i : i + 2] for i in range(0, len(groups), 2)] or [[]]


def headline_groups(
    result: RunResult, n_resamples: int = HEADLINE_RESAMPLES
) -> list[HeadlineGroup]:
    """The headline samples of ``result`` with their tail summaries.

    Each group's damped and undamped payoff per path (USD) is the row sum over its cohort
    columns; paths with any non-finite venue output are left out of both. The summaries are
    ``tail_summary(x, "damped" | "undamped", levels=HEADLINE_LEVELS, n_batches=analysis.batches,
    n_resamples=min(n_resamples, analysis.bootstrap), seed=run.seed)`` (default ``k``).
    """
    from .analytics import tail_summary

    if not result.venue:
        return []
    n, ok = result.n_paths, _finite_mask(result)
    exp = result.experiment
    seed = int(exp.run.seed)
    kw = {
        "levels": HEADLINE_LEVELS,
        "n_batches": int(exp.analysis.batches),
        "n_resamples": min(int(n_resamples), int(exp.analysis.bootstrap)),
        "seed": seed,
    }
    groups = []
    for label, kind, cols in _headline_specs(result):
        arrays = []
        for world in ("damped", "undamped"):
            a = np.asarray(result.venue[f"{kind}_{world}"], np.float64).reshape(n, -1)
            arrays.append(a[:, list(cols)].sum(axis=1)[ok])
        summaries: dict[str, Any] = {}
        error = ""
        for world, x in zip(("damped", "undamped"), arrays, strict=True):
            try:
                summaries[world] = tail_summary(x, world, **kw)
            except ValueError as exc:
                summaries[world], error = None, str(exc)
        groups.append(HeadlineGroup(label, *arrays, int((~ok).sum()), summaries, error))
    return groups


def headline_rows(groups: list[HeadlineGroup]) -> list[dict]:
    """Tidy rows of the headline groups: ``TailSummary.to_rows()`` with a ``group`` column
    (``sample`` is ``"damped"`` or ``"undamped"``). The headline table is printed from these."""
    rows = []
    for g in groups:
        for ts in g.summaries.values():
            if ts is not None:
                rows += [{"group": g.label, **r} for r in ts.to_rows()]
    return rows


#: headline table lines: (label, quantity, statistic, money?)
_HEADLINE_LINES = (
    ("paths used", "payoff", "n", False),
    ("mean payoff", "payoff", "mean", True),
    ("excess kurtosis", "payoff", "kurtosis_excess", False),
    ("gains: Hill tail index α", "gain", "hill_alpha", False),
    ("gains: ES 99 %", "gain", "ES_0.99", True),
    ("gains: ES 99.9 %", "gain", "ES_0.999", True),
    ("losses: Hill tail index α", "loss", "hill_alpha", False),
    ("losses: ES 99 %", "loss", "ES_0.99", True),
    ("losses: ES 99.9 %", "loss", "ES_0.999", True),
)


def _money_scale(values: list[float]) -> tuple[float, str]:
    finite = [abs(v) for v in values if math.isfinite(v)]
    top = max(finite, default=0.0)
    for div, unit in ((1e9, "bn USD"), (1e6, "M USD"), (1e3, "k USD")):
        if top >= div:
            return div, unit
    return 1.0, "USD"


def _num(v: float, digits: int = 4) -> str:
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:,.{digits}g}" if abs(v) < 10**digits else f"{v:,.0f}"


def _with_error(row: dict | None, scale: float = 1.0, digits: int = 4) -> str:
    """``value ± se`` or ``value [low, high]`` from a tidy row, in units of ``scale``."""
    if row is None or math.isnan(row["value"]):
        return "n/a"
    v = row["value"] / scale
    kind = row["error_kind"]
    if kind == "bootstrap95":
        lo, hi = row["mcse_or_ci_low"] / scale, row["ci_high"] / scale
        return f"{_num(v, digits)}  [{_num(lo, digits)}, {_num(hi, digits)}]"
    if kind in ("mcse", "batch_se", "binomial_se") and math.isfinite(row["mcse_or_ci_low"]):
        return f"{_num(v, digits)} ± {_num(row['mcse_or_ci_low'] / scale, 2)}"
    return _num(v, digits)


def _usd_tick(v: float, _pos=None) -> str:
    for div, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def _headline_page(result: RunResult, groups: list[HeadlineGroup], index: int, count: int):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .analytics import hill_k_rule, survival_curve

    exp = result.experiment
    fig = plt.figure()
    n_used = groups[0].damped.size if groups else result.n_paths
    bad = groups[0].n_excluded if groups else _finite_share(result)[0]
    page = f" ({index + 1} of {count})" if count > 1 else ""
    fig.suptitle(
        f"Headline{page}: what the venue pays (damped, policy {exp.venue.policy}) vs what is "
        "owed (undamped)\npayoff per path at the horizon, summed over each side's accounts (USD)",
        fontsize=11,
        y=0.975,
    )
    if not groups:
        fig.text(0.5, 0.5, "the venue reported no cohort payoffs", ha="center")
        _footer(fig, result)
        return fig

    # survival plots: one panel per (group, tail)
    panels = [(g, tail) for g in groups for tail in ("gain", "loss")]
    width = 0.92 / len(panels)
    for i, (g, tail) in enumerate(panels):
        ax = fig.add_axes((0.065 + i * width, 0.535, width - 0.06, 0.33))
        sign = 1.0 if tail == "gain" else -1.0
        for arr, colour, name, ls in (
            (g.undamped, _ORANGE, "undamped (owed)", "--"),
            (g.damped, _BLUE, "damped (paid)", "-"),
        ):
            c = survival_curve(sign * arr, max_points=HEADLINE_POINTS)
            if c.x.size:
                ax.loglog(c.x, c.survival, color=colour, ls=ls, lw=1.4, label=name)
                ax.fill_between(
                    c.x,
                    np.maximum(c.survival - 1.96 * c.se, 0.5 / arr.size),
                    c.survival + 1.96 * c.se,
                    color=colour,
                    alpha=0.15,
                    lw=0,
                )
        pos = g.undamped[sign * g.undamped > 0] * sign
        if pos.size > 10:  # start at the 10 % quantile of the positive values: skip the flat part
            ax.set_xlim(left=float(np.quantile(pos, 0.1)))
        ax.xaxis.set_major_formatter(FuncFormatter(_usd_tick))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        what = "gains: x = payoff" if tail == "gain" else "losses: x = -payoff"
        ax.set_xlabel(f"{what} (USD)")
        ax.set_ylabel("P(X > x), share of paths" if i == 0 else "")
        ax.set_ylim(0.5 / max(g.damped.size, 1), 1.2)
        ax.set_title(f"{g.label}\n{'gains (winners)' if tail == 'gain' else 'losses'}", fontsize=9)
        if i == 0:
            ax.legend(loc="lower left", fontsize=7)

    # the table, printed from the tidy rows of tail_summary
    rows = headline_rows(groups)
    lookup = {(r["group"], r["sample"], r["quantity"], r["statistic"]): r for r in rows}
    money = [
        r["value"]
        for r in rows
        if (r["quantity"], r["statistic"]) in {(q, s) for _, q, s, m in _HEADLINE_LINES if m}
    ]
    scale, unit = _money_scale(money)
    cells = []
    for label, quantity, statistic, is_money in _HEADLINE_LINES:
        line = [f"{label} ({unit})" if is_money else label]
        for g in groups:
            for world in ("damped", "undamped"):
                row = lookup.get((g.label, world, quantity, statistic))
                if statistic == "n":
                    line.append("n/a" if row is None else f"{row['value']:,.0f}")
                else:
                    line.append(_with_error(row, scale if is_money else 1.0))
        cells.append(line)
    header = ["statistic"] + [f"{g.label}\n{w}" for g in groups for w in ("damped", "undamped")]
    ax = fig.add_axes((0.03, 0.13, 0.94, 0.31))
    ax.axis("off")
    first = 0.26 if len(groups) > 1 else 0.34
    rest = (1.0 - first) / (len(header) - 1)
    table = ax.table(
        cellText=cells,
        colLabels=header,
        loc="upper center",
        cellLoc="right",
        colLoc="center",
        colWidths=[first] + [rest] * (len(header) - 1),
    )
    _style_table(table, 1.3, tall_header=True, stripe=True)

    k = hill_k_rule(n_used) if n_used >= 2 else 0
    ts = next((s for g in groups for s in g.summaries.values() if s is not None), None)
    n_batches = ts.n_batches if ts is not None else exp.analysis.batches
    n_res = ts.n_resamples if ts is not None else HEADLINE_RESAMPLES
    fewer = (
        f" (the config asks for {exp.analysis.bootstrap}; fewer here to keep the report fast)"
        if n_res < exp.analysis.bootstrap
        else ""
    )
    excluded = (
        f" {bad:,} of {result.n_paths:,} paths had a non-finite venue output and are left out."
        if bad
        else ""
    )
    errors = next((g.error for g in groups if g.error), "")
    note = (
        f"{n_used:,} i.i.d. paths, same price paths in both worlds.{excluded} Gains are the "
        "upper tail of the payoff, losses the upper tail of -payoff; bands on the curves: 95 % "
        f"binomial intervals. Hill α from the k = ceil(sqrt(n)) = {k:,} largest values "
        "(hill_k_rule); higher α, lower kurtosis and smaller ES mean a thinner tail, and an α "
        "far above 10 says the tail is bounded (losses are capped by the margin posted), not a "
        "power law. "
        f"[a, b]: percentile bootstrap 95 % interval from {n_res} resamples{fewer}. "
        "± : ArviZ MCSE "
        f"(mean, ES 99 %) or batch-means standard error over {n_batches} batches (kurtosis). "
        f"ES 99.9 % averages the worst {n_used * 0.001:,.0f} paths and carries a bootstrap "
        "interval; n/a where fewer than 10 paths lie beyond the level. Statistics from "
        "tailrisk.analytics.tail_summary." + (f" Not computed: {errors}" if errors else "")
    )
    fig.text(0.03, 0.115, textwrap.fill(note, 190), fontsize=7.5, va="top")
    _footer(fig, result, f"policy {exp.venue.policy}; payoffs in USD")
    return fig


# ----------------------------------------------------------------------------- venue metrics


def _hill_stability_page(result: RunResult, groups: list[HeadlineGroup]):
    """Hill estimate against k for each headline group's gains, damped beside undamped."""
    import matplotlib.pyplot as plt

    groups = [g for g in groups if g.summaries.get("damped") and g.summaries.get("undamped")]
    n_panels = max(1, min(len(groups), 4))
    fig, axes = plt.subplots(1, n_panels, squeeze=False)
    fig.suptitle("Hill stability plots: tail index of gains against the number k of top paths")
    for ax, g in zip(axes[0], groups[:n_panels], strict=False):
        for world, style in (("damped", "-"), ("undamped", "--")):
            side = g.summaries[world].tails.get("gain")
            plot = side.hill_plot if side is not None else None
            if plot is None:
                continue
            line = ax.plot(plot.k, plot.alpha, style, label=f"{world} (k rule: {side.hill_k})")[0]
            ax.fill_between(plot.k, plot.lower, plot.upper, color=line.get_color(), alpha=0.15)
            ax.axvline(side.hill_k, color=line.get_color(), lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_title(f"{g.label}: gains", fontsize=9)
        ax.set_xlabel("k (largest gains used)")
        ax.set_ylabel("Hill tail index alpha")
        ax.set_ylim(0, 15)
        ax.legend(loc="upper right")
    fig.text(0.5, 0.045, "Bands: pointwise 95% (alpha +- 1.96 alpha / sqrt(k)). Dotted: the k "
             "rule k = ceil(sqrt(n)) used in the headline table. A flat stretch means a stable "
             "estimate;\ndamped gains that stop at a cap bend upward at small k.", ha="center",
             fontsize=8)
    fig.subplots_adjust(bottom=0.16)
    _footer(fig, result)
    return fig


def venue_metric_set(result: RunResult):
    """``(MetricSet or None, missing output names)``: :func:`tailrisk.analytics.venue_metrics`
    over the paths whose venue outputs are all finite, with the run's fund floor and cohort and
    probe names."""
    from .analytics import venue_metrics
    from .analytics._venue_metrics import REQUIRED_KEYS

    venue = result.venue or {}
    missing = [k for k in REQUIRED_KEYS if k not in venue]
    if missing:
        return None, missing
    n, ok = result.n_paths, _finite_mask(result)
    outputs = {k: np.asarray(v)[ok] for k, v in venue.items() if np.asarray(v).shape[:1] == (n,)}
    m = result.manifest
    names = {}
    for kind in ("cohort", "probe"):
        if f"{kind}_damped" in outputs:
            ncol = outputs[f"{kind}_damped"].reshape(outputs[f"{kind}_damped"].shape[0], -1)
            ncol = ncol.shape[1]
            got = list(m.get(f"{kind}_names", []))[:ncol]
            names[kind] = got + [f"{kind} {j}" for j in range(len(got), ncol)]
    ms = venue_metrics(
        outputs,
        floor=float(result.experiment.venue.floor),
        cohort_names=names.get("cohort"),
        probe_names=names.get("probe"),
        context={"policy": result.experiment.venue.policy},
    )
    return ms, []


#: venue metric table lines: (label, quantity, statistic)
_VENUE_LINES = (
    ("insurance fund exhausted (its minimum reached the floor)", "fund_exhausted", "probability"),
    ("ADL on the path", "adl", "probability"),
    ("venue insolvent", "insolvency", "probability"),
    ("mark check did not converge", "check_not_converged", "probability"),
    ("net insolvent debt, mean", "net_insolvent_debt", "mean"),
    ("net insolvent debt, 95 % quantile (VaR)", "net_insolvent_debt", "q0.95"),
    ("net insolvent debt, 99 % quantile (VaR)", "net_insolvent_debt", "q0.99"),
    ("liquidated notional, mean", "liquidated_notional", "mean"),
    ("liquidated notional, 95 % quantile (LaR)", "liquidated_notional", "q0.95"),
    ("ADL notional, mean", "adl_notional", "mean"),
    ("ADL notional, 95 % quantile", "adl_notional", "q0.95"),
    ("ADL notional, 99 % quantile", "adl_notional", "q0.99"),
    ("capital injected, mean", "capital_injected", "mean"),
)


def _venue_metrics_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    ms, missing = venue_metric_set(result)
    bad, n_all = _finite_share(result)
    n = n_all - bad
    fig = plt.figure()
    fig.suptitle(
        f"Venue risk, policy {exp.venue.policy}: start fund {_usd(exp.venue.fund)}, capital "
        f"{_usd(exp.venue.capital)}, {n:,} paths, each estimate with its Monte Carlo error",
        fontsize=11,
        y=0.975,
    )
    if ms is None:
        fig.text(
            0.5,
            0.5,
            textwrap.fill(
                "venue_metrics needs the venue outputs " + ", ".join(missing) + ", which this "
                "run does not have.",
                100,
            ),
            ha="center",
        )
        _footer(fig, result)
        return fig

    def draw(ax, cells, header, widths, title):
        ax.axis("off")
        ax.set_title(title, fontsize=10, loc="left")
        table = ax.table(
            cellText=cells or [["(none)"] + [""] * (len(header) - 1)],
            colLabels=header,
            loc="upper left",
            cellLoc="right",
            colLoc="center",
            colWidths=widths,
        )
        _style_table(table, 1.2)

    kinds = {"binomial_se": "binomial s.e.", "mcse": "ArviZ MCSE"}
    cells = []
    for label, quantity, statistic in _VENUE_LINES:
        if (quantity, statistic) not in ms.estimates:
            continue
        est, unit = ms.estimates[(quantity, statistic)]
        if unit == "1":
            count = round(est.value * n)
            cells.append(
                [
                    label,
                    f"{est.value * 100:.3g} %",
                    f"± {est.mcse * 100:.2g} %",
                    kinds.get(est.kind, ""),
                    f"{count:,} of {n:,}",
                ]
            )
        else:
            cells.append(
                [label, _usd(est.value), f"± {_usd(est.mcse)}", kinds.get(est.kind, ""), ""]
            )
    draw(
        fig.add_axes((0.03, 0.53, 0.94, 0.38)),
        cells,
        ["per path", "estimate", "Monte Carlo error", "error kind", "paths with the event"],
        (0.36, 0.16, 0.16, 0.14, 0.18),
        "Venue level: probabilities and USD amounts per path",
    )

    hair = []
    for (quantity, statistic), (est, _unit) in ms.estimates.items():
        if not quantity.startswith(("haircut[", "probe_haircut[")) or statistic != "mean":
            continue
        q99 = ms.estimates.get((quantity, "q0.99"), (None, ""))[0]
        name = quantity[quantity.index("[") + 1 : -1]
        if quantity.startswith("probe_"):
            name = f"probe {name}"
        hair.append(
            [
                name,
                _usd(est.value),
                f"± {_usd(est.mcse)}",
                "n/a" if q99 is None else _usd(q99.value),
                "" if q99 is None else f"± {_usd(q99.mcse)}",
            ]
        )
    draw(
        fig.add_axes((0.03, 0.17, 0.94, 0.31)),
        hair,
        ["cohort (side, leverage)", "expected haircut", "± MCSE", "99 % quantile", "± MCSE"],
        (0.36, 0.16, 0.16, 0.16, 0.16),
        "Haircut per cohort: undamped - damped payoff per path, USD summed over the cohort",
    )
    excluded = (
        f"{bad:,} of {n_all:,} paths had a non-finite venue output and are left out. "
        if bad
        else ""
    )
    note = (
        f"{excluded}Probabilities: share of the {n:,} i.i.d. paths with the event, ± binomial "
        "standard error sqrt(p (1 - p) / n) (0 when no or every path has it: read it with the "
        "count). Means and quantiles: ± ArviZ Monte Carlo standard error; a quantile that sits on "
        "an atom of the distribution (e.g. 0 USD of debt when fewer than 1 % of paths are "
        "insolvent) has an MCSE of 0. The fund counts as exhausted on a path when its minimum "
        f"reached the floor ({_usd(exp.venue.floor)}). Under contract-space policies a haircut "
        "can be negative on a path (a position closed early may beat holding it to the horizon). "
        "Statistics from tailrisk.analytics.venue_metrics."
    )
    fig.text(0.03, 0.115, textwrap.fill(note, 190), fontsize=7.5, va="top")
    _footer(fig, result, f"policy {exp.venue.policy}; money in USD")
    return fig


def _short(v: float, digits: int = 4) -> str:
    """``v`` in at most ``digits`` significant digits, scientific below 1e-3 (no "-0")."""
    v = float(v) + 0.0
    if v != 0 and math.isfinite(v) and abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def _summary_rows(result: RunResult) -> list[tuple[str, str, str, str, str, str]]:
    """(quantity, unit, mean, 1 %, 50 %, 99 %) rows, each ``value ± ArviZ MCSE`` from
    :func:`tailrisk.analytics.mean_estimate` / :func:`~tailrisk.analytics.quantile_estimate`.
    Venue rows use the paths whose venue outputs are all finite (in path-index order)."""
    from .analytics import mean_estimate, quantile_estimate

    rows = []
    ok = _finite_mask(result)

    def add(label: str, unit: str, arr: np.ndarray, scale: float = 1.0, venue=False) -> None:
        x = np.asarray(arr, np.float64) / scale
        x = (x[ok] if venue else x).ravel()
        x = x[np.isfinite(x)]
        if not x.size:
            return
        cells = [mean_estimate(x)] + [quantile_estimate(x, q) for q in (0.01, 0.5, 0.99)]
        rows.append((label, unit, *(f"{_short(e.value)} ± {_short(e.mcse, 2)}" for e in cells)))

    p = result.per_path
    add("terminal log return", "log", p["terminal_log_return"])
    add("lowest log return on the path", "log", p["min_log_return"])
    add("highest log return on the path", "log", p["max_log_return"])
    add("first-step log return", "log", p["first_step_return"])
    if result.venue:
        units = {
            "insolvent": ("share", 1.0),
            "converged": ("share", 1.0),
            "liquidated_count": ("accounts", 1.0),
            "adl_count": ("accounts", 1.0),
            "adl_events": ("batches", 1.0),
            "winners": ("accounts", 1.0),
            "winners_touched": ("accounts", 1.0),
            "max_haircut_pct": ("%", 1.0),
            "gini_haircut": ("1", 1.0),
        }
        for key, arr in result.venue.items():
            a = np.asarray(arr)
            if a.ndim != 1:
                continue
            unit, scale = units.get(key, ("M USD", 1e6))
            add(key.replace("_", " "), unit, a.astype(np.float64), scale, venue=True)
        for label, damped, undamped in _payoff_groups(result)[:8]:
            add(f"{label} damped", "M USD", damped, 1e6, venue=True)
            add(f"{label} undamped", "M USD", undamped, 1e6, venue=True)
    return rows


def _table_page(result: RunResult, rows: list[tuple[str, ...]], index: int, count: int):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.axis("off")
    header = (
        "quantity (per path)",
        "unit",
        "mean\n± MCSE",
        "1 % quantile\n± MCSE",
        "median\n± MCSE",
        "99 % quantile\n± MCSE",
    )
    table = ax.table(
        cellText=[list(r) for r in rows] or [["(no data)", "", "", "", "", ""]],
        colLabels=header,
        loc="upper center",
        cellLoc="right",
        colLoc="center",
        colWidths=(0.28, 0.07, 0.1625, 0.1625, 0.1625, 0.1625),
    )
    _style_table(table, 1.25, tall_header=True)
    bad, n = _finite_share(result)
    nan_note = (
        f"; {bad:,} paths with non-finite venue outputs are left out of the venue rows"
        if bad
        else ""
    )
    page = f" ({index + 1} of {count})" if count > 1 else ""
    ax.set_title(
        f"Summary over {n:,} i.i.d. paths{page}\n± : ArviZ Monte Carlo standard error "
        f"(tailrisk.analytics mean_estimate / quantile_estimate){nan_note}",
        fontsize=9,
    )
    _footer(fig, result, "log = natural log return log(S_t/S_0); share = fraction of paths")
    return fig
