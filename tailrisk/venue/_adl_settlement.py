"""ADL at settlement: ``socialized_at_settlement`` and ``none`` (docs/venue.md).

Both let the fund and then the venue's capital pay during the run (``socialized_at_settlement``
books what the fund cannot cover as a deficit: ``_liquidation.shortfall_to_capital``); at the
horizon the first claws the deficit back pro rata from the period's net winners (Deribit,
the 2018 OKEx clawback), the second pays winners pro rata from what is left once the capital is
spent (the platform blows up).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._settings import Params
from ._state import State


def claw_back(policy: str, pay: jax.Array, exempt: jax.Array, s: State, prm: Params):
    """Settlement's clawback on one path. ``pay``: every account's payoff before it (USD, shape
    ``(accounts,)``); ``exempt``: accounts never deleveraged.

    Returns the payoffs after the clawback, the state (capital injected, deficit), the USD
    recovered from winners and the capital the venue had injected at its peak (before winners
    paid some back), which decides insolvency. Other policies pass through.
    """
    recovered = jnp.zeros((), pay.dtype)
    peak_capital = s.capital_injected
    if policy == "socialized_at_settlement":
        # the deficit accumulated during the run, pro rata from the period's net winners
        win = (pay > 0) & ~exempt
        tot = jnp.sum(jnp.where(win, pay, 0.0))
        frac = jnp.where(tot > 0, jnp.minimum(1.0, s.deficit / jnp.where(tot > 0, tot, 1.0)), 0.0)
        take = jnp.where(win, pay * frac, 0.0)
        recovered = jnp.sum(take)
        pay = pay - take
        s = s._replace(capital_injected=s.capital_injected + s.deficit - recovered,
                       deficit=jnp.zeros_like(s.deficit))
        peak_capital = s.capital_injected
    elif policy == "none":
        # past its capital the venue is insolvent: winners are paid pro rata from what is left
        excess = jnp.maximum(s.capital_injected - prm.capital, 0.0)
        win = pay > 0
        tot = jnp.sum(jnp.where(win, pay, 0.0))
        frac = jnp.where(tot > 0, jnp.minimum(1.0, excess / jnp.where(tot > 0, tot, 1.0)), 0.0)
        take = jnp.where(win, pay * frac, 0.0)
        recovered = jnp.sum(take)
        pay = pay - take
        s = s._replace(capital_injected=s.capital_injected - recovered)
    return pay, s, recovered, peak_capital


def claws_back(policy: str, s: State, prm: Params, tol) -> jax.Array:
    """Whether settlement claws money back on each path (then the path is settled account by
    account): a deficit left to socialise, or capital spent past the venue's own."""
    if policy == "socialized_at_settlement":
        return s.deficit > tol
    if policy == "none":
        return s.capital_injected > prm.capital + tol
    return jnp.zeros(s.fund.shape, bool)
