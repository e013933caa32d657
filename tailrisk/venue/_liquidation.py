"""The liquidation engine at one check: trigger, engine batch, fund, ADL, impact (docs/venue.md).

A check runs rounds until nothing new is triggered or ``max_rounds``: each round counts the
newly triggered accounts of both sides (a prefix of each side's order), takes a batch up to the
engine's capacity, unwinds it at the impacted fill price, lets the fund absorb the result and,
where the fund cannot, runs the policy's ADL on the paths that need it, gathered into small
blocks (:func:`adl_blocks`); permanent impact then moves the mark.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..config.venue import CONTRACT_POLICIES, PNL_POLICIES
from ._adl_contract import close_contracts
from ._adl_pnl import haircut_pnl
from ._ops import blocks_map, power, prefix_count
from ._random import adl_uniform
from ._settings import Params, Static
from ._state import ROWS, SideState, State, pooled_fields, row_at, row_search, static_rows
from ._tables import Side, count_triggered


def pending(side: Side, ss: SideState, sign: int, mark: jax.Array) -> jax.Array:
    """Whether the next untriggered account of this side is triggered at the mark."""
    nxt = side.lq[ss.n_trig]
    return (mark <= nxt) if sign > 0 else (mark >= nxt)


def shortfall_to_capital(s: State, prm: Params, policy: str) -> State:
    gap = jnp.maximum(prm.floor - s.fund, 0.0)
    if policy == "socialized_at_settlement":
        s = s._replace(deficit=s.deficit + gap)
    else:
        s = s._replace(capital_injected=s.capital_injected + gap)
    return s._replace(fund=s.fund + gap, shortfall=s.shortfall + gap)


def fund_target(s: State, prm: Params, st: Static):
    if st.drawdown_slots == 0:
        return jnp.full(s.fund.shape, prm.floor, s.fund.dtype)
    level = (1.0 - prm.drawdown) * jnp.maximum(jnp.max(s.dd_hist, axis=1), s.fund)
    return jnp.maximum(prm.floor, level)


def adl_blocks(fn, need, s: State, opp_is_long: bool, extra, st: Static):
    """Run the per-path ADL ``fn(side_state_1, *extra_1) -> (side state, amount, touched)`` on
    the opposite side of the paths where ``need`` holds; return the state and (amount, touched).

    A path without a private row gets the next one of the pool first, on both sides, filled from
    the static row 0 (a reused pool holds another chunk's rows). Only those paths' rows are
    gathered (in blocks of ``block``) and written back, so a check whose batches the fund absorbs
    costs nothing here; paths without ADL get zeros.
    """
    n = need.shape[0]
    new = need & (s.slot == 0)
    rank = prefix_count(new)
    slot = jnp.where(new, s.pool_next + rank, s.slot)
    s = s._replace(slot=slot, pool_next=s.pool_next + rank[-1])
    os_, own = (s.long, s.short) if opp_is_long else (s.short, s.long)
    scalars = os_._replace(**dict.fromkeys(ROWS))
    pooled, fixed = pooled_fields(st.policy), static_rows(os_, st.policy)

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
        lambda: blocks_map(one, need, (scalars, *extra), out, st.block, pool=pool, slot=slot,
                           read_slot=jnp.where(new, 0, slot)),
        lambda: (out, pool))
    os_, own = os_._replace(**pool[0]), own._replace(**pool[1])
    s = s._replace(long=os_, short=own) if opp_is_long else s._replace(short=os_, long=own)
    return s, out


def liquidation_batch(s: State, sides, sign: int, mark, rnd, active, prm: Params, st: Static, tol):
    """Steps 2-4 of a round for one side, for all paths at once; returns state, unwound notional."""
    opp = sides[1] if sign > 0 else sides[0]
    ss = s.long if sign > 0 else s.short
    dtype = mark.dtype
    # engine: take backlog accounts while the notional taken before them is below capacity
    j = ss.n_trig
    if st.has_capacity:
        left = prm.capacity - ss.cap_used
        thresh = row_at(ss.cum_r, s.slot, ss.n_done) + jnp.where(left > 0, left / mark, -1.0)
        j_cap = row_search(ss.cum_r[:, :-1], s.slot, thresh)
        j = jnp.where(left > 0, jnp.clip(j_cap, ss.n_done, ss.n_trig), ss.n_done)
    j = jnp.where(active, j, ss.n_done)
    # differences of prefix sums can come out a hair below zero in float32: clamp
    qty = jnp.maximum(row_at(ss.cum_r, s.slot, j) - row_at(ss.cum_r, s.slot, ss.n_done), 0.0)
    qb = row_at(ss.cum_rb, s.slot, j) - row_at(ss.cum_rb, s.slot, ss.n_done)
    hcut = row_at(ss.cum_h, s.slot, j) - row_at(ss.cum_h, s.slot, ss.n_done)
    has = qty > 0
    bbar = qb / jnp.where(has, qty, 1.0)
    fill = mark * jnp.exp(-sign * prm.eta * power(qty * mark / prm.depth, prm.beta_impact))
    r_x = sign * (qty * fill - qb) - hcut
    target = fund_target(s, prm, st)
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
            return close_contracts(st.policy, opp, o, -sign, m, c, want, least, uu)

        s, (qa, touched) = adl_blocks(
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
            return haircut_pnl(opp, o, -sign, m, g)

        s, (paid, touched) = adl_blocks(fn, need, s, sign < 0, (mark, jnp.maximum(gap, 0.0)),
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
    s = shortfall_to_capital(s, prm, st.policy)
    s = s._replace(fund_min=jnp.minimum(s.fund_min, s.fund))
    return s, unwound * mark


def liquidation_round(s: State, sides, price, rnd, active, prm: Params, st: Static, tol):
    sl, ss_ = sides
    mark = price * s.impact
    trig_l = jnp.maximum(s.long.n_trig, count_triggered(sl, 1, mark))
    trig_s = jnp.maximum(s.short.n_trig, count_triggered(ss_, -1, mark))
    s = s._replace(long=s.long._replace(n_trig=jnp.where(active, trig_l, s.long.n_trig)),
                   short=s.short._replace(n_trig=jnp.where(active, trig_s, s.short.n_trig)))
    s, v_long = liquidation_batch(s, sides, 1, mark, rnd, active, prm, st, tol)
    s, v_short = liquidation_batch(s, sides, -1, mark, rnd, active, prm, st, tol)
    push = prm.gamma * prm.eta
    move = (-push * power(v_long / prm.depth, prm.beta_impact)
            + push * power(v_short / prm.depth, prm.beta_impact))
    return s._replace(impact=s.impact * jnp.exp(move))


def needs_round(s: State, sides, price) -> jax.Array:
    mark = price * s.impact
    return pending(sides[0], s.long, 1, mark) | pending(sides[1], s.short, -1, mark)


def backlog_contracts(s: State) -> jax.Array:
    """Contracts waiting in the engine's backlog (both sides), per path."""
    return ((row_at(s.long.cum_r, s.slot, s.long.n_trig)
             - row_at(s.long.cum_r, s.slot, s.long.n_done))
            + (row_at(s.short.cum_r, s.slot, s.short.n_trig)
               - row_at(s.short.cum_r, s.slot, s.short.n_done)))


def run_check(s: State, sides, price, path_index, step, prm: Params, st: Static, seed: int, tol,
              valid):
    """One check for a batch of paths: rounds until nothing new is triggered anywhere or
    max_rounds. ``valid`` marks the real paths of the batch, which are exactly the paths with
    something to do (a newly triggered account or a backlog: see check_triggered_paths); the others
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
        # the random policy's uniform is drawn only on the paths that run ADL (liquidation_batch)
        s = liquidation_round(s, sides, price, (seed, path_index, step, k), active, prm, st, tol)
        return k + 1, s, needs_round(s, sides, price) & valid

    _, s, _ = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), s, active))
    backlog = jnp.maximum(s.backlog_max, backlog_contracts(s) * price * s.impact)
    return s._replace(converged=s.converged & ~(needs_round(s, sides, price) & valid),
                      backlog_max=jnp.where(valid, backlog, s.backlog_max),
                      fund_min=jnp.minimum(s.fund_min, s.fund))
