"""The replay's accounts: matched to Hyperliquid's per-account ADL data, scaled to the venue.

The shorts come from :func:`tailrisk.studies.hyperliquid._matched_population` (reused, not
copied): the side Hyperliquid deleveraged on 2025-10-10 gets the data's position sizes (a
lognormal through the quartiles of ``account value x real-time leverage``, with the data's share
of whales above 1M USD) and a leverage mix back-solved so that their effective leverage after the
day's fall has the data's quantiles. The longs, which the data do not describe, get the
generator's default leverage mix (2-100x) and lognormal sizes without its Pareto whales: scaled
up to the venue, a whale would be one account of a third of the open interest, liquidated in one
piece whatever the engine's capacity.

Scale: the shorts keep the data's sizes (``replay.n_accounts`` of them; Hyperliquid deleveraged
2,081 BTC accounts, ``adl_by_coin_REALTIME.csv``), and the longs' quantities, which the data do
not describe, are multiplied by one factor. With ``open_interest_usd`` given, the factor makes
the longs' notional at entry equal to it. Without it the factor is calibrated so that the
recorded-path run liquidates what Hyperliquid liquidated in BTC (1.79B USD,
``total_impact_results.json``): a fixed-point iteration ``k <- k x recorded / model`` (impact
makes the map nonlinear; a few rounds settle it). That number is then matched by construction,
and the comparison says so; the others (ADL notional and count, timing, ADL'd notional per
account) are not fitted.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["long_open_interest", "matched_accounts", "scaled"]


def matched_accounts(users: dict[str, np.ndarray], n_accounts: int, s0: float, drop: float,
                     seed: int):
    """``n_accounts`` longs and ``n_accounts`` shorts (cohorts "long", "short"), unscaled."""
    from ...venue import PopulationConfig, generate_population
    from ...venue._accounts import Accounts
    from ..hyperliquid import _matched_population

    matched = _matched_population(users, n_accounts, s0, drop, seed)
    shorts = matched.take(np.flatnonzero(matched.side < 0))
    longs = generate_population(
        PopulationConfig(n_accounts=n_accounts, long_share=1.0, whale_share=0.0,
                         cohort_leverage_edges=()), s0, seed)
    cat = {f: np.r_[getattr(longs, f), getattr(shorts, f)]
           for f in ("side", "quantity", "entry", "leverage", "mmr", "exempt", "recourse", "cap")}
    return Accounts(**cat, cohort=np.r_[np.zeros(longs.n, np.int64), np.ones(shorts.n, np.int64)],
                    cohort_names=("long", "short"))


def long_open_interest(acc) -> float:
    """The longs' notional at entry, USD."""
    return float(np.sum(acc.quantity * acc.entry * (acc.side > 0)))


def scaled(acc, factor: float):
    """``acc`` with the longs' quantities multiplied by ``factor`` (margins follow; maintenance
    rates unchanged)."""
    return dataclasses.replace(acc, quantity=acc.quantity * np.where(acc.side > 0, factor, 1.0))
