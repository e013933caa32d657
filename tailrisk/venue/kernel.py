"""The fast venue kernel: liquidations, insurance fund and ADL for a chunk of paths (docs/venue.md).

Layout. Accounts of each side are sorted once by liquidation price (longs descending, shorts
ascending, ties by account index). With isolated margin a liquidation price never changes, so the
accounts triggered so far on a side are always a *prefix* of that order: the triggered, liquidated
and open sets are two integers per side and path. Batch sums ("how much quantity, bankruptcy value,
margin and recorded haircut sits in positions k..j") are differences of prefix sums. "How many are
triggered at this mark" is one gather in a table over a uniform grid of log prices plus a
branchless search over the few accounts of neighbouring cells (``_search_grid``), so a check costs
O(1) gathers whatever the population size. Only ADL events touch the accounts one by one, and only
on the paths that have one: queue policies find the marginal account by bisection on the integer
image of the scores (``_queue_close``), with no sort.

Execution. Between two checks that do something a path's state does not change (without a
drawdown rule or a fund held in the venue's token), so by default each path jumps to its next
check with something to do (``_next_check``: a search over its prices in blocks of checks) and
the paths run their checks side by side, each at its own step, in one batch that shrinks as
paths run out of checks (``_run_events``). Otherwise a ``lax.scan`` runs over the steps for the
whole chunk and, at a check, only the paths that trigger something are gathered into batches
(``_check_active``). The two schedules give the same numbers. The ADL logic runs only on the
paths whose fund cannot absorb a batch, gathered into small blocks (``_blocks_map``).
Per-account state that a policy's ADL changes (closes, proceeds, haircuts and their prefix sums)
lives in a pool of rows: row 0 is the static table shared by every path, and a path gets a
private row at its first ADL event; the pool's buffers pass from one chunk to the next.
Settlement costs O(cohorts) per path except on paths where ADL changed positions or the
settlement claws money back, which are settled account by account. Diagnostics are reduced as
the paths go, so memory does not grow with the number of steps.
"""

from __future__ import annotations

import math
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._codemaps import relieve_code_maps
from ._accounts import Accounts
from ._random import adl_uniform, recourse_uniform, token_normals
from ._schema import CONTRACT_POLICIES, PNL_POLICIES, POLICIES, VenueConfig

__all__ = ["OUTPUT_KEYS", "SCHEDULES", "bench_venue", "simulate_venue"]

OUTPUT_KEYS = (
    "fund_final", "fund_min", "shortfall", "capital_injected", "insolvent", "net_insolvent_debt",
    "liquidated_notional", "liquidated_count", "adl_notional", "adl_count", "adl_events",
    "backlog_max", "backlog_final", "converged", "fees", "pnl_rest", "token_revaluation",
    "winners", "winners_touched", "max_haircut_pct", "gini_haircut", "haircut_total", "overshoot",
    "covered",
)
#: how the kernel walks the grid: "events" jumps each path to its next check with something to
#: do, "scan" visits every check; "auto" takes "events" where it applies (no drawdown rule, fund
#: in USD). The numbers are the same.
SCHEDULES = ("auto", "events", "scan")


# ----------------------------------------------------------------------------- static tables


class _Side(NamedTuple):
    """One side's accounts in trigger order; arrays of shape (n,) unless said otherwise."""

    lq: jax.Array  # liquidation price, with one sentinel at the end (+-inf): shape (n + 1,)
    lq_key: jax.Array  # ascending search key: -lq for longs, lq for shorts, padded with +inf
    #: the trigger-count lookup table (see _search_grid): counts at the edges of a uniform grid
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


def _prepare_side(acc: Accounts, sign: int, dtype) -> _Side:
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
    f = partial(jnp.asarray, dtype=dtype)
    key = acc.liquidation_price[idx] * -sign
    start, y0, inv_w, pad = _search_grid(acc.liquidation_price[idx], sign, dtype)

    def cum(x):
        return f(np.concatenate([[0.0], np.cumsum(x)]))

    n_coh = len(acc.cohort_names)
    onehot = acc.cohort[idx][None, :] == np.arange(n_coh)[:, None]

    def coh_cum(x):
        return f(np.concatenate([np.zeros((n_coh, 1)), np.cumsum(onehot * x, axis=1)], axis=1))

    return _Side(
        coh_q=coh_cum(q), coh_qe=coh_cum(q * acc.entry[idx]), coh_m=coh_cum(q * mpq),
        recourse_pos=jnp.asarray(np.flatnonzero(acc.recourse[idx]), jnp.int32),
        lq=f(np.append(acc.liquidation_price[idx], sentinel)),
        lq_key=f(np.append(key, np.full(pad, np.inf))), grid_start=jnp.asarray(start, jnp.int32),
        grid_y0=f(y0), grid_inv_w=f(inv_w), q=f(q), entry=f(acc.entry[idx]),
        bank=f(bank), m_per_q=f(mpq), mmr=f(acc.mmr[idx]), exempt=jnp.asarray(acc.exempt[idx]),
        recourse=jnp.asarray(acc.recourse[idx]), cap=f(acc.cap[idx]),
        cohort=jnp.asarray(acc.cohort[idx], jnp.int32), index=jnp.asarray(idx, jnp.int32),
        index_rank=jnp.asarray(rank), by_index=jnp.asarray(np.argsort(rank), jnp.int32),
        cap_order=jnp.asarray(np.argsort(acc.cap[idx], kind="stable"), jnp.int32),
        cum_q=cum(q), cum_qb=cum(q * bank), cum_qm=cum(q * mpq),
    )


# The sorted tables of a population, per dtype, kept while the population lives (an Accounts is
# frozen): every chunk of a run reuses them instead of sorting the accounts again.
_SIDES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SIDES_LOCK = threading.Lock()


def _sides(acc: Accounts, dtype) -> tuple[_Side, _Side]:
    key = jnp.dtype(dtype).name
    with _SIDES_LOCK:
        cached = _SIDES.setdefault(acc, {})
        if key not in cached:
            cached[key] = (_prepare_side(acc, 1, dtype), _prepare_side(acc, -1, dtype))
        return cached[key]


class _Params(NamedTuple):
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


def _params(v: VenueConfig, dtype) -> _Params:
    f = partial(jnp.asarray, dtype=dtype)
    return _Params(
        capacity=f(v.capacity), eta=f(v.eta), beta_impact=f(v.beta_impact), depth=f(v.depth),
        gamma=f(v.gamma), fee=f(v.fee), fund=f(v.fund), floor=f(v.floor),
        drawdown=f(v.drawdown if v.drawdown is not None else 1.0), capital=f(v.capital),
        token_beta=f(v.token_beta), token_sigma=f(v.token_sigma), token_cojump=f(v.token_cojump),
        cojump_threshold=f(v.cojump_threshold),
        recourse_default_prob=f(v.recourse_default_prob),
    )


class _Static(NamedTuple):
    """Everything that shapes the compiled program."""

    policy: str
    max_rounds: int
    check_every: int
    drawdown_slots: int  # 0 when the drawdown rule is off
    fund_in_token: bool
    has_capacity: bool  # False when capacity is infinite: no capacity search at all
    settle_window: int  # accounts per side settled one by one on the fast path
    exact_settlement: bool  # settle every path account by account (tests)
    block: int  # paths handled together by one ADL block
    pool: int  # private account rows for this many paths (0 for policies that keep positions)
    compact: int  # paths per batch of a check (only the paths with something to do are checked)
    events: bool  # the event schedule (_run_events) instead of a scan over every step
    lanes: int  # batch sizes are multiples of this (see simulate_venue)


# ----------------------------------------------------------------------------- chunk state
# Every per-path field has a leading axis of paths. The per-account rows (prefix sums, ADL closes
# and proceeds) live in a *pool* with a leading axis of pool + 1: row 0 holds the static tables
# and is shared by every path that has not had ADL; a path gets a private row (its ``slot``) at
# its first ADL event. ADL is rare, so a pool much smaller than the chunk serves; when it runs
# out the chunk is run again in smaller batches where every path can have a row (the numbers do
# not depend on where a path's row lives).


class _SideState(NamedTuple):
    n_trig: jax.Array  # accounts triggered so far (a prefix of the side's order), (paths,)
    n_done: jax.Array  # accounts liquidated so far, (paths,)
    cap_used: jax.Array  # notional taken by the engine in the current check, (paths,)
    cum_r: jax.Array  # prefix sums of remaining contracts, (pool + 1, n + 1)
    cum_rb: jax.Array  # ... of remaining contracts x bankruptcy price
    cum_h: jax.Array  # ... of recorded PnL haircuts
    closed: jax.Array  # contracts closed by ADL per account, (pool + 1, n)
    h: jax.Array  # recorded PnL haircut per account, USD, (pool + 1, n)
    g: jax.Array  # realised ADL proceeds per account, (pool + 1, n)


class _State(NamedTuple):
    long: _SideState
    short: _SideState
    impact: jax.Array  # cumulative permanent impact factor I
    fund: jax.Array
    fund_min: jax.Array
    capital_injected: jax.Array
    deficit: jax.Array  # socialized_at_settlement's accumulated deficit D
    shortfall: jax.Array
    covered: jax.Array
    liq_notional: jax.Array
    liq_count: jax.Array
    adl_notional: jax.Array
    adl_count: jax.Array
    adl_events: jax.Array
    backlog_max: jax.Array
    fees: jax.Array
    rest_dq: jax.Array  # contracts the rest account bought in unwinds (signed)
    rest_dqx: jax.Array  # ... and what it paid for them
    converged: jax.Array
    token_reval: jax.Array
    dd_hist: jax.Array  # fund at the end of the last checks (drawdown rule), (paths, slots)
    dd_ptr: jax.Array
    slot: jax.Array  # the path's row in the pools (0: the shared static row), (paths,)
    pool_next: jax.Array  # rows handed out so far (may exceed the pool: then the chunk reruns)


def _pooled(policy: str) -> tuple[str, ...]:
    """The per-account rows that a policy's ADL changes: those get a row per path with ADL in
    the pool; the others stay one static row shared by every path."""
    if policy in CONTRACT_POLICIES:
        return ("cum_r", "cum_rb", "closed", "g")
    if policy in PNL_POLICIES:
        return ("cum_h", "h")
    return ()


def _static_rows(ss: _SideState, policy: str) -> dict:
    """The rows a policy never changes, as plain per-account vectors (their one row)."""
    return {f: getattr(ss, f)[0] for f in _ROWS if f not in _pooled(policy)}


def _static_row(side: _Side, field: str) -> jax.Array:
    """Row 0 of a per-account field: its value on a path that has had no ADL."""
    if field == "cum_r":
        return side.cum_q
    if field == "cum_rb":
        return side.cum_qb
    return jnp.zeros_like(side.cum_q if field == "cum_h" else side.q)


def _pool_shapes(sides, st: _Static):
    """Shapes of the pooled rows, (long, short) dicts of field: (pool + 1, accounts [+ 1])."""
    return tuple({f: (st.pool + 1, _static_row(side, f).shape[0]) for f in _pooled(st.policy)}
                 for side in sides)


def _init_side(side: _Side, n: int, st: _Static, buffers: dict | None = None) -> _SideState:
    """A side's initial state. The pooled rows use ``buffers`` when given (their contents do not
    matter: row 0 is set here, and a path's row is filled at its first ADL event)."""
    zi = jnp.zeros((n,), jnp.int32)
    pooled = _pooled(st.policy)
    rows = {}
    for f in _ROWS:
        row = _static_row(side, f)
        if f not in pooled:
            rows[f] = row[None]
        elif buffers is not None:
            rows[f] = buffers[f].at[0].set(row)
        else:
            rows[f] = jnp.broadcast_to(row, (st.pool + 1, *row.shape))
    return _SideState(n_trig=zi, n_done=zi, cap_used=jnp.zeros((n,), side.q.dtype), **rows)


def _init_state(sides, prm: _Params, st: _Static, n: int, dtype, buffers=(None, None)) -> _State:
    z = jnp.zeros((n,), dtype)
    zi = jnp.zeros((n,), jnp.int32)
    fund = jnp.full((n,), prm.fund, dtype)
    return _State(
        long=_init_side(sides[0], n, st, buffers[0]), short=_init_side(sides[1], n, st, buffers[1]),
        impact=jnp.ones((n,), dtype), fund=fund, fund_min=fund, capital_injected=z, deficit=z,
        shortfall=z, covered=z, liq_notional=z, liq_count=zi, adl_notional=z, adl_count=zi,
        adl_events=zi, backlog_max=z, fees=z, rest_dq=z, rest_dqx=z,
        converged=jnp.ones((n,), bool), token_reval=z,
        dd_hist=jnp.full((n, max(st.drawdown_slots, 1)), prm.fund, dtype), dd_ptr=zi,
        slot=zi, pool_next=jnp.zeros((), jnp.int32),
    )


# ----------------------------------------------------------------------------- row access


def _at(rows: jax.Array, slot: jax.Array, j: jax.Array) -> jax.Array:
    """rows[slot[path], j[path]] for every path; with a pool of one row, rows[0, j]."""
    if rows.shape[0] == 1:
        return rows[0, j]  # one gather; rows[0][j] would copy the whole row first
    return rows[slot, j]


def _row_search(rows: jax.Array, slot: jax.Array, thresh: jax.Array) -> jax.Array:
    """First k with rows[slot, k] >= thresh (rows ascending along axis 1), per path."""
    if rows.shape[0] == 1:
        return jnp.searchsorted(rows[0], thresh, side="left").astype(jnp.int32)
    n_cols = rows.shape[1]
    lo = jnp.zeros(thresh.shape, jnp.int32)
    hi = jnp.full(thresh.shape, n_cols, jnp.int32)
    for _ in range(max(1, math.ceil(math.log2(n_cols + 1)))):
        mid = (lo + hi) // 2
        ok = _at(rows, slot, jnp.minimum(mid, n_cols - 1)) >= thresh
        lo, hi = jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)
    return lo


def _search_grid(lq: np.ndarray, sign: int, dtype) -> tuple[np.ndarray, float, float, int]:
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


def _count_triggered(side: _Side, sign: int, mark: jax.Array) -> jax.Array:
    """Accounts triggered at the mark: a prefix of the side's order, by liquidation price.

    One gather in the lookup table of :func:`_search_grid`, then a branchless binary search over
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


def _int_type(dtype):
    """The integer type as wide as a float dtype (for moving or ordering float bit patterns)."""
    return jnp.int64 if dtype == jnp.float64 else jnp.int32


def _power(x, b):
    """x ** b for x >= 0, b > 0, as exp(b log x): several times cheaper than XLA's pow on a CPU."""
    return jnp.exp(b * jnp.log(x))  # log 0 = -inf gives 0


def _prefix_sum(x: jax.Array) -> jax.Array:
    """Inclusive prefix sum along the last axis, as an associative scan: XLA lowers cumsum to
    a reduce-window, several times slower on a CPU."""
    return jax.lax.associative_scan(jnp.add, x, axis=-1)


def _prefix_count(flags: jax.Array) -> jax.Array:
    """Inclusive running count of a boolean vector (int32)."""
    return _prefix_sum(flags.astype(jnp.int32))


def _compact(mask: jax.Array, pad: int) -> tuple[jax.Array, jax.Array]:
    """The indices where ``mask`` holds, in order, then zeros (length ``len(mask) + pad``), and
    their count: each index's place is its rank among the set flags, then one scatter (a sort
    would cost far more on a CPU). Ranks come from the flags packed 32 to a word: a prefix sum
    of the words' population counts plus the population count of the bits below in the word."""
    n = mask.shape[0]
    words = -(-n // 32)
    flags = jnp.pad(mask, (0, words * 32 - n)).reshape(words, 32).astype(jnp.uint32)
    shifts = jnp.arange(32, dtype=jnp.uint32)
    packed = jnp.sum(flags << shifts, axis=1, dtype=jnp.uint32)
    per_word = jax.lax.population_count(packed).astype(jnp.int32)
    before = _prefix_sum(per_word) - per_word
    below = (jnp.uint32(1) << shifts) - jnp.uint32(1)
    rank = before[:, None] + jax.lax.population_count(packed[:, None] & below).astype(jnp.int32)
    place = jnp.where(mask, rank.reshape(-1)[:n], n + pad)
    order = jnp.zeros((n + pad,), jnp.int32).at[place].set(jnp.arange(n, dtype=jnp.int32),
                                                           mode="drop")
    return order, jnp.sum(per_word)


def _pending(side: _Side, ss: _SideState, sign: int, mark: jax.Array) -> jax.Array:
    """Whether the next untriggered account of this side is triggered at the mark."""
    nxt = side.lq[ss.n_trig]
    return (mark <= nxt) if sign > 0 else (mark >= nxt)


def _shortfall_to_capital(s: _State, prm: _Params, policy: str) -> _State:
    gap = jnp.maximum(prm.floor - s.fund, 0.0)
    if policy == "socialized_at_settlement":
        s = s._replace(deficit=s.deficit + gap)
    else:
        s = s._replace(capital_injected=s.capital_injected + gap)
    return s._replace(fund=s.fund + gap, shortfall=s.shortfall + gap)


def _scores(policy: str, side: _Side, r, mark, u):
    """Queue scores of one side's accounts at the mark (higher goes first)."""
    upnl_unit = u  # s (P - E) per contract
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
        return (mark / side.entry) * eff_lev  # caller passes E/P for shorts via a swap below
    if policy == "queue_leverage":
        return eff_lev
    raise ValueError(policy)


def _water_fill(w, cap, gap, order):
    """Capped water-filling: x = min(lam, cap) w with sum x = gap (all at cap if that is short).

    ``order`` sorts ``cap`` ascending (static: caps are account settings).
    """
    total_cap = jnp.sum(cap * w)
    cs, ws = cap[order], w[order]
    # f(lam) = sum_{cap <= lam} cap w + lam sum_{cap > lam} w, evaluated at each breakpoint cap_k
    below = _prefix_sum(cs * ws)
    above = jnp.sum(ws) - _prefix_sum(ws)
    f_at = below + cs * above
    k = jnp.searchsorted(f_at, gap, side="left")  # first breakpoint reaching the gap
    below_prev = jnp.where(k > 0, below[jnp.maximum(k - 1, 0)], 0.0)
    above_prev = jnp.where(k > 0, above[jnp.maximum(k - 1, 0)], jnp.sum(ws))
    lam = jnp.where(above_prev > 0, (gap - below_prev) / jnp.where(above_prev > 0, above_prev, 1.0),
                    0.0)
    x = jnp.minimum(lam, cap) * w
    return jnp.where(total_cap <= gap, cap * w, x)


def _queue_close(key, r_c, qa, opp: _Side):
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
    c_tied = jnp.clip(rem - (_prefix_sum(tied) - tied), 0.0, tied)[opp.index_rank]
    return jnp.where(qa > 0, jnp.where(full, r_c, c_tied), 0.0)


def _adl(policy: str, opp: _Side, os_: _SideState, sign_o: int, mark, close_px, want, least,
         u):
    """Close up to ``want`` contracts of the opposite side's candidates at ``close_px``.

    Returns the updated side state, the contracts closed and the number of accounts touched.
    """
    # per-account quantities come from exact rows, not from differences of prefix sums
    r = jnp.maximum(opp.q - os_.closed, 0.0)
    n = r.shape[0]
    upnl_unit = sign_o * (mark - opp.entry)
    # a winner at the mark that would lose at the close price is no candidate (docs/venue.md)
    cand = ((jnp.arange(n) >= os_.n_trig) & ~opp.exempt & (r > 0) & (upnl_unit > 0)
            & (sign_o * (close_px - opp.entry) > 0))
    r_c = jnp.where(cand, r, 0.0)
    avail = jnp.sum(r_c)
    qa = jnp.minimum(want, avail)
    qa = jnp.where(qa > least, qa, 0.0)  # a close of round-off size closes nothing
    if policy == "contract_pro_rata":
        frac = jnp.where(avail > 0, qa / jnp.where(avail > 0, avail, 1.0), 0.0)
        c = r_c * frac
    elif policy == "random":
        n_c = jnp.sum(cand)
        # candidates in account-index order, cyclically from floor(U n_c): the queue place of a
        # candidate is (its rank among candidates - start) mod n_c; key = n_c - place
        cand_i = cand[opp.by_index]
        rank = (_prefix_count(cand_i) - 1)[opp.index_rank]
        start = jnp.floor(u * n_c).astype(jnp.int32)
        place = jnp.mod(rank - start, jnp.maximum(n_c, 1))
        c = _queue_close(jnp.where(cand, n_c - place, -1).astype(jnp.int32), r_c, qa, opp)
    else:
        if policy == "queue_hyperliquid" and sign_o < 0:
            eq = opp.m_per_q * r + r * upnl_unit
            score = (opp.entry / mark) * jnp.where(eq > 0, r * mark / jnp.where(eq > 0, eq, 1),
                                                   jnp.inf)
        else:
            score = _scores(policy, opp, r, mark, upnl_unit)
        # candidates' scores are >= 0 (binance's is 0 at a zero maintenance rate) or +inf, and
        # nonnegative floats order like their bit patterns read as integers
        bits = jax.lax.bitcast_convert_type(jnp.where(cand & (score > 0), score, 0.0),
                                            _int_type(score.dtype))
        c = _queue_close(jnp.where(cand, bits, -1), r_c, qa, opp)
    r_new = r - c
    g = os_.g + c * sign_o * (close_px - opp.entry)
    z = jnp.zeros((1,), r.dtype)
    os_ = os_._replace(
        cum_r=jnp.concatenate([z, _prefix_sum(r_new)]),
        cum_rb=jnp.concatenate([z, _prefix_sum(r_new * opp.bank)]),
        closed=os_.closed + c,
        g=g,
    )
    rel = 1e-9 if r.dtype == jnp.float64 else 1e-6
    return os_, qa, jnp.sum(c > rel * qa).astype(jnp.int32)  # residue is no touch


def _haircut(opp: _Side, os_: _SideState, sign_o: int, mark, gap):
    r = jnp.maximum(opp.q - os_.closed, 0.0)
    h = os_.h
    n = r.shape[0]
    w = sign_o * r * (mark - opp.entry) - h  # winnings net of haircuts already recorded
    cand = (jnp.arange(n) >= os_.n_trig) & ~opp.exempt & (r > 0) & (w > 0)
    w = jnp.where(cand, w, 0.0)
    x = _water_fill(w, opp.cap, gap, opp.cap_order)
    h = h + x
    os_ = os_._replace(h=h, cum_h=jnp.concatenate([jnp.zeros((1,), h.dtype), _prefix_sum(h)]))
    return os_, jnp.sum(x), jnp.sum(x > 0).astype(jnp.int32)


def _target(s: _State, prm: _Params, st: _Static):
    if st.drawdown_slots == 0:
        return jnp.full(s.fund.shape, prm.floor, s.fund.dtype)
    level = (1.0 - prm.drawdown) * jnp.maximum(jnp.max(s.dd_hist, axis=1), s.fund)
    return jnp.maximum(prm.floor, level)


_ROWS = ("cum_r", "cum_rb", "cum_h", "closed", "h", "g")


def _adl_blocks(fn, need, s: _State, opp_is_long: bool, extra, st: _Static):
    """Run the per-path ADL ``fn(side_state_1, *extra_1) -> (side state, amount, touched)`` on
    the opposite side of the paths where ``need`` holds; return the state and (amount, touched).

    A path without a private row gets the next one of the pool first, on both sides, filled from
    the static row 0 (a reused pool holds another chunk's rows). Only those paths' rows are
    gathered (in blocks of ``block``) and written back, so a check whose batches the fund absorbs
    costs nothing here; paths without ADL get zeros.
    """
    n = need.shape[0]
    new = need & (s.slot == 0)
    rank = _prefix_count(new)
    slot = jnp.where(new, s.pool_next + rank, s.slot)
    s = s._replace(slot=slot, pool_next=s.pool_next + rank[-1])
    os_, own = (s.long, s.short) if opp_is_long else (s.short, s.long)
    scalars = os_._replace(**dict.fromkeys(_ROWS))
    pooled, fixed = _pooled(st.policy), _static_rows(os_, st.policy)

    def one(rows, args):
        sc, *ex = args
        new_side, amount, touched = fn(sc._replace(**rows[0], **fixed), *ex)
        # this side's rows pass through: a new path's row gets its static values
        return ({f: getattr(new_side, f) for f in pooled}, rows[1]), (amount, touched)

    out = (jnp.zeros((n,), os_.cap_used.dtype), jnp.zeros((n,), jnp.int32))
    pool = ({f: getattr(os_, f) for f in pooled}, {f: getattr(own, f) for f in pooled})
    # most checks need no ADL anywhere: skip the block loop (and any copy of the rows) entirely
    out, pool = jax.lax.cond(
        jnp.any(need),
        lambda: _blocks_map(one, need, (scalars, *extra), out, st.block, pool=pool, slot=slot,
                            read_slot=jnp.where(new, 0, slot)),
        lambda: (out, pool))
    os_, own = os_._replace(**pool[0]), own._replace(**pool[1])
    s = s._replace(long=os_, short=own) if opp_is_long else s._replace(short=os_, long=own)
    return s, out


def _batch(s: _State, sides, sign: int, mark, rnd, active, prm: _Params, st: _Static, tol):
    """Steps 2-4 of a round for one side, for all paths at once; returns state, unwound notional."""
    opp = sides[1] if sign > 0 else sides[0]
    ss = s.long if sign > 0 else s.short
    dtype = mark.dtype
    # engine: take backlog accounts while the notional taken before them is below capacity
    j = ss.n_trig
    if st.has_capacity:
        left = prm.capacity - ss.cap_used
        thresh = _at(ss.cum_r, s.slot, ss.n_done) + jnp.where(left > 0, left / mark, -1.0)
        j_cap = _row_search(ss.cum_r[:, :-1], s.slot, thresh)
        j = jnp.where(left > 0, jnp.clip(j_cap, ss.n_done, ss.n_trig), ss.n_done)
    j = jnp.where(active, j, ss.n_done)
    # differences of prefix sums can come out a hair below zero in float32: clamp
    qty = jnp.maximum(_at(ss.cum_r, s.slot, j) - _at(ss.cum_r, s.slot, ss.n_done), 0.0)
    qb = _at(ss.cum_rb, s.slot, j) - _at(ss.cum_rb, s.slot, ss.n_done)
    hcut = _at(ss.cum_h, s.slot, j) - _at(ss.cum_h, s.slot, ss.n_done)
    has = qty > 0
    bbar = qb / jnp.where(has, qty, 1.0)
    fill = mark * jnp.exp(-sign * prm.eta * _power(qty * mark / prm.depth, prm.beta_impact))
    r_x = sign * (qty * fill - qb) - hcut
    target = _target(s, prm, st)
    fund_x = s.fund + r_x
    qa = jnp.zeros(qty.shape, dtype)
    if st.policy in CONTRACT_POLICIES:
        close_px = jnp.maximum(bbar, mark) if sign > 0 else jnp.minimum(bbar, mark)
        gap = target - fund_x
        event = has & (gap > tol)  # a gap within round-off is no gap
        denom = sign * qty * (close_px - fill)
        phi = jnp.where((denom > 0) & event,
                        jnp.clip(gap / jnp.where(denom > 0, denom, 1.0), 0.0, 1.0), 0.0)
        rel = 1e-9 if dtype == jnp.float64 else 1e-6
        need = phi > rel  # below that the close is round-off (docs/venue.md, Tolerances)

        seed, path_index, step, k = rnd

        def fn(o, m, c, want, least, path, t):
            # the random policy's start point, drawn for this path only (docs/venue.md)
            uu = (adl_uniform(seed, path, t, k).astype(m.dtype) if st.policy == "random"
                  else jnp.zeros((), m.dtype))
            return _adl(st.policy, opp, o, -sign, m, c, want, least, uu)

        s, (qa, touched) = _adl_blocks(
            fn, need, s, sign < 0, (mark, close_px, phi * qty, rel * qty, path_index, step), st)
        covered = sign * qa * (close_px - fill)
        fund_x = fund_x + covered
        # when the candidates sufficed the fund sits exactly at its target (no float residue)
        fund_x = jnp.where(need & (qa >= phi * qty) & (gap < denom), jnp.maximum(fund_x, target),
                           fund_x)
        s = s._replace(
            adl_notional=s.adl_notional + qa * close_px,
            adl_count=s.adl_count + touched,
            adl_events=s.adl_events + event.astype(jnp.int32),
            covered=s.covered + covered,
        )
    elif st.policy in PNL_POLICIES:
        gap = target - fund_x
        need = has & (gap > tol)

        def fn(o, m, g):
            return _haircut(opp, o, -sign, m, g)

        s, (paid, touched) = _adl_blocks(fn, need, s, sign < 0, (mark, jnp.maximum(gap, 0.0)),
                                         st)
        fund_x = fund_x + paid
        fund_x = jnp.where(need & (paid >= gap * (1 - 1e-6)), jnp.maximum(fund_x, target),
                           fund_x)
        s = s._replace(
            adl_notional=s.adl_notional + paid,
            adl_count=s.adl_count + touched,
            adl_events=s.adl_events + need.astype(jnp.int32),
            covered=s.covered + paid,
        )
    unwound = jnp.maximum(qty - qa, 0.0)
    liq_count = s.liq_count + (j - ss.n_done)
    # ADL may have filled this side's pool row of a path too (a new row): read the side again
    ss = (s.long if sign > 0 else s.short)._replace(n_done=j, cap_used=ss.cap_used + qty * mark)
    s = s._replace(
        fund=fund_x,
        liq_notional=s.liq_notional + qty * mark,
        liq_count=liq_count,
        fees=s.fees + prm.fee * qty * fill,
        rest_dq=s.rest_dq + sign * unwound,
        rest_dqx=s.rest_dqx + sign * unwound * fill,
    )
    s = s._replace(long=ss) if sign > 0 else s._replace(short=ss)
    s = _shortfall_to_capital(s, prm, st.policy)
    s = s._replace(fund_min=jnp.minimum(s.fund_min, s.fund))
    return s, unwound * mark


def _round(s: _State, sides, price, rnd, active, prm: _Params, st: _Static, tol):
    sl, ss_ = sides
    mark = price * s.impact
    trig_l = jnp.maximum(s.long.n_trig, _count_triggered(sl, 1, mark))
    trig_s = jnp.maximum(s.short.n_trig, _count_triggered(ss_, -1, mark))
    s = s._replace(long=s.long._replace(n_trig=jnp.where(active, trig_l, s.long.n_trig)),
                   short=s.short._replace(n_trig=jnp.where(active, trig_s, s.short.n_trig)))
    s, v_long = _batch(s, sides, 1, mark, rnd, active, prm, st, tol)
    s, v_short = _batch(s, sides, -1, mark, rnd, active, prm, st, tol)
    push = prm.gamma * prm.eta
    move = (-push * _power(v_long / prm.depth, prm.beta_impact)
            + push * _power(v_short / prm.depth, prm.beta_impact))
    return s._replace(impact=s.impact * jnp.exp(move))


def _needs_round(s: _State, sides, price) -> jax.Array:
    mark = price * s.impact
    return _pending(sides[0], s.long, 1, mark) | _pending(sides[1], s.short, -1, mark)


def _backlog(s: _State) -> jax.Array:
    """Contracts waiting in the engine's backlog (both sides), per path."""
    return ((_at(s.long.cum_r, s.slot, s.long.n_trig) - _at(s.long.cum_r, s.slot, s.long.n_done))
            + (_at(s.short.cum_r, s.slot, s.short.n_trig)
               - _at(s.short.cum_r, s.slot, s.short.n_done)))


def _check(s: _State, sides, price, path_index, step, prm: _Params, st: _Static, seed: int, tol,
           valid):
    """One check for a batch of paths: rounds until nothing new is triggered anywhere or
    max_rounds. ``valid`` marks the real paths of the batch, which are exactly the paths with
    something to do (a newly triggered account or a backlog: see _check_active); the others
    come out unchanged but for ``cap_used``, which only lives within a check. ``step`` is the
    grid step of the check, one per path or one for all."""
    step = jnp.broadcast_to(step, path_index.shape)
    zero = jnp.zeros_like(s.fund)
    s = s._replace(long=s.long._replace(cap_used=zero), short=s.short._replace(cap_used=zero))
    active = valid

    def cond(c):
        k, _, active = c
        return (k < st.max_rounds) & jnp.any(active)

    def body(c):
        k, s, active = c
        # the random policy's uniform is drawn only on the paths that run ADL (_batch)
        s = _round(s, sides, price, (seed, path_index, step, k), active, prm, st, tol)
        return k + 1, s, _needs_round(s, sides, price) & valid

    _, s, _ = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), s, active))
    backlog = jnp.maximum(s.backlog_max, _backlog(s) * price * s.impact)
    return s._replace(converged=s.converged & ~(_needs_round(s, sides, price) & valid),
                      backlog_max=jnp.where(valid, backlog, s.backlog_max),
                      fund_min=jnp.minimum(s.fund_min, s.fund))


# In the scan the per-path state is packed into two matrices, one row a path (floats, ints), so
# that gathering the paths of a check and writing them back is one row gather and one row scatter
# each instead of one per field. The pools of account rows and their counter stay apart.
_FLOATS = ("impact", "fund", "fund_min", "capital_injected", "deficit", "shortfall", "covered",
           "liq_notional", "adl_notional", "backlog_max", "fees", "rest_dq", "rest_dqx",
           "token_reval")
_INTS = ("liq_count", "adl_count", "adl_events", "dd_ptr", "slot")
_NEXT = len(_FLOATS) + 2  # columns of the next untriggered liquidation price, long and short


def _pack(s: _State, sides):
    """(state matrix (paths, columns), shared (pool rows, pool counter)).

    One row a path: the float fields, each side's next untriggered liquidation price (so that
    finding the paths with something to do at a check reads three columns and gathers nothing),
    the drawdown history, then the integer fields with their bits stored as floats of the same
    width (moved, never computed on), so a batch is one row gather and one row scatter.
    """
    dtype = s.fund.dtype
    floats = [getattr(s, k).astype(dtype) for k in _FLOATS]
    floats += [s.long.cap_used.astype(dtype), s.short.cap_used.astype(dtype),
               sides[0].lq[s.long.n_trig], sides[1].lq[s.short.n_trig]]
    ints = [getattr(s, k) for k in _INTS] + [
        s.converged, s.long.n_trig, s.long.n_done, s.short.n_trig, s.short.n_done]
    ints = jnp.stack([a.astype(_int_type(dtype)) for a in ints], axis=1)
    mat = jnp.concatenate([jnp.stack(floats, axis=1), s.dd_hist.astype(dtype),
                           jax.lax.bitcast_convert_type(ints, dtype)], axis=1)
    shared = ({f: getattr(s.long, f) for f in _ROWS}, {f: getattr(s.short, f) for f in _ROWS},
              s.pool_next)
    return mat, shared


_N_INTS = len(_INTS) + 5


def _ints(mat) -> jax.Array:
    """The integer columns of a state matrix, int32."""
    bits = jax.lax.bitcast_convert_type(mat[:, -_N_INTS:], _int_type(mat.dtype))
    return bits.astype(jnp.int32)


def _unpack(mat, shared) -> _State:
    nf, ni = len(_FLOATS), len(_INTS)
    it = _ints(mat)
    rows_l, rows_s, pool_next = shared
    return _State(
        long=_SideState(n_trig=it[:, ni + 1], n_done=it[:, ni + 2], cap_used=mat[:, nf],
                        **rows_l),
        short=_SideState(n_trig=it[:, ni + 3], n_done=it[:, ni + 4], cap_used=mat[:, nf + 1],
                         **rows_s),
        converged=it[:, ni] != 0, dd_hist=mat[:, nf + 4: -_N_INTS], pool_next=pool_next,
        **{k: mat[:, j] for j, k in enumerate(_FLOATS)},
        **{k: it[:, j] for j, k in enumerate(_INTS)},
    )


def _check_active(mat, shared, sides, price, path_index, step, prm: _Params, st: _Static,
                  seed: int, tol):
    """One check for every path (packed state), run only on the paths with something to do.

    Typically a small share of the paths trigger anything at a given check, so those paths are
    gathered (in path order) into batches of ``st.compact`` and checked there; every other path
    is left exactly as it is, which is what the check would do to it. Every path is computed by
    the same program on batches of the same size, so its numbers do not depend on the others.
    """
    n = mat.shape[0]
    k_size = st.compact
    mark = price * mat[:, 0]  # impact
    todo = (mark <= mat[:, _NEXT]) | (mark >= mat[:, _NEXT + 1])
    if st.has_capacity:  # a backlog waits for the next check
        ni, it = len(_INTS), _ints(mat)
        todo = todo | (it[:, ni + 2] < it[:, ni + 1]) | (it[:, ni + 4] < it[:, ni + 3])
    order, count = _compact(todo, k_size)

    def body(c):
        b, mat, shared = c
        idx = jax.lax.dynamic_slice_in_dim(order, b * k_size, k_size)
        valid = (b * k_size + jnp.arange(k_size)) < count
        sub = _unpack(mat[idx], shared)
        sub = _check(sub, sides, price[idx], path_index[idx], step, prm, st, seed, tol, valid)
        mat_k, shared = _pack(sub, sides)
        return b + 1, mat.at[jnp.where(valid, idx, n)].set(mat_k, mode="drop"), shared

    n_batches = (count + k_size - 1) // k_size
    _, mat, shared = jax.lax.while_loop(lambda c: c[0] < n_batches, body,
                                        (jnp.zeros((), jnp.int32), mat, shared))
    if st.drawdown_slots:
        s = _unpack(mat, shared)
        s = s._replace(dd_hist=s.dd_hist.at[jnp.arange(n), s.dd_ptr].set(s.fund),
                       dd_ptr=(s.dd_ptr + 1) % st.drawdown_slots)
        mat, shared = _pack(s, sides)
    return mat, shared


# ----------------------------------------------------------------------------- event schedule
# Between two checks that do something, a path's state does not change (without a drawdown rule
# or a fund held in the venue's token). So instead of visiting every check of every path, each
# path jumps to its next check with something to do, found by a search over its prices, and the
# paths run their checks side by side, each at its own step, in one large batch. Paths run out of
# checks at different times: the batch shrinks (by 2x, 4x, then 8x, down to ``compact`` paths)
# as paths finish, so idle lanes cost little.

_EVENT_BLOCK = 16  # checks per block of the next-check search


class _Events(NamedTuple):
    price: jax.Array  # price at each check, (paths, blocks x _EVENT_BLOCK), last price repeated
    lo: jax.Array  # smallest price of each block of checks, (paths, blocks)
    hi: jax.Array  # largest
    checks: int  # checks on the grid


def _event_tables(log_prices, check_every: int) -> _Events:
    n = log_prices.shape[0]
    price = jnp.exp(log_prices[:, check_every - 1::check_every])  # checks at t = k check_every
    # computed once: XLA would otherwise fuse the exp into each of the reductions below
    price = jax.lax.optimization_barrier(price)
    checks = price.shape[1]
    nb = max(1, -(-checks // _EVENT_BLOCK))
    # the last block is padded with copies of the last price, which change no block's extremes;
    # the search never looks past the last check. (A NaN price hides its whole block from the
    # search, where a scan would still check the block's other prices; such a path settles to
    # NaN either way.)
    price = jnp.pad(price, ((0, 0), (0, nb * _EVENT_BLOCK - checks)), mode="edge")
    blocks = price.reshape(n, nb, _EVENT_BLOCK)
    return _Events(price, jnp.min(blocks, axis=2), jnp.max(blocks, axis=2), checks)


def _segments(table, start, width: int):
    """table[i, start[i]: start[i] + width] for every row i: one contiguous slice each."""
    rows = jnp.arange(table.shape[0], dtype=jnp.int32)
    return jax.vmap(lambda r, c: jax.lax.dynamic_slice(table, (r, c), (1, width))[0])(rows, start)


def _next_check(ev: _Events, done, s: _State, sides, has_capacity: bool) -> jax.Array:
    """The first check (a column, 0-based) at or after column ``done`` where each lane's path
    (the lane's row of ``ev``) has something to do, ``ev.checks`` when none: the test of
    _check_active, ``price x impact`` at or beyond a side's next untriggered liquidation price,
    or a backlog.

    The rest of the current block of checks is tested one by one; beyond it, the first block
    whose smallest or largest price triggers holds the answer (``fl(p x impact)`` is monotone in
    ``p``, so the block test is exact), and that block is tested one by one.
    """
    width = _EVENT_BLOCK
    nb = ev.lo.shape[1]
    nl = sides[0].lq[s.long.n_trig][:, None]
    ns = sides[1].lq[s.short.n_trig][:, None]
    imp = s.impact[:, None]

    def hits(p):
        mark = p * imp
        return (mark <= nl) | (mark >= ns)

    cols = jnp.arange(width, dtype=jnp.int32)
    blk = jnp.minimum(done // width, nb - 1)
    col = (blk * width)[:, None] + cols
    here = hits(_segments(ev.price, blk * width, width)) & (col >= done[:, None]) & (
        col < ev.checks)
    k_here = jnp.min(jnp.where(here, cols, width), axis=1)
    later = (jnp.arange(nb) > blk[:, None]) & ((ev.lo * imp <= nl) | (ev.hi * imp >= ns))
    b2 = jnp.min(jnp.where(later, jnp.arange(nb, dtype=jnp.int32), nb), axis=1)
    b2c = jnp.minimum(b2, nb - 1)
    # a block past the current one that triggers holds a real check that triggers
    k2 = jnp.min(jnp.where(hits(_segments(ev.price, b2c * width, width)), cols, width),
                 axis=1)
    nxt = jnp.where(k_here < width, blk * width + k_here,
                    jnp.where(b2 < nb, b2c * width + k2, ev.checks))
    if has_capacity:  # a backlog waits for the very next check
        backlog = (s.long.n_done < s.long.n_trig) | (s.short.n_done < s.short.n_trig)
        nxt = jnp.where(backlog & (done < ev.checks), done, nxt)
    return nxt


_SHRINK = (2, 4, 8)


def _event_sizes(n: int, smallest: int, lanes: int = 64) -> list[int]:
    """Batch sizes of the event schedule: n, then half, a quarter of that, then 8x smaller each
    time (multiples of ``lanes``) down to ``smallest``. Paths run out of checks gradually, so
    the first halvings pay most; every size is one more compiled copy of the check."""
    smallest = -(-max(smallest, 1) // lanes) * lanes
    sizes = [n]
    while sizes[-1] > smallest:
        shrink = _SHRINK[min(len(sizes), len(_SHRINK)) - 1]
        sizes.append(max(smallest, -(-sizes[-1] // shrink // lanes) * lanes))
    return sizes


def _run_events(state: _State, sides, log_prices, path_index, prm: _Params, st: _Static,
                seed: int, tol) -> _State:
    """Every check of every path, visiting only the checks with something to do (see above)."""
    n = log_prices.shape[0]
    ev = _event_tables(log_prices, st.check_every)  # one row a lane, moved with the lanes
    out, shared = _pack(state, sides)
    ids = jnp.arange(n, dtype=jnp.int32)  # the path in each lane; n: an empty lane
    done = jnp.zeros((n,), jnp.int32)  # checks behind each lane's path
    live = jnp.ones((n,), bool)
    s = state
    for below in [*_event_sizes(n, st.compact, st.lanes)[1:], 0]:  # the next batch's size (0: none)

        def body(c, ev=ev, paths=path_index[ids]):
            s, done, live = c
            nxt = _next_check(ev, done, s, sides, st.has_capacity)
            live = live & (nxt < ev.checks)
            col = jnp.minimum(nxt, ev.checks - 1)
            price = jnp.take_along_axis(ev.price, col[:, None], axis=1)[:, 0]
            s = _check(s, sides, price, paths, (col + 1) * st.check_every, prm, st, seed, tol,
                       live)
            return s, jnp.where(live, nxt + 1, done), live

        s, done, live = jax.lax.while_loop(lambda c, b=below: jnp.sum(c[2]) > b, body,
                                           (s, done, live))
        mat, shared = _pack(s, sides)
        out = out.at[ids].set(mat, mode="drop")  # every path of the batch, finished or not
        if below:  # the paths still running move to a smaller batch, with their tables
            order, count = _compact(live, below)
            order = order[:below]
            valid = jnp.arange(below) < count
            s = _unpack(mat[order], shared)
            ev = ev._replace(price=ev.price[order], lo=ev.lo[order], hi=ev.hi[order])
            ids = jnp.where(valid, ids[order], n)
            done, live = done[order], valid
    return _unpack(out, shared)


def _host_sort(bits: jax.Array) -> jax.Array:
    # numpy's SIMD sort runs some 30x faster than XLA's comparator sort on a CPU (measured on
    # 10,000 haircut bit patterns: 0.03-0.07 ms against 1.1-1.9 ms for 8 paths); integers sort
    # to the same result whichever sort does it
    return jax.pure_callback(lambda b: np.sort(b, axis=-1),
                             jax.ShapeDtypeStruct(bits.shape, bits.dtype), bits,
                             vmap_method="expand_dims")


def _sort_ints(bits: jax.Array) -> jax.Array:
    """Sort integers along the last axis: 32-bit ones on a CPU with numpy on the host, others
    (and all on other devices) with XLA's sort. (A callback's thread need not have 64-bit types
    enabled: it would narrow int64 arguments.)"""
    xla = partial(jax.lax.sort, is_stable=False)
    if bits.dtype.itemsize != 4:
        return xla(bits)
    return jax.lax.platform_dependent(bits, cpu=_host_sort, default=xla)


def _gini(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Gini coefficient of the nonnegative amounts x over mask (0 when all are zero)."""
    x = jnp.where(mask, jnp.maximum(x, 0.0), 0.0)
    n = jnp.sum(mask)
    # nonnegative floats sort like their bit patterns as integers, and XLA sorts integers several
    # times faster than floats (no total-order comparator)
    bits = jax.lax.bitcast_convert_type(jnp.where(mask, x, jnp.inf), _int_type(x.dtype))
    xs = jax.lax.bitcast_convert_type(_sort_ints(bits), x.dtype)
    xs = jnp.where(jnp.isfinite(xs), xs, 0.0)
    # with the masked entries sorted last and zeroed, ranks 1..n refer to the real entries
    ranks = jnp.arange(1, x.shape[0] + 1, dtype=x.dtype)
    total = jnp.sum(xs)
    g = (2.0 * jnp.sum(ranks * xs) / jnp.where(total > 0, n * total, 1.0)) - (n + 1.0) / n
    return jnp.where((total > 0) & (n > 0), g, 0.0)


def _settle_side(side: _Side, ss: _SideState, sign: int, final, u_rec, prm: _Params):
    r = jnp.maximum(side.q - ss.closed, 0.0)
    h = ss.h
    n = r.shape[0]
    liquidated = jnp.arange(n) < ss.n_done
    margin_left = side.m_per_q * r
    raw = sign * r * (final - side.entry) - h
    open_pay = jnp.maximum(raw, -margin_left)
    open_short = jnp.maximum(-margin_left - raw, 0.0)
    rec_default = u_rec < prm.recourse_default_prob
    rec_pay = jnp.where((raw < -margin_left) & rec_default, -margin_left, raw)
    rec_short = jnp.where((raw < -margin_left) & rec_default, -margin_left - raw, 0.0)
    payoff = ss.g + jnp.where(liquidated, -margin_left,
                              jnp.where(side.recourse, rec_pay, open_pay))
    short = jnp.sum(jnp.where(liquidated, 0.0, jnp.where(side.recourse, rec_short, open_short)))
    full_m = side.m_per_q * side.q
    und = jnp.where(liquidated, -full_m, sign * side.q * (final - side.entry))
    und = jnp.where(liquidated | side.recourse, und, jnp.maximum(und, -full_m))
    return payoff, und, short


def _settle(s: _State, sides, final, u_rec, prm: _Params, st: _Static, n_cohorts: int,
            probe_pos: jax.Array):
    pl, ul, shl = _settle_side(sides[0], s.long, 1, final, u_rec, prm)
    ps, us, shs = _settle_side(sides[1], s.short, -1, final, u_rec, prm)
    pay = jnp.concatenate([pl, ps])
    und = jnp.concatenate([ul, us])
    exempt = jnp.concatenate([sides[0].exempt, sides[1].exempt])
    s = s._replace(fund=s.fund - (shl + shs))
    s = _shortfall_to_capital(s, prm, st.policy)
    recovered = jnp.zeros((), pay.dtype)
    peak_capital = s.capital_injected
    if st.policy == "socialized_at_settlement":
        win = (pay > 0) & ~exempt
        tot = jnp.sum(jnp.where(win, pay, 0.0))
        frac = jnp.where(tot > 0, jnp.minimum(1.0, s.deficit / jnp.where(tot > 0, tot, 1.0)), 0.0)
        take = jnp.where(win, pay * frac, 0.0)
        recovered = jnp.sum(take)
        pay = pay - take
        s = s._replace(capital_injected=s.capital_injected + s.deficit - recovered,
                       deficit=jnp.zeros_like(s.deficit))
        peak_capital = s.capital_injected
    elif st.policy == "none":
        excess = jnp.maximum(s.capital_injected - prm.capital, 0.0)
        win = pay > 0
        tot = jnp.sum(jnp.where(win, pay, 0.0))
        frac = jnp.where(tot > 0, jnp.minimum(1.0, excess / jnp.where(tot > 0, tot, 1.0)), 0.0)
        take = jnp.where(win, pay * frac, 0.0)
        recovered = jnp.sum(take)
        pay = pay - take
        s = s._replace(capital_injected=s.capital_injected - recovered)
    covered = s.covered + recovered
    insolvent = peak_capital > prm.capital + _money_tolerance(sides, prm)
    winners = und > 0
    hair = und - pay
    safe_und = jnp.where(winners, und, 1.0)
    touched = winners & (jnp.abs(hair) > 1e-9 * jnp.abs(und))
    haircut_total = jnp.sum(jnp.where(winners, hair, 0.0))
    cohort = jnp.concatenate([sides[0].cohort, sides[1].cohort])
    mine = cohort[None, :] == jnp.arange(n_cohorts)[:, None]  # (cohorts, accounts)
    pos = probe_pos
    out = {
        "fund_final": s.fund,
        "fund_min": jnp.minimum(s.fund_min, s.fund),
        "shortfall": s.shortfall,
        "capital_injected": s.capital_injected,
        "insolvent": insolvent,
        "net_insolvent_debt": jnp.maximum(s.capital_injected - prm.capital, 0.0),
        **_state_outputs(s, sides, final),
        "winners": jnp.sum(winners).astype(jnp.int32),
        "winners_touched": jnp.sum(touched).astype(jnp.int32),
        "max_haircut_pct": jnp.where(
            jnp.any(winners), jnp.max(jnp.where(winners, 100.0 * hair / safe_und, -jnp.inf)), 0.0),
        "gini_haircut": _gini(jnp.where(hair > _money_tolerance(sides, prm), hair, 0.0), winners),
        "haircut_total": haircut_total,
        "overshoot": jnp.sum(hair) - covered,
        "covered": covered,
        # masked sums rather than a scatter-add, whose order a GPU's atomics would not fix
        "cohort_damped": jnp.sum(jnp.where(mine, pay, 0.0), axis=1),
        "cohort_undamped": jnp.sum(jnp.where(mine, und, 0.0), axis=1),
        "probe_damped": pay[pos],
        "probe_undamped": und[pos],
    }
    return out


def _money_tolerance(sides, prm: _Params) -> jax.Array:
    """Round-off allowance in USD: 1e-9 (float64) or 1e-6 (float32) of F_0 + all margins."""
    scale = prm.fund + sides[0].cum_qm[-1] + sides[1].cum_qm[-1]
    rel = 1e-9 if scale.dtype == jnp.float64 else 1e-6
    return rel * scale


def _state_outputs(s: _State, sides, final) -> dict:
    """Outputs read straight off a path's state (the same for both settlements)."""
    return {
        "liquidated_notional": s.liq_notional,
        "liquidated_count": s.liq_count,
        "adl_notional": s.adl_notional,
        "adl_count": s.adl_count,
        "adl_events": s.adl_events,
        "backlog_max": s.backlog_max,
        "converged": s.converged,
        "fees": s.fees,
        "pnl_rest": _rest_pnl(sides, s, final),
        "token_revaluation": s.token_reval,
    }


def _rest_pnl(sides, s: _State, final):
    """The rest account: holds -(sum s q) from the entries, plus what it bought in unwinds."""
    sl, ss_ = sides
    pos0 = -(sl.cum_q[-1] - ss_.cum_q[-1])
    cash0 = jnp.sum(sl.q * sl.entry) - jnp.sum(ss_.q * ss_.entry)
    return cash0 + pos0 * final + s.rest_dq * final - s.rest_dqx


# ----------------------------------------------------------------------------- the scan


def _blocks_map(fn, mask, inputs, outputs, block: int, pool=None, slot=None, write=True,
                read_slot=None):
    """outputs[i] = fn(inputs[i]) for the paths where mask holds, in blocks of ``block`` paths.

    With a ``pool`` (a tree of arrays with a leading axis of pool rows) path i's row is
    ``pool[slot[i]]``: then ``fn(row_i, inputs_i)`` returns ``(new_row_i, output_i)`` and the new
    rows are written back (``write``; rows past the pool are dropped). ``read_slot``, when given,
    is the row path i reads instead of its own (a path's first ADL starts from the static row
    0). Returns the outputs, and the pool when one is given.
    """
    n = mask.shape[0]
    order, count = _compact(mask, block)
    leaves = jax.tree.leaves(pool)
    size = leaves[0].shape[0] if leaves else 1  # an empty pool: every path reads row 0

    def body(carry):
        k, outputs, pool = carry
        idx = jax.lax.dynamic_slice_in_dim(order, k * block, block)
        valid = (k * block + jnp.arange(block)) < count
        ins = jax.tree.map(lambda a: a[idx], inputs)
        if pool is None:
            res = jax.vmap(fn)(ins)
        else:
            sl = slot[idx]
            rd = sl if read_slot is None else read_slot[idx]
            new_rows, res = jax.vmap(fn)(jax.tree.map(lambda a: a[rd], pool), ins)
            if write:
                # slot 0 is the shared static row: never written (fn leaves it unchanged anyway)
                at = jnp.where(valid & (sl > 0) & (sl < size), sl, size)
                pool = jax.tree.map(lambda o, r: o.at[at].set(r.astype(o.dtype), mode="drop"),
                                    pool, new_rows)
        dest = jnp.where(valid, idx, n)  # rows past the end are dropped
        outputs = jax.tree.map(lambda o, r: o.at[dest].set(r.astype(o.dtype), mode="drop"),
                               outputs, res)
        return k + 1, outputs, pool

    n_blocks = (count + block - 1) // block
    _, outputs, pool = jax.lax.while_loop(lambda c: c[0] < n_blocks, body,
                                          (jnp.zeros((), jnp.int32), outputs, pool))
    return outputs if pool is None else (outputs, pool)


def _fast_side(side: _Side, ss: _SideState, sign: int, final, u_rec, prm: _Params, window: int):
    """Cohort payoffs of one side on a path where ADL never changed a position, O(cohorts + window).

    Liquidated accounts are the prefix [0, n_done) of the trigger order and pay -M; every open
    account pays s q (S_T - E), floored at -M. The floor can only bind for accounts that the final
    mark has triggered but the engine has not liquidated, a contiguous range after n_done: those
    are handled one by one in a window of ``window`` accounts (``overflow`` when the range is
    longer). Recourse accounts default per path.
    """
    nd = ss.n_done
    n_coh = side.coh_q.shape[0]
    if side.q.shape[0] == 0:
        z = jnp.zeros((final.shape[0], n_coh), final.dtype)
        zf = jnp.zeros(final.shape, final.dtype)
        return z, z, zf, zf, jnp.zeros(final.shape, bool)
    tot = lambda a: a[:, -1][None, :]  # noqa: E731
    at = lambda a: a[:, nd].T  # noqa: E731  (paths, cohorts)
    liq = -at(side.coh_m)
    open_q = tot(side.coh_q) - at(side.coh_q)
    open_qe = tot(side.coh_qe) - at(side.coh_qe)
    pay = liq + sign * (final[:, None] * open_q - open_qe)
    und = pay
    n_side = side.q.shape[0]
    hit = _count_triggered(side, sign, final)

    def lifts():
        pos = nd[:, None] + jnp.arange(window)[None, :]
        inwin = pos < jnp.maximum(hit, nd)[:, None]
        posc = jnp.minimum(pos, n_side - 1)
        raw = sign * side.q[posc] * (final[:, None] - side.entry[posc])
        floor = -side.m_per_q[posc] * side.q[posc]
        lift = jnp.where(inwin, jnp.maximum(floor - raw, 0.0), 0.0)
        onehot = side.cohort[posc][..., None] == jnp.arange(n_coh)
        return jnp.sum(lift[..., None] * onehot, axis=1), jnp.sum(lift, axis=1)

    # usually the last check liquidated everything the final mark triggers: nothing to lift
    corr, short = jax.lax.cond(
        jnp.any(hit > nd), lifts,
        lambda: (jnp.zeros_like(pay), jnp.zeros(final.shape, final.dtype)))
    pay, und = pay + corr, und + corr
    overflow = (hit - nd) > window
    # recourse accounts: the loss beyond margin defaults with probability p
    rp = side.recourse_pos
    r_raw = sign * side.q[rp][None, :] * (final[:, None] - side.entry[rp][None, :])
    r_floor = -side.m_per_q[rp] * side.q[rp]
    default = (r_raw < r_floor) & (u_rec[:, None] < prm.recourse_default_prob)
    r_lift = jnp.where(default, r_floor - r_raw, 0.0)
    pay = pay + jnp.sum(r_lift[..., None] * (side.cohort[rp][:, None] == jnp.arange(n_coh)),
                        axis=1)
    return pay, und, short + jnp.sum(r_lift, axis=1), jnp.sum(r_lift, axis=1), overflow


_SETTLE_BLOCK = 8  # paths settled account by account together (fixed, like the ADL block)


def _settle_all(s: _State, sides, final, u_rec, prm, st, n_cohorts, probe_pos, tol):
    """Settle every path: a fast O(cohorts) settlement, and the exact per-account one (O(N)) only
    on the paths that need it (ADL changed positions, a settlement clawback, a long backlog)."""
    dtype = final.dtype
    backlog_final = _backlog(s) * final
    pl, ul, shl, dl, ovl = _fast_side(sides[0], s.long, 1, final, u_rec, prm, st.settle_window)
    ps, us, shs, ds, ovs = _fast_side(sides[1], s.short, -1, final, u_rec, prm, st.settle_window)
    fast = s._replace(fund=s.fund - (shl + shs))
    fast = _shortfall_to_capital(fast, prm, st.policy)
    n_long = sides[0].q.shape[0]
    # probes: per account, from the same rules
    side_of = probe_pos >= n_long
    k = jnp.where(side_of, probe_pos - n_long, probe_pos)

    def probe_vals(side, ss, sign):
        kk = jnp.minimum(k, side.q.shape[0] - 1)
        raw = sign * side.q[kk][None] * (final[:, None] - side.entry[kk][None])
        m = (-side.m_per_q[kk] * side.q[kk])[None]
        rec = side.recourse[kk][None]
        liq = kk[None] < ss.n_done[:, None]
        und = jnp.where(liq, m, jnp.where(rec, raw, jnp.maximum(raw, m)))
        default = rec & (raw < m) & (u_rec[:, None] < prm.recourse_default_prob)
        return jnp.where(default & ~liq, m, und), und

    probe = probe_und = jnp.zeros((final.shape[0], probe_pos.shape[0]), dtype)
    for side, ss, sign, mine in ((sides[0], s.long, 1, ~side_of), (sides[1], s.short, -1, side_of)):
        if side.q.shape[0]:
            d, u = probe_vals(side, ss, sign)
            probe = jnp.where(mine[None], d, probe)
            probe_und = jnp.where(mine[None], u, probe_und)
    zi = jnp.zeros(final.shape, jnp.int32)
    zf = jnp.zeros(final.shape, dtype)
    out = {
        "fund_final": fast.fund,
        "fund_min": jnp.minimum(fast.fund_min, fast.fund),
        "shortfall": fast.shortfall,
        "capital_injected": fast.capital_injected,
        "insolvent": fast.capital_injected > prm.capital + tol,
        "net_insolvent_debt": jnp.maximum(fast.capital_injected - prm.capital, 0.0),
        **_state_outputs(s, sides, final),
        "winners": zi,
        "winners_touched": zi,
        "max_haircut_pct": zf,
        "gini_haircut": zf,
        "haircut_total": zf,
        "overshoot": -(dl + ds) - s.covered,
        "covered": s.covered,
        "cohort_damped": pl + ps,
        "cohort_undamped": ul + us,
        "probe_damped": probe,
        "probe_undamped": probe_und,
    }
    slow = (s.adl_count > 0) | ovl | ovs
    if st.policy == "socialized_at_settlement":
        slow = slow | (fast.deficit > tol)
    if st.policy == "none":
        slow = slow | (fast.capital_injected > prm.capital + tol)
    if st.exact_settlement:
        slow = jnp.ones_like(slow)
    # the rows stay in their pools; each settled path reads its own
    pooled = _pooled(st.policy)
    pool = ({f: getattr(s.long, f) for f in pooled}, {f: getattr(s.short, f) for f in pooled})
    fixed = (_static_rows(s.long, st.policy), _static_rows(s.short, st.policy))
    per_path = s._replace(long=s.long._replace(**dict.fromkeys(_ROWS)),
                          short=s.short._replace(**dict.fromkeys(_ROWS)), pool_next=None)

    def exact(rows, args):
        s1, f, u = args
        s1 = s1._replace(long=s1.long._replace(**rows[0], **fixed[0]),
                         short=s1.short._replace(**rows[1], **fixed[1]))
        res = _settle(s1, sides, f, u, prm, st, n_cohorts, probe_pos)
        return rows, {k: res[k] for k in out}

    out, _ = _blocks_map(exact, slow, (per_path, final, u_rec), out, _SETTLE_BLOCK, pool=pool,
                         slot=s.slot, write=False)
    out["backlog_final"] = backlog_final
    return out


@partial(jax.jit, static_argnames=("static", "seed", "n_cohorts"), donate_argnames=("buffers",))
def _run_chunk(sides, prm: _Params, log_prices, token_z, u_rec, path_index, probe_pos,
               log_s0, buffers=(None, None), *, static: _Static, seed: int, n_cohorts: int):
    """One chunk of paths: (outputs, pool rows handed out, the pooled rows). ``buffers`` are
    donated arrays for the pooled rows (see _init_side), returned for the next chunk."""
    n, steps = log_prices.shape
    dtype = log_prices.dtype
    tol = _money_tolerance(sides, prm)
    init = _init_state(sides, prm, static, n, dtype, buffers)
    pooled = _pooled(static.policy)

    def finish(state):
        final = jnp.exp(log_prices[:, -1]) * state.impact
        out = _settle_all(state, sides, final, u_rec, prm, static, n_cohorts, probe_pos, tol)
        rows = tuple({f: getattr(ss, f) for f in pooled} for ss in (state.long, state.short))
        return out, state.pool_next, rows

    if static.events:
        return finish(_run_events(init, sides, log_prices, path_index, prm, static, seed, tol))
    packed = _pack(init, sides)

    def step(carry, xs):
        packed, prev_log = carry
        t, logp, *z = xs
        price = jnp.exp(logp)
        if static.fund_in_token:
            state = _unpack(*packed)
            dlog = logp - prev_log
            tok = prm.token_beta * dlog + prm.token_sigma * z[0] - jnp.where(
                dlog < -prm.cojump_threshold, prm.token_cojump, 0.0)
            new_fund = state.fund * jnp.exp(tok)
            state = state._replace(token_reval=state.token_reval + new_fund - state.fund,
                                   fund=new_fund)
            state = _shortfall_to_capital(state, prm, static.policy)
            state = state._replace(fund_min=jnp.minimum(state.fund_min, state.fund))
            packed = _pack(state, sides)
        is_check = (t % static.check_every) == 0
        packed = jax.lax.cond(
            is_check,
            lambda p: _check_active(*p, sides, price, path_index, t, prm, static, seed, tol),
            lambda p: p, packed)
        return (packed, logp), None

    ts = jnp.arange(1, steps + 1, dtype=jnp.int32)
    xs = (ts, log_prices.T, token_z.T) if static.fund_in_token else (ts, log_prices.T)
    prev0 = jnp.full((n,), log_s0, dtype)
    (packed, _), _ = jax.lax.scan(step, (packed, prev0), xs)
    return finish(_unpack(*packed))


# Pooled-row buffers handed from one chunk to the next (donated, so not allocated and filled
# again for every chunk): the buffers of the last shape used, at most _BUFFERS_MAX bytes.
_BUFFERS: dict = {"key": None, "free": []}
_BUFFERS_LOCK = threading.Lock()
_BUFFERS_MAX = 1 << 28


def _buffers_key(shapes, dtype) -> tuple:
    return tuple(tuple(sorted(d.items())) for d in shapes), jnp.dtype(dtype).name


def _take_buffers(shapes, dtype):
    with _BUFFERS_LOCK:
        if _BUFFERS["key"] == _buffers_key(shapes, dtype) and _BUFFERS["free"]:
            return _BUFFERS["free"].pop()
    return tuple({f: jnp.zeros(shape, dtype) for f, shape in d.items()} for d in shapes)


def _give_buffers(shapes, dtype, buffers) -> None:
    key = _buffers_key(shapes, dtype)
    size = sum(a.nbytes for a in jax.tree.leaves(buffers))
    with _BUFFERS_LOCK:
        if _BUFFERS["key"] != key:
            _BUFFERS["key"], _BUFFERS["free"] = key, []
        if size * (len(_BUFFERS["free"]) + 1) <= _BUFFERS_MAX:
            _BUFFERS["free"].append(buffers)


def device_knobs(device=None) -> dict[str, int]:
    """Defaults of the kernel's knobs for ``device`` (default: JAX's first device).

    A CPU runs a loop iteration for little, so ADL blocks are small (2 paths) and the event
    schedule shrinks its batches down to 1,024 paths; a GPU pays a launch or more per iteration
    whatever its width, so it takes 64 paths per ADL block, stops shrinking at 16,384 and gives
    the pool of private account rows an eighth of its memory (64 MiB on a CPU). The block is a
    constant of the device kind, so a GPU's numbers do not depend on the chunking either.
    """
    device = device or jax.devices()[0]
    if device.platform == "cpu":
        return {"block": 2, "compact": 1024, "rows_budget": 1 << 26}
    stats = device.memory_stats() or {}
    limit = int(stats.get("bytes_limit", 16 << 30))
    return {"block": 64, "compact": 16_384, "rows_budget": max(1 << 26, limit // 8)}


def simulate_venue(accounts: Accounts, venue: VenueConfig, log_prices, *, s0: float, seed: int,
                   path_index, dt: float = 1 / 365, policy: str | None = None,
                   block: int | None = None, settle_window: int = 32,
                   exact_settlement: bool = False,
                   rows_budget: int | None = None, lanes: int = 64,
                   compact: int | None = None, workers: int | None = None,
                   schedule: str = "auto") -> dict[str, np.ndarray]:
    """Run the venue over a chunk of price paths.

    log_prices: log S_t for t = 1..T, shape (paths, T); ``s0`` is S_0 in USD. path_index: the
    global indices of the paths (for the venue's random numbers). ``policy`` overrides
    ``venue.policy`` (common random numbers across policies). Returns per-path numpy arrays named
    as in docs/venue.md, plus ``cohort_damped``/``cohort_undamped`` (paths, cohorts) and
    ``probe_damped``/``probe_undamped`` (paths, probes), USD. Policies that change positions give
    each path with ADL a private row of account state from a pool of at most ``rows_budget``
    bytes; a batch that needs more reruns in smaller batches (the numbers do not depend on it).

    Knobs that never change the numbers: ``compact``, the paths per batch of a check (with the
    event schedule, the smallest batch); ``schedule`` (see ``SCHEDULES``); ``rows_budget``;
    ``lanes``, the padding of batches; ``workers``, the parts of the chunk run side by side
    (default 1). ``block``, the paths per ADL block, is fixed per kind of device: XLA vectorises
    the per-account sums inside a block by its width, which can move their last bit. Defaults of
    all of these: ``device_knobs``.
    """
    relieve_code_maps()  # a long session of compiles must not exhaust the process's mappings
    policy = policy or venue.policy
    if policy not in POLICIES:
        raise ValueError(f"policy = {policy!r}: must be one of {', '.join(POLICIES)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule = {schedule!r}: must be one of {', '.join(SCHEDULES)}")
    # the event schedule needs a state that stays put between the checks that do something
    events_ok = venue.drawdown is None and not venue.fund_in_token
    if schedule == "events" and not events_ok:
        raise ValueError("schedule = 'events': needs no drawdown rule and a fund in USD "
                         "(the fund moves at every check otherwise); use 'auto' or 'scan'")
    events = schedule != "scan" and events_ok
    log_prices = jnp.asarray(log_prices)
    if log_prices.ndim != 2:
        raise ValueError(f"log_prices has shape {log_prices.shape}: expected (paths, steps)")
    dtype = log_prices.dtype
    n, steps = log_prices.shape
    path_index = jnp.asarray(path_index, jnp.uint32)
    if path_index.shape != (n,):
        raise ValueError(f"path_index has shape {path_index.shape}: expected ({n},)")
    sides = _sides(accounts, dtype)
    knobs = device_knobs(next(iter(log_prices.devices())))  # where the paths are
    block = block or knobs["block"]
    compact = compact or knobs["compact"]
    rows_budget = rows_budget or knobs["rows_budget"]
    # the checks within the window are the last floor(window / check_every) ones
    slots = 0 if venue.drawdown is None else max(1, venue.drawdown_window // venue.check_every)
    static = _Static(policy=policy, max_rounds=venue.max_rounds, check_every=venue.check_every,
                     drawdown_slots=slots, fund_in_token=venue.fund_in_token,
                     has_capacity=math.isfinite(venue.capacity),
                     settle_window=settle_window, exact_settlement=exact_settlement,
                     block=block,
                     pool=0, compact=0, events=events, lanes=lanes)
    if venue.fund_in_token:
        token_z = token_normals(seed, path_index, steps).astype(dtype) * math.sqrt(dt)
    else:
        token_z = jnp.zeros((n, 0), dtype)  # not read
    u_rec = recourse_uniform(seed, path_index).astype(dtype)
    # probes: position of each probe account in the (long-sorted, short-sorted) concatenation
    pos_of = np.empty(accounts.n, np.int64)
    pos_of[np.asarray(sides[0].index)] = np.arange(len(sides[0].q))
    pos_of[np.asarray(sides[1].index)] = len(sides[0].q) + np.arange(len(sides[1].q))
    probe_pos = jnp.asarray(pos_of[accounts.probe_index], jnp.int32)
    prm = _params(venue, dtype)
    # Batches are padded to a multiple of `lanes` paths: XLA's vectorised loops may fuse a
    # multiply-add differently in a scalar remainder, so every path must run in full vectors
    # for the numbers not to depend on the chunk size.
    sub = -(-n // lanes) * lanes
    # A private account row costs one number per account for each pooled field (4 for contract
    # policies, 2 for PnL ones); `fit` paths' rows fit in rows_budget. The pool first gets that
    # many rows for the whole chunk (ADL is rare); a batch whose paths need more reruns (see
    # `part`; the numbers are the same either way).
    per_path = len(_pooled(policy)) * (accounts.n + 2) * jnp.dtype(dtype).itemsize
    fit = max(lanes, rows_budget // per_path // lanes * lanes) if per_path else sub

    def run(lo: int, size: int, pool: int):
        hi = min(lo + size, n)
        pad = size - (hi - lo)

        def cut(a):
            a = a[lo:hi]
            return jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad > 0 else a

        st = static._replace(pool=pool, compact=min(size, compact))
        shapes = _pool_shapes(sides, st)
        res, used, buffers = _run_chunk(
            sides, prm, cut(log_prices), cut(token_z), cut(u_rec), cut(path_index), probe_pos,
            jnp.asarray(math.log(s0), dtype), _take_buffers(shapes, dtype), static=st,
            seed=seed, n_cohorts=len(accounts.cohort_names))
        _give_buffers(shapes, dtype, buffers)
        return {k: np.asarray(v)[: hi - lo] for k, v in res.items()}, int(used)

    def part(lo: int) -> dict[str, np.ndarray]:
        pool = min(sub, fit) if per_path else 0
        res, used = run(lo, sub, pool)
        if used <= pool:
            return res
        # more paths had ADL than the pool holds: rerun with a pool for all of them (a power of
        # two, so few programs get compiled) if that stays within 4x the budget, else in
        # batches of `fit` paths with a row for each
        bigger = min(sub, 1 << math.ceil(math.log2(used)))
        if bigger * per_path <= 4 * rows_budget:
            return run(lo, sub, bigger)[0]
        parts = [run(a, fit, fit)[0] for a in range(lo, min(lo + sub, n), fit)]
        return {k: np.concatenate([p[k] for p in parts]) for k in res}

    # Parts of the chunk can run side by side, one thread each (paths are independent, so the
    # numbers do not change). Off by default: XLA already splits the large fusions of one
    # program over the CPU cores, and on the 2-core benchmark machine two programs side by side
    # were slower than one (206 against 244 ms for 32,768 paths of `none`).
    workers = max(1, min(workers or 1, sub // lanes))
    if workers > 1:
        sub = -(-sub // workers // lanes) * lanes
    starts = list(range(0, n, sub))
    first = part(starts[0])  # compiles once, before the threads start
    if len(starts) > 1:
        with ThreadPoolExecutor(workers) as pool:
            outs = [first, *pool.map(part, starts[1:])]
    else:
        outs = [first]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def bench_venue(**kwargs):
    """See :func:`tailrisk.venue.bench.bench_venue`."""
    from .bench import bench_venue as run

    return run(**kwargs)
