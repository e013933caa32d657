"""The scan schedule: every check of every path in step order, for venues whose state moves at
every check (a drawdown rule, a fund held in the venue's token).

At a check only the paths that trigger something are gathered into batches and checked; every
other path is left as it is, which is what the check would do to it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._liquidation import run_check, shortfall_to_capital
from ._ops import compact_indices
from ._probe_marks import snap_probes
from ._settings import Params, Static
from ._state import INT_FIELDS, NEXT_COL, State, int_columns, pack, unpack


def check_triggered_paths(mat, shared, sides, price, path_index, step, prm: Params, st: Static,
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
    todo = (mark <= mat[:, NEXT_COL]) | (mark >= mat[:, NEXT_COL + 1])
    if st.has_capacity:  # a backlog waits for the next check
        ni, it = len(INT_FIELDS), int_columns(mat)
        todo = todo | (it[:, ni + 2] < it[:, ni + 1]) | (it[:, ni + 4] < it[:, ni + 3])
    order, count = compact_indices(todo, k_size)

    def body(c):
        b, mat, shared = c
        idx = jax.lax.dynamic_slice_in_dim(order, b * k_size, k_size)
        valid = (b * k_size + jnp.arange(k_size)) < count
        sub = unpack(mat[idx], shared)
        sub = run_check(sub, sides, price[idx], path_index[idx], step, prm, st, seed, tol, valid)
        mat_k, shared = pack(sub, sides)
        return b + 1, mat.at[jnp.where(valid, idx, n)].set(mat_k, mode="drop"), shared

    n_batches = (count + k_size - 1) // k_size
    _, mat, shared = jax.lax.while_loop(lambda c: c[0] < n_batches, body,
                                        (jnp.zeros((), jnp.int32), mat, shared))
    if st.drawdown_slots:
        s = unpack(mat, shared)
        s = s._replace(dd_hist=s.dd_hist.at[jnp.arange(n), s.dd_ptr].set(s.fund),
                       dd_ptr=(s.dd_ptr + 1) % st.drawdown_slots)
        mat, shared = pack(s, sides)
    return mat, shared


def run_scan(state: State, sides, log_prices, token_z, path_index, log_s0, prm: Params,
             st: Static, seed: int, tol, probe_pos=None):
    """Every step of every path: the fund held in the venue's token is revalued at each step
    (``token_z``: the token's own normal draws, ``(paths, steps)``, scaled by sqrt(dt)); checks
    every ``check_every`` steps run on the paths with something to do.

    Returns the final state and, with ``st.probe_steps``, the probes' payoffs had they closed at
    those steps (see ``_probe_marks.snap_probes``; else None)."""
    n, steps = log_prices.shape
    dtype = log_prices.dtype
    packed = pack(state, sides)
    n_mat = len(st.probe_steps)
    n_probe = 0 if probe_pos is None else probe_pos.shape[0]
    steps_k = jnp.asarray(st.probe_steps or (0,), jnp.int32)
    snap0 = tuple(jnp.zeros((n, n_mat, n_probe), dtype) for _ in range(2))

    def record(packed, snap, t, price):
        take = jnp.broadcast_to((steps_k == t)[None], (n, n_mat))
        marks = jnp.broadcast_to(price[:, None], (n, n_mat))
        return snap_probes(snap, unpack(*packed), sides, probe_pos, marks, take)

    def step(carry, xs):
        packed, prev_log, snap = carry
        t, logp, *z = xs
        price = jnp.exp(logp)
        if st.fund_in_token:
            state = unpack(*packed)
            dlog = logp - prev_log
            tok = prm.token_beta * dlog + prm.token_sigma * z[0] - jnp.where(
                dlog < -prm.cojump_threshold, prm.token_cojump, 0.0)
            new_fund = state.fund * jnp.exp(tok)
            state = state._replace(token_reval=state.token_reval + new_fund - state.fund,
                                   fund=new_fund)
            state = shortfall_to_capital(state, prm, st.policy)
            state = state._replace(fund_min=jnp.minimum(state.fund_min, state.fund))
            packed = pack(state, sides)
        is_check = (t % st.check_every) == 0
        packed = jax.lax.cond(
            is_check,
            lambda p: check_triggered_paths(*p, sides, price, path_index, t, prm, st, seed, tol),
            lambda p: p, packed)
        if n_mat:
            snap = jax.lax.cond(jnp.any(steps_k == t), lambda sn: record(packed, sn, t, price),
                                lambda sn: sn, snap)
        return (packed, logp, snap), None

    ts = jnp.arange(1, steps + 1, dtype=jnp.int32)
    xs = (ts, log_prices.T, token_z.T) if st.fund_in_token else (ts, log_prices.T)
    prev0 = jnp.full((n,), log_s0, dtype)
    (packed, _, snap), _ = jax.lax.scan(step, (packed, prev0, snap0), xs)
    return unpack(*packed), (snap if n_mat else None)
