"""Parameter sweeps (tailrisk.studies.sweep): tidy rows, one compilation, early config errors."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from _standins import small_venue_experiment

from tailrisk.analytics import venue_metrics
from tailrisk.config import ConfigError, parse_config
from tailrisk.studies import sweep
from tailrisk.studies.variants import Variant, simulate_variants
from tailrisk.venue import build_population


def base_experiment(**venue):
    return small_venue_experiment(40, **venue)


def test_sweep_writes_tidy_rows(tmp_path):
    exp = base_experiment()
    grid = {"venue.fund": [1e4, 1e6], "venue.population.exempt_share": [0.0, 0.5]}
    out = tmp_path / "sweep.parquet"
    res = sweep.run_sweep(exp, grid, out_path=out, progress=False)
    table = pq.read_table(out).to_pylist()
    n_metrics = len(sweep.DEFAULT_METRICS)
    assert len(table) == 4 * n_metrics
    assert list(pq.read_schema(out).names) == [
        "venue.fund",
        "venue.population.exempt_share",
        "grid_point",
        "quantity",
        "statistic",
        "value",
        "mcse_or_ci_low",
        "ci_high",
        "unit",
        "error_kind",
    ]
    # grid order: the last key varies fastest
    assert [(r["venue.fund"], r["venue.population.exempt_share"]) for r in table[::n_metrics]] == [
        ("10000.0", "0.0"),
        ("10000.0", "0.5"),
        ("1000000.0", "0.0"),
        ("1000000.0", "0.5"),
    ]
    assert {(r["quantity"], r["statistic"]) for r in table} == set(sweep.DEFAULT_METRICS)
    # grid point 1 equals a direct run of the same config
    data = exp.to_dict()
    data["venue"]["fund"] = 1e4
    data["venue"]["population"]["exempt_share"] = 0.5
    point = parse_config(data)
    acc = build_population(point.venue, point.model.s0, point.run.seed)
    (direct,) = simulate_variants(point, [Variant(acc, point.venue, "pro_rata")])
    ms = venue_metrics(direct, floor=point.venue.floor)
    got = {(r["quantity"], r["statistic"]): r for r in table if r["grid_point"] == "1"}
    for key in sweep.DEFAULT_METRICS:
        assert got[key]["value"] == pytest.approx(ms[key].value, nan_ok=True)
        assert got[key]["mcse_or_ci_low"] == pytest.approx(ms[key].mcse, nan_ok=True)
    assert got[("insolvency", "probability")]["unit"] == "1"
    assert got[("insolvency", "probability")]["error_kind"] == "binomial_se"
    assert len(res.compiles) == 4


def test_array_only_values_do_not_recompile():
    exp = base_experiment()
    grid = {
        "venue.fund": [1e4, 3e4],
        "venue.eta": [0.001, 0.004],
        "model.nu": [2.5, 4.0],
        "venue.population.exempt_share": [0.0, 0.4],
        "venue.population.leverage_weights": [
            [0.15, 0.25, 0.3, 0.15, 0.1, 0.05],
            [0.0, 0.1, 0.2, 0.2, 0.3, 0.2],
        ],
    }
    res = sweep.run_sweep(exp, grid, paths=20, chunk=20, progress=False)
    assert len(res.compiles) == 32
    # the first point may compile (or find the kernels compiled by an earlier test); no other may
    assert res.compiles[1:] == [0] * 31, res.compiles


def test_compile_counter_sees_cache_misses():
    # the counter can fail: a new shape is a cache miss, the same shape again is not
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x: jnp.sin(x) * 3.0)
    x, y = jnp.zeros(7), jnp.ones(7)
    with sweep.CompileCounter() as first:
        f(x).block_until_ready()
    with sweep.CompileCounter() as again:
        f(y).block_until_ready()
    assert first.count == 1 and again.count == 0


def test_bad_grid_value_fails_before_any_work(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("simulated before validating the grid")

    monkeypatch.setattr(sweep, "simulate_variants", boom)
    out = tmp_path / "never.parquet"
    with pytest.raises(ConfigError) as info:
        sweep.run_sweep(
            base_experiment(),
            {"venue.fund": [1e5, -1.0], "venue.population.exempt_share": [0.0, 1.5]},
            out_path=out,
            progress=False,
        )
    text = str(info.value)
    assert "venue.fund = -1.0" in text
    assert "venue.population.exempt_share = 1.5" in text
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"venue\.nope = 1: unknown key"):
        sweep.grid_points(base_experiment(), {"venue.nope": [1]})


def test_parse_set():
    assert sweep.parse_set("venue.fund=1e5,1e6") == ("venue.fund", [1e5, 1e6])
    assert sweep.parse_set("venue.policy=pro_rata,none") == ("venue.policy", ["pro_rata", "none"])
    key, vals = sweep.parse_set("venue.population.leverage_weights=[0.5,0.5],[0.2,0.8]")
    assert key == "venue.population.leverage_weights" and vals == [[0.5, 0.5], [0.2, 0.8]]
    with pytest.raises(ValueError, match="key=value"):
        sweep.parse_set("venue.fund")
    assert np.isclose(sweep.parse_set("venue.check_every=1, 4")[1], [1, 4]).all()


def test_every_grid_point_population_is_built_before_any_work(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("simulated before every population was built")

    monkeypatch.setattr(sweep, "simulate_variants", boom)
    good = tmp_path / "good.csv"
    good.write_text("side,quantity,entry,leverage\nlong,1,100,10\nshort,1,100,10\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("side,quantity,entry,leverage\nlong,1,100,nan\n")
    grid = {"venue.population.csv": [str(good), str(bad)]}
    with pytest.raises(ConfigError) as info:
        sweep.run_sweep(base_experiment(), grid, progress=False)
    (problem,) = info.value.problems
    assert "bad.csv" in problem and "leverage" in problem and "not finite" in problem
    for budget in ({"paths": 0}, {"chunk": -5}, {"paths": 2**32}):
        with pytest.raises(ConfigError, match=f"--{next(iter(budget))} = "):
            sweep.run_sweep(base_experiment(), {"venue.fund": [1e5]}, progress=False, **budget)


def test_a_sweep_table_is_validated_with_its_config():
    data = base_experiment().to_dict()
    data["sweep"] = {"grid": {"venue.fund": [1e5, float("nan")], "venue.eta": [0.0, 1e9]}}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "sweep.toml")
    text = "\n".join(info.value.problems)
    assert "venue.fund = nan: Input should be a finite number" in text
    assert "venue.eta = 1000000000.0: Input should be less than or equal to 10" in text
    data["sweep"] = {"grid": {"venue.fund": list(range(1, 102)), "venue.eta": [0.0] * 100}}
    with pytest.raises(ConfigError, match="101 x 100 = 10,100 points; at most 10,000"):
        parse_config(data, "sweep.toml")
    data["sweep"] = {"grid": {"venue.fund": [1e5, 1e6]}}
    assert parse_config(data, "sweep.toml").sweep is not None
