"""This run's prices: the fan chart of the price paths (per-step quantiles and a few whole
paths) and the tails of the terminal log returns against a Gaussian of the same spread.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from . import style
from .data import finite_mask, gauss_surv, gauss_surv_abs, hill_alpha, left_out_note, survival
from .format import usd
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult


def _fan_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    t = np.concatenate([[0.0], result.times_days])
    s0 = exp.model.s0
    q = np.exp(result.step_quantiles)
    q = np.concatenate([np.full((q.shape[0], 1), s0), q], axis=1)
    fig, ax = plt.subplots()
    levels = result.quantile_levels
    bands = [(0, 6, style.FAN_ALPHAS[0]), (1, 5, style.FAN_ALPHAS[1]), (2, 4, style.FAN_ALPHAS[2])]
    for lo, hi, alpha in bands:
        ax.fill_between(
            t,
            q[lo],
            q[hi],
            color=style.BLUE,
            alpha=alpha,
            lw=0,
            label=f"{levels[lo] * 100:g}-{levels[hi] * 100:g} %",
        )
    ax.plot(t, q[3], color=style.BLUE, lw=style.MEDIAN_LW, label="median")
    kept = result.kept_log_prices
    for i in range(min(8, kept.shape[0])):
        ax.plot(
            t,
            np.concatenate([[s0], np.exp(kept[i])]),
            color=style.INK,
            lw=style.PATH_LW,
            alpha=style.PATH_ALPHA,
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
    sample = result.sample_log_prices
    ns = sample.shape[0]
    # load_run takes the quantiles over the sample paths whose log prices are all finite
    left_out = int((~np.isfinite(sample).all(axis=1)).sum()) if ns else 0
    note = f"; {left_out:,} with a non-finite price left out" if left_out else ""
    ax.set_title(
        f"{exp.model.name}: per-step quantiles of the price over the first {ns:,} paths "
        f"(by global index; fixed whatever the chunk size{note})"
    )
    if left_out == ns and ns:
        ax.text(0.5, 0.5, f"all {ns:,} sample paths have a non-finite price: no quantiles",
                ha="center", transform=ax.transAxes)
    ax.legend(loc="upper left")
    style.footer(fig, result, f"s0 = {usd(s0)}")
    return fig


def _terminal_page(result: RunResult):
    import matplotlib.pyplot as plt

    exp = result.experiment
    horizon = exp.run.horizon * 365
    r = result.per_path["terminal_log_return"][finite_mask(result)]
    left_out = left_out_note(result)
    if r.size < 2 or np.ptp(r) <= 1e-12 * max(1.0, float(np.abs(r).max())):
        fig = plt.figure()
        fig.suptitle(f"Terminal log returns R = log(S_T / S_0), horizon {horizon:g} days")
        why = "every path ends at the same price" if r.size >= 2 else "too few paths left"
        fig.text(0.5, 0.5, f"{left_out} No tail plot: {why}.", ha="center")
        style.footer(fig, result)
        return fig
    centred = r - np.median(r)
    sd = float(np.std(r))
    a = np.abs(centred)
    lo = max(float(np.quantile(a, 0.1)), 1e-8)
    grid = np.geomspace(lo, a.max() * 1.5, 200)
    fig, (ax1, ax2) = plt.subplots(1, 2, sharex=True)

    x, s = survival(a)
    ax1.loglog(x, s, color=style.BLUE, lw=style.CURVE_LW, label="this run")
    ax1.loglog(
        grid,
        gauss_surv_abs(grid, sd),
        color=style.ORANGE,
        ls="--",
        label=f"Gaussian, same s.d. ({sd:.3f})",
    )
    ax1.set_xlabel(f"|R - median|, R = log return over {horizon:g} days")
    ax1.set_ylabel("P(|R - median| > x)")
    ax1.set_ylim(0.5 / r.size, 1.1)
    ax1.set_title(f"both tails together (Hill α ≈ {hill_alpha(a):.2f})")
    ax1.legend(loc="lower left")

    for sample, colour, label in (
        (-centred, style.ORANGE, "losses  -(R - median)"),
        (centred, style.BLUE, "gains  R - median"),
    ):
        pos = sample[sample > 0]
        x, s = survival(pos)
        ax2.loglog(
            x,
            s * pos.size / sample.size,
            color=colour,
            lw=style.CURVE_LW,
            label=f"{label} (Hill α ≈ {hill_alpha(sample):.2f})",
        )
    ax2.loglog(grid, gauss_surv(grid, sd), color=style.GREY, ls="--", label="Gaussian, same s.d.")
    ax2.set_xlabel(f"one-sided move x, log return over {horizon:g} days")
    ax2.set_ylabel("P(move > x)")
    ax2.set_ylim(0.5 / r.size, 0.6)
    ax2.set_title("losses and gains separately")
    ax2.legend(loc="lower left")
    ax1.set_xlim(lo, a.max() * 1.5)
    fig.suptitle(
        f"Terminal log returns R = log(S_T / S_0) of this run: {r.size:,} paths, "
        f"{exp.model.name} model, horizon {horizon:g} days"
        + (f"\n{left_out}" if left_out else "")
    )
    style.panel_grid(fig, wgap=0.75)
    style.footer(fig, result)
    return fig


register(
    PageFamily(
        "fan chart",
        40,
        lambda r: [Page("fan chart of price paths", functools.partial(_fan_page, r))],
    )
)
register(
    PageFamily(
        "terminal return tails",
        60,
        # the page is looked up when drawn, so a test can stand in for it
        lambda r: [Page("terminal return tails of this run", lambda: _terminal_page(r))],
    )
)
