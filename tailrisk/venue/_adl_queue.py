"""Queue ADL policies: rank the winners, close the highest ranks first (docs/venue.md).

``queue_bitmex``, ``queue_binance``, ``queue_hyperliquid``, ``queue_leverage`` rank by a score of
profit and leverage; ``random`` (dYdX v4) walks the candidates from a random start. Every queue
becomes integer keys (a score's float bits, or a place in the walk), and :func:`queue_close` finds
the marginal key by bisection, with no sort.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._ops import int_type, prefix_count, prefix_sum
from ._tables import Side


def _score(policy: str, side: Side, r, mark, upnl_unit, sign: int):
    """Queue score of each account of one side at the mark (higher goes first); ``r`` open
    contracts, ``upnl_unit`` the PnL per contract ``s (P - E)``."""
    margin = side.m_per_q * r
    equity = margin + r * upnl_unit
    safe_eq = jnp.where(equity > 0, equity, 1.0)
    eff_lev = jnp.where(equity > 0, r * mark / safe_eq, jnp.inf)
    if policy == "queue_bitmex":
        return (upnl_unit / side.entry) * eff_lev
    if policy == "queue_binance":
        return (jnp.maximum(0.0, r * upnl_unit) / jnp.maximum(1.0, margin)
                * (side.mmr * r * mark) / safe_eq)
    if policy == "queue_hyperliquid":
        if sign < 0:  # shorts: E / P in place of P / E (docs/venue.md)
            eq = side.m_per_q * r + r * upnl_unit
            return (side.entry / mark) * jnp.where(eq > 0, r * mark / jnp.where(eq > 0, eq, 1),
                                                   jnp.inf)
        return (mark / side.entry) * eff_lev
    if policy == "queue_leverage":
        return eff_lev
    raise ValueError(policy)


def queue_keys(policy: str, side: Side, cand, r, mark, upnl_unit, sign: int, u) -> jax.Array:
    """Integer queue keys of one side's accounts (higher closes first; -1: not a candidate).

    Score queues use the score's bit pattern: candidates' scores are >= 0 (binance's is 0 at a
    zero maintenance rate) or +inf, and nonnegative floats order like their bits read as
    integers. ``random`` (``u``: the path's uniform) walks the candidates in account-index order
    cyclically from ``floor(u n_c)``: a candidate's place in the walk is (its rank among the
    candidates - start) mod n_c, and its key ``n_c - place``.
    """
    if policy == "random":
        n_c = jnp.sum(cand)
        rank = (prefix_count(cand[side.by_index]) - 1)[side.index_rank]
        start = jnp.floor(u * n_c).astype(jnp.int32)
        place = jnp.mod(rank - start, jnp.maximum(n_c, 1))
        return jnp.where(cand, n_c - place, -1).astype(jnp.int32)
    score = _score(policy, side, r, mark, upnl_unit, sign)
    bits = jax.lax.bitcast_convert_type(jnp.where(cand & (score > 0), score, 0.0),
                                        int_type(score.dtype))
    return jnp.where(cand, bits, -1)


def queue_close(key, r_c, qa, opp: Side):
    """Contracts each account gives up when a queue closes ``qa`` contracts: highest ``key``
    first, equal keys in account-index order (``key`` < 0: not a candidate, holds nothing).

    No sort: a bisection over the integer keys finds the marginal key ``tau`` with
    ``sum(r_c[key > tau]) < qa <= sum(r_c[key >= tau])``; accounts above it close in full and the
    accounts at it close in account-index order, which is what walking the sorted queue gives.
    O(N log K) for K possible keys, against O(N log N) with a large constant for a sort.
    """
    top = jnp.iinfo(key.dtype).max
    cand = key >= 0

    def halve(bounds):  # invariant: S(lo) >= qa > S(hi), S(t) = sum of r_c over key >= t
        lo, hi = bounds
        mid = lo + (hi - lo) // 2
        ok = jnp.sum(jnp.where(key >= mid, r_c, 0.0)) >= qa
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    # between the smallest candidate key (S = all candidates >= qa) and one past the largest
    # (S = 0): log2 of the keys' spread halvings (13 for the random policy's ranks at 10,000
    # accounts, up to 31 for the bit patterns of queue scores)
    bounds = (jnp.min(jnp.where(cand, key, top)), jnp.max(jnp.where(cand, key, -1)) + 1)
    lo, _ = jax.lax.while_loop(lambda b: b[1] - b[0] > 1, halve, bounds)
    full = key > lo
    rem = qa - jnp.sum(jnp.where(full, r_c, 0.0))
    tied = jnp.where(key == lo, r_c, 0.0)[opp.by_index]  # in account-index order
    c_tied = jnp.clip(rem - (prefix_sum(tied) - tied), 0.0, tied)[opp.index_rank]
    return jnp.where(qa > 0, jnp.where(full, r_c, c_tied), 0.0)
