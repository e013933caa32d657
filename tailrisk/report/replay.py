"""Pages of a replay of recorded prices (``[replay]``, docs/replay.md): the recorded path with the
model's liquidations and ADL over time, the liquidated and ADL'd notional recorded vs model, the
ADL'd notional per account (log scale), the time from the first liquidation to the first ADL,
the impact fitted to the book depth, and the comparison table with where and why the model
differs.

A replay is not a chunked run: its pages take a :class:`~tailrisk.studies.replay.ReplayResult`
(``is_replay``), and :func:`build_replay_report` writes them. The family is registered like the
others (order 35) and applies only to such a result.
"""

from __future__ import annotations

import gc
import math
import textwrap
from pathlib import Path

import numpy as np

from . import style
from .format import num, usd, usd_tick
from .registry import Page, PageFamily, families, register

__all__ = ["ORDER", "build_replay_report", "differences_text", "replay_pages"]

#: where the family's pages go among the others (see registry.py)
ORDER = 35


def _is_replay(result) -> bool:
    return bool(getattr(result, "is_replay", False))


def _minutes_utc(res, seconds):
    """Hours of the day (UTC, float) of times given in seconds since the window's start."""
    from ..config.replay import parse_utc

    t0 = parse_utc(res.experiment.replay.start)
    return t0.hour + t0.minute / 60.0 + np.asarray(seconds, np.float64) / 3600.0


def _hour_ticks(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda h, _p: f"{int(h) % 24:02d}:{round((h % 1) * 60) % 60:02d}"))


def _events(res):
    from ..studies.replay import event_timeline

    ev = event_timeline(res.reference, res.path, res.venue.policy)
    return {"t": ev["time_s"], "liq": ev["liquidated"], "adl": ev["adl"],
            "n_adl": ev["adl_accounts"]}


def _cascade_s(res) -> float:
    from ..studies.replay._study import cascade_offset_s

    return cascade_offset_s(res.experiment.replay.start, res.recorded)


def _timeline_page(res):
    import matplotlib.pyplot as plt

    fig, (ax, ax2, ax3) = plt.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    fig.suptitle("Recorded BTCUSD_PERP mark (Binance) with the model's liquidations and ADL "
                 "(recorded path)", fontsize=style.HEADING_SIZE, y=0.975)
    hours = _minutes_utc(res, res.path.times_s)
    ev = _events(res)
    cas = _cascade_s(res)
    ax.plot(hours, res.path.prices, color=style.INK, lw=style.PATH_LW, label="recorded mark")
    liq = ev["liq"] > 0
    lp = np.interp(ev["t"][liq], res.path.times_s, res.path.prices)
    ax.scatter(_minutes_utc(res, ev["t"][liq]), lp, s=10, color=style.BLUE,
               label="model: liquidation batch", zorder=3)
    adl = ev["n_adl"] > 0
    ap = np.interp(ev["t"][adl], res.path.times_s, res.path.prices)
    ax.scatter(_minutes_utc(res, ev["t"][adl]), ap, s=40, marker="v", color=style.ORANGE,
               label="model: ADL", zorder=4)
    for a in (ax, ax2, ax3):
        a.axvspan(*_minutes_utc(res, [cas, cas + 12 * 60]), color=style.GREY, alpha=0.12, lw=0)
    ax.set_ylabel("mark price [USD]")
    ax.yaxis.set_major_formatter(usd_tick)
    ax.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="lower left")
    ax.set_title("shaded: Hyperliquid's recorded cascade window (21:15:03 + 12 min)",
                 fontsize=style.PANEL_TITLE_SIZE, loc="left")
    minute = np.floor(ev["t"] / 60.0)
    m_all = np.arange(0, res.experiment.replay.minutes)
    liq_m = np.bincount(minute.astype(int), weights=ev["liq"], minlength=m_all.size)
    adl_m = np.bincount(minute.astype(int), weights=ev["adl"], minlength=m_all.size)
    x = _minutes_utc(res, m_all * 60.0 + 30.0)
    ax2.bar(x, liq_m / 1e6, width=1 / 60, color=style.BLUE, label="liquidated notional")
    ax2.bar(x, adl_m / 1e6, width=1 / 60, color=style.ORANGE, alpha=0.8, label="ADL'd notional")
    ax2.set_ylabel("model, per minute [M USD]")
    ax2.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="upper left")
    rec = res.recorded
    tx = _minutes_utc(res, cas + rec.timeline_s)
    ax3.bar(tx, rec.timeline_liquidations, width=4 / 3600, color=style.BLUE,
            label="liquidations (all coins)")
    ax3.bar(tx, rec.timeline_adls, width=4 / 3600, color=style.ORANGE, alpha=0.8,
            label="ADLs (all coins)")
    ax3.set_yscale("symlog", linthresh=10)
    ax3.set_ylabel("Hyperliquid, events\nper timestamp [count]")
    ax3.set_xlabel("time of 2025-10-10 [UTC]")
    ax3.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="upper left")
    _hour_ticks(ax3)
    style.panel_grid(fig, hgap=0.35)
    style.footer(fig, res, "model: reference venue on the recorded path; recorded: "
                           "cascade_timing_results.json")
    return fig


def _notional_page(res):
    import matplotlib.pyplot as plt

    rows = {r["metric"]: r for r in res.comparison()}
    fig, axes = plt.subplots(1, 3)
    fig.suptitle("Liquidated and ADL'd notional and ADL count: recorded (Hyperliquid, BTC) vs "
                 "model", fontsize=style.HEADING_SIZE, y=0.975)
    for ax, key, scale, unit in (
        (axes[0], "liquidated notional (BTC)", 1e6, "M USD"),
        (axes[1], "ADL notional (BTC)", 1e6, "M USD"),
        (axes[2], "ADL count (BTC)", 1.0, "account closes"),
    ):
        r = rows[key]
        vals = [r["recorded"], r["model_recorded_path"], r["mc_median"]]
        err = [[0, 0, max(0.0, r["mc_median"] - r["mc_p05"])],
               [0, 0, max(0.0, r["mc_p95"] - r["mc_median"])]]
        ax.bar(["recorded", "model,\nrecorded path", "model MC\nmedian, 5-95%"],
               np.asarray(vals) / scale, yerr=np.asarray(err) / scale,
               color=[style.GREY, style.BLUE, style.BLUE], alpha=0.8, error_kw={"ecolor": "k"})
        ax.set_title(key, fontsize=style.PANEL_TITLE_SIZE)
        ax.set_ylabel(f"[{unit}]")
        ax.tick_params(axis="x", labelsize=style.SMALL_SIZE)
        note = textwrap.fill(r["why"], 45)
        ax.text(0.02, -0.22, note, transform=ax.transAxes, fontsize=style.NOTE_SIZE,
                va="top", color=style.GREY)
    style.panel_grid(fig, bottom=0.28)
    n = res.mc["liquidated_notional"].size
    style.footer(fig, res, f"Monte Carlo: {n:,} conditioned paths "
                           f"({res.experiment.replay.monte_carlo}); path 0 is the recorded one")
    return fig


def _survival(ax, x, label, colour, ls="-"):
    x = np.sort(np.asarray(x, np.float64)[np.asarray(x) > 0])
    if not x.size:
        return
    s = 1.0 - np.arange(x.size) / x.size
    ax.step(x, s, where="post", color=colour, ls=ls, lw=style.CURVE_LW,
            label=f"{label} ({x.size:,} accounts)")


def _haircut_page(res):
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2)
    fig.suptitle("ADL'd notional per deleveraged account: recorded (Hyperliquid) vs model",
                 fontsize=style.HEADING_SIZE, y=0.975)
    rec = res.recorded.adl_notional_per_account
    for a in (ax, ax2):
        _survival(a, rec, "recorded, all coins", style.GREY)
        _survival(a, res.model_adl_per_account, "model, recorded path", style.BLUE)
        _survival(a, res.mc_adl_per_account, "model, pooled MC reference paths", style.ORANGE,
                  ls="--")
        a.set_xscale("log")
        a.set_xlabel("ADL'd notional of an account [USD]")
        a.xaxis.set_major_formatter(usd_tick)
    ax.set_yscale("log")
    ax.set_ylabel("share of deleveraged accounts above [1]")
    ax.set_title("survival, log-log", fontsize=style.PANEL_TITLE_SIZE)
    ax.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="lower left")
    ax2.set_ylabel("share of deleveraged accounts above [1]")
    ax2.set_title("survival, linear share", fontsize=style.PANEL_TITLE_SIZE)
    text = ("The model's 'haircut' of a contract-space ADL is the position closed: closed "
            "contracts x close price (as in the data, whose ADL'd notional is the same quantity). "
            "Recorded: all 162 coins (the file has no coin column); model: one BTC market whose "
            "shorts have the data's sizes.")
    fig.text(0.07, 0.03, textwrap.fill(text, 160), fontsize=style.NOTE_SIZE, color=style.GREY)
    style.panel_grid(fig, bottom=0.17)
    style.footer(fig, res)
    return fig


def _timing_page(res):
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2)
    fig.suptitle("When the first ADL came: recorded 61.7 s after Hyperliquid's first liquidation "
                 "(21:15:03 UTC)", fontsize=style.HEADING_SIZE, y=0.975)
    step = res.path.dt_seconds * res.venue.check_every
    rec = res.recorded.first_liquidation_to_adl_s
    for a, key, xlabel in (
        (ax, "first_adl_after_recorded_start_s",
         "model's first ADL minus the recorded first liquidation (21:15:03 UTC) [s]"),
        (ax2, "cascade_to_adl_s",
         "model: from its own cascade's first liquidation to its first ADL [s]"),
    ):
        d = res.mc_reference[key]
        ok = np.isfinite(d)
        if ok.any():
            lo, hi = min(d[ok].min(), 0.0), max(d[ok].max(), 2 * rec)
            width = step * max(1, math.ceil((hi - lo) / step / 60))  # at most about 60 bins
            bins = np.arange(lo - width, hi + 2 * width, width) - width / 2
            a.hist(d[ok], bins=bins, color=style.BLUE, alpha=0.8,
                   label=f"model, MC reference paths with ADL ({ok.sum()} of {d.size})")
        a.axvline(rec, color=style.ORANGE, lw=style.CURVE_LW, label=f"recorded: {rec:.1f} s")
        if d.size and math.isfinite(d[0]):
            a.axvline(d[0], color=style.INK, ls="--", lw=style.CURVE_LW,
                      label=f"model, recorded path: {d[0]:.0f} s")
        a.set_xlabel(xlabel)
        a.set_ylabel("paths [count]")
        a.legend(fontsize=style.LEGEND_SMALL_SIZE)
    text = (f"The model checks marks every {step:g} s on 1-minute bars (three 20 s steps a minute "
            "through each bar's extremes), so its times are multiples of that step. Left: the "
            "first ADL's clock time against the recorded first liquidation (negative: the model "
            "deleverages before Hyperliquid's cascade began). Right: the model's own cascade, "
            "liquidation batches at most 60 s apart, before its first ADL. Paths without ADL have "
            "no time and are left out. The recorded 61.7 s is Hyperliquid's over all coins.")
    fig.text(0.07, 0.03, textwrap.fill(text, 160), fontsize=style.NOTE_SIZE, color=style.GREY)
    style.panel_grid(fig, bottom=0.2)
    style.footer(fig, res)
    return fig


def _impact_page(res):
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2)
    fit = res.fit
    rp = res.experiment.replay
    fig.suptitle(f"Impact from the recorded book depth (Binance BTCUSDT, {rp.start}"
                 f"..{rp.end[11:]} UTC): fill = P exp(-eta (V/depth)^beta)",
                 fontsize=style.HEADING_SIZE, y=0.975)
    pct = np.arange(1, 6)
    for side, colour in (("bid", style.ORANGE), ("ask", style.BLUE)):
        b = fit.bands[side]
        if np.isfinite(b).any():
            ax.plot(b, pct, "o", color=colour,
                    label=f"{side}s: median cumulative notional within 1..5% "
                          f"({fit.snapshots[side]} valid snapshots)")
        else:
            ax.plot([], [], "o", color=colour,
                    label=f"{side}s: no valid snapshot in the window (stale bands)")
    v = np.geomspace(fit.depth * 0.05, fit.depth * 2.0, 200)
    ax.plot(v, 100 * fit.move(v), color=style.INK, lw=style.CURVE_LW,
            label=f"fit ({fit.used} side): eta = {fit.eta:.4g}, beta = {fit.beta:.3g}, "
                  f"depth = {usd(fit.depth)}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(usd_tick)
    ax.set_xlabel("notional traded at once, V [USD]")
    ax.set_ylabel("price move [%]")
    ax.set_ylim(0, 12)
    ax.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="upper left")
    ax.set_title("the window: bands and the fitted law", fontsize=style.PANEL_TITLE_SIZE)
    hrs = res.depth_hours
    if hrs:
        h = (hrs["hour_ms"] // 3_600_000) % 24 + 0.5
        for side, colour in (("bid", style.ORANGE), ("ask", style.BLUE)):
            ax2.plot(h, hrs[f"{side}_1pct"], "o-", color=colour, ms=3,
                     label=f"{side}s within 1%")
            ax2.plot(h, hrs[f"{side}_5pct"], "s--", color=colour, ms=3,
                     label=f"{side}s within 5%")
        a, b = (_minutes_utc(res, [0.0, 60.0 * rp.minutes]))
        ax2.axvspan(a, b, color=style.GREY, alpha=0.12, lw=0, label="replay window")
        ax2.set_yscale("log")
        ax2.yaxis.set_major_formatter(usd_tick)
        ax2.set_xlim(0, 24)
        ax2.set_xlabel("hour of 2025-10-10 [UTC]; gaps: no valid snapshot that hour")
        ax2.set_ylabel("median cumulative notional [USD]")
        ax2.legend(fontsize=style.LEGEND_SMALL_SIZE, loc="lower left")
        ax2.set_title("the book through the day (valid snapshots only)",
                      fontsize=style.PANEL_TITLE_SIZE)
    text = ("Each point: the notional resting within p% of mid, whose sale walks the price by "
            "p%. A snapshot counts when all five bands of a side are inside their own price range "
            "around the recorded mark and cumulative; on 2025-10-10 the 1-3% bid bands hold one "
            "stale order at 121,364 USD from 19:15 UTC on, so the bids of the evening are left out "
            "and the asks stand in for them. Beyond 5% the law is extrapolated. Binance's book, "
            "not Hyperliquid's (which the data do not hold). The kernel takes one law for the "
            "whole window (it has no time-varying depth); replay.json keeps the law of each hour.")
    fig.text(0.07, 0.03, textwrap.fill(text, 160), fontsize=style.NOTE_SIZE, color=style.GREY)
    style.panel_grid(fig, bottom=0.17)
    style.footer(fig, res)
    return fig


def differences_text(res) -> str:
    """The paragraph 'where and why the model differs', from the run's numbers."""
    rows = {r["metric"]: r for r in res.comparison()}
    adl = rows["ADL notional (BTC)"]
    cnt = rows["ADL count (BTC)"]
    dl = rows["first ADL after Hyperliquid's first liquidation"]
    own = rows["model's own cascade start to first ADL"]
    med = rows["ADL'd notional per account, q0.5"]
    n_short = int(np.sum(res.accounts.side < 0))
    short_usd = float(np.sum((res.accounts.quantity * res.accounts.entry)[res.accounts.side < 0]))
    parts = [
        f"Liquidated notional is matched by construction (the longs are scaled by "
        f"{res.scale:.3g}x to liquidate {usd(rows['liquidated notional (BTC)']['recorded'])} on "
        "the recorded path)." if res.experiment.replay.open_interest_usd is None else
        "Liquidated notional follows replay.open_interest_usd.",
        f"ADL'd notional: model {usd(adl['model_recorded_path'])} against "
        f"{usd(adl['recorded'])} recorded. The model's {n_short:,} shorts hold "
        f"{usd(short_usd)} at entry in all, with sizes from the per-account file, which "
        "spans all 162 coins (median position about 380 USD); Hyperliquid's BTC ADL "
        f"averaged {usd(adl['recorded'] / max(1, res.recorded.adl_events_btc))} an event. ADL can "
        "close no more than the winning accounts hold, so the model's ADL is capped by its small "
        "BTC shorts; the rest of the gap is paid by the venue's capital.",
        f"ADL count: model {num(cnt['model_recorded_path'])} against {num(cnt['recorded'])} "
        "recorded BTC events: a count follows the number of modelled shorts (replay.n_accounts).",
        f"Timing: the model's first ADL comes {num(dl['model_recorded_path'])} s after "
        f"Hyperliquid's first liquidation (recorded: {dl['recorded']:.1f} s; MC median "
        f"{num(dl['mc_median'])} s), {num(own['model_recorded_path'])} s after its own cascade "
        "began. Its constant fund runs dry on the first large batch, while Hyperliquid's HLP "
        "vault absorbed the first minute; the fund (venue.fund) is an assumption that decides "
        "whether ADL happens at all. The model sees 20 s steps of 1-minute bars.",
        f"ADL'd notional per account: median model {usd(med['model_recorded_path'])} against "
        f"{usd(med['recorded'])} recorded (all coins).",
        "Impact comes from Binance's BTCUSDT book, not Hyperliquid's, as one constant curve over "
        "the window; cross margin, the 162 coins and the HLP vault are not modelled.",
    ]
    return " ".join(parts)


def _table_page(res):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.suptitle("Replay of 2025-10-10: recorded vs model, and where and why they differ",
                 fontsize=style.HEADING_SIZE, y=0.975)
    ax = fig.add_axes([0.03, 0.62, 0.94, 0.31])
    ax.axis("off")
    rows = res.comparison()
    cells = []
    for r in rows:
        band = (f"{num(r['mc_p05'])} .. {num(r['mc_p95'])}"
                if math.isfinite(r["mc_p05"]) else "n/a")
        cells.append([r["metric"], num(r["recorded"]), num(r["model_recorded_path"]),
                      num(r["mc_median"]), band, r["unit"]])
    table = ax.table(cellText=cells, colLabels=["metric", "recorded", "model (recorded path)",
                                                "model MC median", "MC 5-95%", "unit"],
                     loc="upper left", cellLoc="right", colLoc="center",
                     colWidths=[0.34, 0.12, 0.14, 0.12, 0.19, 0.09])
    style.style_table(table, 1.25)
    ax2 = fig.add_axes([0.03, 0.36, 0.94, 0.24])
    ax2.axis("off")
    why = ax2.table(cellText=[[r["metric"], r["why"]] for r in rows],
                    colLabels=["metric", "why the model differs (one line)"], loc="upper left",
                    cellLoc="left", colLoc="center", colWidths=[0.34, 0.66])
    style.style_table(why, 1.05)
    for (_r, _c), cell in why.get_celld().items():
        cell.set_fontsize(style.NOTE_SIZE)
    n = res.mc["liquidated_notional"].size
    n_ref = res.mc_reference["cascade_to_adl_s"].size
    note = (f"Monte Carlo: {n:,} paths through the venue kernel ({n_ref} of them also through the "
            "reference venue for the timing and per-account rows), path 0 the recorded one; "
            "recorded: Hyperliquid's 2025-10-10 summaries (BTC where the files have it).")
    fig.text(0.03, 0.325, textwrap.fill(note, 190), fontsize=style.NOTE_SIZE, color=style.GREY,
             va="top")
    fig.text(0.03, 0.28, "Where and why the model differs", fontsize=style.SECTION_SIZE,
             weight="bold")
    fig.text(0.03, 0.265, textwrap.fill(differences_text(res), 185), fontsize=style.NOTE_SIZE,
             va="top", linespacing=1.4)
    style.footer(fig, res)
    return fig


def replay_pages(res) -> list[Page]:
    """The replay's pages, in order (cheap: drawing happens in ``draw``)."""
    return [
        Page("Replay: recorded path with the model's liquidations and ADL",
             lambda: _timeline_page(res)),
        Page("Replay: liquidated and ADL'd notional, recorded vs model",
             lambda: _notional_page(res)),
        Page("Replay: ADL'd notional per account, recorded vs model", lambda: _haircut_page(res)),
        Page("Replay: first liquidation to first ADL", lambda: _timing_page(res)),
        Page("Replay: impact from the recorded book depth", lambda: _impact_page(res)),
        Page("Replay: comparison table, where and why the model differs",
             lambda: _table_page(res)),
    ]


register(PageFamily("replay", ORDER, replay_pages, _is_replay))


def build_replay_report(res, path: str | Path) -> Path:
    """Write the replay's pages (the ``replay`` family, after the claim page when the suite
    decided one) to the PDF ``path``, atomically."""
    from .build import write_pdf

    pages = [p for f in families() if f.name in ("claim", "replay") and f.applies(res)
             for p in f.pages(res)]
    path = write_pdf(pages, path, f"tailrisk replay: {res.experiment.run.name} "
                                  f"({res.config_hash})")
    gc.collect()
    return path
