"""The PDF report of a finished run (matplotlib, imported only inside the functions here).

Pages, in order:

1. title: config summary, hash, seed, versions, device, wall time, units;
2. fan chart of price paths (USD, log axis, days);
3. log-log survival of |one-day log returns| of each of the seven price models at its default
   parameters, against a Gaussian with the same standard deviation;
4. the run's own terminal log returns: survival of both tails against a Gaussian;
5. with a venue: insurance fund and ADL statistics;
6. with a venue: damped vs undamped payoff survival per cohort (and per probe), log-log;
7. a table of summary statistics with their Monte Carlo standard errors.

The report is written atomically (a temporary PDF in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import math
import os
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .runner import RunResult

__all__ = ["MODEL_DEFAULTS", "build_report", "model_one_day_returns", "report_pages"]

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
    pages = [
        "title",
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

    from .runner import _FILE_MODE

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    exp = result.experiment
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".pdf")
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    meta = {
        "Title": f"tailrisk report: {exp.run.name} ({result.config_hash})",
        "Creator": "tailrisk",
        "CreationDate": None,
    }
    try:
        with plt.rc_context(_STYLE), PdfPages(tmp, metadata=meta) as pdf:
            pages = [_title_page, _fan_page, _models_page, _terminal_page]
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
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
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


def _finite_share(result: RunResult) -> tuple[int, int]:
    """(paths with a non-finite venue output, paths)."""
    n = result.n_paths
    if not result.venue:
        return 0, n
    bad = np.zeros(n, bool)
    for arr in result.venue.values():
        a = np.asarray(arr)
        if a.dtype.kind == "f" and a.shape[:1] == (n,):
            bad |= ~np.isfinite(a.reshape(n, -1)).all(axis=1)
    return int(bad.sum()), n


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
            a1.hist(arr / 1e6, bins=60, histtype="step", lw=1.5, color=colour, label=label)
    a1.axvline(venue.fund / 1e6, color="k", lw=1, ls=":", label=f"start {_usd(venue.fund)}")
    a1.set_xlabel("insurance fund (million USD)")
    a1.set_ylabel("paths")
    a1.set_yscale("log")
    a1.set_title("insurance fund at the horizon and its minimum over the path")
    a1.legend()

    n = result.n_paths
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
            p = float(np.mean(arr))
            probs.append((label, p, math.sqrt(max(p * (1 - p), 0.0) / n)))
    if probs:
        labels, ps, ses = zip(*probs, strict=True)
        y = np.arange(len(labels))
        a2.barh(y, np.array(ps) * 100, xerr=np.array(ses) * 196, color=_BLUE, alpha=0.7)
        a2.set_yticks(y, labels)
        a2.invert_yaxis()
        for yi, p in zip(y, ps, strict=True):
            a2.text(p * 100, yi, f"  {p * 100:.2f} %", va="center", fontsize=8)
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


def _summary_rows(result: RunResult) -> list[tuple[str, str, str, str, str, str]]:
    """(quantity, unit, mean +- se, 1 %, 50 %, 99 %) rows: plain numpy summaries."""
    rows = []

    def add(label: str, unit: str, arr: np.ndarray, scale: float = 1.0) -> None:
        x = np.asarray(arr, np.float64).ravel() / scale
        x = x[np.isfinite(x)]
        if not x.size:
            return
        se = x.std(ddof=1) / math.sqrt(x.size) if x.size > 1 else math.nan
        q = np.quantile(x, (0.01, 0.5, 0.99))
        rows.append((label, unit, f"{x.mean():.4g} ± {se:.2g}", *(f"{v:.4g}" for v in q)))

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
            add(key.replace("_", " "), unit, a.astype(np.float64), scale)
        for label, damped, undamped in _payoff_groups(result)[:8]:
            add(f"{label} damped", "M USD", damped, 1e6)
            add(f"{label} undamped", "M USD", undamped, 1e6)
    return rows


def _table_page(result: RunResult, rows: list[tuple[str, ...]], index: int, count: int):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.axis("off")
    header = (
        "quantity (per path)",
        "unit",
        "mean ± s.e.",
        "1 % quantile",
        "median",
        "99 % quantile",
    )
    table = ax.table(
        cellText=[list(r) for r in rows] or [["(no data)", "", "", "", "", ""]],
        colLabels=header,
        loc="upper center",
        cellLoc="right",
        colLoc="center",
        colWidths=(0.34, 0.08, 0.17, 0.13, 0.13, 0.13),
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.25)
    for (r, c), cell in table.get_celld().items():
        if c == 0:
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.9")
    bad, n = _finite_share(result)
    nan_note = (
        f"; {bad:,} paths with non-finite venue outputs are left out of the venue rows"
        if bad
        else ""
    )
    page = f" ({index + 1} of {count})" if count > 1 else ""
    ax.set_title(
        f"Summary over {n:,} paths{page}\nplain numpy summaries; s.e. = s.d./sqrt(paths), "
        f"valid because paths are i.i.d.{nan_note}",
        fontsize=9,
    )
    _footer(fig, result, "log = natural log return log(S_t/S_0); share = fraction of paths")
    return fig
