"""Experiment configs: each class of bad input is reported with key, value and what is allowed."""

from __future__ import annotations

import pytest

from tailrisk.config import DT_UNITS, ConfigError, config_hash, load_config, parse_config

GOOD = {"run": {"paths": 10, "chunk_size": 5}, "model": {"name": "gbm", "sigma": 0.5}}


def _problems(data) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "exp.toml")
    assert all(line.startswith("  exp.toml: ") for line in str(info.value).splitlines()[1:])
    return info.value.problems


def _merge(**tables):
    data = {k: dict(v) for k, v in GOOD.items()}
    for table, values in tables.items():
        if table == "model" and "name" in values:
            data["model"] = {}  # another model: start its table afresh
        data.setdefault(table, {}).update(values)
    return data


@pytest.mark.parametrize(
    ("tables", "key", "fragment"),
    [
        ({"run": {"bogus": 1}}, "run.bogus", "unknown key"),
        ({"model": {"sigma": "high"}}, "model.sigma", "valid number"),
        ({"model": {"sigma": -0.2}}, "model.sigma", "greater than 0"),
        ({"model": {"name": "student_t", "nu": 0.0, "scale": 1.0}}, "model.nu",
         "greater than or equal to 0.5"),
        ({"run": {"steps": 0}}, "run.steps", "greater than or equal to 1"),
        ({"model": {"name": "kou", "p": 1.5}}, "model.p", "less than or equal to 1"),
        ({"run": {"dt": -1.0}}, "run.dt", "greater than 0"),
        ({"run": {"dt": "3 weeks"}}, "run.dt", "'1d'"),
        ({"run": {"chunk_size": 50}}, "run.chunk_size", "<= run.paths (10)"),
        ({"run": {"dtype": "float16"}}, "run.dtype", "float32"),
        ({"model": {"name": "levy"}}, "model.name", "unknown model"),
        ({"model": {"name": "garch_t", "alpha": 0.5, "beta": 0.6}}, "model.alpha", "< 1"),
        ({"venue": {"policy": "socialise"}}, "venue.policy", "queue_bitmex"),
        ({"venue": {"recourse_default_prob": 1.2}}, "venue.recourse_default_prob",
         "less than or equal to 1"),
        ({"venue": {"population": {"leverage_weights": [1.0]}}},
         "venue.population.leverage_weights", "must match leverage_levels"),
    ],
)
def test_each_bad_value_names_its_key(tables, key, fragment):
    problems = _problems(_merge(**tables))
    hits = [p for p in problems if p.startswith(key)]
    assert hits, problems
    assert any(fragment in p for p in hits), hits


def test_all_problems_are_reported_at_once():
    problems = _problems(_merge(run={"steps": 0, "dtype": "f16", "chunk_size": 99},
                                model={"sigma": -1.0}))
    keys = {p.split(" ")[0] for p in problems}
    assert {"run.steps", "run.dtype", "run.chunk_size", "model.sigma"} <= keys


def test_missing_model_and_bad_files(tmp_path):
    assert "[model]" in _problems({"run": {"paths": 10}})[0]
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\npaths = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_dt_units_and_frozen_hashable_result(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('[run]\ndt = "8h"\npaths = 4\nchunk_size = 4\n[model]\nname = "gbm"\n')
    exp = load_config(f)
    assert exp.run.dt == pytest.approx(8 * DT_UNITS["h"])
    assert exp.run.horizon == pytest.approx(exp.run.steps * exp.run.dt)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own frozen-instance error
        exp.run.paths = 5
    assert hash(exp) == hash(load_config(f))
    assert config_hash(exp) == config_hash(load_config(f))
    other = parse_config({"run": {"paths": 4, "chunk_size": 4, "dt": "8h", "seed": 1},
                          "model": {"name": "gbm"}})
    assert config_hash(other) != config_hash(exp)


def test_chunk_size_follows_paths_when_absent():
    small = parse_config({"run": {"paths": 1000}, "model": {"name": "gbm"}})
    assert small.run.chunk_size == 1000 and small.run.n_chunks == 1
    big = parse_config({"run": {"paths": 200_000}, "model": {"name": "gbm"}})
    assert big.run.chunk_size == 50_000 and big.run.n_chunks == 4
    assert parse_config({"model": {"name": "gbm"}}).run.chunk_size == 50_000  # paths 100,000
    # a chunk size the user wrote is checked as before
    problems = _problems({"run": {"paths": 1000, "chunk_size": 2000}, "model": {"name": "gbm"}})
    assert problems == ["run.chunk_size = 2000: must be <= run.paths (1000)"]
    # a bad paths value is the only problem reported: no chunk size complaint about a default
    assert _problems({"run": {"paths": 0}, "model": {"name": "gbm"}}) == [
        "run.paths = 0: Input should be greater than or equal to 1"]


def test_default_chunk_size_keeps_config_hashes():
    # runs are found and resumed by config hash: a config that writes its chunk size hashes as it
    # did before chunk sizes followed paths (these values were computed before that change)
    explicit = {"run": {"paths": 200_000, "chunk_size": 50_000}, "model": {"name": "gbm"}}
    assert config_hash(parse_config(explicit)) == "d1f472a0eaa23066"
    assert config_hash(parse_config({"model": {"name": "gbm"}})) == "d55317386c05acca"
    # leaving the key out is the same as writing its default
    small = {"run": {"paths": 1000}, "model": {"name": "gbm"}}
    assert config_hash(parse_config(small)) == "ca3e5bcd8eb65b97"
    small["run"]["chunk_size"] = 1000
    assert config_hash(parse_config(small)) == "ca3e5bcd8eb65b97"


ALLOWED = "allowed models: gbm, student_t, merton, kou, garch_t, hawkes, stable"


def test_missing_model_name_says_so_and_lists_the_models():
    assert _problems({"model": {"kind": "gbm"}}) == [
        f"model.name: required key is missing; {ALLOWED} "
        "(model.kind = 'gbm': did you mean name = 'gbm'?)"]
    missing = f"model.name: required key is missing; {ALLOWED}"
    assert _problems({"model": {"sigma": 0.5}}) == [missing]
    assert _problems({"model": {"name": "levy"}}) == [
        f"model.name = 'levy': unknown model; {ALLOWED}"]
    assert ALLOWED.split(": ")[1] in _problems({"run": {"paths": 10}})[0]  # no [model] at all


QUICK = {"run": {"paths": 10, "chunk_size": 5, "dt": "8h", "steps": 90},
         "model": {"name": "student_t", "nu": 3.0, "sigma": 0.8}, "venue": {}}
INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    ("table", "key", "value", "fragment"),
    [
        # the values the issue found accepted: NaN and infinities
        ("model", "mu", NAN, "finite number"),
        ("model", "sigma", INF, "finite number"),
        ("model", "s0", INF, "finite number"),
        ("run", "dt", INF, "finite number"),
        ("venue", "eta", INF, "finite number"),
        ("venue", "fund", INF, "finite number"),
        ("venue", "capacity", NAN, "positive number, or inf for unlimited"),
        # finite but past what float32 prices survive
        ("model", "sigma", 1e18, "less than or equal to 10 (per sqrt(year))"),
        ("venue", "eta", 1e308, "less than or equal to 10"),
        ("model", "s0", 1e308, "less than or equal to 1000000000000 (USD)"),
        ("model", "s0", 1e-300, "greater than or equal to 0.00000001 (USD)"),
        ("run", "dt", 1e-300, "at least 1e-10 years"),
        ("run", "dt", 2.0, "less than or equal to 1 (years)"),
        ("run", "paths", 2**32, "less than or equal to 4294967295"),
        ("run", "steps", 2**31, "less than or equal to 2147483647"),
        ("run", "name", "../../escaped", "must be a plain name of 1 to 100 characters"),
        ("run", "name", "ok\n", "must be a plain name"),
    ],
)
def test_non_finite_and_overflowing_values_name_key_value_and_bound(table, key, value, fragment):
    data = {t: dict(v) for t, v in QUICK.items()}
    data[table][key] = value
    problems = [p for p in _problems(data) if p.startswith(f"{table}.{key} = ")]
    assert problems and fragment in problems[0], _problems(data)


def test_capacity_may_be_infinite_and_cross_checks_over_the_horizon():
    data = {t: dict(v) for t, v in QUICK.items()}
    data["venue"]["capacity"] = INF
    assert parse_config(data).venue.capacity == INF
    data["run"].update(dt=1.0, steps=101)
    assert _problems(data) == [
        "run.steps x run.dt = 101 x 1 = 101 years: the horizon must be at most 100 years"]
    data["run"]["steps"] = 50
    data["model"].update(mu=1.0, sigma=2.0)
    assert sorted(p.split(" ")[0] for p in _problems(data)) == ["model.mu", "model.sigma"]
    garch = {"run": {"paths": 10, "steps": 5000},
             "model": {"name": "garch_t", "omega": 0.1, "alpha": 0.1, "beta": 0.8}}
    assert "stationary variance of a step must be at most 1" in _problems(garch)[0]
    garch["model"]["omega"] = 0.01
    assert "spreads log prices by 22.36 log units" in _problems(garch)[0]
