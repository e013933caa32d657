"""Options on damped assets (docs/pricing.md), for a run whose config has a ``[pricing]`` table:
damped and undamped smiles per probe with error bars, the price of ADL by leverage and side, and
the closed-market check (Monte Carlo of the stopped price against the barrier closed form as
the check interval shrinks).

The tables come from ``pricing.parquet`` and ``pricing_adl.parquet`` in the run folder (written
by ``tailrisk price``); when absent they are computed once (``tailrisk.pricing.price_options``)
and written there.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

from . import style
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

#: probes shown on the smile page (one panel each)
SMILE_PROBES = 8


_TABLES: dict = {}


def _tables(result: RunResult):
    """(prices, adl) column tables of the run, read from its folder or computed once (and
    written there); kept for the other pages of the same report."""
    from pathlib import Path

    import numpy as np

    key = (str(result.run_dir), result.config_hash)
    if key in _TABLES:
        return _TABLES[key]
    folder = Path(result.run_dir)
    files = folder / "pricing.parquet", folder / "pricing_adl.parquet"
    if all(f.exists() for f in files):
        import pyarrow.parquet as pq

        out = tuple({c: np.asarray(t.column(c).to_numpy(zero_copy_only=False))
                     for c in t.column_names} for t in (pq.read_table(f) for f in files))
    else:
        from ..pricing.api import price_options

        res = price_options(result.experiment)
        res.write(folder)
        out = res.prices, res.adl
    _TABLES.clear()  # one run at a time
    _TABLES[key] = out
    return out


def _smile_page(result: RunResult):
    import matplotlib.pyplot as plt
    import numpy as np

    prices, _ = _tables(result)
    probes = [p for p in dict.fromkeys(prices["probe"]) if p][:SMILE_PROBES]
    mats = sorted(set(prices["maturity_years"]))
    cols = 4 if len(probes) > 6 else 3 if len(probes) > 4 else max(1, min(2, len(probes)))
    rows = max(1, math.ceil(max(1, len(probes)) / cols))
    fig, axes = plt.subplots(rows, cols, squeeze=False)
    shades = np.linspace(0.35, 1.0, len(mats))
    # out-of-the-money options: puts below the forward, calls above
    def otm(asset, probe, T):
        m = (prices["asset"] == asset) & (prices["probe"] == probe) & (
            prices["maturity_years"] == T)
        k = prices["strike_usd"][m]
        fwd = prices["forward_usd"][m]
        kind = prices["kind"][m]
        use = ((kind == "put") & (k < fwd)) | ((kind == "call") & (k >= fwd))
        order = np.argsort(k[use])
        iv = prices["implied_vol"][m][use][order]
        # no time value left (a price at its bound): no smile point, a gap
        iv = np.where(iv > 0, iv, np.nan)
        return (prices["moneyness"][m][use][order], iv, prices["implied_vol_se"][m][use][order])

    for ax, probe in zip(axes.flat, probes, strict=False):
        side = prices["side"][prices["probe"] == probe][0]
        lev = prices["leverage"][prices["probe"] == probe][0]
        for T, shade in zip(mats, shades, strict=True):
            days = T * 365
            x, iv, se = otm("undamped", "", T)
            ax.plot(x, iv, color=style.ORANGE, alpha=shade, ls="--", lw=style.CURVE_LW,
                    label=f"undamped {days:g} d")
            x, iv, se = otm("damped", probe, T)
            ax.errorbar(x, iv, yerr=2 * np.nan_to_num(se), color=style.BLUE, alpha=shade,
                        lw=style.CURVE_LW, label=f"damped {days:g} d", capsize=2,
                        elinewidth=style.MARK_LW)
        ax.set_title(f"{probe} ({side} {lev:g}x)", fontsize=style.PANEL_TITLE_SIZE)
        ax.set_xlabel("moneyness K / S0")
        ax.set_ylabel("Black implied vol (annualised)")
        ax.legend(loc="best", fontsize=style.LEGEND_SMALL_SIZE)
    for ax in axes.flat[len(probes):]:
        ax.set_visible(False)
    if not probes:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "no probes: add [[venue.population.probes]]", ha="center")
    fig.suptitle("Smiles of each probe's damped asset (blue, error bars 2 standard errors) "
                 "beside the undamped price (red, dashed)\nout-of-the-money puts and calls; "
                 "Black's volatility on each asset's own forward; gaps: no time value left")
    style.panel_grid(fig, wgap=0.75, hgap=0.9)
    n = int(prices["paths"][0]) if len(prices["paths"]) else 0
    style.footer(fig, result, f"{n:,} paths; implied volatility's error = price error / vega")
    return fig


def _adl_page(result: RunResult):
    import matplotlib.pyplot as plt
    import numpy as np

    _, adl = _tables(result)
    fig, axes = plt.subplots(1, 2, squeeze=False)
    mats = sorted(set(adl["maturity_years"]))
    for ax, side in zip(axes.flat, ("long", "short"), strict=True):
        for i, T in enumerate(mats):
            m = (adl["side"] == side) & (adl["maturity_years"] == T)
            order = np.argsort(adl["leverage"][m])
            lev = adl["leverage"][m][order]
            val = 100 * adl["adl_rate_per_year"][m][order]
            err = 100 * 2 * adl["adl_rate_se_per_year"][m][order]
            shift = (i - (len(mats) - 1) / 2) * 0.03
            ax.errorbar(lev * (1 + shift), val, yerr=err, marker="o", lw=style.CURVE_LW,
                        label=f"T = {T * 365:g} d", capsize=2, elinewidth=style.MARK_LW)
        ax.axhline(0.0, color=style.GREY, lw=style.MARK_LW)
        ax.set_xscale("log")
        levs = sorted(set(adl["leverage"][adl["side"] == side]))
        ax.set_xticks(levs, [f"{v:g}x" for v in levs])  # the probes' leverages, not decades
        ax.minorticks_off()
        ax.set_title(f"{side} probes", fontsize=style.PANEL_TITLE_SIZE)
        ax.set_xlabel("leverage")
        ax.set_ylabel("price of ADL, % of entry notional per year")
        ax.legend(loc="best", fontsize=style.LEGEND_SMALL_SIZE)
    fig.suptitle("The price of ADL: entitled minus damped forward, per unit, discounted\nas an "
                 "annualised share of the entry notional (error bars 2 standard errors)")
    style.panel_grid(fig, wgap=0.75, hgap=0.9)
    style.footer(fig, result, "the fair fee for bearing ADL; positive: a cost to the trader")
    return fig


@functools.lru_cache(maxsize=1)
def _closed_market():
    from ..pricing._closed_market import closed_market_check

    return closed_market_check(paths=40_000)


def _closed_market_page(result: RunResult):
    import matplotlib.pyplot as plt

    chk = _closed_market()
    fig, axes = plt.subplots(1, 2, squeeze=False)
    for ax, option in zip(axes.flat, ("put", "call"), strict=True):
        m = chk["option"] == option
        dtd = chk["check_interval_years"][m] * 365
        ax.errorbar(dtd, chk["mc_usd"][m], yerr=2 * chk["se_usd"][m], marker="o",
                    color=style.BLUE, label="Monte Carlo, checks every dt", capsize=2,
                    elinewidth=style.MARK_LW)
        ax.plot(dtd, chk["bgk_usd"][m], color=style.ORANGE, ls="--", lw=style.CURVE_LW,
                label="closed form, BGK-corrected for dt")
        ax.axhline(chk["continuous_usd"][m][0], color=style.GREY, lw=style.REFERENCE_LW,
                   label="closed form, continuous checks")
        lo = min(chk["continuous_usd"][m][0], float(min(chk["mc_usd"][m] - 2 * chk["se_usd"][m])))
        hi = max(chk["continuous_usd"][m][0], float(max(chk["mc_usd"][m] + 2 * chk["se_usd"][m])))
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)  # the continuous price in view
        ax.set_xscale("log")
        ax.set_xlabel("check interval dt (days)")
        ax.set_ylabel(f"{option} price (USD per unit)")
        ax.set_title(f"{option} on a short's damped asset", fontsize=style.PANEL_TITLE_SIZE)
        ax.legend(loc="best", fontsize=style.LEGEND_SMALL_SIZE)
    fig.suptitle("Closed-market check: the stopped price on gbm paths against "
                 "damped_barrier_price\nS0 = 100, barrier (the longs' bankruptcy price) 90, "
                 "strike 95, sigma 0.8, 30 days; error bars 2 standard errors")
    style.panel_grid(fig, wgap=0.75, hgap=0.9)
    n = int(chk["paths"][0])
    style.footer(fig, result, f"{n:,} gbm paths, common random numbers across intervals; "
                 "not this run's venue")
    return fig


def _pages(result: RunResult) -> list[Page]:
    return [
        Page("damped and undamped smiles", functools.partial(_smile_page, result)),
        Page("the price of ADL", functools.partial(_adl_page, result)),
        Page("closed-market check", functools.partial(_closed_market_page, result)),
    ]


register(PageFamily("pricing", 85, _pages,
                    applies=lambda r: getattr(r.experiment, "pricing", None) is not None))
