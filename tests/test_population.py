"""Account populations: the seeded generator, the CSV loader and its errors, probes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from tailrisk.venue import PopulationConfig, ProbeConfig, VenueConfig
from tailrisk.venue.population import (
    PopulationError,
    build_population,
    cohort_names,
    generate_population,
    load_population_csv,
    maintenance_rate,
)
from tailrisk.venue.reference import simulate_path_reference

S0 = 100.0


def test_population_stream_matches_the_package_rng():
    from tailrisk import _rng
    from tailrisk.venue import population

    assert population.STREAM_POPULATION == _rng.STREAM_POPULATION


def test_deterministic_by_seed():
    cfg = PopulationConfig(n_accounts=500, exempt_share=0.1, recourse_share=0.05)
    a, b = generate_population(cfg, S0, 7), generate_population(cfg, S0, 7)
    c = generate_population(cfg, S0, 8)
    for name in ("side", "quantity", "entry", "leverage", "mmr", "exempt", "recourse", "cohort"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.quantity, c.quantity)


def test_leverage_levels_follow_their_weights_with_continuous_jitter():
    cfg = PopulationConfig(n_accounts=20_000)
    acc = generate_population(cfg, S0, 1)
    # tiers cap leverage at 0.5 / mmr; below 50,000 USD (mmr 0.004, cap 125x) no level is capped,
    # and size is drawn independently of leverage, so these accounts show the raw draw
    small = acc.quantity * acc.entry < 50_000.0
    assert small.mean() > 0.8
    lev = acc.leverage[small]
    levels = np.array(cfg.leverage_levels)
    # levels are at least 2x apart and the jitter is at most e^0.1, so the nearest level in log
    # space recovers each account's level
    k = np.argmin(np.abs(np.log(lev[:, None]) - np.log(levels[None, :])), axis=1)
    ratio = lev / levels[k]
    assert np.all(ratio >= np.exp(-0.1) - 1e-12) and np.all(ratio <= np.exp(0.1) + 1e-12)
    assert np.unique(lev).size == lev.size  # continuous, not six values
    counts = np.bincount(k, minlength=levels.size)
    w = np.array(cfg.leverage_weights)
    # fixed seed: fails only if the draw ignores the weights (p < 1e-3 would be a 0.1% event)
    assert st.chisquare(counts, w / w.sum() * lev.size).pvalue > 1e-3
    # and no account anywhere starts with initial margin below twice its maintenance margin
    assert np.all(acc.leverage <= 0.5 / acc.mmr * (1 + 1e-12))
    # long share 0.55: binomial sd sqrt(0.55 * 0.45 / 20000) = 0.0035, so 0.02 is ~6 sd
    assert abs(np.mean(acc.side > 0) - 0.55) < 0.02


def test_notional_lognormal_body_and_pareto_whale_tail():
    cfg = PopulationConfig(n_accounts=50_000)
    acc = generate_population(cfg, S0, 2)
    notional = acc.quantity * acc.entry
    whales = notional[notional >= cfg.whale_min_usd]
    # about 1% whales (500, sd 22); the lognormal body almost never reaches 1e6 (4.4 sd)
    assert 400 < whales.size < 600
    # MLE of the Pareto index above whale_min: k / sum log(x / x_min), sd about alpha / sqrt(k)
    alpha = whales.size / np.sum(np.log(whales / cfg.whale_min_usd))
    assert abs(alpha - cfg.whale_alpha) < 0.25 * cfg.whale_alpha
    body = notional[notional < cfg.whale_min_usd]
    assert np.median(body) == pytest.approx(cfg.size_median_usd, rel=0.05)
    assert np.std(np.log(body)) == pytest.approx(cfg.size_sigma, rel=0.05)


def test_maintenance_tiers_by_entry_notional():
    tiers = PopulationConfig().mm_tiers
    np.testing.assert_allclose(
        maintenance_rate([0.0, 49_999.0, 50_000.0, 999_999.0, 1e6, 2e7], tiers),
        [0.004, 0.004, 0.005, 0.01, 0.025, 0.05],
    )
    acc = generate_population(PopulationConfig(n_accounts=5_000), S0, 3)
    np.testing.assert_array_equal(acc.mmr, maintenance_rate(acc.quantity * acc.entry, tiers))
    assert len(np.unique(acc.mmr)) >= 4


def test_entries_spread_over_a_backcast_and_flat_without_one():
    acc = generate_population(PopulationConfig(n_accounts=2_000), S0, 4)
    assert acc.entry.std() > 0.5 and np.all(np.abs(np.log(acc.entry / S0)) < 1.0)
    flat = generate_population(PopulationConfig(n_accounts=50, entry_days=0.0), S0, 4)
    np.testing.assert_array_equal(flat.entry, S0)


def test_exempt_and_recourse_rules():
    cfg = PopulationConfig(
        n_accounts=2_000,
        exempt_largest=5,
        exempt_ids=(0, 7),
        recourse_share=0.1,
        recourse_ids=(3,),
    )
    acc = generate_population(cfg, S0, 5)
    notional = acc.quantity * acc.entry
    top5 = np.argsort(-notional)[:5]
    assert acc.exempt[top5].all() and acc.exempt[[0, 7]].all()
    assert acc.exempt.sum() <= 7
    assert acc.recourse[3]
    # share 0.1 of 2000: sd 6.7 accounts
    assert abs(acc.recourse.mean() - 0.1) < 0.025
    shared = generate_population(PopulationConfig(n_accounts=2_000, exempt_share=0.3), S0, 5)
    assert abs(shared.exempt.mean() - 0.3) < 0.04
    with pytest.raises(PopulationError, match="exempt_ids"):
        generate_population(PopulationConfig(n_accounts=10, exempt_ids=(10,)), S0, 0)


def test_default_cohorts_side_by_leverage_bucket():
    names = cohort_names((3.0, 15.0, 40.0))
    assert names[:4] == ("long <3x", "long 3-15x", "long 15-40x", "long 40x+")
    assert names[4:] == ("short <3x", "short 3-15x", "short 15-40x", "short 40x+")
    acc = generate_population(PopulationConfig(n_accounts=3_000), S0, 6)
    for i in range(acc.n):
        name = acc.cohort_names[acc.cohort[i]]
        assert name.startswith("long" if acc.side[i] > 0 else "short")
        lev = acc.leverage[i]
        bucket = int(np.searchsorted([3.0, 15.0, 40.0], lev, side="right"))
        assert name.split(" ")[1] == names[bucket].split(" ")[1]


def test_probes_appended_last():
    probes = (
        ProbeConfig(name="short10x", side="short", leverage=10.0),
        ProbeConfig(name="long_at_90", side="long", entry=90.0, leverage=50.0, exempt=True),
    )
    acc = generate_population(PopulationConfig(n_accounts=100, probes=probes), S0, 0)
    assert acc.n == 102
    np.testing.assert_array_equal(acc.probe_index, [100, 101])
    assert acc.probe_names == ("short10x", "long_at_90")
    np.testing.assert_array_equal(acc.side[100:], [-1, 1])
    np.testing.assert_array_equal(acc.entry[100:], [S0, 90.0])
    np.testing.assert_array_equal(acc.quantity[100:], 1e-6)
    np.testing.assert_array_equal(acc.exempt[100:], [False, True])
    assert {acc.cohort_names[c] for c in acc.cohort[100:]} == {"probes"}
    assert "probes" not in {acc.cohort_names[c] for c in acc.cohort[:100]}


GOOD = """side,quantity,entry,leverage,mmr,exempt,recourse,cohort,cap
long,2,100,10,,false,,whales,
short,1.5,101,20,0.01,true,0,,0.5
long,1000,100,5,,0,yes,whales,1
"""


def test_load_csv(tmp_path):
    f = tmp_path / "pop.csv"
    f.write_text(GOOD)
    cfg = PopulationConfig(probes=(ProbeConfig(name="p", side="long"),))
    acc = load_population_csv(f, cfg, S0)
    assert acc.n == 4 and acc.probe_names == ("p",) and acc.probe_index.tolist() == [3]
    np.testing.assert_array_equal(acc.side, [1, -1, 1, 1])
    np.testing.assert_allclose(acc.quantity[:3], [2.0, 1.5, 1000.0])
    # mmr: tiers for 200 USD (0.4%), given 1%, tiers for 100,000 USD (0.5%)
    np.testing.assert_allclose(acc.mmr[:3], [0.004, 0.01, 0.005])
    np.testing.assert_array_equal(acc.exempt[:3], [False, True, False])
    np.testing.assert_array_equal(acc.recourse[:3], [False, False, True])
    np.testing.assert_allclose(acc.cap[:3], [1.0, 0.5, 1.0])
    labels = [acc.cohort_names[c] for c in acc.cohort]
    assert labels == ["whales", "short 15-40x", "whales", "probes"]
    # the same file through build_population (probes appended there too)
    venue = VenueConfig(population=PopulationConfig(csv=str(f), probes=cfg.probes))
    built = build_population(venue, S0, seed=0)
    np.testing.assert_array_equal(built.quantity, acc.quantity)
    gen = build_population(
        VenueConfig(population=PopulationConfig(n_accounts=10, probes=cfg.probes)), S0, 0
    )
    assert gen.n == 11 and gen.probe_index.tolist() == [10]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("long,-1,100,10", "quantity"),
        ("long,0,100,10", "quantity"),
        ("long,1,100,0", "leverage"),
        ("long,1,100,-3", "leverage"),
        ("sideways,1,100,10", "side"),
        ("long,abc,100,10", "quantity"),
        ("long,1,1e5x,10", "entry"),
        ("long,1,100,nan", "leverage"),
        ("long,1,100", "leverage"),
    ],
)
def test_bad_csv_row_names_file_row_and_field(tmp_path, row, field):
    f = tmp_path / "bad.csv"
    f.write_text("side,quantity,entry,leverage\nshort,1,100,10\n" + row + "\n")
    with pytest.raises(PopulationError) as info:
        load_population_csv(f, PopulationConfig(), S0)
    msg = str(info.value)
    assert "bad.csv" in msg and "row 2" in msg and field in msg
    assert "row 1 " not in msg


def test_bad_csv_missing_column_and_every_bad_row_listed(tmp_path):
    f = tmp_path / "nolev.csv"
    f.write_text("side,quantity,entry\nlong,1,100\n")
    with pytest.raises(PopulationError, match=r"nolev\.csv.*missing column.*leverage"):
        load_population_csv(f, PopulationConfig(), S0)
    f = tmp_path / "many.csv"
    f.write_text("side,quantity,entry,leverage\n" + "long,-1,100,10\n" * 30 + "up,1,1,1\n")
    with pytest.raises(PopulationError) as info:
        load_population_csv(f, PopulationConfig(), S0)
    msg = str(info.value)
    assert "31 bad field(s)" in msg and "row 20 " in msg and "and 11 more" in msg
    assert "row 21 " not in msg
    f = tmp_path / "flags.csv"
    f.write_text("side,quantity,entry,leverage,exempt,cap,mmr\nlong,1,100,10,maybe,1.5,1\n")
    with pytest.raises(PopulationError) as info:
        load_population_csv(f, PopulationConfig(), S0)
    msg = str(info.value)
    assert all(k in msg for k in ("row 1", "exempt", "cap", "mmr"))


def test_reference_runs_on_a_generated_population():
    # integration: a generated population (with whales, tiers, exemptions, recourse and probes)
    # through a crash with a gap; money must still be conserved
    cfg = PopulationConfig(
        n_accounts=300,
        exempt_largest=2,
        recourse_share=0.02,
        probes=(ProbeConfig(name="p", side="short", leverage=20.0),),
    )
    acc = generate_population(cfg, S0, 9)
    prices = S0 * np.exp(np.r_[0.0, np.cumsum([-0.02, -0.15, -0.05, 0.04, -0.2, 0.1])])
    notional = float(np.sum(acc.quantity * acc.entry))
    for policy in ("queue_bitmex", "pro_rata", "none"):
        venue = VenueConfig(policy=policy, fund=1e-4 * notional, eta=0.2, depth=notional)
        res = simulate_path_reference(acc, venue, prices)
        assert abs(res.conservation_error) < 1e-9 * notional
        assert res.liquidated_count > 0
        assert res.probe_damped.shape == (1,)


def test_generated_accounts_are_alive_at_the_start_price():
    """The population is the venue's survivors: nobody starts at or past its liquidation price."""
    cfg = PopulationConfig(n_accounts=20_000, entry_days=60.0, entry_vol=1.2)
    acc = generate_population(cfg, 50_000.0, seed=4)
    lq = acc.liquidation_price
    alive = np.where(acc.side > 0, 50_000.0 > lq, 50_000.0 < lq)
    assert alive.all()
    # the back-cast still spreads entries: most accounts did not enter at s0
    assert np.mean(acc.entry == 50_000.0) < 0.5


def test_adl_rank_cohorts_follow_the_bitmex_queue_at_the_start():
    """Hand-worked, one contract each, s0 = 100. Long A (E=90, 10x): margin 9, PnL 10, equity 19,
    score (10/90) * (100/19) = 0.585. Long B (E=80, 2x): margin 40, PnL 20, equity 60, score
    (20/80) * (100/60) = 0.417. Long C (E=110) is not in profit. With 2 buckets: A rank 1, B rank
    2, C "not in profit"; the one short in profit is its side's rank 1."""
    from tailrisk.venue.population import adl_rank_cohorts

    side = np.array([1, 1, 1, -1])
    cohort, names = adl_rank_cohorts(side, np.ones(4), np.array([90.0, 80.0, 110.0, 120.0]),
                                     np.array([10.0, 2.0, 5.0, 5.0]), 100.0, 2)
    assert [names[c] for c in cohort] == ["long rank 1/2", "long rank 2/2", "long not in profit",
                                          "short rank 1/2"]
    cfg = PopulationConfig(n_accounts=2_000, cohort_by="adl_rank", adl_rank_buckets=4)
    acc = generate_population(cfg, S0, 3)
    assert len(acc.cohort_names) == 2 * (4 + 1)
    counts = np.bincount(acc.cohort[acc.side > 0], minlength=5)[:4]
    assert counts.max() - counts.min() <= 1  # equal-count buckets among longs in profit
