"""The PDF report of a finished run.

Pages, in order (each family of pages is a module here that registers itself, see
:mod:`~tailrisk.report.registry`):

1. ``methods``: title: config summary, hash, seed, versions, device, wall time, units;
2. ``headline`` (with a venue): damped vs undamped payoffs of the total long and total short
   cohorts (and of each probe, two groups a page), log-log survival of gains and losses and a
   table of :func:`tailrisk.analytics.tail_summary` estimates with their Monte Carlo errors;
   then Hill stability plots of the gains;
3. ``venue`` (with a venue): venue risk metrics (:func:`tailrisk.analytics.venue_metrics`);
4. ``prices``: fan chart of price paths (USD, log axis, days);
5. ``models``: log-log survival of |one-day log returns| of each of the seven price models at
   its default parameters, against a Gaussian with the same standard deviation;
6. ``prices``: the run's own terminal log returns: survival of both tails against a Gaussian;
7. ``venue`` (with a venue): insurance fund and ADL distributions;
8. ``cohorts`` (with a venue): damped vs undamped payoff survival per cohort (and per probe);
8b. ``pricing`` (with a ``[pricing]`` table): damped and undamped smiles per probe, the price
   of ADL by leverage and side, the closed-market check (docs/pricing.md);
9. ``methods``: a table of per-path summaries, means and quantiles with their ArviZ MCSE.

``style`` is the one place for the look, ``format`` for how numbers are written, ``data`` for
what several pages read from a run, ``build`` writes the PDF. Paths with a non-finite venue
output (older runs) are counted, left out of every venue statistic, and the pages say so. The
report is written atomically.

Importing this package is cheap (numpy and the standard library): matplotlib, scipy, ArviZ and
JAX are imported inside the functions that draw or estimate.
"""

from __future__ import annotations

from . import claim as claim  # the claim page (issue 15)

# the page families register themselves, in any order (their order keys sort them)
from . import cohorts, headline, methods, models, prices, pricing, venue
from . import contagion as contagion  # network runs: a page family of their own
from . import ledger as ledger  # a small venue step by step (issue 15)
from . import replay as replay
from . import study as study  # a study's pages (issue 15)
from .build import build_report, report_pages
from .format import step_text
from .headline import (
    HEADLINE_LEVELS,
    HEADLINE_PROBES,
    HEADLINE_RESAMPLES,
    HeadlineGroup,
    headline_groups,
    headline_rows,
)
from .methods import TABLE_ROWS, summary_rows
from .models import MODEL_DEFAULTS, MODEL_PATHS, MODEL_SEED, MODEL_STEPS, model_one_day_returns
from .registry import Page, PageFamily, families, register, unregister
from .venue import venue_metric_set

__all__ = [
    "HEADLINE_LEVELS",
    "HEADLINE_PROBES",
    "HEADLINE_RESAMPLES",
    "MODEL_DEFAULTS",
    "MODEL_PATHS",
    "MODEL_SEED",
    "MODEL_STEPS",
    "TABLE_ROWS",
    "HeadlineGroup",
    "Page",
    "PageFamily",
    "build_report",
    "claim",
    "cohorts",
    "families",
    "headline",
    "headline_groups",
    "headline_rows",
    "ledger",
    "methods",
    "model_one_day_returns",
    "models",
    "prices",
    "pricing",
    "register",
    "report_pages",
    "step_text",
    "study",
    "summary_rows",
    "unregister",
    "venue",
    "venue_metric_set",
]
