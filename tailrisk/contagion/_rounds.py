"""Rounds between venues: venue outcomes -> obligations -> clearing -> new shortfalls, repeated.

The single-venue kernel runs once per venue and path (round 0); every hedger leg is an account
of its venue, so the kernel already liquidates, deleverages and settles it. What the kernel
assumes (every recourse leg pays its loss, custodians transfer, nobody runs, nobody lends) the
rounds here undo, on each venue's *aggregate* balance sheet at the horizon:

* ``fund``: the fund left above its floor after the kernel (USD);
* ``winners``: what the venue still owes its winners (population cohorts in profit, plus the
  hedgers' winning legs), the base of further ADL haircuts;
* ``capital``: the capital left, ``max(0, K - capital injected)``.

A round, on every path at once (numpy, the clearing in JAX):

1. obligations from the current state: a venue owes a hedger its winning leg less the venue's
   network haircut rate ``eta``; a hedger owes a venue its losing leg beyond the margin the
   venue holds (or beyond what its custodian holds); a custodian owes the venue the loss up to
   what it holds, unless the venue's solvency ratio is below the custodian's threshold (then
   it refuses and that money never arrives);
2. clearing (Eisenberg–Noe or Rogers–Veraart) of the matrix of venues, hedgers and
   custodians (venues are given outside assets equal to what they owe, so they always pay what
   the rounds let them pay: their own losses go through the waterfall below instead);
3. a venue's new shortfall = obligations to it left unpaid + unbacked run withdrawals (a run
   fires when the fund is below its level, or on ADL) + what it lent on credit lines;
4. the waterfall of each venue: fund, then ADL (a haircut on all its winners, pro rata), then
   capital, then credit lines from lenders, then what is left is unpaid debt; a venue with
   policy ``none`` has no ADL: fund, capital, credit lines, then its winners are paid pro rata
   (its insolvency clawback);
5. repeat from 1 with the new haircut rates, refusals, runs and credit draws until nothing
   changes, at most ``max_rounds`` rounds; a path still changing then is flagged
   ``converged = False``. Refusals and runs, once triggered, stay triggered; shortfalls from
   unpaid obligations only grow, but a credit draw can lower its borrower's haircut rate, so
   the rounds are not monotone in general.

What is approximated: later rounds act on aggregates, not accounts (the ADL of rounds >= 1 is
pro rata over all the venue's winners whatever its policy; winners are summed per cohort, so a
cohort's losers net against its winners; exempt accounts are not told apart there); no new
liquidations or price impact follow from a network shortfall.

Money: on every path and venue ``shortfall = fund_used + adl + capital_used + credit_in +
unpaid``, and across the network ``sum(fund_used + adl + capital_used + unpaid) + firm draws =
obligations left unpaid + unbacked withdrawals`` (``conservation`` is the residual, USD).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from ._clearing import default_tolerance

__all__ = ["Outcomes", "Topology", "network_rounds"]


@dataclass(frozen=True)
class Topology:
    """The network's fixed structure, as index arrays (entities: venues, hedgers, custodians)."""

    venues: tuple[str, ...]
    no_adl: np.ndarray  # (V,) bool: policy "none" (capital before winners)
    fund0: np.ndarray  # (V,) USD
    capital: np.ndarray  # (V,) USD, K
    hedgers: tuple[str, ...]
    hedger_capital: np.ndarray  # (H,) USD
    leg_hedger: np.ndarray  # (G,) int
    leg_venue: np.ndarray  # (G,) int
    leg_margin: np.ndarray  # (G,) USD
    leg_custodian: np.ndarray  # (G,) int, -1: margin on the venue
    custodians: tuple[str, ...]
    custodian_holds: np.ndarray  # (C,) USD
    custodian_venue: np.ndarray  # (C,) int
    custodian_refuse_below: np.ndarray  # (C,)
    firms: tuple[str, ...]
    firm_capital: np.ndarray  # (F,) USD
    credit_names: tuple[str, ...]
    credit_lender_venue: np.ndarray  # (K,) int, -1: a firm
    credit_lender_firm: np.ndarray  # (K,) int, -1: a venue
    credit_borrower: np.ndarray  # (K,) int
    credit_limit: np.ndarray  # (K,) USD
    run_names: tuple[str, ...]
    run_venue: np.ndarray  # (R,) int
    run_amount: np.ndarray  # (R,) USD
    run_fund_below: np.ndarray  # (R,) USD, -inf: no fund trigger
    run_on_adl: np.ndarray  # (R,) bool
    run_unbacked: np.ndarray  # (R,)
    method: str = "eisenberg_noe"
    alpha: float = 1.0
    beta: float = 1.0
    max_rounds: int = 20
    links: bool = True


@dataclass(frozen=True)
class Outcomes:
    """Round 0: the kernel's per-path results, ``(P, V)`` per venue and ``(P, G)`` per leg."""

    fund_final: np.ndarray
    floor: np.ndarray  # (V,)
    capital_injected: np.ndarray
    insolvent: np.ndarray
    adl_events: np.ndarray
    winners: np.ndarray  # population cohorts' positive damped payoffs, summed, USD
    haircut_total: np.ndarray
    leg_payoff: np.ndarray  # damped payoff of each hedger leg, USD


def _waterfall(s, fund, winners, capital, credit_in_cap, no_adl):
    """Split shortfall ``s`` (P, V) into fund, ADL, capital, credit and unpaid layers."""
    fund_used = np.minimum(s, fund)
    rest = s - fund_used
    adl_first = np.where(no_adl, 0.0, np.minimum(rest, winners))
    rest = rest - adl_first
    cap_used = np.minimum(rest, capital)
    rest = rest - cap_used
    past_capital = rest
    credit_in = np.minimum(rest, credit_in_cap)
    rest = rest - credit_in
    adl_last = np.where(no_adl, np.minimum(rest, winners), 0.0)
    unpaid = rest - adl_last
    return fund_used, adl_first + adl_last, cap_used, credit_in, unpaid, past_capital


def _groups(index, size):
    """For each target ``t < size``, the positions ``g`` with ``index[g] == t`` (in order)."""
    index = np.asarray(index)
    return [np.flatnonzero(index == t) for t in range(size)]


def _sum_to(values, groups, size):
    """``out[:, t] = sum of values[:, g] over g in groups[t]`` (np.add.at without its cost; the
    sum runs over the positions in order, so a path's numbers never depend on the batch)."""
    out = np.zeros((values.shape[0], size))
    for t, g in enumerate(groups):
        if len(g) == 1:
            out[:, t] = values[:, g[0]]
        elif len(g):
            acc = values[:, g[0]].copy()
            for j in g[1:]:
                acc += values[:, j]
            out[:, t] = acc
    return out


def _clear_hedgers(top, h_owed, h_in, venue_pays, cust_pays, tol):
    """The clearing of the round's network of venues, hedgers and custodians, per path.

    Venues are given outside assets equal to what they owe and a custodian owes at most what
    it holds, so neither ever falls short; a hedger owes only venues and is owed only by
    venues. So whoever defaults is owed nothing by another defaulter, the greatest clearing
    vector is one step of the clearing map from full payment (what the fictitious default
    algorithm of :func:`~tailrisk.contagion.clear` finds with its one round), and it needs no
    ``(paths, n, n)`` matrix: hedger ``h`` pays what it owes unless its outside capital plus
    what the venues pay it falls short (by more than ``clear``'s tolerance ``tol``, relative to
    the larger of its debt and 1e-3 of the largest debt on the path); then it pays
    ``alpha * capital + beta * inflow`` (at most what it owes). Returns the hedgers' payments
    ``(P, H)`` and the clearing's rounds ``(P,)`` (1 where a hedger defaulted, else 0). Tested
    against :func:`~tailrisk.contagion.clear` on the dense matrix.
    """
    cap = top.hedger_capital[None, :]
    # the largest debt on the path: a hedger's, a venue's (what it pays the hedgers) or a
    # custodian's (what it transfers)
    largest = np.max(h_owed, axis=1, initial=0.0)
    for ent, pays in ((top.leg_venue, venue_pays), (top.leg_custodian, cust_pays)):
        owed = np.zeros((h_owed.shape[0], int(np.max(ent, initial=-1)) + 1))
        for g, k in enumerate(ent):
            if k >= 0:
                owed[:, k] += pays[:, g]
        largest = np.maximum(largest, np.max(owed, axis=1, initial=0.0))
    scale = np.maximum(h_owed, 1e-3 * largest[:, None])
    short = cap + h_in < h_owed - tol * scale
    paid = np.where(short, np.clip(top.alpha * cap + top.beta * h_in, 0.0, h_owed), h_owed)
    return paid, short.any(axis=1).astype(np.int32)


#: bytes of the per-path float64 arrays (about 30 per venue, hedger, custodian, leg) a block
#: of paths may take
BLOCK_BYTES = 256 << 20


def network_rounds(top: Topology, out: Outcomes, *, dtype=None,
                   block: int | None = None) -> dict[str, np.ndarray]:
    """Run the rounds on every path; per-path arrays (USD unless said), see the module doc.

    Paths are independent; they run in blocks of ``block`` paths (default: a dense liability
    arrays of the block take about ``BLOCK_BYTES``), which bounds memory and never changes a
    number.
    """
    p = out.fund_final.shape[0]
    n = len(top.venues) + len(top.hedgers) + len(top.custodians) + len(top.leg_venue)
    block = block or max(64, BLOCK_BYTES // (8 * 30 * max(n, 1)))
    if p <= block:
        return _rounds_block(top, out, dtype)
    parts = []
    for start in range(0, p, block):
        sl = slice(start, min(start + block, p))
        sub = Outcomes(**{f: (getattr(out, f) if f == "floor" else getattr(out, f)[sl])
                          for f in Outcomes.__dataclass_fields__})
        parts.append(_rounds_block(top, sub, dtype))
    return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}


def _rounds_block(top: Topology, out: Outcomes, dtype) -> dict[str, np.ndarray]:
    p = out.fund_final.shape[0]
    nv, nh, nc = len(top.venues), len(top.hedgers), len(top.custodians)
    nk, nr = len(top.credit_names), len(top.run_names)
    f64 = np.float64
    fund = np.maximum(out.fund_final.astype(f64) - out.floor[None, :], 0.0)
    capital = np.maximum(top.capital[None, :] - out.capital_injected.astype(f64), 0.0)
    base = top.fund0 + top.capital
    leg = out.leg_payoff.astype(f64)
    gain = np.maximum(leg, 0.0)
    loss = np.maximum(-leg, 0.0)
    # what the custodian covers of each leg's loss, and what the hedger owes beyond it
    has_c = top.leg_custodian >= 0
    holds = np.append(top.custodian_holds, 0.0)[top.leg_custodian]  # -1: the padded 0
    cust_part = np.where(has_c, np.minimum(loss, holds), 0.0)
    hedger_part = np.where(has_c, loss - cust_part, np.maximum(loss - top.leg_margin, 0.0))
    # index groups for the sums over legs (fixed order: the same numbers whatever the block)
    g_venue, g_hedger = _groups(top.leg_venue, nv), _groups(top.leg_hedger, nh)
    g_run = _groups(top.run_venue, nv)
    venue_lender = top.credit_lender_venue >= 0
    g_lender = _groups(top.credit_lender_venue[venue_lender], nv)
    g_borrower = _groups(top.credit_borrower, nv)
    g_cust = _groups(top.leg_custodian[has_c], nc)
    tol_clear = default_tolerance(dtype if dtype is not None else (
        np.float64 if jax.config.jax_enable_x64 else np.float32))
    winners = out.winners.astype(f64) + _sum_to(gain, g_venue, nv)
    adl0 = out.adl_events > 0

    eta = np.zeros((p, nv))
    ratio = np.divide(out.fund_final.astype(f64) + capital, base, out=np.ones((p, nv)),
                      where=base > 0)
    draws = np.zeros((p, nk))
    adl_net = np.zeros((p, nv), bool)
    converged = np.zeros(p, bool)
    rounds = np.zeros(p, np.int32)
    z = {k: np.zeros((p, nv)) for k in ("fund_used", "adl", "capital_used", "credit_in",
                                        "unpaid", "past_capital", "shortfall")}
    refused = np.zeros((p, max(nc, 1)), bool)[:, :nc]
    run_on = np.zeros((p, nr), bool)
    hedger_unpaid = np.zeros((p, nh))
    cust_refused = np.zeros((p, nc))
    clearing_rounds = np.zeros(p, np.int32)
    clearing_ok = np.ones(p, bool)
    if not top.links:
        rounds[:] = 0
        converged[:] = True
        fund_now = out.fund_final.astype(f64)
        return _finish(top, out, z, eta, draws, hedger_unpaid, cust_refused, run_on, refused,
                       converged, rounds, clearing_rounds, clearing_ok, adl0, adl_net,
                       fund_now, winners, p)
    for r in range(top.max_rounds):
        # 1. obligations
        refused_new = (ratio[:, top.custodian_venue] < top.custodian_refuse_below[None, :]) \
            if nc else np.zeros((p, 0), bool)
        refused_prev, run_prev = refused, run_on
        refused = refused | refused_new
        venue_pays = gain * (1.0 - eta[:, top.leg_venue])
        leg_refused = np.concatenate([refused, np.zeros((p, 1), bool)], axis=1)[
            :, top.leg_custodian]  # -1: the padded column, never refused
        cust_pays = np.where(leg_refused, 0.0, cust_part)
        # 2. clearing (see _clear_hedgers: only hedgers can fall short, and they owe only
        # venues, which pay in full, so the clearing is exact per hedger without a matrix)
        h_owed = _sum_to(hedger_part, g_hedger, nh)
        h_in = _sum_to(venue_pays, g_hedger, nh)
        h_paid, cleared_rounds = _clear_hedgers(top, h_owed, h_in, venue_pays, cust_pays,
                                                tol_clear)
        share = np.divide(h_paid, h_owed, out=np.ones_like(h_paid), where=h_owed > 0)
        got_v = _sum_to(hedger_part * share[:, top.leg_hedger] + cust_pays, g_venue, nv)
        clearing_rounds = np.maximum(clearing_rounds, cleared_rounds)
        # 3. shortfalls: everything owed to a venue (refused custody included) minus received
        owed_to_v = _sum_to(hedger_part + cust_part, g_venue, nv)
        unpaid_obl = np.maximum(owed_to_v - got_v, 0.0)
        fund_now = np.maximum(out.fund_final.astype(f64) - z["fund_used"], 0.0)
        adl_seen = adl0 | adl_net
        run_new = (fund_now[:, top.run_venue] < top.run_fund_below[None, :]) | (
            top.run_on_adl[None, :] & adl_seen[:, top.run_venue])
        run_on = run_on | run_new
        run_loss = np.where(run_on, top.run_amount * top.run_unbacked, 0.0)
        s = unpaid_obl + _sum_to(run_loss, g_run, nv)
        s = s + _sum_to(draws[:, venue_lender], g_lender, nv)
        credit_cap = _sum_to(draws, g_borrower, nv)
        # 4. waterfall
        fund_used, adl, cap_used, credit_in, unpaid, past = _waterfall(
            s, fund, winners, capital, credit_cap, top.no_adl[None, :])
        new = {"fund_used": fund_used, "adl": adl, "capital_used": cap_used,
               "credit_in": credit_in, "unpaid": unpaid, "past_capital": past, "shortfall": s}
        eta_new = np.divide(adl, winners, out=np.zeros_like(adl), where=winners > 0)
        # credit draws for the next round: each borrower's hole past capital, lines in order
        hole = past.copy()
        draws_new = np.zeros((p, nk))
        firm_left = np.broadcast_to(top.firm_capital, (p, len(top.firms))).copy()
        for k in range(nk):
            b = top.credit_borrower[k]
            d = np.minimum(hole[:, b], top.credit_limit[k])
            if top.credit_lender_firm[k] >= 0:
                d = np.minimum(d, firm_left[:, top.credit_lender_firm[k]])
                firm_left[:, top.credit_lender_firm[k]] -= d
            draws_new[:, k] = d
            hole[:, b] -= d
        ratio_new = np.divide(out.fund_final.astype(f64) - fund_used + capital - cap_used, base,
                              out=np.ones((p, nv)), where=base > 0)
        tol = 1e-9 * max(1.0, float(np.max(base)))
        same = (np.all(np.abs(eta_new - eta) <= 1e-12, axis=1)
                & np.all(np.abs(draws_new - draws) <= tol, axis=1)
                & np.all(refused == refused_prev, axis=1) & np.all(run_on == run_prev, axis=1)
                & np.all(np.abs(s - z["shortfall"]) <= tol, axis=1))
        active = ~converged
        for k in z:
            z[k] = np.where(active[:, None], new[k], z[k])
        eta = np.where(active[:, None], eta_new, eta)
        ratio = np.where(active[:, None], np.minimum(ratio, ratio_new), ratio)
        draws = np.where(active[:, None], draws_new, draws)
        adl_net = adl_net | (active[:, None] & (adl > tol))
        hedger_unpaid = np.where(active[:, None], np.maximum(h_owed - h_paid, 0.0),
                                 hedger_unpaid)
        cref = _sum_to(np.where(leg_refused, cust_part, 0.0)[:, has_c], g_cust, nc)
        cust_refused = np.where(active[:, None], cref, cust_refused)
        rounds = np.where(active, r + 1, rounds)
        converged = converged | (active & same)
        if converged.all():
            break
    fund_now = np.maximum(out.fund_final.astype(f64) - z["fund_used"], 0.0)
    return _finish(top, out, z, eta, draws, hedger_unpaid, cust_refused, run_on, refused,
                   converged, rounds, clearing_rounds, clearing_ok, adl0, adl_net, fund_now,
                   winners, p)


def _finish(top, out, z, eta, draws, hedger_unpaid, cust_refused, run_on, refused, converged,
            rounds, clearing_rounds, clearing_ok, adl0, adl_net, fund_now, winners, p):
    run_loss = np.where(run_on, top.run_amount * top.run_unbacked, 0.0)
    firm_draws = draws[:, top.credit_lender_firm >= 0].sum(axis=1)
    borne = (z["fund_used"] + z["adl"] + z["capital_used"] + z["unpaid"]).sum(axis=1)
    brought = hedger_unpaid.sum(axis=1) + cust_refused.sum(axis=1) + run_loss.sum(axis=1)
    failed = out.insolvent.astype(bool) | (z["past_capital"] > 1e-9 * np.maximum(
        1.0, (top.fund0 + top.capital)[None, :]))
    # what links the loss is carried by, USD per path: hedgers, custodians, credit, runs
    link_loss = np.concatenate([hedger_unpaid, cust_refused, draws, run_loss], axis=1)
    return {
        "shortfall": z["shortfall"], "fund_used": z["fund_used"], "adl": z["adl"],
        "capital_used": z["capital_used"], "credit_in": z["credit_in"], "unpaid": z["unpaid"],
        "past_capital": z["past_capital"], "eta": eta, "failed": failed,
        "failed_isolated": out.insolvent.astype(bool),
        "adl_fired": adl0 | adl_net, "adl_fired_isolated": adl0,
        "haircut_isolated": out.haircut_total.astype(np.float64),
        "haircut_linked": out.haircut_total.astype(np.float64) + z["adl"],
        "winners": winners, "fund_after": fund_now,
        "loss_isolated": (out.haircut_total.astype(np.float64)
                          + out.capital_injected.astype(np.float64)),
        "loss_linked": (out.haircut_total.astype(np.float64)
                        + out.capital_injected.astype(np.float64)
                        + z["adl"] + z["capital_used"] + z["unpaid"]),
        "firm_loss": firm_draws,
        "link_loss": link_loss, "credit_draws": draws, "runs_fired": run_on,
        "custody_refused": refused, "hedger_unpaid": hedger_unpaid,
        "conservation": borne + firm_draws - brought,
        "converged": converged, "rounds": rounds, "clearing_rounds": clearing_rounds,
        "clearing_converged": clearing_ok,
    }
