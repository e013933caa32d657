"""Settlement at the horizon: payoffs, damped and undamped, per cohort and probe; the venue's
outputs per path (docs/venue.md "Outputs per path").

Settlement costs O(cohorts) per path (:func:`settle_side_fast`) except on paths where ADL changed
positions, a settlement policy claws money back or a long backlog waits, which are settled
account by account (:func:`settle_exact`) in small blocks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._adl_settlement import claw_back, claws_back
from ._liquidation import backlog_contracts, shortfall_to_capital
from ._ops import blocks_map, int_type, prefix_count
from ._settings import Params, Static
from ._state import ROWS, SideState, State, pooled_fields, static_rows
from ._tables import Side, count_triggered


def gini(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Gini coefficient of the nonnegative amounts x over mask (0 when all are zero), on the
    device: the kernel's own on a GPU (see :func:`gini_of_rows` for the CPU)."""
    x = jnp.where(mask, jnp.maximum(x, 0.0), 0.0)
    n = jnp.sum(mask)
    # nonnegative floats sort like their bit patterns as integers, and XLA sorts integers several
    # times faster than floats (no total-order comparator)
    bits = jax.lax.bitcast_convert_type(jnp.where(mask, x, jnp.inf), int_type(x.dtype))
    xs = jax.lax.bitcast_convert_type(jax.lax.sort(bits, is_stable=False), x.dtype)
    xs = jnp.where(jnp.isfinite(xs), xs, 0.0)
    # with the masked entries sorted last and zeroed, ranks 1..n refer to the real entries
    ranks = jnp.arange(1, x.shape[0] + 1, dtype=x.dtype)
    total = jnp.sum(xs)
    g = (2.0 * jnp.sum(ranks * xs) / jnp.where(total > 0, n * total, 1.0)) - (n + 1.0) / n
    return jnp.where((total > 0) & (n > 0), g, 0.0)


def gini_of_rows(rows: np.ndarray) -> np.ndarray:
    """Gini coefficient of each row of haircuts (USD, shape ``(paths, accounts)``, float32 or
    float64; ``+inf`` marks an account that is not a winner and takes no part), on the host.

    On a CPU the kernel hands the rows of the paths settled account by account to this function
    instead of sorting them itself: numpy's SIMD sort of the values' bit patterns (nonnegative
    floats and ``+inf`` order like their bits read as integers) runs some 30x faster than XLA's
    comparator sort (0.13 ms against 3.8-7 ms for 8 x 10,000 keys), and a sort inside the kernel
    through a host callback would keep the compiled kernel out of JAX's persistent cache. The
    sums are taken in float64.
    """
    x = np.asarray(rows)
    ints = np.int64 if x.dtype == np.float64 else np.int32
    n = np.sum(x < np.inf, axis=-1)
    xs = np.sort(x.view(ints), axis=-1).view(x.dtype).astype(np.float64)
    xs[xs == np.inf] = 0.0  # the non-winners, sorted last
    ranks = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
    total = xs.sum(axis=-1)
    ok = (total > 0) & (n > 0)
    g = 2.0 * (xs @ ranks) / np.where(ok, n * total, 1.0) - (n + 1.0) / np.maximum(n, 1)
    return np.where(ok, g, 0.0)


def settle_side_exact(side: Side, ss: SideState, sign: int, final, u_rec, prm: Params):
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


def settle_exact(s: State, sides, final, u_rec, prm: Params, st: Static, n_cohorts: int,
                 probe_pos: jax.Array):
    pl, ul, shl = settle_side_exact(sides[0], s.long, 1, final, u_rec, prm)
    ps, us, shs = settle_side_exact(sides[1], s.short, -1, final, u_rec, prm)
    pay = jnp.concatenate([pl, ps])
    und = jnp.concatenate([ul, us])
    exempt = jnp.concatenate([sides[0].exempt, sides[1].exempt])
    s = s._replace(fund=s.fund - (shl + shs))
    s = shortfall_to_capital(s, prm, st.policy)
    pay, s, recovered, peak_capital = claw_back(st.policy, pay, exempt, s, prm)
    covered = s.covered + recovered
    insolvent = peak_capital > prm.capital + money_tolerance(sides, prm)
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
        **state_outputs(s, sides, final),
        "winners": jnp.sum(winners).astype(jnp.int32),
        "winners_touched": jnp.sum(touched).astype(jnp.int32),
        "max_haircut_pct": jnp.where(
            jnp.any(winners), jnp.max(jnp.where(winners, 100.0 * hair / safe_und, -jnp.inf)), 0.0),
        "gini_haircut": (jnp.zeros((), pay.dtype) if st.gini_rows else
                         gini(jnp.where(hair > money_tolerance(sides, prm), hair, 0.0), winners)),
        "haircut_total": haircut_total,
        "overshoot": jnp.sum(hair) - covered,
        "covered": covered,
        # masked sums rather than a scatter-add, whose order a GPU's atomics would not fix
        "cohort_damped": jnp.sum(jnp.where(mine, pay, 0.0), axis=1),
        "cohort_undamped": jnp.sum(jnp.where(mine, und, 0.0), axis=1),
        "probe_damped": pay[pos],
        "probe_undamped": und[pos],
    }
    if st.gini_rows:  # the haircuts the Gini is taken over, for the host (gini_of_rows)
        out["gini_input"] = jnp.where(
            winners, jnp.where(hair > money_tolerance(sides, prm), hair, 0.0), jnp.inf)
    return out


def money_tolerance(sides, prm: Params) -> jax.Array:
    """Round-off allowance in USD: 1e-9 (float64) or 1e-6 (float32) of F_0 + all margins."""
    scale = prm.fund + sides[0].cum_qm[-1] + sides[1].cum_qm[-1]
    rel = 1e-9 if scale.dtype == jnp.float64 else 1e-6
    return rel * scale


def state_outputs(s: State, sides, final) -> dict:
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
        "pnl_rest": rest_pnl(sides, s, final),
        "token_revaluation": s.token_reval,
    }


def rest_pnl(sides, s: State, final):
    """The rest account: holds -(sum s q) from the entries, plus what it bought in unwinds."""
    sl, ss_ = sides
    pos0 = -(sl.cum_q[-1] - ss_.cum_q[-1])
    cash0 = jnp.sum(sl.q * sl.entry) - jnp.sum(ss_.q * ss_.entry)
    return cash0 + pos0 * final + s.rest_dq * final - s.rest_dqx


def settle_side_fast(side: Side, ss: SideState, sign: int, final, u_rec, prm: Params, window: int):
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
    hit = count_triggered(side, sign, final)

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


SETTLE_BLOCK = 8  # paths settled account by account together (fixed, like the ADL block)


def settle_paths(s: State, sides, final, u_rec, prm, st, n_cohorts, probe_pos, tol,
                 gini_buf=None):
    """Settle every path: a fast O(cohorts) settlement, and the exact per-account one (O(N)) only
    on the paths that need it (ADL changed positions, a settlement clawback, a long backlog).

    Returns the outputs. With ``st.gini_rows`` (a CPU), the Gini of the haircuts is left to the
    host: the r-th path settled account by account writes its haircuts to row r of ``gini_buf``
    (``(gini_rows, accounts)``, +inf where not a winner; rows past the buffer are dropped), its
    output ``gini_rank`` is r (-1 on the other paths), and the buffer is returned too:
    ``(outputs, gini_buf)``.
    """
    dtype = final.dtype
    backlog_final = backlog_contracts(s) * final
    window = st.settle_window
    pl, ul, shl, dl, ovl = settle_side_fast(sides[0], s.long, 1, final, u_rec, prm, window)
    ps, us, shs, ds, ovs = settle_side_fast(sides[1], s.short, -1, final, u_rec, prm, window)
    fast = s._replace(fund=s.fund - (shl + shs))
    fast = shortfall_to_capital(fast, prm, st.policy)
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
        **state_outputs(s, sides, final),
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
    slow = slow | claws_back(st.policy, fast, prm, tol)
    slow = slow | prm.exact_settlement
    # the rows stay in their pools; each settled path reads its own
    pooled = pooled_fields(st.policy)
    pool = ({f: getattr(s.long, f) for f in pooled}, {f: getattr(s.short, f) for f in pooled})
    fixed = (static_rows(s.long, st.policy), static_rows(s.short, st.policy))
    per_path = s._replace(long=s.long._replace(**dict.fromkeys(ROWS)),
                          short=s.short._replace(**dict.fromkeys(ROWS)), pool_next=None)

    def exact(rows, args):
        s1, f, u = args
        s1 = s1._replace(long=s1.long._replace(**rows[0], **fixed[0]),
                         short=s1.short._replace(**rows[1], **fixed[1]))
        res = settle_exact(s1, sides, f, u, prm, st, n_cohorts, probe_pos)
        picked = {k: res[k] for k in out}
        return rows, ((picked, res["gini_input"]) if st.gini_rows else picked)

    if not st.gini_rows:
        out, _ = blocks_map(exact, slow, (per_path, final, u_rec), out, SETTLE_BLOCK, pool=pool,
                            slot=s.slot, write=False)
        out["backlog_final"] = backlog_final
        return out
    (out, gini_buf), _ = blocks_map(exact, slow, (per_path, final, u_rec), out, SETTLE_BLOCK,
                                    pool=pool, slot=s.slot, write=False, ranked=gini_buf)
    out["backlog_final"] = backlog_final
    out["gini_rank"] = jnp.where(slow, prefix_count(slow) - 1, -1)
    return out, gini_buf
