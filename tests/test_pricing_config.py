"""The [pricing] table: bad input gives one clear line per problem, naming the key, before any
work (nothing simulated, nothing written)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tailrisk.cli import main
from tailrisk.config import ConfigError, parse_config

BASE = {
    "run": {"steps": 30, "dt": "1d", "paths": 1000},
    "model": {"name": "gbm", "s0": 100.0, "sigma": 0.5, "mode": "risk_neutral", "r": 0.01},
    "venue": {"population": {"n_accounts": 50, "probes": [{"name": "s10", "side": "short"}]}},
}


def _with(pricing, **over):
    data = {k: dict(v) for k, v in BASE.items()}
    data.update(over)
    data["pricing"] = pricing
    return data


def test_a_good_table_parses():
    exp = parse_config(_with({"moneyness": [0.9, 1.0, 1.1], "maturities": ["7d", 0.0821917808],
                              "probes": ["s10"], "rate": 0.01, "kinds": ["call", "digital"]}))
    assert exp.pricing.maturities[0] == pytest.approx(7 / 365)
    assert exp.pricing.strike_grid(100.0) == pytest.approx((90.0, 100.0, 110.0))


@pytest.mark.parametrize(
    ("pricing", "key", "words"),
    [
        ({"strikes": [-5.0, 100.0], "maturities": ["7d"]}, "pricing.strikes[0] = -5.0",
         "greater than 0"),
        ({"strikes": [100.0, float("inf")], "maturities": ["7d"]}, "pricing.strikes",
         "finite"),
        ({"strikes": [100.0], "maturities": ["60d"]}, "pricing.maturities[0] = '60d'",
         "beyond the run's horizon"),
        ({"strikes": [100.0], "maturities": ["7.5d"]}, "pricing.maturities[0] = '7.5d'",
         "whole number of steps"),
        ({"strikes": [100.0], "maturities": ["7d"], "probes": ["nope"]},
         "pricing.probes = ['nope']", "unknown probe"),
        ({"strikes": [], "maturities": ["7d"]}, "pricing", "exactly one non-empty"),
        ({"strikes": [100.0], "maturities": []}, "pricing.maturities", "at least one"),
        ({"strikes": [100.0], "maturities": ["7d"], "kinds": []}, "pricing.kinds",
         "at least one"),
        ({"strikes": [100.0], "maturities": ["7d"], "kinds": ["straddle"]}, "pricing.kinds[0]",
         "'call'"),
        ({"strikes": [100.0], "maturities": ["7d"], "rate": 0.05}, "pricing.rate = 0.05",
         "model.r = 0.01"),
        ({"strikes": [100.0], "maturities": ["1 week"]}, "pricing.maturities",
         "'7d', '12h'"),
    ],
)
def test_each_bad_key_is_named(pricing, key, words):
    with pytest.raises(ConfigError) as err:
        parse_config(_with(pricing))
    line = next((p for p in err.value.problems if p.startswith(key)), None)
    assert line is not None, err.value.problems
    assert words in line


def test_antithetic_needs_a_symmetric_model_and_even_paths():
    """Antithetic paths mirror the innovations: a model whose innovations are not symmetric
    (merton's jumps) or an odd number of paths is a config error naming the key."""
    merton = {"name": "merton", "s0": 100.0, "sigma": 0.5, "lam": 1.0, "mu_j": -0.1,
              "sigma_j": 0.1, "mode": "risk_neutral", "r": 0.01}
    with pytest.raises(ConfigError) as err:
        parse_config(_with({"strikes": [100.0], "maturities": ["7d"], "antithetic": True},
                           model=merton))
    line = next(p for p in err.value.problems if p.startswith("pricing.antithetic = true"))
    assert "'merton'" in line and "gbm" in line
    with pytest.raises(ConfigError) as err:
        parse_config(_with({"strikes": [100.0], "maturities": ["7d"], "antithetic": True,
                            "paths": 1001}))
    assert any(p.startswith("pricing.antithetic = true: pricing.paths = 1001 must be even")
               for p in err.value.problems), err.value.problems
    ok = parse_config(_with({"strikes": [100.0], "maturities": ["7d"], "antithetic": True}))
    assert ok.pricing.antithetic


def test_every_problem_at_once_with_the_model_mode():
    bad = _with({"strikes": [-1.0], "maturities": ["90d", 0.0], "probes": ["x"], "kinds": []},
                model={"name": "gbm", "s0": 100.0, "sigma": 0.5})
    with pytest.raises(ConfigError) as err:
        parse_config(bad)
    text = "\n".join(err.value.problems)
    for key in ("pricing.strikes[0]", "pricing.maturities", "pricing.kinds", "pricing.probes",
                "model.mode = 'physical'"):
        assert key in text, text
    assert len(err.value.problems) >= 5


def test_cli_rejects_before_any_work(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[run]\nsteps = 30\ndt = "1d"\n[model]\nname = "gbm"\ns0 = 100.0\nmode = "risk_neutral"\n'
        '[pricing]\nstrikes = [-1.0]\nmaturities = ["90d"]\n', encoding="utf-8")
    out = tmp_path / "runs"
    res = CliRunner().invoke(main, ["price", str(cfg), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "pricing.strikes[0] = -1.0" in res.output
    assert "pricing.maturities[0] = '90d'" in res.output
    assert not out.exists()
