"""The kernel's settings: numeric ones traced (a sweep over their values compiles once) and
static ones that shape the compiled program.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax

from ..config.venue import VenueConfig
from ._ops import on_device


class Params(NamedTuple):
    """Numeric venue settings: traced, so a sweep over their values does not recompile."""

    capacity: jax.Array
    eta: jax.Array
    beta_impact: jax.Array
    depth: jax.Array
    gamma: jax.Array
    fee: jax.Array
    fund: jax.Array
    floor: jax.Array
    drawdown: jax.Array
    capital: jax.Array
    token_beta: jax.Array
    token_sigma: jax.Array
    token_cojump: jax.Array
    cojump_threshold: jax.Array
    recourse_default_prob: jax.Array
    #: settle every path account by account (tests); traced, so that a test of it shares the
    #: compiled program of the same venue
    exact_settlement: jax.Array


def venue_params(v: VenueConfig, dtype, exact_settlement: bool = False) -> Params:
    f = partial(on_device, dtype=dtype)
    return Params(
        capacity=f(v.capacity), eta=f(v.eta), beta_impact=f(v.beta_impact), depth=f(v.depth),
        gamma=f(v.gamma), fee=f(v.fee), fund=f(v.fund), floor=f(v.floor),
        drawdown=f(v.drawdown if v.drawdown is not None else 1.0), capital=f(v.capital),
        token_beta=f(v.token_beta), token_sigma=f(v.token_sigma), token_cojump=f(v.token_cojump),
        cojump_threshold=f(v.cojump_threshold),
        recourse_default_prob=f(v.recourse_default_prob),
        exact_settlement=on_device(exact_settlement, bool),
    )


class Static(NamedTuple):
    """Everything that shapes the compiled program."""

    policy: str
    max_rounds: int
    check_every: int
    drawdown_slots: int  # 0 when the drawdown rule is off
    fund_in_token: bool
    has_capacity: bool  # False when capacity is infinite: no capacity search at all
    settle_window: int  # accounts per side settled one by one on the fast path
    block: int  # paths handled together by one ADL block
    pool: int  # private account rows for this many paths (0 for policies that keep positions)
    compact: int  # paths per batch of a check (only the paths with something to do are checked)
    events: bool  # the event schedule (run_events) instead of a scan over every step
    lanes: int  # batch sizes are multiples of this (see simulate_venue)
    #: rows of haircuts handed to the host for their Gini coefficient (a CPU: see
    #: _settlement.gini_of_rows); 0: the kernel computes the Gini itself (a GPU)
    gini_rows: int = 0
    #: steps (1-based) at which each probe's payoff, had it closed there, is recorded (options
    #: on damped assets at several maturities: _probe_marks); () records none
    probe_steps: tuple[int, ...] = ()
