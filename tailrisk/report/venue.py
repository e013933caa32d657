"""The venue's own risk: how often and how much it needed help. A page of
:func:`tailrisk.analytics.venue_metrics` estimates with their Monte Carlo errors (probabilities,
debt, liquidated and ADL notional, haircuts per cohort), and a page of distributions: insurance
fund, how often the venue needed help, liquidated and ADL notional per path.

Paths with a non-finite venue output are counted and left out of every statistic here.
"""

from __future__ import annotations

import functools
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from . import style
from .data import finite_mask, finite_share, flag, negate, survival, venue_array
from .format import usd
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult


def venue_metric_set(result: RunResult):
    """``(MetricSet or None, missing output names)``: :func:`tailrisk.analytics.venue_metrics`
    over the paths whose outputs are all finite, with the run's fund floor and cohort and
    probe names. None with no missing name: no path has finite outputs."""
    from ..analytics import venue_metrics
    from ..analytics._venue_metrics import REQUIRED_KEYS

    venue = result.venue or {}
    missing = [k for k in REQUIRED_KEYS if k not in venue]
    if missing:
        return None, missing
    n, ok = result.n_paths, finite_mask(result)
    if not ok.any():
        return None, []  # every path left out: nothing to estimate
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
    bad, n_all = finite_share(result)
    n = n_all - bad
    fig = plt.figure()
    fig.suptitle(
        f"Venue risk, policy {exp.venue.policy}: start fund {usd(exp.venue.fund)}, capital "
        f"{usd(exp.venue.capital)}, {n:,} paths, each estimate with its Monte Carlo error",
        fontsize=style.HEADING_SIZE,
        y=0.975,
    )
    if ms is None:
        why = (
            "venue_metrics needs the venue outputs " + ", ".join(missing) + ", which this "
            "run does not have."
            if missing
            else f"All {n_all:,} paths have a non-finite output and are left out: no estimate."
        )
        fig.text(0.5, 0.5, textwrap.fill(why, 100), ha="center")
        style.footer(fig, result)
        return fig

    def draw(ax, cells, header, widths, title):
        ax.axis("off")
        ax.set_title(title, fontsize=style.SECTION_SIZE, loc="left")
        table = ax.table(
            cellText=cells or [["(none)"] + [""] * (len(header) - 1)],
            colLabels=header,
            loc="upper left",
            cellLoc="right",
            colLoc="center",
            colWidths=widths,
        )
        style.style_table(table, 1.2)

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
            cells.append([label, usd(est.value), f"± {usd(est.mcse)}", kinds.get(est.kind, ""), ""])
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
                usd(est.value),
                f"± {usd(est.mcse)}",
                "n/a" if q99 is None else usd(q99.value),
                "" if q99 is None else f"± {usd(q99.mcse)}",
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
        f"{bad:,} of {n_all:,} paths had a non-finite output and are left out. "
        if bad
        else ""
    )
    note = (
        f"{excluded}Probabilities: share of the {n:,} i.i.d. paths with the event, ± binomial "
        "standard error sqrt(p (1 - p) / n) (0 when no or every path has it: read it with the "
        "count). Means and quantiles: ± ArviZ Monte Carlo standard error; a quantile that sits on "
        "an atom of the distribution (e.g. 0 USD of debt when fewer than 1 % of paths are "
        "insolvent) has an MCSE of 0. The fund counts as exhausted on a path when its minimum "
        f"reached the floor ({usd(exp.venue.floor)}). Under contract-space policies a haircut "
        "can be negative on a path (a position closed early may beat holding it to the horizon). "
        "Statistics from tailrisk.analytics.venue_metrics."
    )
    fig.text(0.03, 0.115, textwrap.fill(note, 190), fontsize=style.NOTE_SIZE, va="top")
    style.footer(fig, result, f"policy {exp.venue.policy}; money in USD")
    return fig


def _fund_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    venue = exp.venue
    fig, axes = plt.subplots(2, 2)
    (a1, a2), (a3, a4) = axes
    fund_final = venue_array(result, "fund_final")
    fund_min = venue_array(result, "fund_min")
    ok = finite_mask(result)
    for arr, label, colour in (
        (fund_final, "final fund", style.BLUE),
        (fund_min, "minimum fund", style.ORANGE),
    ):
        if arr is not None and ok.any():
            arr = arr[ok]
            a1.hist(
                arr / 1e6, bins=60, histtype="step", lw=style.CURVE_LW, color=colour, label=label
            )
    a1.axvline(
        venue.fund / 1e6,
        color=style.INK,
        lw=style.MARK_LW,
        ls=":",
        label=f"start {usd(venue.fund)}",
    )
    a1.set_xlabel("insurance fund (million USD)")
    a1.set_ylabel("paths")
    if ok.any():
        a1.set_yscale("log")
    a1.set_title("insurance fund at the horizon and its minimum over the path")
    a1.legend()

    from ..analytics import binomial_estimate

    n = result.n_paths
    probs = []
    for label, arr in (
        ("fund hit the floor", None if fund_min is None else fund_min <= venue.floor + 1e-6),
        ("ADL on the path", flag(result, "adl_events")),
        ("capital injected", flag(result, "capital_injected")),
        ("insolvent", flag(result, "insolvent")),
        ("backlog at horizon", flag(result, "backlog_final")),
        ("not converged", negate(venue_array(result, "converged"))),
    ):
        if arr is not None and ok.any():
            est = binomial_estimate(np.asarray(arr)[ok])
            probs.append((label, est.value, est.mcse))
    if probs:
        labels, ps, ses = zip(*probs, strict=True)
        y = np.arange(len(labels))
        a2.barh(y, np.array(ps) * 100, xerr=np.array(ses) * style.Z95 * 100, **style.error_bar_kw())
        a2.set_yticks(y, labels)
        a2.invert_yaxis()
        for yi, p, se in zip(y, ps, ses, strict=True):
            a2.text(
                (p + style.Z95 * se) * 100,
                yi,
                f"  {p * 100:.2f} %",
                va="center",
                fontsize=style.SMALL_SIZE,
            )
        a2.set_xlim(0, max(max(ps) * 130, 1.0))
    a2.set_xlabel("probability per path (%), bars: 95 % binomial interval")
    a2.set_title("how often the venue needed help")

    for ax, key, title in (
        (a3, "liquidated_notional", "liquidated notional"),
        (a4, "adl_notional", "ADL notional"),
    ):
        arr = venue_array(result, key)
        if arr is not None:
            arr = np.asarray(arr, np.float64)[ok]
        if arr is None or not np.any(arr > 0):
            ax.text(0.5, 0.5, f"no {title}\non any path", ha="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(f"{title} (USD)")
            continue
        pos = arr[arr > 0]
        x, s = survival(pos)
        ax.loglog(x, s * pos.size / arr.size, color=style.BLUE)
        what = "contracts x close price or haircut, " if key == "adl_notional" else ""
        ax.set_xlabel(f"{title} per path ({what}USD)")
        ax.set_ylabel("P(per-path total > x)")
        ax.set_title(
            f"{title}: {pos.size / arr.size * 100:.1f} % of paths, "
            f"99 % quantile {usd(float(np.quantile(arr, 0.99)))}",
            fontsize=style.PANEL_TITLE_SIZE,
        )
    bad, _ = finite_share(result)
    fig.suptitle(
        f"Venue: policy {venue.policy}, start fund {usd(venue.fund)}, capital "
        f"{usd(venue.capital)}, {n:,} paths"
        + (f" ({bad:,} with a non-finite output, left out)" if bad else "")
    )
    style.panel_grid(fig, wgap=1.45, hgap=0.9)  # room for the bar labels
    style.footer(fig, result)
    return fig


def _has_venue(result: RunResult) -> bool:
    return bool(result.venue)


register(
    PageFamily(
        "venue risk metrics",
        30,
        lambda r: [Page("venue risk metrics", functools.partial(_venue_metrics_page, r))],
        applies=_has_venue,
    )
)
register(
    PageFamily(
        "insurance fund and ADL",
        70,
        lambda r: [Page("insurance fund and ADL", functools.partial(_fund_page, r))],
        applies=_has_venue,
    )
)
