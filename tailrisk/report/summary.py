"""The summary PDF of many experiments: a table page with every experiment's claim and
verdict, then one paragraph each with the checks and numbers that decided it.

It reads the ``verdict.json`` records the suite writes (:func:`tailrisk.studies.suite.
read_verdicts`), not the runs, so it is quick. Written atomically.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from . import style
from .claim import VERDICT_COLOURS

__all__ = ["build_summary", "outcome_of"]

#: experiments per paragraph page
PER_PAGE = 4


def outcome_of(record: dict[str, Any]) -> str:
    """What a summary says of one ``verdict.json`` record: the verdict, "not run: <why>" for an
    experiment the suite skipped (the replay without its data), or "no claim"."""
    from ..studies.suite import NOT_RUN

    v = record.get("verdict")
    if v:
        return v["outcome"]
    if record.get("status") == NOT_RUN:
        return f"{NOT_RUN}: {record.get('reason', '')}".rstrip(": ")
    return "no claim"


def _checks_text(verdict: dict[str, Any]) -> str:
    from ..studies.verdict import Verdict

    v = Verdict.from_dict(verdict)
    return "; ".join(c.text() for c in v.checks)


def _table_page(records: list[dict[str, Any]]):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.text(0.03, 0.95, "tailrisk: every experiment's claim and verdict",
             fontsize=style.TITLE_SIZE - 4, weight="bold")
    cells, colours = [], []
    for r in records:
        v = r.get("verdict")
        outcome = outcome_of(r)
        statement = v["statement"] if v else ""
        cells.append([r["name"], textwrap.fill(textwrap.shorten(statement, 190), 95),
                      f"{r.get('paths', 0):,}", outcome])
        colours.append(VERDICT_COLOURS.get(outcome, "k"))
    height = min(0.85, 0.075 * (len(cells) + 1))
    ax = fig.add_axes((0.03, 0.9 - height, 0.94, height))
    ax.axis("off")
    table = ax.table(cellText=cells or [["(none)", "no verdict.json found", "", ""]],
                     colLabels=["experiment", "claim", "paths", "verdict"],
                     loc="upper center", cellLoc="left", colWidths=[0.2, 0.58, 0.08, 0.14])
    style.style_table(table, 2.6)
    for (row, col), cell in table.get_celld().items():
        if row > 0 and col == 3 and row - 1 < len(colours):
            cell.get_text().set_color(colours[row - 1])
            cell.get_text().set_weight("bold")
    held = sum(1 for r in records if r.get("verdict") and r["verdict"]["outcome"] == "held")
    fig.text(0.03, 0.03, f"{len(records)} experiment(s); {held} claim(s) held. Each verdict "
             "is decided by its experiment's checks at the stated significance (next pages; "
             "docs/experiments.md).", fontsize=style.SMALL_SIZE, color=style.GREY)
    return fig


def _detail_page(records: list[dict[str, Any]], first: int):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    y = 0.95
    for i, r in enumerate(records):
        v = r.get("verdict")
        outcome = outcome_of(r)
        fig.text(0.03, y, f"{first + i + 1}. {r['name']}: {outcome}", weight="bold",
                 fontsize=style.HEADING_SIZE, color=VERDICT_COLOURS.get(outcome, "k"), va="top")
        y -= 0.035
        if v:
            body = textwrap.fill(v["statement"], 160) + "\n" + textwrap.fill(
                "Decided by: " + _checks_text(v), 150)
            head = [f"{m['expression']} = {_num(m)}" for m in v.get("headline", [])]
            if head:
                body += "\n" + textwrap.fill("Headline: " + "; ".join(head), 150)
        elif outcome.startswith("not run"):
            body = textwrap.fill(f"{r.get('source', r['name'])} was not run: "
                                 f"{r.get('reason', '')} (its verdict needs data this machine "
                                 "does not have; docs/experiments.md).", 160)
        else:
            body = "no [claim] table"
        fig.text(0.04, y, body, fontsize=style.SMALL_SIZE, va="top")
        y -= 0.03 + 0.018 * body.count("\n") + 0.03
    fig.text(0.03, 0.02, "± one paired-bootstrap standard error; z: (value - threshold) / s.e.",
             fontsize=style.FOOTER_SIZE, color=style.GREY)
    return fig


def _num(m: dict[str, Any]) -> str:
    from ..studies.verdict import MetricValue

    return MetricValue(**m).text()


def build_summary(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the summary PDF of ``records`` (``verdict.json`` contents) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from .._atomic import atomic_write

    path = Path(path)

    def write(fh) -> None:
        meta = {"Title": "tailrisk: claims and verdicts", "Creator": "tailrisk",
                "CreationDate": None}
        with plt.rc_context(style.RC), PdfPages(fh, metadata=meta) as pdf:
            figs = [lambda: _table_page(records)]
            for k in range(0, len(records), PER_PAGE):
                figs.append(lambda k=k: _detail_page(records[k:k + PER_PAGE], k))
            for draw in figs:
                fig = draw()
                try:
                    pdf.savefig(fig)
                finally:
                    plt.close(fig)

    atomic_write(path, write, suffix=".pdf")
    return path
