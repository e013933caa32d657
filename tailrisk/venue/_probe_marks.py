"""What each probe account would receive if it closed now: its damped and undamped payoffs at
an intermediate maturity (options on damped assets, MODEL.md 4).

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


def probe_marks(s: State, sides, marks, probe_pos):
    """``(damped, undamped)`` payoffs in USD, each ``(paths, maturities, probes)``, of the probes
    at the positions ``probe_pos`` (in the long-then-short concatenation of the trigger orders),
    if closed at each of ``marks`` (``(paths, maturities)``, USD, impact included) with the
    state ``s``. The state's rows are read once for every maturity."""
    n_long = sides[0].q.shape[0]
    on_short = probe_pos >= n_long
    k = jnp.where(on_short, probe_pos - n_long, probe_pos)
    n, p = marks.shape[0], probe_pos.shape[0]
    mark = marks[:, :, None]  # (paths, maturities, 1)
    damped = undamped = jnp.zeros((n, marks.shape[1], p), marks.dtype)
    for side, ss, sign, mine in ((sides[0], s.long, 1, ~on_short), (sides[1], s.short, -1,
                                                                        on_short)):
        if side.q.shape[0] == 0:
            continue
        kk = jnp.broadcast_to(jnp.minimum(k, side.q.shape[0] - 1)[None], (n, p))
        slot = jnp.broadcast_to(s.slot[:, None], (n, p))
        q, entry, m_per_q = side.q[kk], side.entry[kk], side.m_per_q[kk]
        r = jnp.maximum(q - row_at(ss.closed, slot, kk), 0.0)[:, None]
        h = row_at(ss.h, slot, kk)[:, None]
        g = row_at(ss.g, slot, kk)[:, None]
        liquidated = (kk < ss.n_done[:, None])[:, None]
        margin_left = (m_per_q[:, None] * r)
        raw = sign * r * (mark - entry[:, None]) - h
        d = g + jnp.where(liquidated, -margin_left, jnp.maximum(raw, -margin_left))
        full_m = (m_per_q * q)[:, None]
        u = jnp.where(liquidated, -full_m,
                      jnp.maximum(sign * q[:, None] * (mark - entry[:, None]), -full_m))
        damped = jnp.where(mine[None, None], d, damped)
        undamped = jnp.where(mine[None, None], u, undamped)
    return damped, undamped


def snap_probes(snap, s: State, sides, probe_pos, marks, take):
    """Record each probe's (damped, undamped) payoff at the maturities where ``take``
    (``(paths, maturities)``) holds: ``snap`` is ``(damped, undamped)``, each ``(paths,
    maturities, probes)``; ``marks`` the price at each maturity, ``(paths, maturities)``; the
    mark is the price times the path's permanent impact."""
    d, u = probe_marks(s, sides, marks * s.impact[:, None], probe_pos)
    t = take[:, :, None]
    return jnp.where(t, d, snap[0]), jnp.where(t, u, snap[1])
