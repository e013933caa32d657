"""Gini, venue metrics, CRN policy comparison and tidy output on hand-made inputs."""

from __future__ import annotations

import math
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from tailrisk.analytics import compare_policies, gini, to_table, venue_metrics, write_tidy

# --- Gini ----------------------------------------------------------------------------------


def test_gini_hand_values():
    assert float(gini([5.0, 5.0, 5.0, 5.0])) == 0.0
    assert float(gini([0.0, 0.0, 0.0, 7.0])) == pytest.approx(3 / 4)  # (n - 1) / n
    # (1, 2, 3): sum over ordered pairs of |x_i - x_j| = 8, 2 n^2 mean = 36
    assert float(gini([3.0, 1.0, 2.0])) == pytest.approx(2 / 9)
    assert float(gini([0.0, 0.0])) == 0.0
    rows = gini(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]))
    assert np.allclose(rows, [2 / 9, 0.0])
    assert np.allclose(gini(np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]), axis=0), [2 / 9, 0])
    with pytest.raises(ValueError):
        gini([1.0, -1.0])


@settings(max_examples=50, deadline=None)
@given(hst.lists(hst.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_gini_matches_pairwise_definition(xs):
    x = np.asarray(xs)
    if x.sum() == 0:
        assert float(gini(x)) == 0.0
        return
    pairwise = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    assert float(gini(x)) == pytest.approx(pairwise, abs=1e-9)


# --- venue metrics ---------------------------------------------------------------------------


def _outputs(n=100):
    i = np.arange(n)
    return {
        "fund_min": np.where(i % 4 == 0, 0.0, 50.0) + np.where(i % 4 == 1, 1e-9, 0.0),
        "insolvent": i % 10 == 0,
        # i.i.d.-looking order: ArviZ reads path index as draw order, and a sorted column would
        # look like a trending chain with a huge MCSE
        "net_insolvent_debt": np.random.default_rng(0).permutation(n).astype(float),
        "liquidated_notional": 10.0 * i,
        "adl_events": np.where(i < 30, 2, 0),
        "adl_notional": np.where(i < 30, 1000.0, 0.0),
        "converged": np.ones(n, bool),
        "cohort_damped": np.stack([np.full(n, 8.0), 5.0 - (i % 2)], axis=1),
        "cohort_undamped": np.stack([np.full(n, 10.0), np.full(n, 5.0)], axis=1),
        "probe_damped": np.zeros((n, 1)),
        "probe_undamped": np.ones((n, 1)),
    }


def test_venue_metrics_hand_values():
    n = 100
    m = venue_metrics(_outputs(n), cohort_names=["long_10x", "short_10x"])
    fe = m[("fund_exhausted", "probability")]
    assert fe.value == 0.25 and fe.mcse == pytest.approx(math.sqrt(0.25 * 0.75 / n))
    assert fe.kind == "binomial_se"
    assert m[("insolvency", "probability")].value == 0.1
    assert m[("adl", "probability")].value == 0.3
    assert m[("check_not_converged", "probability")].value == 0.0
    # inverse empirical CDF of 0..99: the 95% quantile is the 95th smallest value
    assert m[("net_insolvent_debt", "q0.95")].value == 94.0
    assert m[("net_insolvent_debt", "q0.99")].value == 98.0
    assert m[("net_insolvent_debt", "mean")].value == pytest.approx(49.5)
    assert m[("liquidated_notional", "q0.95")].value == 940.0
    assert m[("adl_notional", "mean")].value == pytest.approx(300.0)
    assert m[("adl_notional", "q0.5")].value == 0.0
    assert m[("adl_notional", "q0.99")].value == 1000.0
    h = m[("haircut[long_10x]", "mean")]
    assert h.value == pytest.approx(2.0) and h.mcse == 0.0
    assert m[("haircut[short_10x]", "mean")].value == pytest.approx(0.5)
    assert m[("haircut[short_10x]", "q0.99")].value == 1.0
    assert m[("probe_haircut[0]", "mean")].value == 1.0
    # the mean's MCSE is the plain standard error for i.i.d. paths
    sd = np.arange(100.0).std(ddof=1)
    assert m[("net_insolvent_debt", "mean")].mcse == pytest.approx(sd / 10, rel=0.15)
    rows = m.to_rows()
    assert len(rows) == len(m.estimates)


def test_venue_metrics_floor_and_missing_keys():
    out = _outputs()
    assert venue_metrics(out, floor=50.0)[("fund_exhausted", "probability")].value == 1.0
    del out["adl_events"]
    with pytest.raises(KeyError):
        venue_metrics(out)
    bad = _outputs()
    bad["cohort_damped"] = bad["cohort_damped"][:, :1]
    with pytest.raises(ValueError):
        venue_metrics(bad)


# --- policy comparison -----------------------------------------------------------------------


def _policy(debt, insolvent, winners, touched, path_index=None):
    n = debt.size
    out = {
        "fund_min": np.zeros(n),
        "insolvent": insolvent,
        "net_insolvent_debt": debt,
        "winners": winners,
        "winners_touched": touched,
        "max_haircut_pct": np.full(n, 10.0),
        "gini_haircut": np.full(n, np.nan),
        "overshoot": np.zeros(n),
    }
    if path_index is not None:
        out["path_index"] = path_index
    return out


def test_policy_comparison_uses_the_path_pairing():
    rng = np.random.default_rng(9)
    n = 5000
    common = rng.lognormal(3.0, 1.0, size=n)  # what the shared price path does to both policies
    winners = rng.integers(0, 5, size=n)
    touched = np.minimum(winners, 1)
    base = _policy(common, common > 60, winners, touched)
    alt = _policy(common + rng.normal(1.0, 0.1, size=n), common > 55, winners, winners)
    cmp = compare_policies({"none": base, "pro_rata": alt}, baseline="none")
    d = cmp.diffs["pro_rata"]["net_insolvent_debt"]
    assert d.value == pytest.approx(1.0, abs=4 * 0.1 / math.sqrt(n))
    # pairing removes the common variation: paired MCSE ~ 0.1/sqrt(n), unpaired ~ 30x bigger
    assert d.mcse == pytest.approx(0.1 / math.sqrt(n), rel=0.15)
    assert cmp.unpaired_se["pro_rata"]["net_insolvent_debt"] > 20 * d.mcse
    # insolvency: paths in (55, 60] flip; the paired difference is exactly their share
    flip = np.mean((common > 55) & (common <= 60))
    assert cmp.diffs["pro_rata"]["insolvency"].value == pytest.approx(flip)
    # winners share: 0 on paths without winners, touched / winners elsewhere
    share = np.where(winners > 0, touched / np.maximum(winners, 1), 0.0).mean()
    assert cmp.levels["none"][("winners_touched_share", "mean")].value == pytest.approx(share)
    assert cmp.levels["pro_rata"][("winners_touched_share", "mean")].value == pytest.approx(
        np.mean(winners > 0)
    )
    assert cmp.levels["none"][("gini_haircut", "mean")].value == 0.0  # NaN counts as no haircut
    rows = cmp.to_rows()
    assert {r["policy"] for r in rows} == {"none", "pro_rata"}
    assert any(r["statistic"] == "mean_diff_vs_none" for r in rows)
    assert "pro_rata" not in cmp.levels["none"] and "none" not in cmp.diffs


def test_policy_comparison_rejects_unpaired_inputs():
    a = _policy(np.ones(10), np.zeros(10, bool), np.ones(10), np.ones(10), np.arange(10))
    b = _policy(np.ones(9), np.zeros(9, bool), np.ones(9), np.ones(9))
    with pytest.raises(ValueError, match="number of paths"):
        compare_policies({"a": a, "b": b})
    c = _policy(np.ones(10), np.zeros(10, bool), np.ones(10), np.ones(10), np.arange(10)[::-1])
    with pytest.raises(ValueError, match="path_index"):
        compare_policies({"a": a, "c": c})
    with pytest.raises(KeyError):
        compare_policies({"a": a}, baseline="zzz")


# --- tidy output -----------------------------------------------------------------------------


def test_tidy_table_and_atomic_parquet(tmp_path):
    rows = venue_metrics(_outputs(), context={"policy": "none"}).to_rows()
    rows.append({"quantity": "x", "statistic": "s", "value": 1, "mcse_or_ci_low": None,
                 "ci_high": None, "unit": "1"})  # fmt: skip
    table = to_table(rows)
    assert table.column_names[:7] == [
        "policy",
        "quantity",
        "statistic",
        "value",
        "mcse_or_ci_low",
        "ci_high",
        "unit",
    ]
    assert table.num_rows == len(rows)
    assert table.column("policy").to_pylist()[-1] is None
    target = tmp_path / "out" / "metrics.parquet"
    write_tidy(rows, target)
    write_tidy(rows[:3], target)  # replaces the old file
    back = pq.read_table(target)
    assert back.num_rows == 3 and back.column("quantity").to_pylist() == [
        r["quantity"] for r in rows[:3]
    ]
    assert os.listdir(target.parent) == ["metrics.parquet"]  # no temporary file left
    with pytest.raises(ValueError, match="missing"):
        to_table([{"quantity": "x"}])
