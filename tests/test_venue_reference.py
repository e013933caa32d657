"""The plain reference venue (tailrisk.venue.reference): hand-worked paths and invariants.

Every scenario test below has its numbers worked out on paper in the comments, from the rules of
docs/venue.md; the invariant tests run every policy over many small random venues and price paths.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.venue import CONTRACT_POLICIES, POLICIES, VenueConfig
from tailrisk.venue._accounts import Accounts
from tailrisk.venue.reference import simulate_path_reference, water_fill

ADL_POLICIES = (*CONTRACT_POLICIES, "pro_rata")


def venue(**kw) -> VenueConfig:
    base = dict(fund=0.0, fee=0.0, eta=0.0)
    base.update(kw)
    return VenueConfig(**base)


def run(acc, prices, policy="queue_bitmex", **kw):
    return simulate_path_reference(
        acc, venue(policy=policy, **kw), np.asarray(prices, float), policy=policy
    )


# --- MODEL.md 3.1 ----------------------------------------------------------------------------


def test_liquidation_price_check_long_100_10x():
    # Long E = 100, L = 10, m = 0.005: bankruptcy 100 (1 - 1/10) = 90; liquidation
    # 90 / (1 - 0.005) = 90.45226. A mark of 90.4523 (just above) must not trigger, 90.4522 must.
    acc = Accounts.from_arrays(
        side=[1], quantity=[1.0], entry=[100.0], leverage=[10.0], mmr=[0.005]
    )
    assert acc.bankruptcy_price[0] == pytest.approx(90.0, abs=1e-12)
    assert acc.liquidation_price[0] == pytest.approx(90.4523, abs=5e-5)
    res = run(acc, [100.0, 90.4523, 95.0])
    assert not res.liquidated[0]
    assert res.payoff[0] == pytest.approx(-5.0)  # held: 1 * (95 - 100)
    # Triggered at 90.4522: margin 10 seized (payoff -10); the book fill at 90.4522 leaves the
    # fund 1 * (90.4522 - 90) = 0.4522 of surplus.
    res = run(acc, [100.0, 90.4522, 95.0], fund=0.0)
    assert res.liquidated[0] and res.payoff[0] == pytest.approx(-10.0)
    assert res.fund_final == pytest.approx(0.4522, abs=1e-9)
    assert res.undamped[0] == pytest.approx(-10.0)
    assert abs(res.conservation_error) < 1e-9


# --- MODEL.md 3.4: water-filling -------------------------------------------------------------


def test_water_fill_model_checks():
    # caps 1: lam * (10 + 20 + 30) = 30 -> lam = 0.5, haircuts (5, 10, 15)
    lam, x = water_fill([10.0, 20.0, 30.0], [1.0, 1.0, 1.0], 30.0)
    assert lam == pytest.approx(0.5)
    np.testing.assert_allclose(x, [5.0, 10.0, 15.0])
    # caps (0.2, 1, 1): lam = 0.5 would exceed the first cap, so account 1 gives 0.2 * 10 = 2 and
    # the other two cover 28 with lam * 50 = 28 -> lam = 0.56: haircuts (2, 11.2, 16.8)
    lam, x = water_fill([10.0, 20.0, 30.0], [0.2, 1.0, 1.0], 30.0)
    assert lam == pytest.approx(0.56)
    np.testing.assert_allclose(x / np.array([10.0, 20.0, 30.0]), [0.2, 0.56, 0.56])
    np.testing.assert_allclose(x, [2.0, 11.2, 16.8])
    # not enough room: everyone at the cap (sum 0.2*10 + 20 + 30 = 52 < 60)
    lam, x = water_fill([10.0, 20.0, 30.0], [0.2, 1.0, 1.0], 60.0)
    assert math.isinf(lam)
    np.testing.assert_allclose(x, [2.0, 20.0, 30.0])
    assert water_fill([10.0], [1.0], 0.0)[1][0] == 0.0


def test_water_fill_through_pro_rata_venue():
    # Long A: q 10, E 100, L 10, m 0 -> B = Lq = 90. Shorts at E 97, L 2, q (1, 2, 3), caps
    # (0.2, 1, 1). The mark gaps 100 -> 87: A is liquidated, the fill is 87 (no impact), the fund
    # (0) would receive 10 (87 - 90) = -30, so G = 30. Winners at 87: w = q (97 - 87) =
    # (10, 20, 30), so the haircuts are the MODEL.md ones (2, 11.2, 16.8). The price stays at 87:
    # payoffs (10 - 2, 20 - 11.2, 30 - 16.8) = (8, 8.8, 13.2); A loses its margin 100.
    acc = Accounts.from_arrays(
        side=[1, -1, -1, -1],
        quantity=[10.0, 1.0, 2.0, 3.0],
        entry=[100.0, 97.0, 97.0, 97.0],
        leverage=[10.0, 2.0, 2.0, 2.0],
        cap=[1.0, 0.2, 1.0, 1.0],
    )
    res = run(acc, [100.0, 87.0, 87.0], policy="pro_rata")
    np.testing.assert_allclose(res.haircut, [0.0, 2.0, 11.2, 16.8])
    np.testing.assert_allclose(res.payoff, [-100.0, 8.0, 8.8, 13.2])
    np.testing.assert_allclose(res.undamped, [-100.0, 10.0, 20.0, 30.0])
    assert res.fund_final == pytest.approx(0.0, abs=1e-12)
    assert res.capital_injected == pytest.approx(0.0, abs=1e-12)
    assert res.adl_notional == pytest.approx(30.0) and res.adl_count == 3
    (ev,) = res.events
    assert ev.gap == pytest.approx(30.0) and ev.adl_accounts == (1, 2, 3)
    assert abs(res.conservation_error) < 1e-9


# --- MODEL.md 3.6: the article's $100 -> $80 --------------------------------------------------


def article_venue(final: float):
    # Long A: q 0.8, E 100, L 4, m 0 -> B = Lq = 75, margin 20. Short W: q 2, E 100, L 2 (so it
    # is never near its own liquidation price 150). Rest holds -(0.8 - 2) = 1.2 long.
    # The mark gaps 100 -> 70: A is liquidated; the book fill 70 would leave the fund (0)
    # 0.8 (70 - 75) = -4, so G = 4; C = max(75, 70) = 75 and phi = 4 / (0.8 (75 - 70)) = 1:
    # all 0.8 contracts are closed against W at 75, W books 0.8 (100 - 75) = 20 and keeps 1.2.
    acc = Accounts.from_arrays(
        side=[1, -1], quantity=[0.8, 2.0], entry=[100.0, 100.0], leverage=[4.0, 2.0]
    )
    return run(acc, [100.0, 70.0, 60.0, final], policy="queue_bitmex")


def test_article_short_entitled_to_100_receives_80():
    # At S_T = 50: W's remaining 1.2 contracts are worth 1.2 (100 - 50) = 60; 20 + 60 = 80,
    # against an entitlement of 2 (100 - 50) = 100: damping ratio 0.8.
    res = article_venue(50.0)
    assert res.adl_proceeds[1] == pytest.approx(20.0)
    assert res.remaining[1] == pytest.approx(1.2)
    assert res.payoff[1] == pytest.approx(80.0)
    assert res.undamped[1] == pytest.approx(100.0)
    assert res.payoff[1] / res.undamped[1] == pytest.approx(0.8)
    assert res.payoff[0] == pytest.approx(-20.0)
    # The rest never traded: 1.2 (50 - 100) = -60. -20 + 80 - 60 + 0 = 0.
    assert res.pnl_rest == pytest.approx(-60.0)
    (ev,) = res.events
    assert ev.phi == pytest.approx(1.0) and ev.close_price == pytest.approx(75.0)
    assert ev.adl_amounts == pytest.approx((0.8,))
    # W closed 0.8 at 75 with the mark at 70: it gave up 0.8 * 5 = 4 against the mark, not less
    assert ev.winner_haircuts == pytest.approx((4.0,))
    assert abs(res.conservation_error) < 1e-9


def test_contract_space_close_can_beat_holding_when_price_reverses():
    # Same close, but the price comes back to 105: held to T, W would have 2 (100 - 105) = -10;
    # having been closed early it has 20 + 1.2 (100 - 105) = 14 > -10.
    res = article_venue(105.0)
    assert res.undamped[1] == pytest.approx(-10.0)
    assert res.payoff[1] == pytest.approx(14.0)
    assert res.payoff[1] > res.undamped[1]


# --- a three-account gap under a queue policy --------------------------------------------------


def gap_accounts():
    # A: long q 10, E 100, L 10, m 0.005: margin 100, B 90, Lq 90.4523.
    # S1: short q 8, E 100, L 5: margin 160.   S2: short q 10, E 110, L 2: margin 550.
    return Accounts.from_arrays(
        side=[1, -1, -1],
        quantity=[10.0, 8.0, 10.0],
        entry=[100.0, 100.0, 110.0],
        leverage=[10.0, 5.0, 2.0],
        mmr=[0.005, 0.0, 0.0],
    )


def test_three_account_gap_queue_bitmex():
    # Path 100, 95, 85, 80; fund 20; fee 0.0005; checks every step.
    # t=1, P=95 > 90.4523: nothing. t=2, P=85 gaps through A's bankruptcy price 90:
    #   Q 10, Bbar 90, X 85 (no impact), R_X = 10 (85 - 90) = -50; F + R_X = -30 < 0, G = 30.
    #   C = max(90, 85) = 90, phi = 30 / (10 (90 - 85)) = 0.6, Qa = 6 contracts.
    #   Candidates (shorts in profit at 85), u = E - 85, e = M + q u, eff_lev = q P / e:
    #     S1: u 15, e 160 + 120 = 280, eff_lev 680/280 = 2.4286, score 0.15 * 2.4286 = 0.3643
    #     S2: u 25, e 550 + 250 = 800, eff_lev 850/800 = 1.0625, score 0.2273 * 1.0625 = 0.2415
    #   S1 first and it alone covers: 6 of its 8 contracts close at 90, proceeds 6 (100 - 90) = 60.
    #   Fund: 20 + 10 * 0.4 (85 - 90) + 10 * 0.6 (90 - 90) = 0. Fee reported 0.0005 * 10 * 85.
    # Settle at 80: S1 60 + 2 (100 - 80) = 100 (undamped 8 * 20 = 160); S2 10 * 30 = 300; A -100.
    # Rest: starts at -(10 - 8 - 10) = 8 contracts, cash 1000 - 800 - 1100 = -900, buys the 4
    # unwound contracts at 85: 12 contracts, cash -1240; at 80: -1240 + 960 = -280.
    # Check: -100 + 100 + 300 - 280 + (0 - 20) = 0.
    res = run(gap_accounts(), [100.0, 95.0, 85.0, 80.0], fund=20.0, fee=0.0005)
    np.testing.assert_allclose(res.payoff, [-100.0, 100.0, 300.0])
    np.testing.assert_allclose(res.undamped, [-100.0, 160.0, 300.0])
    np.testing.assert_allclose(res.remaining[1:], [2.0, 10.0])
    assert res.adl_proceeds[1] == pytest.approx(60.0)
    assert res.pnl_rest == pytest.approx(-280.0)
    assert res.fund_final == pytest.approx(0.0, abs=1e-12)
    assert res.fees == pytest.approx(0.425)
    assert res.capital_injected == 0.0 and not res.insolvent
    assert res.liquidated_count == 1 and res.liquidated_notional == pytest.approx(850.0)
    assert res.adl_notional == pytest.approx(540.0)  # 6 contracts at 90
    assert (res.adl_count, res.adl_events) == (1, 1)
    (ev,) = res.events
    assert (ev.step, ev.round, ev.side) == (2, 0, 1)
    assert ev.phi == pytest.approx(0.6) and ev.gap == pytest.approx(30.0)
    assert ev.adl_accounts == (1,) and ev.adl_amounts == pytest.approx((6.0,))
    np.testing.assert_allclose(res.cohort_damped, [-100.0, 400.0])  # long, short
    np.testing.assert_allclose(res.cohort_undamped, [-100.0, 460.0])
    assert abs(res.conservation_error) < 1e-9


def test_three_account_gap_pro_rata_and_none():
    # pro_rata: the whole batch goes to the book (R_X = -50, F = -30), then G = 30 is taken from
    # w = (8 * 15, 10 * 25) = (120, 250): lam = 30/370, haircuts (9.7297, 20.2703).
    # Settle at 80: S1 160 - 9.7297, S2 300 - 20.2703. Rest: 18 contracts, cash -900 - 850,
    # at 80: -310. Check: -100 + 150.2703 + 279.7297 - 310 - 20 = 0.
    res = run(gap_accounts(), [100.0, 95.0, 85.0, 80.0], policy="pro_rata", fund=20.0)
    np.testing.assert_allclose(res.haircut, [0.0, 3600 / 370, 7500 / 370])
    np.testing.assert_allclose(res.payoff, [-100.0, 160.0 - 3600 / 370, 300.0 - 7500 / 370])
    assert res.pnl_rest == pytest.approx(-310.0)
    # none: the fund's 20 covers 20 of the 50 lost; capital (K = 0) injects the other 30, so the
    # path is insolvent, and at settlement the 30 over K is taken from the winners' payoffs
    # (160, 300) pro rata, which brings capital injected back to 0.
    res = run(gap_accounts(), [100.0, 95.0, 85.0, 80.0], policy="none", fund=20.0)
    assert res.insolvent and res.shortfall == pytest.approx(30.0)
    np.testing.assert_allclose(res.payoff, [-100.0, 160.0 - 30 * 160 / 460, 300 - 30 * 300 / 460])
    assert res.capital_injected == pytest.approx(0.0, abs=1e-12)
    assert res.net_insolvent_debt == pytest.approx(0.0, abs=1e-12)
    assert abs(res.conservation_error) < 1e-9


# --- MODEL.md 3.6: the closed market -----------------------------------------------------------


@pytest.mark.parametrize("policy", CONTRACT_POLICIES)
@pytest.mark.parametrize(
    ("path", "knocked_out"),
    [
        ([100.0, 90.0, 85.0, 78.0, 70.0, 60.0], True),  # gaps below 80 at t=3, ends at 60
        ([100.0, 90.0, 78.0, 95.0, 105.0, 110.0], True),  # knocked out, then the price recovers
        ([100.0, 90.0, 81.0, 95.0, 88.0, 84.0], False),  # never reaches 80
    ],
)
def test_closed_market_short_is_a_knock_out_forward(policy, path, knocked_out):
    # Longs and shorts of one leverage L = 5, m = 0, no fund; 6 contracts a side, so the rest
    # holds 0. Longs (E 100) have B = Lq = 80. The first check with mark P < 80 liquidates all
    # longs: X = P, R_X = 6 (P - 80) < 0, G = 6 (80 - P), C = 80, phi = G / (6 (80 - P)) = 1 and
    # Qa = 6 = all the shorts' contracts. So every short is settled at 80: its damped payoff is
    # q (E - 80) whatever happens later; otherwise it is q (E - S_T). The rest never trades.
    # Short entries 95, 100, 105 (L 5: Lq = 114, 120, 126, never reached).
    acc = Accounts.from_arrays(
        side=[1, 1, -1, -1, -1],
        quantity=[2.0, 4.0, 1.0, 2.0, 3.0],
        entry=[100.0, 100.0, 95.0, 100.0, 105.0],
        leverage=5.0,
    )
    res = run(acc, path, policy=policy)
    shorts = slice(2, 5)
    E_s, q_s = np.array([95.0, 100.0, 105.0]), np.array([1.0, 2.0, 3.0])
    ST = path[-1]
    expected = q_s * (E_s - 80.0) if knocked_out else q_s * (E_s - ST)
    np.testing.assert_allclose(res.payoff[shorts], expected, atol=1e-9)
    np.testing.assert_allclose(res.undamped[shorts], q_s * (E_s - ST))
    # The rest's position stays 0, so its PnL is its constant cash sum s q E = 600 - 610 = -10
    # (the accounts' own PnLs, measured from different entries, sum to +10 at any mark).
    assert res.pnl_rest == pytest.approx(-10.0, abs=1e-9)
    if knocked_out:
        np.testing.assert_allclose(res.remaining[shorts], 0.0, atol=1e-12)
        np.testing.assert_allclose(res.payoff[:2], [-40.0, -80.0])
    assert res.fund_final == 0.0 and res.capital_injected == 0.0
    assert abs(res.conservation_error) < 1e-9


# --- invariants over random venues ------------------------------------------------------------


def random_case(rng: np.random.Generator):
    n = int(rng.integers(2, 8))
    side = rng.choice([1, -1], n)
    side[0], side[1] = 1, -1
    acc = Accounts.from_arrays(
        side=side,
        quantity=rng.lognormal(0.0, 1.0, n),
        entry=100.0 * np.exp(rng.normal(0.0, 0.08, n)),
        leverage=rng.choice([1.5, 3.0, 10.0, 25.0, 60.0], n) * np.exp(rng.uniform(-0.1, 0.1, n)),
        mmr=rng.choice([0.0, 0.005, 0.02], n),
        exempt=rng.random(n) < 0.2,
        recourse=rng.random(n) < 0.15,
        cap=np.where(rng.random(n) < 0.3, rng.uniform(0.2, 1.0, n), 1.0),
    )
    steps = 24
    jumps = np.where(rng.random(steps) < 0.15, rng.normal(0.0, 0.12, steps), 0.0)
    logret = rng.normal(0.0, 0.02, steps) + jumps
    prices = 100.0 * np.exp(np.r_[0.0, np.cumsum(logret)])
    notional = float(np.sum(acc.quantity * acc.entry))
    cfg = dict(
        fund=float(rng.choice([0.0, 0.5, 5.0])),
        floor=float(rng.choice([0.0, 0.2])),
        eta=float(rng.choice([0.0, 0.05, 0.3])),
        depth=notional * float(rng.choice([0.5, 5.0])),
        gamma=float(rng.uniform(0, 1)),
        capacity=float(rng.choice([math.inf, 0.3 * notional])),
        check_every=int(rng.choice([1, 3])),
        max_rounds=int(rng.choice([1, 4])),
        fee=float(rng.choice([0.0, 0.001])),
        drawdown=[None, 0.3][int(rng.integers(2))],
        drawdown_window=int(rng.choice([3, 10])),
        fund_in_token=bool(rng.random() < 0.3),
        token_cojump=0.2,
        capital=float(rng.choice([0.0, 5.0])),
        recourse_default_prob=float(rng.choice([0.0, 0.5, 1.0])),
    )
    return acc, prices, cfg


@pytest.mark.parametrize("policy", POLICIES)
def test_invariants_random_venues(policy):
    rng = np.random.default_rng(list(POLICIES).index(policy) + 100)
    adl_seen = 0
    for case in range(40):
        acc, prices, cfg = random_case(rng)
        res = simulate_path_reference(
            acc, venue(policy=policy, **cfg), prices, seed=case, path=case, policy=policy
        )
        scale = float(np.sum(acc.quantity * acc.entry)) + cfg["fund"] + 1.0
        where = f"case {case}: {cfg}"
        # money is conserved
        assert abs(res.conservation_error) < 1e-9 * scale, where
        # the fund never goes below its floor (it may start below it)
        assert res.fund_min >= min(cfg["floor"], cfg["fund"]) - 1e-9, where
        assert res.fund_final >= cfg["floor"] - 1e-9, where
        assert all(ev.fund_after >= cfg["floor"] - 1e-9 for ev in res.events), where
        # only recourse accounts can lose more than their margin
        M = acc.margin
        assert np.all(res.payoff[~acc.recourse] >= -M[~acc.recourse] - 1e-9 * scale), where
        assert np.all(res.undamped[~acc.recourse] >= -M[~acc.recourse] - 1e-12), where
        for ev in res.events:
            # winners are never closed or haircut at a better price than the mark
            assert all(x >= -1e-9 * scale for x in ev.winner_haircuts), where
            # ADL never touches the batch's own side, liquidated or exempt accounts
            assert not set(ev.adl_accounts) & set(ev.accounts)
            assert all(acc.side[j] == -ev.side and not acc.exempt[j] for j in ev.adl_accounts)
            if policy in CONTRACT_POLICIES:
                closed = sum(ev.adl_amounts)
                assert closed <= ev.quantity * (1 + 1e-12), where
                assert closed == pytest.approx(ev.phi * ev.quantity, rel=1e-9, abs=1e-12)
            if policy not in ADL_POLICIES:
                assert ev.adl_accounts == () and ev.phi == 0.0
            adl_seen += bool(ev.adl_accounts)
        # exempt accounts are never touched by ADL (the `none` blow-up takes from everyone)
        ex = acc.exempt
        np.testing.assert_array_equal(res.remaining[ex], acc.quantity[ex])
        assert np.all(res.adl_proceeds[ex] == 0.0) and np.all(res.haircut[ex] == 0.0)
        if policy == "pro_rata":
            keep = ~acc.recourse
            assert np.all(res.payoff[keep] <= res.undamped[keep] + 1e-9 * scale), where
        if policy not in CONTRACT_POLICIES:
            np.testing.assert_array_equal(res.remaining, acc.quantity)
        if policy in ("pro_rata", "socialized_at_settlement", "none"):
            # a PnL-space or settlement policy never pays a winner more than it is entitled to
            win = ~acc.recourse & (res.undamped > 0)
            assert np.all(res.payoff[win] <= res.undamped[win] + 1e-9 * scale), where
        # insolvency below the round-off allowance is float residue (docs/venue.md, Tolerances)
        tol = acc.money_tolerance(cfg["fund"])
        assert res.insolvent == (res.net_insolvent_debt > tol) or policy == "none"
        np.testing.assert_allclose(res.cohort_damped.sum(), res.payoff.sum(), atol=1e-9 * scale)
    if policy in ADL_POLICIES:
        assert adl_seen > 0, "the random venues never exercised the policy"


# --- impact, capacity and the final mark -------------------------------------------------------


def test_impact_fill_permanent_impact_and_final_mark():
    # Long A: q 1, E 100, L 10, m 0 -> B = Lq = 90, margin 10. Short S: q 1, E 100, L 2.
    # eta 0.1, depth 89, beta 0.5, gamma 0.5, fund 1000. Path 100, 89, 89.
    # t=1: A triggers at 89; Q P / depth = 1, so X = 89 e^-0.1 = 80.5306, R_X = 80.5306 - 90 =
    # -9.4694, absorbed by the fund. Permanent impact: I = e^(-0.5 * 0.1 * 1) = e^-0.05, so the
    # mark is 89 e^-0.05 = 84.6595, and it stays there: the final mark P_T = 84.6595.
    # S settles at P_T: 100 - 84.6595 = 15.3405 (undamped the same). The rest (0 contracts, cash 0)
    # bought A's contract at X: -80.5306 + 84.6595 = 4.1289.
    # Check: -10 + 15.3405 + 4.1289 - 9.4694 = 0.
    acc = Accounts.from_arrays(side=[1, -1], quantity=1.0, entry=100.0, leverage=[10.0, 2.0])
    res = run(acc, [100.0, 89.0, 89.0], fund=1000.0, eta=0.1, depth=89.0, gamma=0.5)
    X, PT = 89 * math.exp(-0.1), 89 * math.exp(-0.05)
    (ev,) = res.events
    assert ev.fill == pytest.approx(X) and ev.mark == pytest.approx(89.0)
    assert res.final_mark == pytest.approx(PT)
    np.testing.assert_allclose(res.payoff, [-10.0, 100.0 - PT])
    np.testing.assert_allclose(res.undamped, [-10.0, 100.0 - PT])
    assert res.fund_final == pytest.approx(1000.0 + X - 90.0)
    assert res.pnl_rest == pytest.approx(PT - X)
    assert abs(res.conservation_error) < 1e-9


def test_capacity_backlog_waits_for_the_next_check():
    # A1: long q 1, E 100, L 10 (B = Lq = 90); A2: long q 1, E 100, L 5 (B = Lq = 80); m 0.
    # capacity 50 USD, fund 100, path 100, 79, 79, 79.
    # t=1, P 79: both trigger; longs go by Lq descending, so A1 first (taken notional 0 < 50,
    # becomes 79), then 79 >= 50 stops: A2 waits in the backlog. A1: R_X = 79 - 90 = -11, F = 89.
    # No open account is triggered any more, so the check converged with a backlog of 79 USD.
    # t=2: A2 is taken: R_X = 79 - 80 = -1, F = 88. Payoffs -10, -20. The rest starts at -2
    # contracts and cash 200 and buys 2 at 79: 200 - 158 = 42. Check: -30 + 42 - 12 = 0.
    acc = Accounts.from_arrays(side=[1, 1], quantity=1.0, entry=100.0, leverage=[10.0, 5.0])
    res = run(acc, [100.0, 79.0, 79.0, 79.0], fund=100.0, capacity=50.0)
    assert [(ev.step, ev.accounts) for ev in res.events] == [(1, (0,)), (2, (1,))]
    assert res.backlog_max == pytest.approx(79.0) and res.backlog_final == 0.0
    assert res.converged
    np.testing.assert_allclose(res.payoff, [-10.0, -20.0])
    assert res.fund_final == pytest.approx(88.0) and res.fund_min == pytest.approx(88.0)
    assert res.liquidated_notional == pytest.approx(158.0) and res.liquidated_count == 2
    assert res.pnl_rest == pytest.approx(42.0)
    assert abs(res.conservation_error) < 1e-9


def test_fairness_outputs_gap_scenario():
    # The queue_bitmex gap above: winners S1 (undamped 160, damped 100) and S2 (300, 300).
    # touched 1; max haircut 100 * 60/160 = 37.5%; haircut_total 60; Gini of (60, 0) =
    # |60 - 0| * 2 / (2 * 2^2 * 30) = 0.5. ADL covered 6 * (90 - 85) = 30, so overshoot 30.
    res = run(gap_accounts(), [100.0, 95.0, 85.0, 80.0], fund=20.0)
    assert (res.winners, res.winners_touched) == (2, 1)
    assert res.max_haircut_pct == pytest.approx(37.5)
    assert res.haircut_total == pytest.approx(60.0) and res.gini_haircut == pytest.approx(0.5)
    assert res.covered == pytest.approx(30.0) and res.overshoot == pytest.approx(30.0)
