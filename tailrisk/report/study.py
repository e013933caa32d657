"""Pages of a study (an experiment with a ``[study]`` table, run by the suite): one figure per
kind (the policies' solvency and fairness side by side, a sweep's heat map, the exemption
frontier, the variants' ratios to the first) and a table of every variant's metrics with their
errors. The numbers are :class:`tailrisk.studies.suite.StudyData`'s, passed in
``result.extra["study"]``; the other pages of the report show the study's first variant.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from . import style
from .format import usd_tick
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["ORDER"]

#: after the claim page (-10), before the title page (0)
ORDER = -5

#: a metric's words on the pages (the names are config/claim.py's)
WORDS = {
    "p_insolvent": "P(venue insolvent)",
    "p_adl": "P(any ADL)",
    "p_fund_exhausted": "P(fund exhausted)",
    "p_winner_touched": "P(a winner haircut)",
    "mean_net_insolvent_debt": "mean net insolvent debt (USD)",
    "mean_shortfall": "mean shortfall (USD)",
    "mean_haircut[sides]": "mean haircut, all accounts (USD)",
    "q99_haircut[sides]": "99% haircut, all accounts (USD)",
    "damping_ratio[sides]": "damping ratio (paid / owed)",
    "mean_max_haircut_pct": "mean largest haircut (% of owed)",
    "mean_gini_haircut": "mean Gini of haircuts",
    "mean_liquidated_notional": "mean liquidated notional (USD)",
}


def _study(result: RunResult) -> Any:
    return (result.extra or {}).get("study")


#: the longest variant label a table cell shows whole (longer ones are cut, not dropped at a space)
LABEL_CHARS = 33


def _label_text(study: Any, i: int) -> str:
    assignment = study.assignments[i]
    if study.kind == "policy_comparison":
        return study.labels[i]
    parts = [f"{k.split('.')[-1]}={v.get('name', '{...}') if isinstance(v, dict) else v}"
             for k, v in assignment.items()]
    text = ", ".join(parts) or "(base)"
    text = f"{study.labels[i]}: {text}" if study.kind == "variants" else text
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def _cell(v: Any) -> str:
    """``value ± se`` in three and two digits, money in k / M (the unit is in the header)."""
    if v is None or not math.isfinite(v.value):
        return "n/a"
    if v.unit == "USD":
        text = lambda x: usd_tick(float(f"{x:.3g}"))  # noqa: E731
    else:
        text = lambda x: f"{x:.3g}"  # noqa: E731
    se = f" ± {text(float(f'{v.se:.2g}'))}" if math.isfinite(v.se) and v.se > 0 else ""
    return text(v.value) + se


def _table_page(result: RunResult):
    import matplotlib.pyplot as plt

    study = _study(result)
    metrics = list(next(iter(study.table.values())).keys())
    fig = plt.figure()
    fig.suptitle(f"Study ({study.kind.replace('_', ' ')}): every variant on the same "
                 f"{result.n_paths:,} paths; ± one standard error", fontsize=style.HEADING_SIZE)
    header = ["variant"] + [textwrap.fill(WORDS.get(m, m), 16) for m in metrics]
    cells = [[_label_text(study, i)]
             + [_cell(study.table[lb].get(m)) for m in metrics]
             for i, lb in enumerate(study.labels)]
    rows = len(cells) + 1
    height = min(0.8, 0.05 * rows)
    ax = fig.add_axes((0.02, 0.88 - height, 0.96, height))
    ax.axis("off")
    first = 0.2
    table = ax.table(cellText=cells, colLabels=header, loc="upper center", cellLoc="right",
                     colWidths=[first] + [(1 - first) / len(metrics)] * len(metrics))
    style.style_table(table, 1.2, tall_header=True)
    table.set_fontsize(style.LISTING_SIZE)
    y = 0.86 - height
    if study.ratios:
        base = _label_text(study, 0)
        fig.text(0.02, y - 0.02, f"Ratio of each metric to the first variant ({base}); "
                 "n/a where the first variant's value is 0", fontsize=style.SECTION_SIZE,
                 weight="bold", va="top")
        cells = [[_label_text(study, i + 1)]
                 + [_cell(study.ratios[lb].get(m)) for m in metrics]
                 for i, lb in enumerate(study.labels[1:])]
        h2 = min(0.35, 0.05 * (len(cells) + 1))
        ax = fig.add_axes((0.02, y - 0.05 - h2, 0.96, h2))
        ax.axis("off")
        table = ax.table(cellText=cells, colLabels=header, loc="upper center",
                         cellLoc="right",
                         colWidths=[first] + [(1 - first) / len(metrics)] * len(metrics))
        style.style_table(table, 1.2, tall_header=True)
    fig.text(0.02, 0.04, f"The pages after this one show the first variant "
             f"({_label_text(study, 0)}) alone.", fontsize=style.SMALL_SIZE, color=style.GREY)
    style.footer(fig, result, "probabilities: share of paths; money: USD")
    return fig


def _value_se(study: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    vals = np.array([study.table[lb][metric].value for lb in study.labels], float)
    ses = np.array([study.table[lb][metric].se for lb in study.labels], float)
    return vals, np.nan_to_num(ses)


def _policy_figure(result: RunResult):
    import matplotlib.pyplot as plt

    study = _study(result)
    fig, axes = plt.subplots(1, 3)
    fig.suptitle("ADL policies on the same paths: solvency and fairness (bars: 95% intervals)",
                 fontsize=style.HEADING_SIZE)
    y = np.arange(len(study.labels))
    for ax, metric in zip(axes, ("p_insolvent", "mean_haircut[sides]", "mean_gini_haircut"),
                          strict=True):
        if metric not in study.table[study.labels[0]]:
            ax.axis("off")
            continue
        vals, ses = _value_se(study, metric)
        ax.barh(y, vals, xerr=style.Z95 * ses, **style.error_bar_kw())
        ax.set_yticks(y)
        ax.set_yticklabels(study.labels if ax is axes[0] else [])
        ax.invert_yaxis()
        ax.set_xlabel(WORDS.get(metric, metric))
        ax.set_title(WORDS.get(metric, metric), fontsize=style.PANEL_TITLE_SIZE)
        if "USD" in WORDS.get(metric, ""):
            from matplotlib.ticker import FuncFormatter

            ax.xaxis.set_major_formatter(FuncFormatter(usd_tick))
    style.panel_grid(fig, left=0.16)
    style.footer(fig, result)
    return fig


def _sweep_figure(result: RunResult):
    import matplotlib.pyplot as plt

    study = _study(result)
    metric = study.metric
    keys = list(study.assignments[0])
    vals, ses = _value_se(study, metric)
    fig = plt.figure()
    word = WORDS.get(metric, metric)
    fig.suptitle(f"Sweep: {word} over {' x '.join(keys)} (cells: value ± s.e.)",
                 fontsize=style.HEADING_SIZE)
    ax = fig.add_axes((0.14, 0.14, 0.62, 0.72))
    xs = list(dict.fromkeys(a[keys[0]] for a in study.assignments))
    ys = list(dict.fromkeys(a[keys[1]] for a in study.assignments)) if len(keys) > 1 else [""]
    grid = np.full((len(ys), len(xs)), np.nan)
    errs = np.full_like(grid, np.nan)
    for a, v, s in zip(study.assignments, vals, ses, strict=True):
        j = xs.index(a[keys[0]])
        i = ys.index(a[keys[1]]) if len(keys) > 1 else 0
        grid[i, j], errs[i, j] = v, s
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if math.isfinite(grid[i, j]):
                bright = grid[i, j] > np.nanmean(grid) if np.isfinite(np.nanmean(grid)) else 0
                ax.text(j, i, f"{grid[i, j]:.3g}\n± {errs[i, j]:.2g}", ha="center",
                        va="center", fontsize=style.SMALL_SIZE,
                        color="k" if bright else "w")
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([f"{x:,}" if isinstance(x, int | float) else str(x) for x in xs])
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels([f"{y:,}" if isinstance(y, int | float) else str(y) for y in ys])
    ax.set_xlabel(keys[0] + _unit_of(keys[0]))
    ax.set_ylabel(keys[1] + _unit_of(keys[1]) if len(keys) > 1 else "")
    ax.grid(False)
    cax = fig.add_axes((0.8, 0.14, 0.025, 0.72))
    fig.colorbar(im, cax=cax, label=word)
    style.footer(fig, result)
    return fig


def _unit_of(key: str) -> str:
    units = {"venue.fund": " (USD)", "venue.check_every": " (steps)",
             "venue.capital": " (USD)", "venue.population.exempt_share": " (share of accounts)",
             "venue.population.n_accounts": " (accounts)"}
    return units.get(key, "")


def _frontier_figure(result: RunResult):
    import matplotlib.pyplot as plt

    study = _study(result)
    key = next(iter(study.assignments[0]))
    xs = np.array([float(a[key]) for a in study.assignments])
    fig, axes = plt.subplots(1, 2)
    fig.suptitle(f"Frontier: venue risk as {key} grows (bands: 95% intervals)",
                 fontsize=style.HEADING_SIZE)
    other = "mean_net_insolvent_debt" if study.metric != "mean_net_insolvent_debt" else "p_adl"
    for ax, metric in zip(axes, (study.metric, other), strict=True):
        vals, ses = _value_se(study, metric)
        ax.plot(xs, vals, "o-", color=style.BLUE, lw=style.CURVE_LW)
        style.mc_band(ax, xs, vals - style.Z95 * ses, vals + style.Z95 * ses, style.BLUE)
        ax.set_xlabel(key.split(".")[-1] + _unit_of(key))
        ax.set_ylabel(WORDS.get(metric, metric))
        ax.set_title(WORDS.get(metric, metric), fontsize=style.PANEL_TITLE_SIZE)
        if "USD" in WORDS.get(metric, ""):
            from matplotlib.ticker import FuncFormatter

            ax.yaxis.set_major_formatter(FuncFormatter(usd_tick))
    style.panel_grid(fig)
    style.footer(fig, result)
    return fig


_FIGURES = {"policy_comparison": ("policies side by side", _policy_figure),
            "sweep": ("sweep heat map", _sweep_figure),
            "frontier": ("frontier", _frontier_figure)}


def _pages(result: RunResult) -> list[Page]:
    study = _study(result)
    pages = []
    if study.kind in _FIGURES:
        title, draw = _FIGURES[study.kind]
        pages.append(Page(f"study: {title}", lambda: draw(result)))
    pages.append(Page("study: table of variants", lambda: _table_page(result)))
    return pages


register(PageFamily("study", ORDER, _pages, applies=lambda r: _study(r) is not None))
