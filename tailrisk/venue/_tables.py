"""The static tables of a population: each side's accounts in trigger order.

Accounts of each side are sorted once by liquidation price (longs descending, shorts ascending,
ties by account index). With isolated margin a liquidation price never changes, so the accounts
triggered so far on a side are always a *prefix* of that order: the triggered, liquidated and
open sets are two integers per side and path, and batch sums ("how much quantity, bankruptcy
value and margin sits in positions k..j") are differences of prefix sums. "How many are
triggered at this mark" is one gather in a table over a uniform grid of log prices plus a
branchless search over the few accounts of neighbouring cells (:func:`search_grid`,
:func:`count_triggered`), so a check costs O(1) gathers whatever the population size.
"""

from __future__ import annotations

import math
import threading
import weakref
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._accounts import Accounts
from ._ops import on_device


class Side(NamedTuple):
    """One side's accounts in trigger order; arrays of shape (n,) unless said otherwise."""

    lq: jax.Array  # liquidation price, with one sentinel at the end (+-inf): shape (n + 1,)
    lq_key: jax.Array  # ascending search key: -lq for longs, lq for shorts, padded with +inf
    #: the trigger-count lookup table (see search_grid): counts at the edges of a uniform grid
    #: of -sign log(price), its origin and inverse width
    grid_start: jax.Array
    grid_y0: jax.Array
    grid_inv_w: jax.Array
    q: jax.Array  # contracts
    entry: jax.Array
    bank: jax.Array  # bankruptcy price
    m_per_q: jax.Array  # margin per contract, M/q = E/L
    mmr: jax.Array
    exempt: jax.Array
    recourse: jax.Array
    cap: jax.Array
    cohort: jax.Array
    index: jax.Array  # original account index
    index_rank: jax.Array  # position of each account in account-index order within the side
    by_index: jax.Array  # the inverse: trigger-order positions of the accounts by account index
    cap_order: jax.Array  # positions sorted by pro-rata cap (stable), for the water-filling
    cum_q: jax.Array  # static prefix sums, shape (n + 1,)
    cum_qb: jax.Array
    cum_qm: jax.Array
    # per-cohort prefix sums for the fast settlement, shape (cohorts, n + 1)
    coh_q: jax.Array
    coh_qe: jax.Array
    coh_m: jax.Array
    recourse_pos: jax.Array  # positions of recourse accounts in this side's order


def prepare_side(acc: Accounts, sign: int, dtype) -> Side:
    """Sort one side's accounts into trigger order and tabulate the prefix sums."""
    sel = np.flatnonzero(acc.side == sign)
    lq = acc.liquidation_price[sel]
    order = np.lexsort((sel, -lq if sign > 0 else lq))
    idx = sel[order]
    q = acc.quantity[idx]
    bank = acc.bankruptcy_price[idx]
    mpq = acc.entry[idx] / acc.leverage[idx]
    rank = np.empty(len(idx), np.int32)
    rank[np.argsort(idx, kind="stable")] = np.arange(len(idx))
    sentinel = -np.inf if sign > 0 else np.inf
    f = partial(on_device, dtype=dtype)
    key = acc.liquidation_price[idx] * -sign
    start, y0, inv_w, pad = search_grid(acc.liquidation_price[idx], sign, dtype)

    def cum(x):
        return f(np.concatenate([[0.0], np.cumsum(x)]))

    n_coh = len(acc.cohort_names)
    onehot = acc.cohort[idx][None, :] == np.arange(n_coh)[:, None]

    def coh_cum(x):
        return f(np.concatenate([np.zeros((n_coh, 1)), np.cumsum(onehot * x, axis=1)], axis=1))

    return Side(
        coh_q=coh_cum(q), coh_qe=coh_cum(q * acc.entry[idx]), coh_m=coh_cum(q * mpq),
        recourse_pos=on_device(np.flatnonzero(acc.recourse[idx]), jnp.int32),
        lq=f(np.append(acc.liquidation_price[idx], sentinel)),
        lq_key=f(np.append(key, np.full(pad, np.inf))), grid_start=on_device(start, jnp.int32),
        grid_y0=f(y0), grid_inv_w=f(inv_w), q=f(q), entry=f(acc.entry[idx]),
        bank=f(bank), m_per_q=f(mpq), mmr=f(acc.mmr[idx]), exempt=on_device(acc.exempt[idx]),
        recourse=on_device(acc.recourse[idx]), cap=f(acc.cap[idx]),
        cohort=on_device(acc.cohort[idx], jnp.int32), index=on_device(idx, jnp.int32),
        index_rank=on_device(rank), by_index=on_device(np.argsort(rank), jnp.int32),
        cap_order=on_device(np.argsort(acc.cap[idx], kind="stable"), jnp.int32),
        cum_q=cum(q), cum_qb=cum(q * bank), cum_qm=cum(q * mpq),
    )


# The sorted tables of a population, per dtype, kept while the population lives (an Accounts is
# frozen): every chunk of a run reuses them instead of sorting the accounts again.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def side_tables(acc: Accounts, dtype) -> tuple[Side, Side]:
    key = jnp.dtype(dtype).name
    with _CACHE_LOCK:
        cached = _CACHE.setdefault(acc, {})
        if key not in cached:
            cached[key] = (prepare_side(acc, 1, dtype), prepare_side(acc, -1, dtype))
        return cached[key]


def search_grid(lq: np.ndarray, sign: int, dtype) -> tuple[np.ndarray, float, float, int]:
    """Lookup table that turns the trigger count into one gather and a few comparisons.

    In trigger order the accounts' ``y = -sign log(lq)`` ascend, and an account is triggered at
    the mark when its ``y`` is at most ``-sign log(mark)``. On a uniform grid of ``y`` with G
    buckets, ``start[b]`` counts the accounts below edge ``b``; the count at a mark in bucket
    ``b`` lies in ``[start[b - 1], start[b + 2]]`` (one bucket of slack each way absorbs the
    rounding of ``log`` on the device: the width is kept at least 16 ulps of the largest ``|y|``).
    The exact count in that range is found by a branchless binary search over the exact keys, in
    ``log2(pad)`` comparisons where ``pad`` bounds the range's length. Returns start (G + 1,),
    y0, 1/width and pad (a power of two).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        y = -sign * np.log(np.where(lq > 0, lq, 0.0))  # lq <= 0: never (longs) triggered
    fin = y[np.isfinite(y)]
    if fin.size == 0 or fin[-1] <= fin[0]:
        y0, width, g = (float(fin[0]) if fin.size else 0.0), 1.0, 1
    else:
        y0, span = float(fin[0]), float(fin[-1] - fin[0])
        ulp = float(np.finfo(dtype).eps) * max(1.0, float(np.max(np.abs(fin))))
        g = int(max(1, min(4 * fin.size, 1 << 22, span / (16.0 * ulp))))
        width = span / g * (1.0 + 1e-9)
    start = np.searchsorted(y, y0 + width * np.arange(g + 1), side="left")
    b = np.arange(g)
    span_len = start[np.minimum(b + 2, g)] - start[np.maximum(b - 1, 0)]
    occupancy = int(span_len.max()) if g else 0
    # the search covers [lo, lo + pad) and needs pad > occupancy of the widest range
    pad = 1 << max(0, math.ceil(math.log2(occupancy + 1)))
    return start.astype(np.int32), y0, 1.0 / width, pad


def count_triggered(side: Side, sign: int, mark: jax.Array) -> jax.Array:
    """Accounts triggered at the mark: a prefix of the side's order, by liquidation price.

    One gather in the lookup table of :func:`search_grid`, then a branchless binary search over
    the few accounts of the neighbouring buckets; equal to ``searchsorted(lq_key, key, "right")``.
    """
    n = side.q.shape[0]
    pad = side.lq_key.shape[0] - n
    g = side.grid_start.shape[0] - 1
    key = -mark if sign > 0 else mark
    y = -sign * jnp.log(mark)
    b = jnp.clip((y - side.grid_y0) * side.grid_inv_w, 0.0, g - 1).astype(jnp.int32)
    pos = side.grid_start.at[jnp.maximum(b - 1, 0)].get(mode="promise_in_bounds")
    step = pad // 2
    while step >= 1:
        probe = side.lq_key.at[pos + step - 1].get(mode="promise_in_bounds")
        pos = jnp.where(probe <= key, pos + step, pos)
        step //= 2
    return pos
