"""PnL-space ADL (``pro_rata``): positions stay open, winners' PnL is haircut.

The deficit is taken from the candidates' positive PnL by capped water-filling (docs/venue.md):
haircut fractions ``min(lambda, cap_i)`` with the haircuts summing to the deficit.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._ops import prefix_sum
from ._state import SideState
from ._tables import Side


def water_fill(w, cap, gap, order):
    """Capped water-filling: x = min(lam, cap) w with sum x = gap (all at cap if that is short).

    ``order`` sorts ``cap`` ascending (static: caps are account settings).
    """
    total_cap = jnp.sum(cap * w)
    cs, ws = cap[order], w[order]
    # f(lam) = sum_{cap <= lam} cap w + lam sum_{cap > lam} w, evaluated at each breakpoint cap_k
    below = prefix_sum(cs * ws)
    above = jnp.sum(ws) - prefix_sum(ws)
    f_at = below + cs * above
    k = jnp.searchsorted(f_at, gap, side="left")  # first breakpoint reaching the gap
    below_prev = jnp.where(k > 0, below[jnp.maximum(k - 1, 0)], 0.0)
    above_prev = jnp.where(k > 0, above[jnp.maximum(k - 1, 0)], jnp.sum(ws))
    lam = jnp.where(above_prev > 0, (gap - below_prev) / jnp.where(above_prev > 0, above_prev, 1.0),
                    0.0)
    x = jnp.minimum(lam, cap) * w
    return jnp.where(total_cap <= gap, cap * w, x)


def haircut_pnl(opp: Side, os_: SideState, sign_o: int, mark, gap):
    r = jnp.maximum(opp.q - os_.closed, 0.0)
    h = os_.h
    n = r.shape[0]
    w = sign_o * r * (mark - opp.entry) - h  # winnings net of haircuts already recorded
    cand = (jnp.arange(n) >= os_.n_trig) & ~opp.exempt & (r > 0) & (w > 0)
    w = jnp.where(cand, w, 0.0)
    x = water_fill(w, opp.cap, gap, opp.cap_order)
    h = h + x
    os_ = os_._replace(h=h, cum_h=jnp.concatenate([jnp.zeros((1,), h.dtype), prefix_sum(h)]))
    return os_, jnp.sum(x), jnp.sum(x > 0).astype(jnp.int32)
