"""What each probe account would receive if it closed now: its damped and undamped payoffs at
an intermediate maturity (options on damped assets, docs/pricing.md).

A probe is too small to move the venue, so closing it at step ``t`` changes nothing else; its
payoff then is the settlement rule of :func:`._settlement.settle_side_exact` applied to its own
row of the state at ``t`` and the mark ``S_t x impact``: realised ADL proceeds, plus the margin
lost if it was liquidated, else the remaining contracts marked to the mark less recorded PnL
haircuts, floored at minus the margin left. The undamped payoff is what it was entitled to: minus
the margin if liquidated, else ``s q (mark - E)`` floored at minus the margin. Settlement
clawbacks (``socialized_at_settlement``, ``none``) happen at the horizon only, so a probe that
closes before it is not reached by them; recourse defaults likewise happen at the horizon.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._state import State, row_at


def probe_rows(s: State, sides, probe_pos):
    """Each probe's ADL record on each path: ``(closed, haircut, proceeds)``, each ``(paths,
    probes)`` (contracts, USD, USD), gathered from the path's row of the pools.

    The event schedule carries these small arrays and gathers them again right after each
    check: reading the pools *before* a check that updates them in place would make XLA keep a
    copy of the whole pool at every iteration of the loop."""
    n_long = sides[0].q.shape[0]
    on_short = probe_pos >= n_long
    k = jnp.where(on_short, probe_pos - n_long, probe_pos)
    n, p = s.slot.shape[0], probe_pos.shape[0]
    dtype = s.fund.dtype
    out = [jnp.zeros((n, p), dtype) for _ in range(3)]
    for side, ss, mine in ((sides[0], s.long, ~on_short), (sides[1], s.short, on_short)):
        if side.q.shape[0] == 0:
            continue
        kk = jnp.broadcast_to(jnp.minimum(k, side.q.shape[0] - 1)[None], (n, p))
        slot = jnp.broadcast_to(s.slot[:, None], (n, p))
        for j, rows in enumerate((ss.closed, ss.h, ss.g)):
            out[j] = jnp.where(mine[None], row_at(rows, slot, kk), out[j])
    return tuple(out)


def probe_marks(s: State, sides, rows, marks, probe_pos):
    """``(damped, undamped)`` payoffs in USD, each ``(paths, maturities, probes)``, of the probes
    at the positions ``probe_pos`` (in the long-then-short concatenation of the trigger orders),
    if closed at each of ``marks`` (``(paths, maturities)``, USD, impact included), with the
    path state ``s`` and the probes' ADL record ``rows`` (:func:`probe_rows`)."""
    n_long = sides[0].q.shape[0]
    on_short = probe_pos >= n_long
    k = jnp.where(on_short, probe_pos - n_long, probe_pos)
    n, p = marks.shape[0], probe_pos.shape[0]
    mark = marks[:, :, None]  # (paths, maturities, 1)
    closed, h, g = (a[:, None] for a in rows)
    damped = undamped = jnp.zeros((n, marks.shape[1], p), marks.dtype)
    for side, ss, sign, mine in ((sides[0], s.long, 1, ~on_short), (sides[1], s.short, -1,
                                                                        on_short)):
        if side.q.shape[0] == 0:
            continue
        kk = jnp.minimum(k, side.q.shape[0] - 1)
        q, entry, m_per_q = side.q[kk][None, None], side.entry[kk][None, None], side.m_per_q[
            kk][None, None]
        r = jnp.maximum(q - closed, 0.0)
        liquidated = (kk[None] < ss.n_done[:, None])[:, None]
        margin_left = m_per_q * r
        raw = sign * r * (mark - entry) - h
        d = g + jnp.where(liquidated, -margin_left, jnp.maximum(raw, -margin_left))
        full_m = m_per_q * q
        u = jnp.where(liquidated, -full_m, jnp.maximum(sign * q * (mark - entry), -full_m))
        damped = jnp.where(mine[None, None], d, damped)
        undamped = jnp.where(mine[None, None], u, undamped)
    return damped, undamped


def snap_probes(snap, s: State, sides, probe_pos, marks, take, rows=None):
    """Record each probe's (damped, undamped) payoff at the maturities where ``take``
    (``(paths, maturities)``) holds: ``snap`` is ``(damped, undamped)``, each ``(paths,
    maturities, probes)``; ``marks`` the price at each maturity, ``(paths, maturities)``; the
    mark is the price times the path's permanent impact. ``rows``: the probes' ADL record
    (default: gathered from ``s``)."""
    rows = probe_rows(s, sides, probe_pos) if rows is None else rows
    d, u = probe_marks(s, sides, rows, marks * s.impact[:, None], probe_pos)
    t = take[:, :, None]
    return jnp.where(t, d, snap[0]), jnp.where(t, u, snap[1])
