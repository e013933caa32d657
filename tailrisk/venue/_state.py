"""The per-path state of a chunk, its packed form and the pool of per-account rows.

Every per-path field has a leading axis of paths. The per-account rows that ADL changes (prefix
sums of remaining contracts, closes, proceeds, haircuts) live in a *pool* with a leading axis of
pool + 1: row 0 holds the static tables and is shared by every path that has not had ADL; a path
gets a private row (its ``slot``) at its first ADL event. ADL is rare, so a pool much smaller
than the chunk serves; when it runs out the chunk is run again in smaller batches where every
path can have a row (the numbers do not depend on where a path's row lives). The pool's buffers
are handed from one chunk to the next (donated) instead of being allocated again.

For gathering and scattering whole paths, the state packs into one matrix, one row a path
(:func:`pack`, :func:`unpack`).
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config.venue import CONTRACT_POLICIES, PNL_POLICIES
from ._ops import int_type, on_device
from ._settings import Params, Static
from ._tables import Side


class SideState(NamedTuple):
    n_trig: jax.Array  # accounts triggered so far (a prefix of the side's order), (paths,)
    n_done: jax.Array  # accounts liquidated so far, (paths,)
    cap_used: jax.Array  # notional taken by the engine in the current check, (paths,)
    cum_r: jax.Array  # prefix sums of remaining contracts, (pool + 1, n + 1)
    cum_rb: jax.Array  # ... of remaining contracts x bankruptcy price
    cum_h: jax.Array  # ... of recorded PnL haircuts
    closed: jax.Array  # contracts closed by ADL per account, (pool + 1, n)
    h: jax.Array  # recorded PnL haircut per account, USD, (pool + 1, n)
    g: jax.Array  # realised ADL proceeds per account, (pool + 1, n)


class State(NamedTuple):
    long: SideState
    short: SideState
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


ROWS = ("cum_r", "cum_rb", "cum_h", "closed", "h", "g")


def pooled_fields(policy: str) -> tuple[str, ...]:
    """The per-account rows that a policy's ADL changes: those get a row per path with ADL in
    the pool; the others stay one static row shared by every path."""
    if policy in CONTRACT_POLICIES:
        return ("cum_r", "cum_rb", "closed", "g")
    if policy in PNL_POLICIES:
        return ("cum_h", "h")
    return ()


def static_rows(ss: SideState, policy: str) -> dict:
    """The rows a policy never changes, as plain per-account vectors (their one row)."""
    return {f: getattr(ss, f)[0] for f in ROWS if f not in pooled_fields(policy)}


def static_row(side: Side, field: str) -> jax.Array:
    """Row 0 of a per-account field: its value on a path that has had no ADL."""
    if field == "cum_r":
        return side.cum_q
    if field == "cum_rb":
        return side.cum_qb
    return jnp.zeros_like(side.cum_q if field == "cum_h" else side.q)


def pool_shapes(sides, st: Static):
    """Shapes of the pooled rows, (long, short) dicts of field: (pool + 1, accounts [+ 1])."""
    return tuple({f: (st.pool + 1, static_row(side, f).shape[0]) for f in pooled_fields(st.policy)}
                 for side in sides)


def init_side(side: Side, n: int, st: Static, buffers: dict | None = None) -> SideState:
    """A side's initial state. The pooled rows use ``buffers`` when given (their contents do not
    matter: row 0 is set here, and a path's row is filled at its first ADL event)."""
    zi = jnp.zeros((n,), jnp.int32)
    pooled = pooled_fields(st.policy)
    rows = {}
    for f in ROWS:
        row = static_row(side, f)
        if f not in pooled:
            rows[f] = row[None]
        elif buffers is not None:
            rows[f] = buffers[f].at[0].set(row)
        else:
            rows[f] = jnp.broadcast_to(row, (st.pool + 1, *row.shape))
    return SideState(n_trig=zi, n_done=zi, cap_used=jnp.zeros((n,), side.q.dtype), **rows)


def init_state(sides, prm: Params, st: Static, n: int, dtype, buffers=(None, None)) -> State:
    z = jnp.zeros((n,), dtype)
    zi = jnp.zeros((n,), jnp.int32)
    fund = jnp.full((n,), prm.fund, dtype)
    return State(
        long=init_side(sides[0], n, st, buffers[0]), short=init_side(sides[1], n, st, buffers[1]),
        impact=jnp.ones((n,), dtype), fund=fund, fund_min=fund, capital_injected=z, deficit=z,
        shortfall=z, covered=z, liq_notional=z, liq_count=zi, adl_notional=z, adl_count=zi,
        adl_events=zi, backlog_max=z, fees=z, rest_dq=z, rest_dqx=z,
        converged=jnp.ones((n,), bool), token_reval=z,
        dd_hist=jnp.full((n, max(st.drawdown_slots, 1)), prm.fund, dtype), dd_ptr=zi,
        slot=zi, pool_next=jnp.zeros((), jnp.int32),
    )


def row_at(rows: jax.Array, slot: jax.Array, j: jax.Array) -> jax.Array:
    """rows[slot[path], j[path]] for every path; with a pool of one row, rows[0, j]."""
    if rows.shape[0] == 1:
        return rows[0, j]  # one gather; rows[0][j] would copy the whole row first
    return rows[slot, j]


def row_search(rows: jax.Array, slot: jax.Array, thresh: jax.Array) -> jax.Array:
    """First k with rows[slot, k] >= thresh (rows ascending along axis 1), per path."""
    if rows.shape[0] == 1:
        return jnp.searchsorted(rows[0], thresh, side="left").astype(jnp.int32)
    n_cols = rows.shape[1]
    lo = jnp.zeros(thresh.shape, jnp.int32)
    hi = jnp.full(thresh.shape, n_cols, jnp.int32)
    for _ in range(max(1, math.ceil(math.log2(n_cols + 1)))):
        mid = (lo + hi) // 2
        ok = row_at(rows, slot, jnp.minimum(mid, n_cols - 1)) >= thresh
        lo, hi = jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)
    return lo


# In the scan the per-path state is packed into two matrices, one row a path (floats, ints), so
# that gathering the paths of a check and writing them back is one row gather and one row scatter
# each instead of one per field. The pools of account rows and their counter stay apart.
FLOAT_FIELDS = ("impact", "fund", "fund_min", "capital_injected", "deficit", "shortfall", "covered",
                "liq_notional", "adl_notional", "backlog_max", "fees", "rest_dq", "rest_dqx",
                "token_reval")
INT_FIELDS = ("liq_count", "adl_count", "adl_events", "dd_ptr", "slot")
#: first of the two columns holding each side's next untriggered liquidation price
NEXT_COL = len(FLOAT_FIELDS) + 2


def pack(s: State, sides):
    """(state matrix (paths, columns), shared (pool rows, pool counter)).

    One row a path: the float fields, each side's next untriggered liquidation price (so that
    finding the paths with something to do at a check reads three columns and gathers nothing),
    the drawdown history, then the integer fields with their bits stored as floats of the same
    width (moved, never computed on), so a batch is one row gather and one row scatter.
    """
    dtype = s.fund.dtype
    floats = [getattr(s, k).astype(dtype) for k in FLOAT_FIELDS]
    floats += [s.long.cap_used.astype(dtype), s.short.cap_used.astype(dtype),
               sides[0].lq[s.long.n_trig], sides[1].lq[s.short.n_trig]]
    ints = [getattr(s, k) for k in INT_FIELDS] + [
        s.converged, s.long.n_trig, s.long.n_done, s.short.n_trig, s.short.n_done]
    ints = jnp.stack([a.astype(int_type(dtype)) for a in ints], axis=1)
    mat = jnp.concatenate([jnp.stack(floats, axis=1), s.dd_hist.astype(dtype),
                           jax.lax.bitcast_convert_type(ints, dtype)], axis=1)
    shared = ({f: getattr(s.long, f) for f in ROWS}, {f: getattr(s.short, f) for f in ROWS},
              s.pool_next)
    return mat, shared


N_INT_COLS = len(INT_FIELDS) + 5


def int_columns(mat) -> jax.Array:
    """The integer columns of a state matrix, int32."""
    bits = jax.lax.bitcast_convert_type(mat[:, -N_INT_COLS:], int_type(mat.dtype))
    return bits.astype(jnp.int32)


def unpack(mat, shared) -> State:
    nf, ni = len(FLOAT_FIELDS), len(INT_FIELDS)
    it = int_columns(mat)
    rows_l, rows_s, pool_next = shared
    return State(
        long=SideState(n_trig=it[:, ni + 1], n_done=it[:, ni + 2], cap_used=mat[:, nf],
                       **rows_l),
        short=SideState(n_trig=it[:, ni + 3], n_done=it[:, ni + 4], cap_used=mat[:, nf + 1],
                        **rows_s),
        converged=it[:, ni] != 0, dd_hist=mat[:, nf + 4: -N_INT_COLS], pool_next=pool_next,
        **{k: mat[:, j] for j, k in enumerate(FLOAT_FIELDS)},
        **{k: it[:, j] for j, k in enumerate(INT_FIELDS)},
    )


# Buffers handed from one chunk to the next (donated, so not allocated and filled again for
# every chunk): the pooled rows, and on a CPU the rows of haircuts for the host's Gini. Kept for
# the last shapes used, at most _BUFFERS_MAX bytes.
_BUFFERS: dict = {"key": None, "free": []}
_BUFFERS_LOCK = threading.Lock()
_BUFFERS_MAX = 1 << 28


def _buffers_key(shapes, dtype) -> tuple:
    return tuple(tuple(sorted(d.items())) for d in shapes), jnp.dtype(dtype).name


def take_buffers(shapes, dtype):
    """Buffers of ``shapes`` (a tuple of dicts of field: shape) for the next chunk: ones given
    back by an earlier chunk, else new ones (their contents never matter)."""
    with _BUFFERS_LOCK:
        if _BUFFERS["key"] == _buffers_key(shapes, dtype) and _BUFFERS["free"]:
            return _BUFFERS["free"].pop()
    return tuple({f: on_device(np.zeros(shape, jnp.dtype(dtype))) for f, shape in d.items()}
                 for d in shapes)


def give_buffers(shapes, dtype, buffers, devices: int = 1) -> None:
    """Keep a chunk's returned ``buffers`` for the next chunk of the same shapes (split over
    ``devices``: the cap is per device)."""
    key = _buffers_key(shapes, dtype)
    size = sum(a.nbytes for a in jax.tree.leaves(buffers))
    with _BUFFERS_LOCK:
        if _BUFFERS["key"] != key:
            _BUFFERS["key"], _BUFFERS["free"] = key, []
        if size * (len(_BUFFERS["free"]) + 1) <= _BUFFERS_MAX * devices:
            _BUFFERS["free"].append(buffers)
