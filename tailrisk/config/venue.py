"""``[venue]`` and ``[venue.population]``: one venue's settings and its accounts (docs/venue.md).

Plain pydantic, no jax: the venue kernel and the reference read these, and nothing here reads
them. Prices and money in USD, quantities in contracts. Every number is finite except
``venue.capacity``, whose default ``inf`` means an unlimited engine; money is at most 1e18 USD,
leverage from 0.01 to 1,000, volatilities at most 10 per sqrt(year) (bounds in :mod:`._base`).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ._base import (
    MAX_ACCOUNTS,
    MAX_CHUNK,
    MAX_MONEY,
    Leverage,
    Money,
    PositiveOrInf,
    Price,
    Probability,
    Volatility,
)
from ._base import Frozen as _Frozen

Policy = Literal[
    "queue_bitmex",
    "queue_binance",
    "queue_hyperliquid",
    "queue_leverage",
    "random",
    "contract_pro_rata",
    "pro_rata",
    "socialized_at_settlement",
    "none",
]
POLICIES: tuple[str, ...] = get_args(Policy)
CONTRACT_POLICIES = POLICIES[:6]
PNL_POLICIES = ("pro_rata",)
SETTLEMENT_POLICIES = ("socialized_at_settlement", "none")

#: a position's quantity in contracts (a probe's, or a CSV row's): positive, at most 1e15
MAX_QUANTITY = 1e15
Quantity = Annotated[float, Field(gt=0, le=MAX_QUANTITY)]
#: a USD amount that must not be zero
_PositiveMoney = Annotated[float, Field(gt=0, le=MAX_MONEY)]


class ProbeConfig(_Frozen):
    """A small account that takes part in ADL like any other but cannot move the venue."""

    name: str
    side: Literal["long", "short"]
    #: entry price in USD (1e-8 to 1e12); None means the start price s0
    entry: Price | None = None
    leverage: Leverage = 10.0
    quantity: Quantity = 1e-6
    exempt: bool = False


class PopulationConfig(_Frozen):
    """How to build the accounts: a CSV file, or a generator."""

    #: CSV with columns side,quantity,entry,leverage[,mmr,exempt,recourse,cohort,cap]
    csv: str | None = None
    n_accounts: Annotated[int, Field(ge=1, le=MAX_ACCOUNTS)] = 10_000
    #: leverage levels (0.01 to 1,000) and their weights; each account's leverage is a level
    #: times exp(Uniform(-leverage_jitter, leverage_jitter)), so leverages are continuous
    leverage_levels: tuple[Leverage, ...] = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    leverage_weights: tuple[Annotated[float, Field(ge=0, le=1e6)], ...] = (
        0.15, 0.25, 0.3, 0.15, 0.1, 0.05)
    leverage_jitter: Annotated[float, Field(ge=0, le=1)] = 0.1
    #: position notional at entry: lognormal (median USD, at most 1e12; log-sd at most 5) with a
    #: Pareto tail of whales (from whale_min_usd, at most 1e12)
    size_median_usd: Annotated[float, Field(gt=0, le=1e12)] = 5_000.0
    size_sigma: Annotated[float, Field(ge=0, le=5)] = 1.2
    whale_share: Probability = 0.01
    whale_alpha: Annotated[float, Field(gt=0.5, le=100)] = 1.5
    whale_min_usd: Annotated[float, Field(gt=0, le=1e12)] = 1_000_000.0
    long_share: Probability = 0.55
    #: entries are spread over a back-cast of the last entry_days days (at most 36,500) at
    #: entry_vol (annual, at most 10)
    entry_days: Annotated[float, Field(ge=0, le=36_500)] = 30.0
    entry_vol: Volatility = 0.6
    #: maintenance margin tiers: (notional from, in USD; rate in [0, 1)), ascending
    mm_tiers: tuple[tuple[Money, Annotated[float, Field(ge=0, lt=1)]], ...] = (
        (0.0, 0.004),
        (50_000.0, 0.005),
        (250_000.0, 0.01),
        (1_000_000.0, 0.025),
        (10_000_000.0, 0.05),
    )
    exempt_largest: Annotated[int, Field(ge=0, le=MAX_ACCOUNTS)] = 0
    exempt_share: Probability = 0.0
    exempt_ids: tuple[Annotated[int, Field(ge=0, lt=MAX_ACCOUNTS)], ...] = ()
    recourse_largest: Annotated[int, Field(ge=0, le=MAX_ACCOUNTS)] = 0
    recourse_share: Probability = 0.0
    recourse_ids: tuple[Annotated[int, Field(ge=0, lt=MAX_ACCOUNTS)], ...] = ()
    #: leverage bucket edges for the default cohorts "long/short x leverage bucket"
    cohort_leverage_edges: tuple[Leverage, ...] = (3.0, 15.0, 40.0)
    #: generated cohorts: "leverage" (side x leverage bucket) or "adl_rank" (side x bucket of the
    #: account's place in a BitMEX-style ADL queue at the start price, plus "not in profit")
    cohort_by: Literal["leverage", "adl_rank"] = "leverage"
    adl_rank_buckets: Annotated[int, Field(ge=1, le=20)] = 5
    probes: tuple[ProbeConfig, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> PopulationConfig:
        if len(self.leverage_levels) != len(self.leverage_weights):
            raise ValueError(
                f"venue.population.leverage_weights has {len(self.leverage_weights)} entries: "
                f"must match leverage_levels ({len(self.leverage_levels)})"
            )
        if sum(self.leverage_weights) <= 0:
            raise ValueError("venue.population.leverage_weights: must not all be zero")
        froms = [t[0] for t in self.mm_tiers]
        if not self.mm_tiers or froms[0] != 0 or froms != sorted(froms):
            raise ValueError(
                f"venue.population.mm_tiers = {list(self.mm_tiers)}: must start at notional 0 "
                "and be ascending"
            )
        if list(self.cohort_leverage_edges) != sorted(self.cohort_leverage_edges):
            raise ValueError("venue.population.cohort_leverage_edges: must be ascending")
        return self


class VenueConfig(_Frozen):
    """One venue: check cadence, engine, impact, insurance fund, ADL policy, capital."""

    policy: Policy = "queue_bitmex"
    #: marks are checked every check_every steps (1 = every step of the grid)
    check_every: Annotated[int, Field(ge=1, le=MAX_CHUNK)] = 1
    #: liquidate -> impact -> re-check rounds within one check
    max_rounds: Annotated[int, Field(ge=1, le=64)] = 16
    #: engine capacity, USD notional per side per check; inf (the default) means unlimited
    capacity: PositiveOrInf = math.inf
    #: impact: fill = P exp(-side * eta * (V / depth) ** beta_impact); gamma of it is permanent.
    #: eta at most 10 (eta = 1e3 overflows float32 prices on some paths), beta_impact in
    #: [0.1, 10] (near 0 it underflows in float32 and 0 ** 0 = 1 gives impact without volume),
    #: depth from 1 USD to 1e18 USD
    eta: Annotated[float, Field(ge=0, le=10)] = 0.0
    beta_impact: Annotated[float, Field(ge=0.1, le=10)] = 0.5
    depth: Annotated[float, Field(ge=1, le=MAX_MONEY)] = 1e9
    gamma: Probability = 0.5
    fee: Annotated[float, Field(ge=0, lt=1)] = 0.0005
    #: insurance fund F_0 and the floor below which ADL (or capital) takes over, USD (at most
    #: 1e18)
    fund: Money = 1_000_000.0
    floor: Money = 0.0
    #: optional drawdown trigger: ADL when the fund would fall more than this share within
    #: the window
    drawdown: Annotated[float, Field(gt=0, le=1)] | None = None
    drawdown_window: Annotated[int, Field(ge=1, le=MAX_CHUNK)] = 32
    #: the venue's own capital K, USD (at most 1e18); past it the venue is insolvent
    capital: Money = 0.0
    fund_in_token: bool = False
    #: the fund token's log return: token_beta (within +-10) times the asset's, plus
    #: token_sigma (annual, at most 10) noise, plus a co-jump of token_cojump (log units, at
    #: most 10) when the asset falls more than cojump_threshold (log units, up to 10) in a step
    token_beta: Annotated[float, Field(ge=-10, le=10)] = 1.5
    token_sigma: Volatility = 0.8
    token_cojump: Annotated[float, Field(ge=0, le=10)] = 0.0
    cojump_threshold: Annotated[float, Field(gt=0, le=10)] = 0.05
    recourse_default_prob: Probability = 0.5
    population: PopulationConfig = PopulationConfig()
