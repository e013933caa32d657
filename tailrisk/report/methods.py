"""How the run was made and what it estimates: the title page (config, hash, seed, versions,
device, wall time, units) and the closing summary table of per-path means and quantiles, each
with its ArviZ Monte Carlo standard error.
"""

from __future__ import annotations

import functools
import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from . import style
from .data import finite_mask, finite_share, nonfinite_outputs, payoff_groups
from .format import short, step_text
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

#: rows of the summary table per page
TABLE_ROWS = 30

#: units of the one-dimensional venue outputs in the summary table (others: M USD)
_VENUE_UNITS = {
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


# ----------------------------------------------------------------------------- title page


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
    fig.text(0.05, 0.93, f"tailrisk report: {run.name}", fontsize=style.TITLE_SIZE, weight="bold")
    venue = f"venue policy {exp.venue.policy}" if exp.venue else "price paths only (no venue)"
    fig.text(
        0.05,
        0.885,
        f"{exp.model.name} model, {run.paths:,} paths x {run.steps} steps of "
        f"{step_text(run.dt)} ({run.horizon * 365:g} days), {venue}",
        fontsize=style.HEADING_SIZE,
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
    bad, n = finite_share(result)
    per_output = ", ".join(f"{k} {v:,}" for k, v in nonfinite_outputs(result).items())
    info.append((
        "non-finite outputs",
        f"{bad:,} of {n:,} paths (paths per output: {per_output}); left out of every statistic"
        if bad else f"none: all {n:,} paths finite",
    ))
    y = 0.82
    for k, v in info:
        alarm = {"color": style.ORANGE} if k == "non-finite outputs" and bad else {}
        fig.text(0.05, y, k, fontsize=style.PANEL_TITLE_SIZE, weight="bold", **alarm)
        fig.text(
            0.22,
            y,
            textwrap.shorten(str(v), 120),
            fontsize=style.PANEL_TITLE_SIZE,
            family="monospace",
        )
        y -= 0.03
    units = (
        "Units: prices and money in USD; time in days on axes (years in the config); "
        "returns are log returns log(S_t / S_0); volatilities and rates annualised; "
        "quantities in contracts (units of the underlying)."
    )
    fig.text(0.05, y - 0.01, textwrap.fill(units, 150), fontsize=style.UNITS_SIZE, style="italic")
    config_listing(fig, exp, y - 0.06)
    return fig


def config_listing(fig, exp: Any, top: float, rows_fit: int = 32) -> None:
    """The validated config (defaults filled in), one ``key = value`` a line in three columns
    from ``top`` (figure fraction) down; the font shrinks when a column has more than
    ``rows_fit`` lines."""
    rows = [f"{k} = {v!r}" for k, v in _flatten(exp.to_dict())]
    fig.text(0.05, top, "configuration (validated, defaults filled in)", weight="bold")
    cols = 3
    per_col = math.ceil(len(rows) / cols)
    size = style.LISTING_SIZE
    font = size if per_col <= rows_fit else max(4.0, size * rows_fit / per_col)
    for c in range(cols):
        chunk = rows[c * per_col : (c + 1) * per_col]
        text = "\n".join(textwrap.shorten(r, 58) for r in chunk)
        fig.text(0.05 + c * 0.31, top - 0.02, text, fontsize=font, family="monospace", va="top")


register(
    PageFamily("title", 0, lambda result: [Page("title", functools.partial(_title_page, result))])
)


# ----------------------------------------------------------------------------- summary table


def _summary_samples(result: RunResult) -> list[tuple[str, str, np.ndarray]]:
    """``(quantity, unit, finite values)`` of each summary-table row, in table order (cheap: no
    estimates). Venue rows use the paths whose venue outputs are all finite."""
    out = []
    ok = finite_mask(result) if result.venue else None

    def add(label: str, unit: str, arr: np.ndarray, scale: float = 1.0, venue=False) -> None:
        x = np.asarray(arr, np.float64) / scale
        x = (x[ok] if venue else x).ravel()
        x = x[np.isfinite(x)]
        if x.size:
            out.append((label, unit, x))

    p = result.per_path
    add("terminal log return", "log", p["terminal_log_return"])
    add("lowest log return on the path", "log", p["min_log_return"])
    add("highest log return on the path", "log", p["max_log_return"])
    add("first-step log return", "log", p["first_step_return"])
    if result.venue:
        for key, arr in result.venue.items():
            a = np.asarray(arr)
            if a.ndim != 1:
                continue
            unit, scale = _VENUE_UNITS.get(key, ("M USD", 1e6))
            add(key.replace("_", " "), unit, a.astype(np.float64), scale, venue=True)
        for label, damped, undamped in payoff_groups(result)[:8]:
            add(f"{label} damped", "M USD", damped, 1e6, venue=True)
            add(f"{label} undamped", "M USD", undamped, 1e6, venue=True)
    return out


def summary_rows(result: RunResult) -> list[tuple[str, str, str, str, str, str]]:
    """(quantity, unit, mean, 1 %, 50 %, 99 %) rows, each ``value ± ArviZ MCSE`` from
    :func:`tailrisk.analytics.mean_estimate` / :func:`~tailrisk.analytics.quantile_estimate`.
    Venue rows use the paths whose venue outputs are all finite (in path-index order)."""
    from ..analytics import mean_estimate, quantile_estimate

    rows = []
    for label, unit, x in _summary_samples(result):
        cells = [mean_estimate(x)] + [quantile_estimate(x, q) for q in (0.01, 0.5, 0.99)]
        rows.append((label, unit, *(f"{short(e.value)} ± {short(e.mcse, 2)}" for e in cells)))
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
    style.style_table(table, 1.25, tall_header=True)
    bad, n = finite_share(result)
    nan_note = (
        f"; {bad:,} paths with a non-finite output are left out of the venue rows"
        if bad
        else ""
    )
    page = f" ({index + 1} of {count})" if count > 1 else ""
    ax.set_title(
        f"Summary over {n:,} i.i.d. paths{page}\n± : ArviZ Monte Carlo standard error "
        f"(tailrisk.analytics mean_estimate / quantile_estimate){nan_note}",
        fontsize=style.PANEL_TITLE_SIZE,
    )
    style.footer(fig, result, "log = natural log return log(S_t/S_0); share = fraction of paths")
    return fig


def _summary_pages(result: RunResult) -> list[Page]:
    n_rows = len(_summary_samples(result))
    count = max(1, math.ceil(n_rows / TABLE_ROWS))
    rows = functools.cache(lambda: summary_rows(result))  # estimated once, on the first page

    def draw(i: int):
        return _table_page(result, rows()[i * TABLE_ROWS : (i + 1) * TABLE_ROWS], i, count)

    return [
        Page(f"summary table {i + 1} of {count}", functools.partial(draw, i)) for i in range(count)
    ]


register(PageFamily("summary table", 90, _summary_pages))
