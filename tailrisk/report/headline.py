"""The headline: what the venue pays (damped) against what it owes (undamped), per side of the
book and per probe account. Log-log survival of gains and losses with their binomial bands, a
table of :func:`tailrisk.analytics.tail_summary` estimates with their Monte Carlo errors (two
groups a page), then the Hill stability plots behind the table's tail indices.

The tail summaries are the report's costliest numbers: they are computed once per report, when
the first headline page is drawn, and shared with the Hill page.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import style
from .data import finite_mask, finite_share
from .format import money_scale, usd_tick, with_error
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

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
    from ..analytics import tail_summary

    if not result.venue:
        return []
    n, ok = result.n_paths, finite_mask(result)
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
            if world == "undamped" and np.array_equal(x, arrays[0]):
                # nothing was haircut: the same sample, seed and settings give the same summary
                done = summaries["damped"]
                summaries[world] = None if done is None else replace(done, label=world)
                continue
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


def _headline_page(result: RunResult, groups: list[HeadlineGroup], index: int, count: int):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..analytics import hill_k_rule, survival_curve

    exp = result.experiment
    fig = plt.figure()
    n_used = groups[0].damped.size if groups else result.n_paths
    bad = groups[0].n_excluded if groups else finite_share(result)[0]
    page = f" ({index + 1} of {count})" if count > 1 else ""
    fig.suptitle(
        f"Headline{page}: what the venue pays (damped, policy {exp.venue.policy}) vs what is "
        "owed (undamped)\npayoff per path at the horizon, summed over each side's accounts (USD)",
        fontsize=style.HEADING_SIZE,
        y=0.975,
    )
    if not groups:
        fig.text(0.5, 0.5, "the venue reported no cohort payoffs", ha="center")
        style.footer(fig, result)
        return fig

    # survival plots: one panel per (group, tail)
    panels = [(g, tail) for g in groups for tail in ("gain", "loss")]
    width = 0.92 / len(panels)
    for i, (g, tail) in enumerate(panels):
        ax = fig.add_axes((0.065 + i * width, 0.535, width - 0.06, 0.33))
        sign = 1.0 if tail == "gain" else -1.0
        for arr, colour, name, ls in (
            (g.undamped, style.ORANGE, "undamped (owed)", "--"),
            (g.damped, style.BLUE, "damped (paid)", "-"),
        ):
            c = survival_curve(sign * arr, max_points=HEADLINE_POINTS)
            if c.x.size:
                ax.loglog(c.x, c.survival, color=colour, ls=ls, lw=style.CURVE_LW, label=name)
                style.mc_band(
                    ax,
                    c.x,
                    np.maximum(c.survival - style.Z95 * c.se, 0.5 / arr.size),
                    c.survival + style.Z95 * c.se,
                    colour,
                )
        pos = g.undamped[sign * g.undamped > 0] * sign
        if pos.size > 10:  # start at the 10 % quantile of the positive values: skip the flat part
            ax.set_xlim(left=float(np.quantile(pos, 0.1)))
        ax.xaxis.set_major_formatter(FuncFormatter(usd_tick))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        what = "gains: x = payoff" if tail == "gain" else "losses: x = -payoff"
        ax.set_xlabel(f"{what} (USD)")
        ax.set_ylabel("P(X > x), share of paths" if i == 0 else "")
        ax.set_ylim(0.5 / max(g.damped.size, 1), 1.2)
        ax.set_title(
            f"{g.label}\n{'gains (winners)' if tail == 'gain' else 'losses'}",
            fontsize=style.PANEL_TITLE_SIZE,
        )
        if i == 0 and ax.get_legend_handles_labels()[0]:  # no curve when every path is left out
            ax.legend(loc="lower left", fontsize=style.LEGEND_SMALL_SIZE)

    # the table, printed from the tidy rows of tail_summary
    rows = headline_rows(groups)
    lookup = {(r["group"], r["sample"], r["quantity"], r["statistic"]): r for r in rows}
    money = [
        r["value"]
        for r in rows
        if (r["quantity"], r["statistic"]) in {(q, s) for _, q, s, m in _HEADLINE_LINES if m}
    ]
    scale, unit = money_scale(money)
    cells = []
    for label, quantity, statistic, is_money in _HEADLINE_LINES:
        line = [f"{label} ({unit})" if is_money else label]
        for g in groups:
            for world in ("damped", "undamped"):
                row = lookup.get((g.label, world, quantity, statistic))
                if statistic == "n":
                    line.append("n/a" if row is None else f"{row['value']:,.0f}")
                else:
                    line.append(with_error(row, scale if is_money else 1.0))
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
    style.style_table(table, 1.3, tall_header=True, stripe=True)

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
        f" {bad:,} of {result.n_paths:,} paths had a non-finite output and are left out."
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
    fig.text(0.03, 0.115, textwrap.fill(note, 190), fontsize=style.NOTE_SIZE, va="top")
    style.footer(fig, result, f"policy {exp.venue.policy}; payoffs in USD")
    return fig


# ----------------------------------------------------------------------------- Hill stability


def _hill_stability_page(result: RunResult, groups: list[HeadlineGroup]):
    """Hill estimate against k for each headline group's gains, damped beside undamped."""
    import matplotlib.pyplot as plt

    groups = [g for g in groups if g.summaries.get("damped") and g.summaries.get("undamped")]
    n_panels = max(1, min(len(groups), 4))
    fig, axes = plt.subplots(1, n_panels, squeeze=False)
    fig.suptitle("Hill stability plots: tail index of gains against the number k of top paths")
    for ax, g in zip(axes[0], groups[:n_panels], strict=False):
        for world, ls in (("damped", "-"), ("undamped", "--")):
            side = g.summaries[world].tails.get("gain")
            plot = side.hill_plot if side is not None else None
            if plot is None:
                continue
            line = ax.plot(plot.k, plot.alpha, ls, label=f"{world} (k rule: {side.hill_k})")[0]
            style.mc_band(ax, plot.k, plot.lower, plot.upper, line.get_color())
            ax.axvline(side.hill_k, color=line.get_color(), lw=style.MARK_LW, ls=":")
        ax.set_xscale("log")
        ax.set_title(f"{g.label}: gains", fontsize=style.PANEL_TITLE_SIZE)
        ax.set_xlabel("k (largest gains used)")
        ax.set_ylabel("Hill tail index alpha")
        ax.set_ylim(0, 15)
        if ax.get_legend_handles_labels()[0]:  # no curve when a group has too few gains
            ax.legend(loc="upper right")
    fig.text(
        0.5,
        0.045,
        "Bands: pointwise 95% (alpha +- 1.96 alpha / sqrt(k)). Dotted: the k "
        "rule k = ceil(sqrt(n)) used in the headline table. A flat stretch means a stable "
        "estimate;\ndamped gains that stop at a cap bend upward at small k.",
        ha="center",
        fontsize=style.SMALL_SIZE,
    )
    fig.subplots_adjust(bottom=0.16)
    style.footer(fig, result)
    return fig


def _headline_family_pages(result: RunResult) -> list[Page]:
    chunks = _headline_chunks(_headline_specs(result))
    count = len(chunks)
    groups = functools.cache(lambda: headline_groups(result))  # on the first page, then shared

    def headline(i: int):
        return _headline_page(result, _headline_chunks(groups())[i], i, count)

    pages = [
        Page(f"headline: damped vs undamped ({i + 1} of {count})", functools.partial(headline, i))
        for i in range(count)
    ]
    pages.append(Page("Hill stability plots", lambda: _hill_stability_page(result, groups())))
    return pages


register(PageFamily("headline", 10, _headline_family_pages, applies=lambda r: bool(r.venue)))
