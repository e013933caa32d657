"""The rounds between venues on hand-worked stand-in outcomes (no kernel): every number below is
worked out on paper in the comments."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tailrisk.contagion import Outcomes, Topology, network_rounds

E = np.zeros(0)
I0 = np.zeros(0, np.int64)


def _topology(**kw):
    # venue 0 "A" (an ADL policy), venue 1 "B" (policy none); one hedger, long on A, short on B,
    # margin 10 a leg, outside capital 5; a run on B when its fund is below 1 USD
    base = dict(
        venues=("A", "B"), no_adl=np.array([False, True]), fund0=np.array([10.0, 10.0]),
        capital=np.array([4.0, 0.0]), hedgers=("h",), hedger_capital=np.array([5.0]),
        leg_hedger=np.array([0, 0]), leg_venue=np.array([0, 1]),
        leg_margin=np.array([10.0, 10.0]), leg_custodian=np.array([-1, -1]),
        custodians=(), custodian_holds=E, custodian_venue=I0, custodian_refuse_below=E,
        firms=(), firm_capital=E, credit_names=(), credit_lender_venue=I0,
        credit_lender_firm=I0, credit_borrower=I0, credit_limit=E,
        run_names=("run_B",), run_venue=np.array([1]), run_amount=np.array([50.0]),
        run_fund_below=np.array([1.0]), run_on_adl=np.array([False]),
        run_unbacked=np.array([1.0]))
    base.update(kw)
    return Topology(**base)


def _outcomes(p=1, **kw):
    # the price fell: the hedger's long leg on A lost 40, its short leg on B won 40; A kept a fund
    # of 2 above its floor, B none; A's own winners hold 6, B's 60; nobody used capital
    base = dict(
        fund_final=np.tile([2.0, 0.0], (p, 1)), floor=np.zeros(2),
        capital_injected=np.zeros((p, 2)), insolvent=np.zeros((p, 2), bool),
        adl_events=np.zeros((p, 2), np.int32), winners=np.tile([6.0, 60.0], (p, 1)),
        haircut_total=np.zeros((p, 2)), leg_payoff=np.tile([-40.0, 40.0], (p, 1)))
    base.update(kw)
    return Outcomes(**base)


def test_run_haircut_and_hedger_default_eisenberg_noe():
    # B: its fund (0) is below 1, the run takes 50; no capital, no ADL before capital (policy
    # none), so its winners (60 + the hedger's 40) are paid pro rata: eta_B = 50 / 100 = 0.5.
    # The hedger receives 20 and has 5: 25 < 30 (its loss on A beyond the 10 of margin): it pays
    # 25. A is short 5: its fund pays 2, ADL takes 3 of its 6 of winners (eta_A = 0.5).
    r = network_rounds(_topology(), _outcomes())
    np.testing.assert_allclose(r["shortfall"][0], [5.0, 50.0])
    np.testing.assert_allclose(r["fund_used"][0], [2.0, 0.0])
    np.testing.assert_allclose(r["adl"][0], [3.0, 50.0])
    np.testing.assert_allclose(r["eta"][0], [0.5, 0.5])
    np.testing.assert_allclose(r["hedger_unpaid"][0], [5.0])
    assert r["failed"][0].tolist() == [False, True]
    assert r["converged"][0] and r["rounds"][0] == 3
    np.testing.assert_allclose(r["conservation"], 0.0, atol=1e-9)
    np.testing.assert_allclose(r["link_loss"][0], [5.0, 50.0])


def test_default_costs_capital_and_a_credit_line():
    # Rogers–Veraart alpha = beta = 0.5: the defaulting hedger realises 0.5 * 5 + 0.5 * 20 = 12.5,
    # A is short 17.5: fund 2, ADL 6 (all its winners), capital 4, then a firm's credit line of
    # 3 covers part of the 5.5 past its capital; 2.5 stays unpaid. A fails (past its capital).
    top = _topology(method="rogers_veraart", alpha=0.5, beta=0.5, firms=("F",),
                    firm_capital=np.array([100.0]), credit_names=("F_to_A",),
                    credit_lender_venue=np.array([-1]), credit_lender_firm=np.array([0]),
                    credit_borrower=np.array([0]), credit_limit=np.array([3.0]))
    r = network_rounds(top, _outcomes())
    np.testing.assert_allclose(r["shortfall"][0], [17.5, 50.0])
    np.testing.assert_allclose(r["fund_used"][0], [2.0, 0.0])
    np.testing.assert_allclose(r["adl"][0], [6.0, 50.0])
    np.testing.assert_allclose(r["capital_used"][0], [4.0, 0.0])
    np.testing.assert_allclose(r["credit_in"][0], [3.0, 0.0])
    np.testing.assert_allclose(r["unpaid"][0], [2.5, 0.0])
    np.testing.assert_allclose(r["firm_loss"], [3.0])
    assert r["failed"][0].tolist() == [True, True]
    # money: fund + ADL + capital + unpaid + the firm's draw = what the links left unpaid
    np.testing.assert_allclose(r["conservation"], 0.0, atol=1e-9)


def test_custodian_refuses_when_the_venue_looks_insolvent():
    # The hedger's margin for A sits with a custodian holding 25. No run (fund_below 0). A's
    # solvency ratio after the kernel is (2 + 4) / (10 + 4) = 0.43: below 0.5 the custodian
    # refuses and A never gets the 25; the hedger pays its own part, 40 - 25 = 15, from 5 + 40.
    # A is short 25: fund 2, ADL 6, capital 4, 13 unpaid. At threshold 0.4 it pays.
    for threshold, refused in ((0.5, True), (0.4, False)):
        top = _topology(leg_custodian=np.array([0, -1]), custodians=("c",),
                        custodian_holds=np.array([25.0]), custodian_venue=np.array([0]),
                        custodian_refuse_below=np.array([threshold]),
                        run_fund_below=np.array([0.0]))
        r = network_rounds(top, _outcomes())
        assert r["custody_refused"][0, 0] == refused
        np.testing.assert_allclose(r["shortfall"][0], [25.0 if refused else 0.0, 0.0])
        np.testing.assert_allclose(r["unpaid"][0], [13.0 if refused else 0.0, 0.0])
        np.testing.assert_allclose(r["hedger_unpaid"][0], [0.0])
        np.testing.assert_allclose(r["conservation"], 0.0, atol=1e-9)


def test_links_cut_give_the_isolated_numbers():
    out = _outcomes(capital_injected=np.array([[1.0, 3.0]]), haircut_total=np.array([[2.0, 7.0]]),
                    insolvent=np.array([[False, True]]))
    r = network_rounds(_topology(links=False), out)
    np.testing.assert_array_equal(r["loss_linked"], r["loss_isolated"])
    np.testing.assert_array_equal(r["failed"], r["failed_isolated"])
    np.testing.assert_array_equal(r["haircut_linked"], r["haircut_isolated"])
    assert not r["link_loss"].any() and r["converged"].all()


def _random_outcomes(rng, p):
    return _outcomes(
        p, fund_final=rng.uniform(0, 20, (p, 2)), winners=rng.uniform(0, 100, (p, 2)),
        leg_payoff=np.stack([-(g := rng.uniform(0, 80, p)), g * rng.uniform(0.8, 1.2, p)], 1))


@pytest.mark.parametrize("method", [("eisenberg_noe", 1.0, 1.0), ("rogers_veraart", 0.6, 0.9)])
def test_more_shock_never_less_loss_and_money_adds_up(method):
    rng = np.random.default_rng(5)
    out = _random_outcomes(rng, 400)
    top = _topology(method=method[0], alpha=method[1], beta=method[2])
    prev = None
    for amount in (0.0, 20.0, 60.0, 200.0):
        r = network_rounds(dataclasses.replace(top, run_amount=np.array([amount])), out)
        np.testing.assert_allclose(r["conservation"], 0.0, atol=1e-8)
        assert r["converged"].all()
        if prev is not None:
            assert np.all(r["failed"] >= prev["failed"])
            assert np.all(r["loss_linked"].sum(1) >= prev["loss_linked"].sum(1) - 1e-9)
            assert np.all(r["hedger_unpaid"] >= prev["hedger_unpaid"] - 1e-9)
        prev = r


def test_paths_are_independent_of_the_batch():
    out = _random_outcomes(np.random.default_rng(9), 300)
    top = _topology(method="rogers_veraart", alpha=0.7, beta=0.8)
    whole = network_rounds(top, out)
    parts = [network_rounds(top, dataclasses.replace(out, **{
        f.name: getattr(out, f.name)[s] for f in dataclasses.fields(out) if f.name != "floor"}))
        for s in (slice(0, 37), slice(37, 300))]
    blocks = network_rounds(top, out, block=64)  # the memory bound's blocks
    for key, arr in whole.items():
        np.testing.assert_array_equal(arr, np.concatenate([q[key] for q in parts]), err_msg=key)
        np.testing.assert_array_equal(arr, blocks[key], err_msg=key)


@pytest.mark.parametrize("costs", [(1.0, 1.0), (0.6, 0.9)])
def test_the_per_hedger_clearing_is_the_dense_clearing(costs):
    # the rounds clear hedgers one by one (nobody that defaults is owed by a defaulter); the
    # dense clearing of the same matrix of venues, hedgers and custodians agrees
    from tailrisk.contagion import clear
    from tailrisk.contagion._rounds import _clear_hedgers

    rng = np.random.default_rng(21)
    p, nv, nh, nc = 300, 3, 4, 2
    leg_hedger = np.repeat(np.arange(nh), 2)
    leg_venue = np.array([0, 1, 1, 2, 2, 0, 0, 2])
    leg_custodian = np.array([0, -1, -1, 1, -1, -1, -1, -1])
    top = _topology(venues=("A", "B", "C"), hedgers=tuple("hijk"),
                    hedger_capital=rng.uniform(0, 20, nh), leg_hedger=leg_hedger,
                    leg_venue=leg_venue, leg_custodian=leg_custodian,
                    custodians=("c0", "c1"), custodian_holds=np.array([30.0, 30.0]),
                    method="rogers_veraart" if costs[0] < 1 else "eisenberg_noe",
                    alpha=costs[0], beta=costs[1])
    g = len(leg_venue)
    venue_pays = rng.uniform(0, 40, (p, g)) * (rng.random((p, g)) < 0.5)
    hedger_part = rng.uniform(0, 40, (p, g)) * (venue_pays == 0)
    cust_pays = np.where(leg_custodian >= 0, rng.uniform(0, 30, (p, g)), 0.0)
    h_owed = np.stack([hedger_part[:, leg_hedger == h].sum(1) for h in range(nh)], 1)
    h_in = np.stack([venue_pays[:, leg_hedger == h].sum(1) for h in range(nh)], 1)
    paid, rounds = _clear_hedgers(top, h_owed, h_in, venue_pays, cust_pays, 1e-11)
    n = nv + nh + nc
    liab = np.zeros((p, n, n))
    for k in range(g):
        liab[:, leg_venue[k], nv + leg_hedger[k]] += venue_pays[:, k]
        liab[:, nv + leg_hedger[k], leg_venue[k]] += hedger_part[:, k]
        if leg_custodian[k] >= 0:
            liab[:, nv + nh + leg_custodian[k], leg_venue[k]] += cust_pays[:, k]
    e = np.concatenate([liab[:, :nv].sum(2), np.broadcast_to(top.hedger_capital, (p, nh)),
                        np.full((p, nc), 30.0)], 1)
    import jax

    with jax.enable_x64(True):
        c = clear(liab, e, None, method=top.method, alpha=top.alpha, beta=top.beta,
                  dtype="float64")
    assert 0 < rounds.sum() < p
    np.testing.assert_allclose(paid, c.paid[:, nv:nv + nh], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(rounds, c.rounds)
