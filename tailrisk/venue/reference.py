"""Plain per-account reference implementation of one venue on one price path (docs/venue.md).

This is the oracle the fast kernel is checked against: numpy and Python loops, float64, one path,
following docs/venue.md step by step. Speed is not a goal; being obviously right is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..config.venue import CONTRACT_POLICIES, POLICIES, SETTLEMENT_POLICIES, VenueConfig
from ._accounts import Accounts

__all__ = ["ReferenceResult", "VenueEvent", "simulate_path_reference", "water_fill"]

_OPEN, _BACKLOG, _LIQUIDATED = 0, 1, 2


@dataclass(frozen=True)
class VenueEvent:
    """One liquidation batch: what the engine took and what the policy did with it.

    ``adl_accounts`` / ``adl_amounts``: the winners touched and, for contract-space policies, the
    contracts closed at ``close_price``, for PnL-space policies the haircut in USD. ``gap`` is the
    USD the policy was asked to cover (0 when the fund absorbed the batch).
    """

    step: int
    round: int
    side: int
    accounts: tuple[int, ...]
    quantity: float
    bankruptcy: float
    mark: float
    fill: float
    close_price: float
    gap: float
    phi: float
    adl_accounts: tuple[int, ...]
    adl_amounts: tuple[float, ...]
    winner_haircuts: tuple[float, ...]
    shortfall: float
    fund_after: float


@dataclass(frozen=True)
class ReferenceResult:
    """Every per-path output of docs/venue.md, plus per-account detail (USD unless stated)."""

    fund_final: float
    fund_min: float
    shortfall: float
    capital_injected: float
    insolvent: bool
    net_insolvent_debt: float
    liquidated_notional: float
    liquidated_count: int
    adl_notional: float
    adl_count: int
    adl_events: int
    backlog_max: float
    backlog_final: float
    converged: bool
    fees: float
    #: per account, shape (N,)
    payoff: np.ndarray
    undamped: np.ndarray
    #: per cohort (n_cohorts,) and per probe (n_probes,)
    cohort_damped: np.ndarray
    cohort_undamped: np.ndarray
    probe_damped: np.ndarray
    probe_undamped: np.ndarray
    pnl_rest: float
    token_revaluation: float
    #: final per-account state: contracts left, ADL proceeds, recorded haircuts, liquidated flag
    remaining: np.ndarray
    adl_proceeds: np.ndarray
    haircut: np.ndarray
    liquidated: np.ndarray
    #: socialized_at_settlement deficit before it was taken from winners
    deficit: float
    fund_initial: float
    #: the final mark P_T = S_T I_T at which open positions settle, USD
    final_mark: float
    #: fairness over winners (positive undamped payoff), docs/venue.md "Settlement at the horizon"
    winners: int
    winners_touched: int
    max_haircut_pct: float
    gini_haircut: float
    haircut_total: float
    overshoot: float
    #: USD of the fund's gaps paid by ADL, haircuts or settlement recoveries
    covered: float
    events: list[VenueEvent] = field(default_factory=list)

    @property
    def conservation_error(self) -> float:
        """Left side of the money-conservation identity; zero up to float rounding."""
        return float(
            self.payoff.sum()
            + self.pnl_rest
            + (self.fund_final - self.fund_initial)
            - self.token_revaluation
            - self.capital_injected
        )


def water_fill(w, caps, D: float) -> tuple[float, np.ndarray]:
    """Capped water-filling: haircuts ``x_j = min(lam, cap_j) w_j`` with ``sum x = D``.

    ``w`` (USD, >= 0) are winnings, ``caps`` the largest share of each that may be taken. Returns
    ``(lam, x)``. When even everyone at their cap cannot reach ``D``, everyone is at the cap and
    ``lam`` is ``inf``. ``D <= 0`` gives no haircut.
    """
    w = np.asarray(w, np.float64)
    caps = np.asarray(caps, np.float64)
    if D <= 0 or w.size == 0:
        return 0.0, np.zeros_like(w)
    if np.sum(caps * w) <= D:
        return math.inf, caps * w
    # Raise lam through the sorted caps: accounts whose cap is below lam are frozen at their cap.
    order = np.argsort(caps, kind="stable")
    frozen = 0.0  # USD taken from accounts already at their cap
    free_w = float(np.sum(w))  # winnings of accounts still below their cap
    lam = 0.0
    for j in order:
        lam = (D - frozen) / free_w if free_w > 0 else math.inf
        if lam <= caps[j]:
            break
        frozen += caps[j] * w[j]
        free_w -= w[j]
    return lam, np.minimum(lam, caps) * w


def gini(x) -> float:
    """Gini coefficient of nonnegative amounts (0 when all are zero): for sorted x_(1..n),
    ``sum (2 i - n - 1) x_(i) / (n sum x)``, the mean absolute difference over twice the mean."""
    x = np.sort(np.asarray(x, np.float64))
    n = x.size
    if n == 0 or np.sum(x) <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * np.sum(x)))


def _queue_score(policy: str, s, r, q, E, M, m, P) -> np.ndarray:
    """ADL priority of candidates (higher closes first), docs/venue.md step 4."""
    u = s * (P - E)
    margin_left = M * r / q
    equity = margin_left + r * u
    eff_lev = r * P / equity
    if policy == "queue_bitmex":
        return (u / E) * eff_lev
    if policy == "queue_binance":
        return np.maximum(0.0, r * u) / np.maximum(1.0, margin_left) * (m * r * P) / equity
    if policy == "queue_hyperliquid":
        return np.where(s > 0, P / E, E / P) * eff_lev
    if policy == "queue_leverage":
        return eff_lev
    raise ValueError(policy)


class _Path:
    """Mutable state of one venue on one path; methods follow the numbered steps of the spec."""

    def __init__(self, acc: Accounts, venue: VenueConfig, prices, seed, path, dt, policy):
        self.acc, self.venue, self.S = acc, venue, prices
        self.seed, self.path, self.dt, self.policy = seed, path, dt, policy
        self.s = acc.side.astype(np.float64)
        self.q = acc.quantity.astype(np.float64)
        self.E = acc.entry.astype(np.float64)
        self.M = acc.margin
        self.B = acc.bankruptcy_price
        self.Lq = acc.liquidation_price
        n = acc.n
        self.r = self.q.copy()
        self.g = np.zeros(n)
        self.h = np.zeros(n)
        self.status = np.full(n, _OPEN)
        self.joined = np.full(n, -1, np.int64)  # round sequence number when it joined the backlog
        self.payoff = np.full(n, np.nan)
        self.seq = 0
        self.I = 1.0
        self.tol = acc.money_tolerance(venue.fund)
        self.F = float(venue.fund)
        self.fund_min = self.F
        self.capital = 0.0
        self.capital_peak = 0.0
        self.shortfall = 0.0
        self.deficit = 0.0
        self.rest_pos = -float(np.sum(self.s * self.q))
        self.rest_cash = float(np.sum(self.s * self.q * self.E))
        self.reval = 0.0
        self.fees = 0.0
        self.liq_notional = 0.0
        self.liq_count = 0
        self.adl_notional = 0.0
        self.adl_count = 0
        self.adl_events = 0
        self.covered = 0.0
        self.backlog_max = 0.0
        self.converged = True
        self.events: list[VenueEvent] = []
        self.fund_history: list[tuple[int, float]] = [(0, self.F)]  # (step, fund at check end)

    # -- helpers -------------------------------------------------------------------------------
    def cover(self) -> float:
        """Shortfalls: capital (or the socialized deficit) lifts the fund back to its floor."""
        floor = self.venue.floor
        if self.F >= floor:
            return 0.0
        amount = floor - self.F
        self.shortfall += amount
        if self.policy == "socialized_at_settlement":
            self.deficit += amount
        else:
            self.capital += amount
            self.capital_peak = max(self.capital_peak, self.capital)
        self.F = floor
        return amount

    def triggered(self, P: float) -> np.ndarray:
        hit = np.where(self.s > 0, P <= self.Lq, P >= self.Lq)
        return (self.status == _OPEN) & ~self.acc.recourse & hit

    def target(self, t: int) -> float:
        v = self.venue
        if v.drawdown is None:
            return v.floor
        recent = [f for (tc, f) in self.fund_history if tc >= t - v.drawdown_window]
        peak = max([*recent, self.F])
        return max(v.floor, (1.0 - v.drawdown) * peak)

    # -- one check -----------------------------------------------------------------------------
    def check(self, t: int) -> None:
        v = self.venue
        taken_notional = {1: 0.0, -1: 0.0}
        converged = False
        for rnd in range(v.max_rounds):
            P = float(self.S[t] * self.I)
            # 1. trigger
            trig = self.triggered(P)
            self.status[trig] = _BACKLOG
            self.joined[trig] = self.seq
            self.seq += 1
            # 2. engine: oldest first, then by liquidation price toward the mark, then index
            batches = {}
            for side in (1, -1):
                idx = np.flatnonzero((self.status == _BACKLOG) & (self.s == side))
                order = sorted(idx, key=lambda j: (self.joined[j], -side * self.Lq[j], j))
                taken = []
                for j in order:
                    if taken_notional[side] >= v.capacity:
                        break
                    taken.append(int(j))
                    taken_notional[side] += self.r[j] * P
                for j in taken:
                    self.status[j] = _LIQUIDATED
                    self.payoff[j] = self.g[j] - self.M[j] * self.r[j] / self.q[j]
                    self.liq_count += 1
                batches[side] = taken
            # 3-4. batches, longs first
            unwound = {}
            for side in (1, -1):
                unwound[side] = self.batch(t, rnd, side, batches[side], P) if batches[side] else 0.0
            # 5. permanent impact of the volume unwound in the book
            for side in (1, -1):
                if unwound[side] > 0:
                    self.I *= math.exp(
                        -side * v.gamma * v.eta * (unwound[side] / v.depth) ** v.beta_impact
                    )
            # 6. re-check at the new mark
            if not self.triggered(self.S[t] * self.I).any():
                converged = True
                break
        self.converged &= converged
        P = self.S[t] * self.I
        backlog = float(np.sum(self.r[self.status == _BACKLOG]) * P)
        self.backlog_max = max(self.backlog_max, backlog)
        self.fund_history.append((t, self.F))

    def batch(self, t: int, rnd: int, side: int, taken: list[int], P: float) -> float:
        """Steps 3-4 for one side's batch; returns the notional unwound in the book (USD)."""
        v = self.venue
        idx = np.array(taken)
        Q = float(np.sum(self.r[idx]))
        if Q <= 0:  # only fully deleveraged accounts: nothing to unwind, no money moves
            return 0.0
        Bbar = float(np.sum(self.r[idx] * self.B[idx]) / Q)
        H = float(np.sum(self.h[idx]))
        X = P * math.exp(-side * v.eta * (Q * P / v.depth) ** v.beta_impact)
        R_X = side * Q * (X - Bbar) - H
        C = max(Bbar, P) if side > 0 else min(Bbar, P)
        self.fees += v.fee * Q * X
        self.liq_notional += Q * P
        target = self.target(t)
        phi, gap = 0.0, 0.0
        adl_idx = np.zeros(0, np.int64)
        amounts = np.zeros(0)
        winner_haircuts = np.zeros(0)
        if self.F + R_X >= target - self.tol or self.policy in SETTLEMENT_POLICIES:
            self.F += R_X
        else:
            gap = float(target - (self.F + R_X))
            cand = (
                (self.status == _OPEN)
                & (self.s == -side)
                & ~self.acc.exempt
                & (self.r > 0)
                & (self.s * self.r * (P - self.E) > 0)
            )
            self.adl_events += 1
            if self.policy in CONTRACT_POLICIES:
                # a winner at the mark that would lose at C is no candidate: closing it there
                # could cost it more than its margin (docs/venue.md, step 4)
                cand &= self.s * (C - self.E) > 0
                denom = side * Q * (C - X)
                phi = float(min(max(gap / denom, 0.0), 1.0)) if denom > 0 else 0.0
                Qa = min(phi * Q, float(np.sum(self.r[cand])))
                if Qa <= 1e-9 * Q:  # round-off, not a close (docs/venue.md, Tolerances)
                    Qa = 0.0
                phi = Qa / Q
                adl_idx, amounts = self.close_contracts(np.flatnonzero(cand), Qa, P, t, rnd)
                self.r[adl_idx] -= amounts
                self.g[adl_idx] += amounts * self.s[adl_idx] * (C - self.E[adl_idx])
                # what a winner gives up against closing at the mark (>= 0 by the choice of C)
                winner_haircuts = amounts * self.s[adl_idx] * (P - C)
                self.F += side * Q * (1 - phi) * (X - Bbar) + side * Q * phi * (C - Bbar) - H
                self.adl_notional += Qa * C
                self.covered += side * Q * phi * (C - X)
            else:  # pro_rata (PnL space)
                self.F += R_X
                w = np.where(cand, self.s * self.r * (P - self.E) - self.h, 0.0)
                cand &= w > 0
                cidx = np.flatnonzero(cand)
                _, x = water_fill(w[cidx], self.acc.cap[cidx], gap)
                touched = x > 0
                adl_idx, amounts = cidx[touched], x[touched]
                winner_haircuts = amounts
                self.h[adl_idx] += amounts
                self.F += float(np.sum(amounts))
                self.adl_notional += float(np.sum(amounts))
                self.covered += float(np.sum(amounts))
            self.adl_count += len(adl_idx)
        # the rest account takes the part unwound in the book at the fill price
        self.rest_pos += side * (1 - phi) * Q
        self.rest_cash -= side * (1 - phi) * Q * X
        short = self.cover()
        self.fund_min = min(self.fund_min, self.F)
        self.events.append(
            VenueEvent(
                step=t,
                round=rnd,
                side=side,
                accounts=tuple(taken),
                quantity=Q,
                bankruptcy=Bbar,
                mark=P,
                fill=X,
                close_price=C,
                gap=gap,
                phi=phi,
                adl_accounts=tuple(int(j) for j in adl_idx),
                adl_amounts=tuple(float(a) for a in amounts),
                winner_haircuts=tuple(float(a) for a in winner_haircuts),
                shortfall=short,
                fund_after=float(self.F),
            )
        )
        return (1 - phi) * Q * P

    def close_contracts(self, cidx: np.ndarray, Qa: float, P: float, t: int, rnd: int):
        """Contract-space allocation of ``Qa`` contracts over candidates ``cidx`` (index order)."""
        if Qa <= 0 or cidx.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        r = self.r[cidx]
        if self.policy == "contract_pro_rata":
            c = r * (Qa / np.sum(r))
        else:
            if self.policy == "random":
                from ._random import adl_uniform

                u = float(np.asarray(adl_uniform(self.seed, self.path, t, rnd)))
                start = min(math.floor(u * cidx.size), cidx.size - 1)  # float64 product
                order = np.r_[np.arange(start, cidx.size), np.arange(start)]
            else:
                score = _queue_score(
                    self.policy,
                    self.s[cidx],
                    r,
                    self.q[cidx],
                    self.E[cidx],
                    self.M[cidx],
                    self.acc.mmr[cidx],
                    P,
                )
                order = np.lexsort((cidx, -score))
            c = np.zeros(cidx.size)
            left = Qa
            for k in order:
                if left <= 0:
                    break
                c[k] = min(r[k], left)
                left -= c[k]
        touched = c > 1e-9 * Qa  # float residue of the allocation is no touch
        return cidx[touched], c[touched]

    # -- horizon -------------------------------------------------------------------------------
    def settle(self, ST: float) -> None:
        """Mark what is still held at the final mark ``ST`` (= P_T), then settle the policy."""
        v, acc = self.venue, self.acc
        unpaid = 0.0
        u_recourse = None
        for j in np.flatnonzero(self.status != _LIQUIDATED):
            raw = self.s[j] * self.r[j] * (ST - self.E[j]) - self.h[j]
            floor_j = -self.M[j] * self.r[j] / self.q[j]
            if raw >= floor_j:
                self.payoff[j] = self.g[j] + raw
            elif not acc.recourse[j]:
                self.payoff[j] = self.g[j] + floor_j
                unpaid += floor_j - raw
            else:
                if u_recourse is None:
                    from ._random import recourse_uniform

                    u_recourse = float(
                        np.asarray(recourse_uniform(self.seed, np.array([self.path])))[0]
                    )
                if u_recourse < v.recourse_default_prob:
                    self.payoff[j] = self.g[j] + floor_j
                    unpaid += floor_j - raw
                else:
                    self.payoff[j] = self.g[j] + raw
        self.F -= unpaid
        self.cover()
        self.fund_min = min(self.fund_min, self.F)
        if self.policy == "socialized_at_settlement" and self.deficit > 0:
            win = (~acc.exempt) & (self.payoff > 0)
            collected = self.take_pro_rata(win, self.deficit)
            self.covered += collected
            self.capital += self.deficit - collected
            self.capital_peak = max(self.capital_peak, self.capital)
        elif self.policy == "none" and self.capital > v.capital:
            collected = self.take_pro_rata(self.payoff > 0, self.capital - v.capital)
            self.covered += collected
            self.capital -= collected

    def take_pro_rata(self, mask: np.ndarray, amount: float) -> float:
        """Take ``amount`` USD from the positive payoffs in ``mask``, same fraction of each."""
        total = float(np.sum(self.payoff[mask]))
        if total <= 0:
            return 0.0
        collected = min(amount, total)
        self.payoff[mask] *= 1.0 - collected / total
        return collected


def simulate_path_reference(
    accounts: Accounts,
    venue: VenueConfig,
    prices: np.ndarray,
    *,
    seed: int = 0,
    path: int = 0,
    dt: float = 1 / 365,
    policy: str | None = None,
) -> ReferenceResult:
    """Run one venue over one price path, literally as docs/venue.md says.

    ``prices``: shape ``(T+1,)``, USD, ``prices[0] = S_0``. ``seed`` and ``path`` select the venue's
    random numbers (``random`` start points, recourse defaults, the token). ``dt`` is the step in
    years (token noise only). ``policy`` overrides ``venue.policy``.
    """
    policy = venue.policy if policy is None else policy
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r}: must be one of {', '.join(POLICIES)}")
    S = np.asarray(prices, np.float64)
    if S.ndim != 1 or S.size < 1 or not np.all(np.isfinite(S)) or np.any(S <= 0):
        raise ValueError("prices: need a 1-D array of finite positive USD prices, shape (T+1,)")
    T = S.size - 1
    st = _Path(accounts, venue, S, seed, path, dt, policy)

    token = None
    if venue.fund_in_token and T > 0:
        from ._random import token_normals

        z = np.asarray(token_normals(seed, np.array([path]), T), np.float64)[0]
        dlogS = np.diff(np.log(S))
        dlogT = venue.token_beta * dlogS + venue.token_sigma * math.sqrt(dt) * z
        dlogT -= venue.token_cojump * (dlogS < -venue.cojump_threshold)
        token = np.exp(np.r_[0.0, np.cumsum(dlogT)])

    for t in range(1, T + 1):
        if token is not None:  # revalue the token fund before the step's check
            new = st.F * token[t] / token[t - 1]
            st.reval += new - st.F
            st.F = new
            st.cover()
            st.fund_min = min(st.fund_min, st.F)
        if t % venue.check_every == 0:
            st.check(t)
        st.fund_min = min(st.fund_min, st.F)
    # settlement uses the final mark, permanent impact included
    ST = float(S[-1] * st.I)
    backlog_final = float(np.sum(st.r[st.status == _BACKLOG]) * ST)
    st.settle(ST)

    acc = accounts
    liquidated = st.status == _LIQUIDATED
    held = acc.side * acc.quantity * (ST - acc.entry)
    undamped = np.where(liquidated, -st.M, np.where(acc.recourse, held, np.maximum(held, -st.M)))
    k = len(acc.cohort_names)
    cohort_damped = np.bincount(acc.cohort, weights=st.payoff, minlength=k).astype(np.float64)
    cohort_undamped = np.bincount(acc.cohort, weights=undamped, minlength=k).astype(np.float64)
    winners = undamped > 0
    cut = (undamped - st.payoff)[winners]
    haircut_total = float(np.sum(cut))
    return ReferenceResult(
        fund_final=st.F,
        fund_min=st.fund_min,
        shortfall=st.shortfall,
        capital_injected=st.capital,
        insolvent=bool(st.capital_peak > venue.capital + st.tol),
        net_insolvent_debt=max(0.0, st.capital - venue.capital),
        liquidated_notional=st.liq_notional,
        liquidated_count=st.liq_count,
        adl_notional=st.adl_notional,
        adl_count=st.adl_count,
        adl_events=st.adl_events,
        backlog_max=st.backlog_max,
        backlog_final=backlog_final,
        converged=st.converged,
        fees=st.fees,
        payoff=st.payoff,
        undamped=undamped,
        cohort_damped=cohort_damped,
        cohort_undamped=cohort_undamped,
        probe_damped=st.payoff[acc.probe_index],
        probe_undamped=undamped[acc.probe_index],
        pnl_rest=st.rest_cash + st.rest_pos * ST,
        token_revaluation=st.reval,
        remaining=st.r,
        adl_proceeds=st.g,
        haircut=st.h,
        liquidated=liquidated,
        deficit=st.deficit,
        events=st.events,
        fund_initial=float(venue.fund),
        final_mark=ST,
        winners=int(np.sum(winners)),
        winners_touched=int(np.sum(np.abs(cut) > 1e-9 * np.abs(undamped[winners]))),
        max_haircut_pct=float(np.max(100.0 * cut / undamped[winners])) if cut.size else 0.0,
        gini_haircut=gini(np.where(cut > st.tol, cut, 0.0)),
        haircut_total=haircut_total,
        overshoot=float(np.sum(undamped - st.payoff)) - st.covered,
        covered=st.covered,
    )
