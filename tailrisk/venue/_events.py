"""The event schedule: each path jumps to its next check with something to do.

Between two checks that do something, a path's state does not change (without a drawdown rule or
a fund held in the venue's token). So instead of visiting every check of every path, each path
jumps to its next check with something to do, found by a search over its prices in blocks of
checks, and the paths run their checks side by side, each at its own step, in one large batch.
Paths run out of checks at different times: the batch shrinks (by 2x, 4x, then 8x, down to
``compact`` paths) as paths finish, so idle lanes cost little. The numbers are those of the scan
schedule (:mod:`._scan`), bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._liquidation import run_check
from ._ops import compact_indices, row_segments
from ._probe_marks import probe_rows, snap_probes
from ._settings import Params, Static
from ._state import State, pack, unpack

EVENT_BLOCK = 16  # checks per block of the next-check search


class Events(NamedTuple):
    price: jax.Array  # price at each check, (paths, blocks x EVENT_BLOCK), last price repeated
    lo: jax.Array  # smallest price of each block of checks, (paths, blocks)
    hi: jax.Array  # largest
    checks: int  # checks on the grid


def event_tables(log_prices, check_every: int) -> Events:
    n = log_prices.shape[0]
    price = jnp.exp(log_prices[:, check_every - 1::check_every])  # checks at t = k check_every
    # computed once: XLA would otherwise fuse the exp into each of the reductions below
    price = jax.lax.optimization_barrier(price)
    checks = price.shape[1]
    nb = max(1, -(-checks // EVENT_BLOCK))
    # the last block is padded with copies of the last price, which change no block's extremes;
    # the search never looks past the last check. (A NaN price hides its whole block from the
    # search, where a scan would still check the block's other prices; such a path settles to
    # NaN either way.)
    price = jnp.pad(price, ((0, 0), (0, nb * EVENT_BLOCK - checks)), mode="edge")
    blocks = price.reshape(n, nb, EVENT_BLOCK)
    return Events(price, jnp.min(blocks, axis=2), jnp.max(blocks, axis=2), checks)


def next_check(ev: Events, done, s: State, sides, has_capacity: bool) -> jax.Array:
    """The first check (a column, 0-based) at or after column ``done`` where each lane's path
    (the lane's row of ``ev``) has something to do, ``ev.checks`` when none: the test of
    ``check_triggered_paths``, ``price x impact`` at or beyond a side's next untriggered
    liquidation price, or a backlog.

    The rest of the current block of checks is tested one by one; beyond it, the first block
    whose smallest or largest price triggers holds the answer (``fl(p x impact)`` is monotone in
    ``p``, so the block test is exact), and that block is tested one by one.
    """
    width = EVENT_BLOCK
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
    here = hits(row_segments(ev.price, blk * width, width)) & (col >= done[:, None]) & (
        col < ev.checks)
    k_here = jnp.min(jnp.where(here, cols, width), axis=1)
    later = (jnp.arange(nb) > blk[:, None]) & ((ev.lo * imp <= nl) | (ev.hi * imp >= ns))
    b2 = jnp.min(jnp.where(later, jnp.arange(nb, dtype=jnp.int32), nb), axis=1)
    b2c = jnp.minimum(b2, nb - 1)
    # a block past the current one that triggers holds a real check that triggers
    k2 = jnp.min(jnp.where(hits(row_segments(ev.price, b2c * width, width)), cols, width),
                 axis=1)
    nxt = jnp.where(k_here < width, blk * width + k_here,
                    jnp.where(b2 < nb, b2c * width + k2, ev.checks))
    if has_capacity:  # a backlog waits for the very next check
        backlog = (s.long.n_done < s.long.n_trig) | (s.short.n_done < s.short.n_trig)
        nxt = jnp.where(backlog & (done < ev.checks), done, nxt)
    return nxt


_SHRINK = (2, 4, 8)


def event_sizes(n: int, smallest: int, lanes: int = 64) -> list[int]:
    """Batch sizes of the event schedule: n, then half, a quarter of that, then 8x smaller each
    time (multiples of ``lanes``) down to ``smallest``. Paths run out of checks gradually, so
    the first halvings pay most; every size is one more compiled copy of the check."""
    smallest = -(-max(smallest, 1) // lanes) * lanes
    sizes = [n]
    while sizes[-1] > smallest:
        shrink = _SHRINK[min(len(sizes), len(_SHRINK)) - 1]
        sizes.append(max(smallest, -(-sizes[-1] // shrink // lanes) * lanes))
    return sizes


def run_events(state: State, sides, log_prices, path_index, prm: Params, st: Static,
               seed: int, tol, probe_pos=None):
    """Every check of every path, visiting only the checks with something to do (see above).

    Returns the final state and, with ``st.probe_steps``, the probes' payoffs had they closed at
    each of those steps (:func:`snap_probes`; else None): a path's state is constant between two
    of its checks, so the payoff at step ``t`` is taken when the path's next check lies past
    ``t``.
    """
    n = log_prices.shape[0]
    ev = event_tables(log_prices, st.check_every)  # one row a lane, moved with the lanes
    out, shared = pack(state, sides)
    ids = jnp.arange(n, dtype=jnp.int32)  # the path in each lane; n: an empty lane
    done = jnp.zeros((n,), jnp.int32)  # checks behind each lane's path
    live = jnp.ones((n,), bool)
    s = state
    n_mat = len(st.probe_steps)
    n_probe = 0 if probe_pos is None else probe_pos.shape[0]
    steps_k = jnp.asarray(st.probe_steps or (0,), jnp.int32)
    marks = jnp.exp(log_prices[:, jnp.asarray(st.probe_steps, jnp.int32) - 1]) if n_mat else None
    snap = tuple(jnp.zeros((n, n_mat, n_probe), log_prices.dtype) for _ in range(2))
    snap_out = snap
    # the probes' ADL record, carried beside the state (see _probe_marks.probe_rows)
    prow = probe_rows(state, sides, probe_pos) if n_mat else None
    for below in [*event_sizes(n, st.compact, st.lanes)[1:], 0]:  # the next batch's size (0: none)

        def body(c, ev=ev, paths=path_index[ids], marks=marks):
            s, done, live, snap, prow = c
            nxt = next_check(ev, done, s, sides, st.has_capacity)
            live = live & (nxt < ev.checks)
            col = jnp.minimum(nxt, ev.checks - 1)
            if n_mat:
                # the state holds from the step of the last check done to the next check's
                big = jnp.iinfo(jnp.int32).max
                nxt_step = jnp.where(live, (col + 1) * st.check_every, big)
                take = ((steps_k[None] >= (done * st.check_every)[:, None])
                        & (steps_k[None] < nxt_step[:, None]))
                snap = snap_probes(snap, s, sides, probe_pos, marks, take, prow)
            price = jnp.take_along_axis(ev.price, col[:, None], axis=1)[:, 0]
            s = run_check(s, sides, price, paths, (col + 1) * st.check_every, prm, st, seed, tol,
                          live)
            if n_mat:  # read after the check's in-place update of the pools
                prow = probe_rows(s, sides, probe_pos)
            return s, jnp.where(live, nxt + 1, done), live, snap, prow

        s, done, live, snap, prow = jax.lax.while_loop(
            lambda c, b=below: jnp.sum(c[2]) > b, body, (s, done, live, snap, prow))
        mat, shared = pack(s, sides)
        out = out.at[ids].set(mat, mode="drop")  # every path of the batch, finished or not
        if n_mat:
            snap_out = tuple(o.at[ids].set(a, mode="drop") for o, a in zip(snap_out, snap,
                                                                          strict=True))
        if below:  # the paths still running move to a smaller batch, with their tables
            order, count = compact_indices(live, below)
            order = order[:below]
            valid = jnp.arange(below) < count
            s = unpack(mat[order], shared)
            ev = ev._replace(price=ev.price[order], lo=ev.lo[order], hi=ev.hi[order])
            if n_mat:
                marks = marks[order]
                snap = tuple(a[order] for a in snap)
                prow = tuple(a[order] for a in prow)
            ids = jnp.where(valid, ids[order], n)
            done, live = done[order], valid
    return unpack(out, shared), (snap_out if n_mat else None)
