"""Writing the report: walk the registered page families in order, draw each page, save it.

The PDF is written atomically (a temporary file in the same folder, then ``os.replace``): a
failed page leaves the old report, and no temporary file, behind.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from . import style
from .registry import Page, pages_of

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["build_report", "report_pages", "write_pdf"]


def report_pages(result: RunResult) -> list[str]:
    """Titles of the pages :func:`build_report` writes for ``result``, in order."""
    return [page.title for page in pages_of(result)]


def write_pdf(pages: Iterable[Page], path: str | Path, title: str) -> Path:
    """Draw ``pages`` in order into the PDF ``path`` (atomically), each closed once saved;
    returns the path. Every report (a run's, a network's, a replay's) is written here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from .._atomic import atomic_write

    path = Path(path)
    meta = {"Title": title, "Creator": "tailrisk", "CreationDate": None}

    def write(fh) -> None:
        with plt.rc_context(style.RC), PdfPages(fh, metadata=meta) as pdf:
            for page in pages:
                fig = page.draw()
                try:
                    style.finish(fig)
                    pdf.savefig(fig)
                finally:
                    plt.close(fig)

    # matplotlib builds tens of thousands of short-lived objects a page; with the collector on,
    # its full passes over a heap that holds jax, scipy and ArviZ cost about a tenth of the
    # report. The figures are closed page by page, and what they leave is collected afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        atomic_write(path, write, suffix=".pdf")
    finally:
        if collecting:
            gc.enable()
    return path


def build_report(result: RunResult, path: str | Path) -> Path:
    """Write the multi-page PDF report of ``result`` to ``path``; returns the path."""
    return write_pdf(pages_of(result), path,
                     f"tailrisk report: {result.experiment.run.name} ({result.config_hash})")
