"""Clearing (Eisenberg–Noe, Rogers–Veraart) against hand-worked examples and the Picard oracle."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tailrisk.contagion import clear, clear_reference

# MODEL.md section 5: L[i, j] = what i owes j
L3 = np.array([[0.0, 4.0, 0.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0]])
E3 = np.array([20.0, 20.0, 10.0])
O3 = np.array([17.0, 18.0, 8.0])


def test_model_example_everybody_pays_before_the_cut():
    c = clear(L3, E3, O3)
    np.testing.assert_allclose(c.paid[0], [21.0, 21.0, 10.0])
    assert not c.defaulted.any() and c.rounds[0] == 0


def test_model_example_with_outside_assets_cut_by_ten_percent():
    # By hand: entity 0 owes 4 + 17 = 21 and has 18 + 2 (from entity 2) = 20 < 21: it pays 20,
    # 4 * 20/21 of it to entity 1, which then has 18 + 3.81 = 21.81 >= 21 and pays in full;
    # entity 2 has 9 + 3 = 12 >= 10. Clearing vector [20, 21, 10]; entity 0 (the spec's
    # "entity 1", counting from one) defaults.
    c = clear(L3, 0.9 * E3, O3)
    np.testing.assert_allclose(c.paid[0], [20.0, 21.0, 10.0], rtol=1e-6)
    assert c.defaulted[0].tolist() == [True, False, False]
    np.testing.assert_allclose(c.payments[0, 0], [0.0, 4 * 20 / 21, 0.0], rtol=1e-6)
    np.testing.assert_allclose(c.payments[0, 1:], L3[1:], rtol=1e-6)


def test_rogers_veraart_hand_worked_default_costs_spread_the_default():
    # alpha = 0.5, beta = 0.9 on the cut example. Entity 0 is short (18 + 2 < 21) and realises
    # 0.5 * 18 + 0.9 * 2 = 10.8. Entity 1 now receives 4 * 10.8 / 21 = 2.0571: 18 + 2.0571 < 21,
    # so it defaults too and pays 0.5 * 18 + 0.9 * 2.0571 = 10.8514. Entity 2 receives
    # 3 * 10.8514 / 21 = 1.5502: 9 + 1.5502 >= 10, it pays in full. Every other candidate set
    # fails its own test, so this is the greatest clearing vector. Under Eisenberg–Noe only
    # entity 0 defaults: the default costs alone carry the default to entity 1.
    c = clear(L3, 0.9 * E3, O3, method="rogers_veraart", alpha=0.5, beta=0.9)
    p0 = 0.5 * 18 + 0.9 * 2
    p1 = 0.5 * 18 + 0.9 * 4 * p0 / 21
    np.testing.assert_allclose(c.paid[0], [p0, p1, 10.0], rtol=1e-6)
    assert c.defaulted[0].tolist() == [True, True, False]


def _random_networks(rng, count, n, density=0.6, scale=10.0):
    l = rng.exponential(scale, (count, n, n)) * (rng.random((count, n, n)) < density)
    l[:, np.arange(n), np.arange(n)] = 0.0
    e = rng.exponential(scale, (count, n)) * (rng.random((count, n)) < 0.8)
    o = rng.exponential(scale, (count, n)) + 0.1  # every entity owes something outside
    return l, e, o


def test_rogers_veraart_with_no_costs_is_eisenberg_noe():
    l, e, o = _random_networks(np.random.default_rng(1), 200, 5)
    en = clear(l, e, o)
    rv = clear(l, e, o, method="rogers_veraart", alpha=1.0, beta=1.0)
    np.testing.assert_array_equal(en.paid, rv.paid)
    np.testing.assert_array_equal(en.defaulted, rv.defaulted)
    assert en.defaulted.any(axis=1).mean() > 0.3  # the test exercises defaults


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("costs", [(1.0, 1.0), (0.6, 0.85)])
def test_jax_clearing_matches_the_picard_oracle_on_random_networks(dtype, costs):
    alpha, beta = costs
    rng = np.random.default_rng(7)
    l, e, o = _random_networks(rng, 300, 5)
    method = "eisenberg_noe" if costs == (1.0, 1.0) else "rogers_veraart"
    with jax.enable_x64(dtype == "float64"):
        c = clear(l, e, o, method=method, alpha=alpha, beta=beta, dtype=dtype)  # one call
    rtol = 2e-4 if dtype == "float32" else 1e-9
    n_default = 0
    for k in range(len(l)):
        paid, defaulted, _ = clear_reference(l[k], e[k], o[k], alpha, beta)
        scale = max(1.0, paid.max())
        np.testing.assert_allclose(c.paid[k], paid, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"network {k}")
        # who defaults: compare where the margin is clear of rounding
        owed = c.owed[k]
        clear_margin = np.abs(owed - paid) > 1e-3 * scale
        np.testing.assert_array_equal(c.defaulted[k][clear_margin], defaulted[clear_margin])
        n_default += defaulted.any()
        # clearing conditions: nobody pays more than it owes or more than it has
        inflow = c.payments[k].sum(axis=0)
        assert np.all(c.paid[k] <= owed * (1 + rtol) + rtol)
        assert np.all(c.paid[k] <= e[k] + inflow + rtol * scale)
    assert n_default > 100
    assert c.converged.all() and c.rounds.max() <= l.shape[1]


def test_more_shock_never_fewer_defaults_or_larger_payments():
    rng = np.random.default_rng(3)
    l, e, o = _random_networks(rng, 200, 6)
    cuts = np.array([0.0, 0.1, 0.3, 0.6, 0.9])
    # one call: every network under every cut of its outside assets
    ll = np.repeat(l, len(cuts), axis=0)
    ee = (e[:, None, :] * (1 - cuts)[None, :, None]).reshape(-1, l.shape[1])
    oo = np.repeat(o, len(cuts), axis=0)
    for method, a, b in (("eisenberg_noe", 1.0, 1.0), ("rogers_veraart", 0.5, 0.8)):
        c = clear(ll, ee, oo, method=method, alpha=a, beta=b)
        paid = c.paid.reshape(len(l), len(cuts), -1)
        nd = c.defaulted.reshape(len(l), len(cuts), -1)
        assert np.all(np.diff(paid, axis=1) <= 1e-4 * np.maximum(paid[:, :-1], 1))
        assert np.all(nd[:, 1:] >= nd[:, :-1])  # a defaulter stays one under a larger cut


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"liabilities.*square"):
        clear(np.zeros((2, 3, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"liabilities: every entry must be >= 0"):
        clear(-L3, E3, O3)
    with pytest.raises(ValueError, match="outside_assets: every entry must be finite"):
        clear(L3, [1.0, np.nan, 2.0], O3)
    with pytest.raises(ValueError, match="alpha"):
        clear(L3, E3, O3, method="rogers_veraart", alpha=1.5)
    with pytest.raises(ValueError, match="method"):
        clear(L3, E3, O3, method="gauss")
    with pytest.raises(ValueError, match=r"eisenberg_noe.*alpha"):
        clear(L3, E3, O3, alpha=0.5)


def test_the_warm_start_only_saves_solves():
    # the pure fictitious default algorithm (no guessed first set) gives the same clearing
    import jax.numpy as jnp

    from tailrisk.contagion._clearing import _fictitious_default

    l, e, o = _random_networks(np.random.default_rng(11), 256, 6)
    args = [jnp.asarray(x, jnp.float32) for x in (l, e, o, np.ones_like(e), np.ones_like(e))]
    cold = _fictitious_default(*args, tol=1e-5, warm=0)
    warm = _fictitious_default(*args, tol=1e-5)
    np.testing.assert_allclose(np.asarray(warm[0]), np.asarray(cold[0]), rtol=2e-5, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(warm[2]), np.asarray(cold[2]))
    assert np.asarray(warm[3]).sum() < np.asarray(cold[3]).sum()  # fewer linear solves
