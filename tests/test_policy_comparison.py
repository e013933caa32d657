"""Policy comparison on common random numbers (tailrisk.studies.policy_comparison)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from _standins import small_venue_experiment

from tailrisk.config import ConfigError, parse_config
from tailrisk.studies import policy_comparison as compare
from tailrisk.studies import variants

GAP_CSV = """side,quantity,entry,leverage,mmr,cohort
long,10,100,10,0,A
short,1,97,2,0,W1
short,12,99,4,0,W2
"""


def gap_experiment(csv_path):
    return parse_config(
        {
            "run": {"paths": 4, "chunk_size": 4, "steps": 2, "seed": 3},
            "model": {"name": "gbm", "s0": 100.0},
            "venue": {
                "fund": 0.0,
                "fee": 0.0,
                "eta": 0.0,
                "capital": 0.0,
                "population": {"csv": str(csv_path)},
            },
        }
    )


def gap_paths(key, model, path_index, steps, dt, dtype):
    """Every path gaps 100 -> 87 at step 1 and stays there."""
    n = path_index.shape[0]
    return jnp.full((n, steps), math.log(87.0), dtype)


def test_hand_worked_gap_queue_vs_pro_rata(tmp_path, monkeypatch):
    # Long A: q 10, E 100, L 10, m 0 -> bankruptcy = liquidation price 90, margin 100.
    # Shorts W1 (q 1, E 97, L 2) and W2 (q 12, E 99, L 4) are far from their own liquidation.
    # The mark gaps 100 -> 87: A is liquidated; the book fill 87 would give the fund (0)
    # 10 (87 - 90) = -30, so the gap is G = 30.
    # queue_bitmex: close price C = max(90, 87) = 90, phi = 30 / (10 (90 - 87)) = 1, so 10
    # contracts are closed against the queue. Scores u/E * eff_lev at 87:
    #   W1: (10/97) * 87 / (48.5 + 10) = 0.153;  W2: (12/99) * 12*87 / (297 + 144) = 0.287.
    # W2 goes first and gives 10 of its 12 contracts at 90: proceeds 10 (99 - 90) = 90, plus its
    # last 2 contracts at S_T = 87, 2 * 12 = 24: payoff 114 against 144 undamped (haircut 30).
    # W1 is untouched: payoff 10 = undamped. The fund ends at 0, no capital needed.
    # pro_rata: the batch is unwound (F = -30) and winners' PnL w = (10, 144) is cut by the same
    # share 30 / 154: haircuts (300/154, 4320/154) = (1.948, 28.052), payoffs (8.052, 115.948).
    csv = tmp_path / "gap.csv"
    csv.write_text(GAP_CSV)
    monkeypatch.setattr(variants, "_price_backend", lambda: gap_paths)
    comp, out = compare.compare_policies_run(
        gap_experiment(csv), policies=("queue_bitmex", "pro_rata"), progress=False
    )
    q, p = out["queue_bitmex"], out["pro_rata"]
    tol = dict(rtol=1e-5, atol=1e-3)  # float32: exp(log 87) is 87 to about 1e-7
    for o in (q, p):
        undamped = np.tile([-100.0, 10.0, 144.0], (4, 1))
        np.testing.assert_allclose(o["cohort_undamped"], undamped, **tol)
        np.testing.assert_allclose(o["fund_final"], 0.0, atol=1e-3)
        assert not o["insolvent"].any()
    np.testing.assert_allclose(q["cohort_damped"], np.tile([-100.0, 10.0, 114.0], (4, 1)), **tol)
    np.testing.assert_allclose(
        p["cohort_damped"], np.tile([-100.0, 10 - 300 / 154, 144 - 4320 / 154], (4, 1)), **tol
    )
    np.testing.assert_allclose(q["adl_notional"], 10 * 90.0, rtol=1e-5)  # sum Qa C
    np.testing.assert_allclose(p["adl_notional"], 30.0, rtol=1e-5)  # haircut USD
    # fairness: queue touches one winner of two and takes 30/144 of it; pro rata touches both
    assert comp.levels["queue_bitmex"][("winners_touched_share", "mean")].value == 0.5
    assert comp.levels["pro_rata"][("winners_touched_share", "mean")].value == 1.0
    assert comp.levels["queue_bitmex"][("max_haircut_pct", "mean")].value == pytest.approx(
        100 * 30 / 144, rel=1e-4
    )
    assert comp.levels["pro_rata"][("max_haircut_pct", "mean")].value == pytest.approx(
        100 * 30 / 154, rel=1e-4
    )


def small_experiment(**venue):
    return small_venue_experiment(36, **venue)


def test_common_random_numbers_equal_single_policy_runs():
    exp = small_experiment()
    policies = ("pro_rata", "random")
    _, together = compare.compare_policies_run(exp, policies, progress=False)
    for policy in policies:
        _, alone = compare.compare_policies_run(exp, (policy,), progress=False)
        assert together[policy].keys() == alone[policy].keys()
        for name, arr in alone[policy].items():
            np.testing.assert_array_equal(together[policy][name], arr, err_msg=name)
    # 36 paths in chunks of 20 (the last padded): every path once, in order
    np.testing.assert_array_equal(together["pro_rata"]["path_index"], np.arange(36))


def test_unknown_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="queue_okx"):
        compare.compare_policies_run(small_experiment(), ("queue_okx",), progress=False)
