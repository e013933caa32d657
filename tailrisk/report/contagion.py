"""Pages of a network run (``tailrisk contagion``): how many venues fail, systemic loss and its
amplification by the links, haircuts per venue with and without links, and the loss each link
carried, drawn on the network.

The family applies to a :class:`tailrisk.contagion.NetworkResult` only (a single-venue run has
no links); :func:`build_network_report` writes its pages as a PDF. Money in USD; errors are
Monte Carlo 95 % intervals (1.96 standard errors over independent paths).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from . import style
from .registry import Page, PageFamily, families, register

__all__ = ["build_network_report", "network_pages"]


def _is_network(result: Any) -> bool:
    return hasattr(result, "link_names") and hasattr(result, "paths")


def _usd(x: float) -> str:
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.2f}B"
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def _survival(ax, x, n_all, colour, label):
    """P(X > x) over all ``n_all`` paths, drawn at the positive values only (log axes)."""
    x = np.sort(np.asarray(x, float))
    x = x[x > 0]
    if len(x) == 0:
        return
    surv = (len(x) - np.arange(len(x))) / n_all
    ax.step(x, surv, where="post", color=colour, lw=style.CURVE_LW, label=label)


def _page_failures(result, summary):
    import matplotlib.pyplot as plt

    from ..contagion import systemic_loss

    fig, axes = plt.subplots(1, 2, figsize=style.PAGE)
    ax = axes[0]
    k = np.arange(len(summary["p_fail_linked"]))
    w = 0.38
    for off, tag, colour, label in ((-w / 2, "isolated", style.ORANGE, "links cut (isolated)"),
                                    (w / 2, "linked", style.BLUE, "with links")):
        p = np.array(summary[f"p_fail_{tag}"])
        se = np.array(summary[f"p_fail_{tag}_se"])
        ax.bar(k + off, p, width=w, color=colour, alpha=0.75, label=label,
               yerr=1.96 * se, error_kw={"ecolor": "k", "lw": 0.8})
    ax.set_yscale("log")
    ax.set_ylim(max(0.5 / result.n_paths, 1e-6), 1.5)
    ax.set_xticks(k)
    ax.set_xlabel("k, venues that fail on a path (insolvent: past their capital)")
    ax.set_ylabel("share of paths")
    ax.set_title("P(k venues fail), 95% MC error bars", fontsize=style.PANEL_TITLE_SIZE)
    ax.legend(fontsize=style.LEGEND_SMALL_SIZE)
    ax = axes[1]
    linked, isolated = systemic_loss(result.paths)
    _survival(ax, isolated, result.n_paths, style.ORANGE, "links cut (isolated)")
    _survival(ax, linked, result.n_paths, style.BLUE, "with links")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("systemic loss on a path, USD (haircuts + capital + unpaid debt + firms)")
    ax.set_ylabel("P(loss > x)")
    amp = summary["amplification"]
    ax.set_title(f"systemic loss: mean {_usd(summary['loss_linked_mean'])} vs "
                 f"{_usd(summary['loss_isolated_mean'])} USD; amplification {amp:.2f} "
                 f"+- {1.96 * summary['amplification_se']:.2f}", fontsize=style.PANEL_TITLE_SIZE)
    if ax.get_lines():
        ax.legend(fontsize=style.LEGEND_SMALL_SIZE)
    else:
        ax.text(0.5, 0.5, "no path has a loss", ha="center", transform=ax.transAxes)
    style.panel_grid(fig)
    fig.suptitle("Contagion: venues failing and systemic loss", fontsize=style.HEADING_SIZE)
    style.footer(fig, result, f"{result.n_paths:,} paths")
    return fig


def _page_haircuts(result, summary):
    import matplotlib.pyplot as plt

    p = result.paths
    nv = len(result.venues)
    cols = min(nv, 3)
    rows = math.ceil(nv / cols)
    fig, axes = plt.subplots(rows, cols, figsize=style.PAGE, squeeze=False)
    for v, name in enumerate(result.venues):
        ax = axes[v // cols, v % cols]
        _survival(ax, p["haircut_isolated"][:, v], result.n_paths, style.ORANGE, "links cut")
        _survival(ax, p["haircut_linked"][:, v], result.n_paths, style.BLUE, "with links")
        row = summary["per_venue"][v]
        ax.set_title(f"{name} ({result.experiment.venues[name].policy}): mean "
                     f"{_usd(row['haircut_isolated_mean'])} -> "
                     f"{_usd(row['haircut_linked_mean'])} USD", fontsize=style.PANEL_TITLE_SIZE)
        hit = int((p["haircut_linked"][:, v] > 0).sum())
        if hit >= 3:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize=style.LEGEND_SMALL_SIZE)
        else:  # a curve of one or two points says nothing
            for line in ax.get_lines():
                line.remove()
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, f"winners haircut on {hit} path(s) of {result.n_paths:,}",
                    ha="center", transform=ax.transAxes, fontsize=style.SMALL_SIZE)
        ax.set_xlabel("haircut of the venue's winners on a path, USD")
        ax.set_ylabel("P(haircut > x)")
    for j in range(nv, rows * cols):
        axes[j // cols, j % cols].set_visible(False)
    style.panel_grid(fig)
    fig.suptitle("Contagion: what winners lose per venue (undamped minus damped), links cut vs "
                 "with links", fontsize=style.HEADING_SIZE)
    style.footer(fig, result, "haircuts: kernel ADL + the network's ADL/clawback, USD")
    return fig


def _positions(result):
    """Venues on a circle; each linked entity beside what it links."""
    exp = result.experiment
    names = result.venues
    n = len(names)
    pos = {v: np.array([math.cos(2 * math.pi * k / n + math.pi / 2),
                        math.sin(2 * math.pi * k / n + math.pi / 2)]) for k, v in enumerate(names)}
    seen: dict[tuple[str, str], int] = {}
    for h in exp.hedgers:
        pair = tuple(sorted((h.long_venue, h.short_venue)))
        mid = (pos[h.long_venue] + pos[h.short_venue]) / 2
        k = seen[pair] = seen.get(pair, -1) + 1
        # between its two venues, a little outside the chord; a second hedger of a pair further
        pos[h.name] = mid * (1.25 + 0.35 * k) if np.linalg.norm(mid) > 0.1 else \
            np.array([0.0, 0.4 + 0.35 * k])
    for c in exp.custodians:
        pos[c.name] = 0.5 * pos[c.hedger] + 0.5 * pos[c.venue] - 0.45 * pos[c.venue]
    for i, f in enumerate(exp.firms):
        pos[f.name] = np.array([1.75, -1.5 + 0.35 * i])
    for r in exp.runs:
        pos[r.name] = pos[r.venue] + np.array([0.0, -0.55])  # under its venue
    return pos


def _page_network(result, summary):
    import matplotlib.pyplot as plt

    exp = result.experiment
    fig, axes = plt.subplots(1, 2, figsize=style.PAGE, width_ratios=(1.6, 1))
    ax = axes[0]
    pos = _positions(result)
    loss = {r["link"]: r["loss_mean"] for r in summary["per_link"]}
    top = max([*loss.values(), 1e-12])

    def edge(a, b, name, arrow=True):
        lw = 0.8 + 6 * loss.get(name, 0.0) / top
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops={"arrowstyle": "-|>" if arrow else "-", "lw": lw,
                                "color": style.BLUE, "alpha": 0.7,
                                "shrinkA": 14, "shrinkB": 14})

    for h in exp.hedgers:
        edge(h.name, h.long_venue, h.name)
        edge(h.name, h.short_venue, h.name)
    for c in exp.custodians:
        edge(c.name, c.venue, c.name)
        edge(c.hedger, c.name, c.name, arrow=False)
    for c in exp.credit_lines:
        edge(c.lender, c.borrower, c.name)
    for r in exp.runs:
        edge(r.venue, r.name, r.name)
    for name, xy in pos.items():
        is_venue = name in result.venues
        ax.text(*xy, name, ha="center", va="center", fontsize=style.SMALL_SIZE,
                weight="bold" if is_venue else "normal",
                bbox={"boxstyle": "round", "fc": "#dbe8f5" if is_venue else "white",
                      "ec": style.GREY})
    label_at = dict(pos)
    for c in exp.credit_lines:  # a line has no node: its label sits between its two ends
        label_at[c.name] = (pos[c.lender] + pos[c.borrower]) / 2 + np.array([0.3, 0.2])
        ax.text(*label_at[c.name] + np.array([0.0, 0.1]), f"credit {c.name}", ha="center",
                fontsize=style.PANEL_NOTE_SIZE, color=style.BLUE)
    for link in summary["per_link"]:
        name = link["link"]
        x, y = label_at[name]
        ax.text(x, y - 0.13, f"E[loss] {_usd(link['loss_mean'])} USD",
                ha="center", fontsize=style.PANEL_NOTE_SIZE, color=style.ORANGE)
    ax.set_xlim(-2.1, 2.1)
    ax.set_ylim(-2.0, 2.0)
    ax.axis("off")
    ax.set_title("the network: line width = expected loss carried by the link (USD)",
                 fontsize=style.PANEL_TITLE_SIZE)
    ax = axes[1]
    rows = summary["per_link"]
    y = np.arange(len(rows))
    ax.barh(y, [r["loss_mean"] for r in rows], xerr=[1.96 * r["loss_se"] for r in rows],
            **style.error_bar_kw())
    ax.set_yticks(y, [f"{r['link']}\n({r['kind']})" for r in rows], fontsize=style.SMALL_SIZE)
    ax.invert_yaxis()
    for yy, r in zip(y, rows, strict=True):
        ax.text(r["loss_mean"], yy, f"  {100 * r['share']:.0f}%", va="center",
                fontsize=style.SMALL_SIZE)
    ax.set_xlabel("expected loss carried, USD per path (95% MC error)")
    ax.set_title("loss carried per link (share of all link losses)",
                 fontsize=style.PANEL_TITLE_SIZE)
    style.panel_grid(fig, wgap=1.3, left=0.02)
    fig.suptitle("Contagion: which link carried the loss", fontsize=style.HEADING_SIZE)
    style.footer(fig, result, "hedger: unpaid obligations; custodian: refused transfers; "
                 "credit line: drawn; run: unbacked withdrawals")
    return fig


def network_pages(result) -> list[Page]:
    """The family's pages for a network result (drawing happens in ``draw``)."""
    from ..contagion import network_summary

    cache: dict[str, Any] = {}

    def summary():
        if "s" not in cache:
            cache["s"] = network_summary(result)
        return cache["s"]

    return [
        Page("Contagion: venues failing and systemic loss",
             lambda: _page_failures(result, summary())),
        Page("Contagion: haircuts per venue, links cut vs with links",
             lambda: _page_haircuts(result, summary())),
        Page("Contagion: the network and the loss per link",
             lambda: _page_network(result, summary())),
    ]


register(PageFamily("contagion", 75, network_pages, applies=_is_network))


def build_network_report(result, path: str | Path) -> Path:
    """Write the pages of the network families that apply to a network result (the claim page,
    when the suite passed one, and this family's) as a PDF, atomically."""
    from .build import write_pdf

    # the claim page first when the suite decided one (tailrisk run experiments/)
    pages = [p for f in families() if f.name in ("claim", "contagion") and f.applies(result)
             for p in f.pages(result)]
    return write_pdf(pages, path, f"tailrisk network report: {result.experiment.run.name} "
                                  f"({result.config_hash})")
