"""Payoffs per cohort and per probe account: what the venue paid (damped) against what it owed
(undamped), winners' tail on log-log axes with each curve's Hill index. Policy comparison pages
will join this room.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

from . import style
from .data import finite_mask, hill_alpha, left_out_note, payoff_groups, survival
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult


def _payoff_page(result: RunResult):
    import matplotlib.pyplot as plt

    ok = finite_mask(result)
    groups = [(label, d[ok], u[ok]) for label, d, u in payoff_groups(result)]
    shown = groups[:12]
    cols = 4 if len(shown) > 6 else 3 if len(shown) > 4 else max(1, min(2, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False)
    n = int(ok.sum())
    for ax, (label, damped, undamped) in zip(axes.flat, shown, strict=False):
        for arr, colour, name, ls in (
            (undamped, style.ORANGE, "undamped", "--"),
            (damped, style.BLUE, "damped", "-"),
        ):
            pos = arr[arr > 0]
            if pos.size and n:
                x, s = survival(pos)
                ax.loglog(
                    x,
                    s * pos.size / n,
                    color=colour,
                    ls=ls,
                    lw=style.CURVE_LW,
                    label=f"{name} (Hill α ≈ {hill_alpha(arr):.2f})",
                )
        ax.set_title(label, fontsize=style.PANEL_TITLE_SIZE)
        ax.set_xlabel("payoff to winners x (USD)")
        ax.set_ylabel("P(payoff > x)")
        if ax.get_legend_handles_labels()[0]:  # no curve when every path is left out
            ax.legend(loc="lower left", fontsize=style.LEGEND_SMALL_SIZE)
    for ax in axes.flat[len(shown) :]:
        ax.set_visible(False)
    if not shown:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "the venue reported no cohort payoffs", ha="center")
    more = f" (first 12 of {len(groups)})" if len(groups) > 12 else ""
    fig.suptitle(
        "Damped (what the venue paid) vs undamped (what was owed) payoffs, winners' tail, per "
        f"cohort{more}; USD summed over the cohort's accounts"
        + (f"\n{left_out_note(result)}" if n < result.n_paths else "")
    )
    style.panel_grid(fig, wgap=0.75, hgap=0.9)
    style.footer(fig, result, f"{n:,} paths; policy {result.experiment.venue.policy}")
    return fig


register(
    PageFamily(
        "payoffs per cohort",
        80,
        lambda r: [Page("damped vs undamped payoffs", functools.partial(_payoff_page, r))],
        applies=lambda r: bool(r.venue),
    )
)
