"""Step by step: a venue of a few accounts replayed on the run's first path by the plain
reference engine (:func:`tailrisk.venue.reference.simulate_path_reference`, docs/venue.md read
literally), each liquidation batch and what ADL did with it, and every account's payoff beside
the fast kernel's. It shows how a small example (the article's 100 -> 80 USD, experiment 2)
comes about, and that the two engines agree on it.

Applies to runs with a venue of at most :data:`MAX_ACCOUNTS` accounts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import style
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["MAX_ACCOUNTS"]

#: the most accounts a ledger page lists
MAX_ACCOUNTS = 10
#: after the claim (-10) and study (-5) pages, before the title page (0)
ORDER = -4
#: the most liquidation batches listed
MAX_EVENTS = 12


def _applies(result: RunResult) -> bool:
    # an experiment's worked example (it states a claim), not any small venue run
    if getattr(result.experiment, "claim", None) is None:
        return False
    n = int(result.manifest.get("n_accounts", 0) or 0)
    return bool(result.venue) and 0 < n <= MAX_ACCOUNTS and len(result.sample_log_prices) > 0


def _table(fig, rect, header, rows, widths=None):
    ax = fig.add_axes(rect)
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, cellLoc="right", bbox=(0, 0, 1, 1),
                     colWidths=widths)
    style.style_table(table, 1.0)
    return table


def _ledger_page(result: RunResult):
    import matplotlib.pyplot as plt

    from ..venue import build_population
    from ..venue.reference import simulate_path_reference

    exp = result.experiment
    venue, run = exp.venue, exp.run
    acc = build_population(venue, exp.model.s0, run.seed)
    prices = np.r_[exp.model.s0, np.exp(np.asarray(result.sample_log_prices[0], np.float64))]
    ref = simulate_path_reference(acc, venue, prices, seed=run.seed, path=0, dt=run.dt)
    fig = plt.figure()
    fig.suptitle(f"Step by step on path 0: {acc.n} accounts, policy {venue.policy}, fund "
                 f"{venue.fund:,.0f} USD; the reference engine (docs/venue.md) beside the kernel",
                 fontsize=style.HEADING_SIZE)
    side = {1: "long", -1: "short"}
    rows = []
    for i in range(acc.n):
        s, q, e, lev, m = (int(acc.side[i]), float(acc.quantity[i]), float(acc.entry[i]),
                           float(acc.leverage[i]), float(acc.mmr[i]))
        bank = e * (1 - s / lev)
        liq = bank / (1 - s * m)
        rows.append([str(i), side[s], f"{q:g}", f"{e:,.2f}", f"{lev:g}", f"{q * e / lev:,.2f}",
                     f"{bank:,.2f}", f"{liq:,.2f}", acc.cohort_names[int(acc.cohort[i])]])
    n_rows = len(rows) + 1
    top = 0.86
    h = 0.03 * n_rows
    fig.text(0.03, top + 0.01, "Accounts (prices and money in USD, quantities in contracts)",
             fontsize=style.SECTION_SIZE, weight="bold")
    _table(fig, (0.03, top - h, 0.94, h),
           ["#", "side", "contracts", "entry", "leverage", "margin", "bankruptcy price",
            "liquidation price", "cohort"], rows)
    top -= h + 0.06
    events = ref.events[:MAX_EVENTS]
    fig.text(0.03, top + 0.01, f"Liquidation batches ({len(ref.events)}; the first "
             f"{len(events)} shown): step, mark and fill, and what ADL closed at which price",
             fontsize=style.SECTION_SIZE, weight="bold")
    rows = []
    for ev in events:
        adl = ", ".join(f"#{a}: {x:g}" for a, x in zip(ev.adl_accounts, ev.adl_amounts,
                                                        strict=True)) or "-"
        rows.append([str(ev.step), f"{ev.mark:,.4g}", side[ev.side],
                     ", ".join(f"#{a}" for a in ev.accounts), f"{ev.quantity:g}",
                     f"{ev.bankruptcy:,.4g}", f"{ev.fill:,.4g}", f"{ev.gap:,.4g}",
                     f"{ev.phi:.3g}", f"{ev.close_price:,.4g}" if math.isfinite(ev.close_price)
                     else "-", adl])
    rows = rows or [["-"] * 11]
    h = 0.03 * (len(rows) + 1)
    _table(fig, (0.03, top - h, 0.94, h),
           ["step", "mark", "batch", "accounts", "contracts", "bankruptcy", "fill",
            "gap (USD)", "ADL share", "close at", "ADL closed"], rows)
    top -= h + 0.06
    fig.text(0.03, top + 0.01, "Payoffs at the horizon (USD): the reference engine per "
             "account, the kernel per cohort (the run's numbers on path 0)",
             fontsize=style.SECTION_SIZE, weight="bold")
    names = list(result.manifest.get("cohort_names", []))
    kd = np.asarray(result.venue["cohort_damped"])[0]
    ku = np.asarray(result.venue["cohort_undamped"])[0]
    rows = []
    for i in range(acc.n):
        c = int(acc.cohort[i])
        label = acc.cohort_names[c]
        j = names.index(label) if label in names else None
        rows.append([str(i), f"{float(ref.remaining[i]):g}", f"{float(ref.adl_proceeds[i]):,.2f}",
                     f"{float(ref.payoff[i]):,.2f}", f"{float(ref.undamped[i]):,.2f}",
                     f"{float(kd[j]):,.2f}" if j is not None else "n/a",
                     f"{float(ku[j]):,.2f}" if j is not None else "n/a", label])
    h = 0.03 * (len(rows) + 1)
    _table(fig, (0.03, max(top - h, 0.08), 0.94, h),
           ["#", "contracts not ADL'd", "ADL proceeds", "paid (damped)", "owed (undamped)",
            "kernel: cohort paid", "kernel: cohort owed", "cohort"], rows)
    fig.text(0.03, 0.04, f"Final mark {ref.final_mark:,.6g} USD. Money conservation error of "
             f"the reference: {ref.conservation_error:.2g} USD. Gap: what the fund could not pay "
             "(USD); ADL share: the part of the batch closed against winners at the close "
             "price; ADL closed: account #: contracts.", fontsize=style.SMALL_SIZE,
             color=style.GREY)
    style.footer(fig, result, "step by step")
    return fig


def _pages(result: RunResult) -> list[Page]:
    return [Page("step by step (reference engine)", lambda: _ledger_page(result))]


register(PageFamily("ledger", ORDER, _pages, applies=_applies))
