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

import numpy as np

from ._clearing import clear

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


#: bytes of one dense (paths, n, n) float64 liability matrix per block of paths
BLOCK_BYTES = 32 << 20


def network_rounds(top: Topology, out: Outcomes, *, dtype=None,
                   block: int | None = None) -> dict[str, np.ndarray]:
    """Run the rounds on every path; per-path arrays (USD unless said), see the module doc.

    Paths are independent; they run in blocks of ``block`` paths (default: a dense liability
    matrix of the block takes ``BLOCK_BYTES``), which bounds memory and never changes a number.
    """
    p = out.fund_final.shape[0]
    n = len(top.venues) + len(top.hedgers) + len(top.custodians)
    block = block or max(64, BLOCK_BYTES // (8 * n * n))
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
    n = nv + nh + nc
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
    link_gain = np.zeros((p, nv))
    np.add.at(link_gain, (slice(None), top.leg_venue), gain)
    winners = out.winners.astype(f64) + link_gain
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
        hv = nv + top.leg_hedger
        venue_pays = gain * (1.0 - eta[:, top.leg_venue])
        leg_refused = np.concatenate([refused, np.zeros((p, 1), bool)], axis=1)[
            :, top.leg_custodian]  # -1: the padded column, never refused
        cust_pays = np.where(leg_refused, 0.0, cust_part)
        # 2. clearing. Only hedgers can fall short (venues are given what they owe, a custodian
        # what it holds); on a path where every hedger's outside capital plus what the venues
        # pay it covers what it owes, everybody pays in full and the clearing is the obligations
        # themselves. The other paths go through the clearing.
        h_owed = np.zeros((p, nh))
        np.add.at(h_owed, (slice(None), top.leg_hedger), hedger_part)
        h_in = np.zeros((p, nh))
        np.add.at(h_in, (slice(None), top.leg_hedger), venue_pays)
        h_paid = h_owed.copy()
        got_v = np.zeros((p, nv))
        np.add.at(got_v, (slice(None), top.leg_venue), hedger_part + cust_pays)
        short = np.flatnonzero(np.any(h_owed > top.hedger_capital[None, :] + h_in, axis=1))
        if len(short):
            q = len(short)
            liab = np.zeros((q, n, n))
            liab[:, top.leg_venue, hv] += venue_pays[short]
            liab[:, hv, top.leg_venue] += hedger_part[short]
            cust_ent = nv + nh + np.maximum(top.leg_custodian, 0)
            if has_c.any():
                np.add.at(liab, (slice(None), cust_ent[has_c], top.leg_venue[has_c]),
                          cust_pays[short][:, has_c])
            e = np.zeros((q, n))
            e[:, :nv] = liab[:, :nv, :].sum(axis=2)
            e[:, nv:nv + nh] = top.hedger_capital[None, :]
            e[:, nv + nh:] = top.custodian_holds[None, :]
            cl = clear(liab, e, None, method=top.method, alpha=top.alpha, beta=top.beta,
                       dtype=dtype)
            pay = cl.payments.astype(f64)
            got_v[short] = pay[:, :, :nv].sum(axis=1)
            h_paid[short] = pay[:, nv:nv + nh, :nv].sum(axis=2)
            clearing_rounds[short] = np.maximum(clearing_rounds[short], cl.rounds)
            clearing_ok[short] &= cl.converged
        # 3. shortfalls: everything owed to a venue (refused custody included) minus received
        owed_to_v = np.zeros((p, nv))
        np.add.at(owed_to_v, (slice(None), top.leg_venue), hedger_part + cust_part)
        unpaid_obl = np.maximum(owed_to_v - got_v, 0.0)
        fund_now = np.maximum(out.fund_final.astype(f64) - z["fund_used"], 0.0)
        adl_seen = adl0 | adl_net
        run_new = (fund_now[:, top.run_venue] < top.run_fund_below[None, :]) | (
            top.run_on_adl[None, :] & adl_seen[:, top.run_venue])
        run_on = run_on | run_new
        run_loss = np.where(run_on, top.run_amount * top.run_unbacked, 0.0)
        s = unpaid_obl.copy()
        np.add.at(s, (slice(None), top.run_venue), run_loss)
        lent_by_venue = np.zeros((p, nv))
        venue_lender = top.credit_lender_venue >= 0
        np.add.at(lent_by_venue, (slice(None), top.credit_lender_venue[venue_lender]),
                  draws[:, venue_lender])
        s = s + lent_by_venue
        credit_cap = np.zeros((p, nv))
        np.add.at(credit_cap, (slice(None), top.credit_borrower), draws)
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
        cref = np.zeros((p, nc))
        if has_c.any():
            np.add.at(cref, (slice(None), top.leg_custodian[has_c]),
                      np.where(leg_refused, cust_part, 0.0)[:, has_c])
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
