"""The registry of page families: how a capability adds pages to the report.

A *family* is a group of consecutive pages about one thing (the headline, the venue, the price
paths, ...). It has a name, an order key (where its pages go: families are written in increasing
order, ties by name), a test of whether it applies to a run, and a function that lists its pages
for a run. Each :class:`Page` has a title and a ``draw()`` that makes its figure; listing is
cheap, drawing happens only when the report is written. Titles and figures therefore come from
the same list, so :func:`~tailrisk.report.report_pages` always matches what
:func:`~tailrisk.report.build_report` writes.

A new capability adds its pages by writing one module that calls :func:`register` at import
time (and is imported by ``tailrisk/report/__init__.py``); no other page module changes.
Order keys of the built-in families: 0 title, config and manifest (``methods``); 10 headline
pages and their Hill stability plots (``headline``); 30 venue risk metrics (``venue``); 40 fan
chart of price paths (``prices``); 50 return tails of the seven models (``models``); 60 terminal
return tails of the run (``prices``); 70 insurance fund and ADL (``venue``); 80 payoffs per cohort
and probe (``cohorts``); 85 options on damped assets (``pricing``); 90 summary table
(``methods``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = ["Page", "PageFamily", "families", "pages_of", "register", "unregister"]


@dataclass(frozen=True)
class Page:
    """One page: its title (as :func:`~tailrisk.report.report_pages` lists it) and a function
    of no arguments that returns its matplotlib figure."""

    title: str
    draw: Callable[[], Any]


def _always(result: RunResult) -> bool:
    return True


@dataclass(frozen=True)
class PageFamily:
    """A group of consecutive report pages.

    ``pages(result)`` returns the family's :class:`Page` list for a run (cheap: no drawing; an
    expensive input shared by several pages is computed inside the first ``draw`` and reused);
    it is called only when ``applies(result)`` is true.
    """

    name: str
    order: float
    pages: Callable[[RunResult], Sequence[Page]]
    applies: Callable[[RunResult], bool] = _always


_FAMILIES: dict[str, PageFamily] = {}


def register(family: PageFamily, *, replace: bool = False) -> PageFamily:
    """Add ``family`` to the report (a second family of the same name needs ``replace=True``)."""
    if family.name in _FAMILIES and not replace:
        raise ValueError(f"a page family named {family.name!r} is already registered")
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> PageFamily:
    """Take the family ``name`` out of the report; returns it."""
    try:
        return _FAMILIES.pop(name)
    except KeyError:
        raise KeyError(f"no page family named {name!r}") from None


def families() -> list[PageFamily]:
    """Every registered family, in report order (order key, then name)."""
    return sorted(_FAMILIES.values(), key=lambda f: (f.order, f.name))


def pages_of(result: RunResult) -> list[Page]:
    """The pages of ``result``, in report order: those of every family that applies."""
    out: list[Page] = []
    for family in families():
        if family.applies(result):
            out.extend(family.pages(result))
    return out
