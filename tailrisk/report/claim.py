"""The claim page, first in the report: what the experiment claims, whether its numbers say
it held, the checks that decided it, and the headline numbers with their errors; then the
methods page (:mod:`.claim_methods`).

It applies to a run whose config has a ``[claim]`` (or whose report is built by the suite,
which passes the claim, the verdict and the experiment in ``result.extra``). The verdict is
:func:`tailrisk.studies.verdict.decide`'s; a report of a plain run folder decides it here.
"""

from __future__ import annotations

import functools
import textwrap
from typing import TYPE_CHECKING, Any

from . import style
from .registry import Page, PageFamily, register

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["VERDICT_COLOURS", "claim_of", "verdict_of"]

#: the verdict's colour: held, did not hold, inconclusive
VERDICT_COLOURS = {"held": "#2a7d2a", "did not hold": "#b22222", "inconclusive": "0.4"}
#: page order: before the title page (0)
ORDER = -10
#: height of a table row and the top of the note at the bottom (figure fractions)
ROW = 0.034
NOTE_TOP = 0.105


def claim_of(result: RunResult) -> Any:
    """The run's claim (a :class:`~tailrisk.config.claim.ClaimConfig`), or None."""
    extra = getattr(result, "extra", None) or {}
    if extra.get("claim") is not None:
        return extra["claim"]
    if not hasattr(result, "per_path"):  # a network or replay run: only the suite decides it
        return None
    return getattr(result.experiment, "claim", None)


def verdict_of(result: RunResult) -> Any:
    """The verdict the suite passed, else the verdict decided on the run's own paths."""
    extra = result.extra or {}
    if extra.get("verdict") is not None:
        return extra["verdict"]
    from ..studies.verdict import decide, world_of

    return decide(claim_of(result), {None: world_of(result)}, seed=result.experiment.run.seed)


def _claim_page(result: RunResult, verdict: Any):
    import matplotlib.pyplot as plt

    extra = result.extra or {}
    exp = extra.get("experiment") or result.experiment
    name = extra.get("source") or exp.run.name
    fig = plt.figure()
    fig.text(0.04, 0.94, f"Claim: {name}", fontsize=style.TITLE_SIZE - 4, weight="bold")
    statement = textwrap.fill(verdict.statement, 120)
    fig.text(0.04, 0.895, statement, fontsize=style.HEADING_SIZE, va="top")
    lines = statement.count("\n") + 1
    y = 0.895 - 0.028 * lines
    if verdict.source:
        source = textwrap.fill(f"Source: {verdict.source}", 150)
        fig.text(0.04, y, source, fontsize=style.SMALL_SIZE, color=style.GREY, va="top")
        y -= 0.035 + 0.02 * source.count("\n")
    colour = VERDICT_COLOURS.get(verdict.outcome, "k")
    fig.text(0.04, y - 0.01, f"Verdict: {verdict.outcome.upper()}", fontsize=18,
             weight="bold", color=colour, va="top",
             bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": colour, "lw": 1.5})
    rule = ("every check must hold" if verdict.combine == "all"
            else "at least one check must hold")
    fig.text(0.42, y - 0.012, textwrap.fill(
             f"{len(verdict.checks)} check(s); {rule}. Decided on {verdict.n_paths:,} paths, "
             f"errors from {verdict.resamples} paired bootstrap resamples of the paths.", 95),
             fontsize=style.SMALL_SIZE, va="top")
    y -= 0.1

    fig.text(0.04, y, "Checks", fontsize=style.SECTION_SIZE, weight="bold", va="top")
    cells = []
    for c in verdict.checks:
        rule = f"{c.metric.expression} {c.op} {c.value:g}"
        if c.op == "==" and c.tolerance:
            rule += f" (tolerance {c.tolerance:g})"
        z = f"{c.z:+.3g}" if c.z == c.z and abs(c.z) != float("inf") else (
            "n/a" if c.z != c.z else ("+inf" if c.z > 0 else "-inf"))
        cells.append([textwrap.fill(rule, 62), c.metric.text(), z, f"{c.significance:g}",
                      c.outcome])
    height = ROW * (len(cells) + 1)
    ax = fig.add_axes((0.04, y - 0.015 - height, 0.92, height))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=["check (metric op value)", "value ± s.e.",
                                                  "z", "z needed", "outcome"],
                     cellLoc="left", bbox=(0, 0, 1, 1),
                     colWidths=[0.5, 0.2, 0.08, 0.08, 0.14])
    style.style_table(table, 1.0)
    for (r, col), cell in table.get_celld().items():
        if r > 0 and col == 4:
            cell.get_text().set_color(VERDICT_COLOURS.get(cells[r - 1][4], "k"))
    y = y - 0.03 - height
    for c in verdict.checks:
        if c.label:
            text = textwrap.fill(f"{c.metric.expression}: {c.label}", 170)
            fig.text(0.05, y, text, fontsize=style.NOTE_SIZE, va="top")
            y -= 0.022 * (text.count("\n") + 1)

    if verdict.headline:
        y -= 0.02
        fig.text(0.04, y, "Headline numbers", fontsize=style.SECTION_SIZE, weight="bold",
                 va="top")
        rows = [[m.expression, m.text(), m.unit] for m in verdict.headline]
        room = y - 0.02 - NOTE_TOP
        height = min(ROW * (len(rows) + 1), room)
        ax = fig.add_axes((0.04, y - 0.02 - height, 0.7, height))
        ax.axis("off")
        table = ax.table(cellText=rows, colLabels=["metric", "value ± s.e.", "unit"],
                         cellLoc="left", bbox=(0, 0, 1, 1), colWidths=[0.55, 0.3, 0.15])
        style.style_table(table, 1.0)
    note = (
        "How to read: ± is one standard error from a paired bootstrap over the paths (the "
        "same resample for every metric of a check, so the damped and undamped payoffs of a "
        "path, or two variants on the same paths, are compared path by path). A check holds "
        "when the metric lies beyond the value by at least 'z needed' standard errors in the "
        "stated direction, does not hold when it lies as far on the other side, and is "
        "inconclusive in between; a value without ± (one path, or a recorded figure) is "
        "decided by its sign or tolerance alone. Payoffs in USD; probabilities as shares of "
        "paths; tail index: Hill estimate of the gains, k = ceil(sqrt(n)) (higher = thinner "
        "tail). Metric names: docs/experiments.md."
    )
    fig.text(0.04, NOTE_TOP - 0.01, textwrap.fill(note, 175), fontsize=style.NOTE_SIZE,
             va="top", color=style.GREY)
    style.footer(fig, result, "claim and verdict")
    return fig


def _pages(result: RunResult) -> list[Page]:
    from .claim_methods import manifest_page, methods_page

    # decided once for both pages (a plain run's report decides it on its own paths)
    verdict = functools.cache(lambda: verdict_of(result))
    pages = [Page("claim and verdict", lambda: _claim_page(result, verdict())),
             Page("methods", lambda: methods_page(result, verdict()))]
    if not hasattr(result, "per_path"):  # a network or replay report has no run title page
        pages.append(Page("manifest", lambda: manifest_page(result)))
    return pages


register(PageFamily("claim", ORDER, _pages, applies=lambda r: claim_of(r) is not None))
