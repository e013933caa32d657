"""The one place for how the report looks: page size, fonts, colours, tables, footers, and how a
Monte Carlo error is drawn (a band around a curve, an error bar on a bar).

Page modules take every size and colour from here and never define their own. Nothing here
imports matplotlib at module level: the functions receive matplotlib objects from the pages.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = [
    "BLUE",
    "GREY",
    "ORANGE",
    "PAGE",
    "PANEL_MARGINS",
    "RC",
    "error_bar_kw",
    "finish",
    "footer",
    "mc_band",
    "panel_grid",
    "power_of_ten",
    "style_table",
]

#: page size in inches (landscape letter)
PAGE = (11.0, 8.5)
#: the sample (damped, model, this run)
BLUE = "#1f77b4"
#: the reference it is read against (undamped, Gaussian, minimum fund)
ORANGE = "#d62728"
#: footers, parameter notes, secondary references
GREY = "0.45"
#: table header face and the shading of every other value column (damped / undamped pairs)
HEADER_FACE = "0.9"
STRIPE_FACE = "#eef4fb"
#: colour of sample paths and of reference marks (a start value, a chosen k)
INK = "k"
#: text sizes (points), largest first
TITLE_SIZE = 20  # the report's title
HEADING_SIZE = 11  # a page heading, the run line of the title page
SECTION_SIZE = 10  # the heading of a table on a page
PANEL_TITLE_SIZE = 9  # panel titles, the facts of the title page
UNITS_SIZE = 8.5  # the units line of the title page
SMALL_SIZE = 8  # notes beside panels, labels on bars
TABLE_SIZE = 8  # table cells
NOTE_SIZE = 7.5  # the note under a table
LEGEND_SMALL_SIZE = 7  # legends of small panels
FOOTER_SIZE = 7  # page footers
LISTING_SIZE = 7  # the config listing (shrunk when long)
PANEL_NOTE_SIZE = 6.5  # parameters written inside a panel
#: line widths: a sample's curve, a reference curve (Gaussian), the fan chart's median, a
#: sample path, a reference mark
CURVE_LW = 1.4
REFERENCE_LW = 1.2
MEDIAN_LW = 2.0
PATH_LW = 0.6
MARK_LW = 0.8
#: opacity of the fan chart's quantile bands (outer to inner) and of its sample paths
FAN_ALPHAS = (0.15, 0.25, 0.4)
PATH_ALPHA = 0.6
#: a log axis spanning at most this many decades gets minor ticks at 2 and 5 times each power
FINE_DECADES = 4
#: opacity of a Monte Carlo band around a curve (a 95 % interval)
BAND_ALPHA = 0.15
#: z of a two-sided 95 % normal interval, for bands and error bars drawn from standard errors
Z95 = 1.96

#: matplotlib rc parameters of every page (fonts: matplotlib's default DejaVu Sans)
RC: dict[str, Any] = {
    "figure.figsize": PAGE,
    "font.size": 9,
    "axes.titlesize": 10,
    # a fixed title height: matplotlib's automatic one measures every tick label again to
    # dodge ticks on top, which no page has
    "axes.titley": 1.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


#: margins of a page of panels (figure fractions): room for tick labels on the left, the footer
#: at the bottom and a one- or two-line title at the top. Fixed rather than tight_layout, which
#: lays every page out twice (a third of the report's drawing time)
PANEL_MARGINS = {"left": 0.07, "right": 0.985, "bottom": 0.1, "top": 0.89}


def panel_grid(fig, wgap: float = 0.75, hgap: float = 0.9, **margins: float) -> None:
    """Place the grid of panels of ``fig`` with the report's margins (override any by name) and
    gaps between panels of ``wgap`` / ``hgap`` inches (room for tick labels, axis labels and
    panel titles, whatever the number of rows and columns)."""
    m = {**PANEL_MARGINS, **margins}
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    width, height = fig.get_size_inches()
    w = ((m["right"] - m["left"]) * width - (cols - 1) * wgap) / cols
    h = ((m["top"] - m["bottom"]) * height - (rows - 1) * hgap) / rows
    fig.subplots_adjust(**m, wspace=wgap / w, hspace=hgap / h)


def finish(fig) -> None:
    """Report-wide last touches before a page is saved, on every log axis: minor ticks at 2 and
    5 times a power of ten when the axis spans at most :data:`FINE_DECADES` decades, else only
    at the decades the major ticks skip (matplotlib puts eight a decade, and building tick
    objects was the largest part of rendering a page of log-log panels); and powers of ten
    written with Unicode superscripts instead of mathtext (same look, no TeX parser)."""
    from matplotlib.ticker import (
        FuncFormatter,
        LogFormatterSciNotation,
        LogLocator,
        NullFormatter,
    )

    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim), (ax.yaxis, ax.get_ylim)):
            if axis.get_scale() != "log":
                continue
            lo, hi = sorted(limits())
            decades = math.log10(hi / lo) if lo > 0 else math.inf
            if decades <= FINE_DECADES:
                axis.set_minor_locator(LogLocator(subs=(2.0, 5.0), numticks=100))
            else:  # unlabelled marks at the decades the labelled ones skip
                axis.set_minor_locator(LogLocator(subs=(1.0,), numticks=100))
                axis.set_minor_formatter(NullFormatter())
            if type(axis.get_major_formatter()) is LogFormatterSciNotation:
                axis.set_major_formatter(FuncFormatter(power_of_ten))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(v: float, _pos=None) -> str:
    """A log-axis tick label: '10⁻³' at a power of ten, else the number ('0.02', '300')."""
    if v <= 0 or not math.isfinite(v):
        return ""
    e = round(math.log10(v))
    if abs(math.log10(v) - e) < 1e-9:
        return "10" + str(e).translate(_SUPERSCRIPT)
    return f"{v:g}"


def mc_band(ax, x, lower, upper, colour: str) -> None:
    """A Monte Carlo 95 % interval drawn around a curve: a borderless band of its colour."""
    ax.fill_between(x, lower, upper, color=colour, alpha=BAND_ALPHA, lw=0)


def error_bar_kw() -> dict[str, Any]:
    """Keyword arguments of a bar's Monte Carlo error bar (pass ``xerr`` / ``yerr`` = 1.96 s.e.)."""
    return {"color": BLUE, "alpha": 0.7, "error_kw": {"ecolor": "k"}}


def style_table(table, row_scale: float, tall_header: bool = False, stripe: bool = False) -> None:
    """The report's table look: 8 pt, left-aligned first column, grey bold header, and
    optionally a taller header and shaded every other value column (damped/undamped pairs)."""
    table.auto_set_font_size(False)
    table.set_fontsize(TABLE_SIZE)
    table.scale(1, row_scale)
    for (r, c), cell in table.get_celld().items():
        if c == 0:
            cell.set_text_props(ha="left")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor(HEADER_FACE)
            if tall_header:
                cell.set_height(cell.get_height() * 1.8)
        elif stripe and c > 0 and (c - 1) % 2 == 0:
            cell.set_facecolor(STRIPE_FACE)


def footer(fig, result: RunResult, note: str = "") -> None:
    """Run name, config hash and seed at the bottom left of every page; ``note`` at the right."""
    exp = result.experiment
    text = f"tailrisk | {exp.run.name} | config {result.config_hash} | seed {exp.run.seed}"
    fig.text(0.01, 0.01, text, fontsize=FOOTER_SIZE, color=GREY)
    if note:
        fig.text(0.99, 0.01, note, fontsize=FOOTER_SIZE, color=GREY, ha="right")
