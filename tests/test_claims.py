"""Claims: the [claim] and [study] tables are validated like every table (every problem at
once, naming the key), and a verdict is decided by its checks on stand-in runs whose numbers
are known (held, did not hold, inconclusive; paired errors against their closed form)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.analytics import hill
from tailrisk.config import ConfigError, parse_config
from tailrisk.config.claim import ClaimConfig, parse_expression
from tailrisk.studies.verdict import (
    HELD,
    INCONCLUSIVE,
    NOT_HELD,
    Verdict,
    World,
    decide,
    evaluate,
)

BASE = {
    "run": {"paths": 1000, "steps": 16},
    "model": {"name": "gbm", "sigma": 0.5},
    "venue": {"population": {"n_accounts": 100}},
}


def _config(**tables):
    return {**BASE, **tables}


def _problems(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data, "x.toml")
    return err.value.problems


def test_claim_problems_name_their_keys_all_at_once():
    problems = _problems(_config(claim={
        "statement": "too short",
        "checks": [
            {"metric": "tail_index_damped[sides] - bogus", "op": ">", "value": 0},
            {"metric": "p_adl", "op": "=>", "value": 0},
            {"metric": "p_adl[long]", "op": ">", "value": float("nan")},
            {"metric": "mean_haircut[middle]", "op": ">", "value": 0, "significance": 20},
        ],
        "resamples": 5,
    }))
    text = "\n".join(problems)
    assert "claim.statement" in text
    assert "claim.checks[0].metric" in text and "'bogus'" in text and "allowed" in text
    assert "claim.checks[1].op = '=>'" in text
    assert "claim.checks[2].metric" in text and "takes no [group]" in text
    assert "claim.checks[2].value" in text
    assert "claim.checks[3].metric" in text and "group 'middle'" in text
    assert "claim.checks[3].significance = 20" in text
    assert "claim.resamples = 5" in text


def test_variant_labels_and_the_venue_are_checked_across_tables():
    claim = {"statement": "a claim of ten characters",
             "checks": [{"metric": "p_adl@nowhere - p_adl@usd", "op": ">", "value": 0}]}
    study = {"kind": "variants", "variants": [
        {"label": "usd", "set": {"venue.fund": 1e5}},
        {"label": "bad", "set": {"venue.fund": -1.0}},
    ]}
    text = "\n".join(_problems(_config(claim=claim, study=study)))
    assert "claim.checks[0].metric" in text and "no variant 'nowhere'" in text
    claim["checks"][0]["metric"] = "p_adl@bad - p_adl@usd"
    text = "\n".join(_problems(_config(claim=claim, study=study)))
    assert "study variant 'bad'" in text and "venue.fund = -1.0" in text
    no_venue = {k: v for k, v in _config(claim={
        "statement": "a claim of ten characters",
        "checks": [{"metric": "p_adl", "op": ">", "value": 0}]}).items() if k != "venue"}
    assert any("needs a [venue]" in p for p in _problems(no_venue))


def test_study_kinds_give_their_labels():
    exp = parse_config(_config(study={"kind": "sweep", "grid": {
        "venue.check_every": [1, 4], "venue.fund": [1e5, 2e5, 3e5]}}))
    assert exp.study.labels() == ["0_0", "0_1", "0_2", "1_0", "1_1", "1_2"]
    exp = parse_config(_config(study={"kind": "policy_comparison",
                                      "policies": ["none", "pro_rata"]}))
    assert exp.study.labels() == ["none", "pro_rata"]
    text = "\n".join(_problems(_config(study={"kind": "policy_comparison",
                                              "policies": ["fifo"], "metric": "nope"})))
    assert "study.policies" in text and "'fifo'" in text and "study.metric = 'nope'" in text


def test_expressions_parse_with_precedence():
    tree = parse_expression("a_damped - b_damped * 2 / (c + 1)")
    assert tree[0] == "-" and tree[2][0] == "/" and tree[2][1][0] == "*"
    for bad in ("p_adl >", "(p_adl", "p_adl p_adl", "", "p_adl $ 1"):
        with pytest.raises(ValueError):
            parse_expression(bad)


# ----------------------------------------------------------------------------- verdicts


def _world(insolvent: np.ndarray, damped=None, undamped=None) -> World:
    n = insolvent.size
    venue = {"insolvent": insolvent.astype(bool), "fund_min": np.ones(n)}
    if damped is not None:
        venue["cohort_damped"] = damped
        venue["cohort_undamped"] = undamped
    return World(venue=venue, per_path={"terminal_log_return": np.zeros(n)},
                 cohort_names=["long all", "short all"])


def _claim(*checks, combine="all") -> ClaimConfig:
    return ClaimConfig(statement="a stand-in claim", checks=tuple(checks), combine=combine)


@pytest.fixture(scope="module")
def worlds():
    rng = np.random.default_rng(1)
    n = 4000
    a = rng.random(n) < 0.30  # P(insolvent) 0.30 ...
    b = a & (rng.random(n) < 0.5)  # ... and 0.15 on the same paths, nested in a
    return {"a": _world(a), "b": _world(b), None: _world(a)}


def test_paired_error_matches_its_closed_form(worlds):
    [m] = evaluate(["p_insolvent@a - p_insolvent@b"], worlds, resamples=400, seed=3)
    d = worlds["a"].venue["insolvent"].astype(float) - worlds["b"].venue["insolvent"]
    assert m.value == pytest.approx(d.mean())
    assert m.se == pytest.approx(d.std(ddof=1) / math.sqrt(d.size), rel=0.15)
    # the paired error is smaller than the independent one (the paths are shared)
    pa, pb = worlds["a"].venue["insolvent"].mean(), worlds["b"].venue["insolvent"].mean()
    indep = math.sqrt(pa * (1 - pa) / d.size + pb * (1 - pb) / d.size)
    assert m.se < 0.8 * indep


def test_verdicts_held_not_held_inconclusive(worlds):
    diff = float(worlds["a"].venue["insolvent"].mean() - worlds["b"].venue["insolvent"].mean())

    def check(value, op=">"):
        return {"metric": "p_insolvent@a - p_insolvent@b", "op": op, "value": value}

    from tailrisk.config.claim import CheckConfig

    held = decide(_claim(CheckConfig(**check(0.0))), worlds)
    assert held.outcome == HELD and held.checks[0].z > 2
    not_held = decide(_claim(CheckConfig(**check(diff + 0.1))), worlds)
    assert not_held.outcome == NOT_HELD and not_held.checks[0].z < -2
    unsure = decide(_claim(CheckConfig(**check(diff - 0.005))), worlds)
    assert unsure.outcome == INCONCLUSIVE and 0 < unsure.checks[0].z < 2
    below = decide(_claim(CheckConfig(**check(diff + 0.1, "<"))), worlds)
    assert below.outcome == HELD
    # all: one failure decides; any: one success decides
    both = (CheckConfig(**check(0.0)), CheckConfig(**check(diff + 0.1)))
    assert decide(_claim(*both), worlds).outcome == NOT_HELD
    assert decide(_claim(*both, combine="any"), worlds).outcome == HELD
    assert Verdict.from_dict(held.to_dict()) == held


def test_deterministic_metrics_decide_by_sign_and_tolerance():
    from tailrisk.config.claim import CheckConfig

    n = 50
    damped = np.tile([-20.0, 80.0], (n, 1))  # the article's example on every path
    undamped = np.tile([-20.0, 100.0], (n, 1))
    w = {None: _world(np.zeros(n), damped, undamped)}
    checks = (
        CheckConfig(metric="mean_damped[short]", op="==", value=80, tolerance=1e-9),
        CheckConfig(metric="damping_ratio[short]", op="==", value=0.8, tolerance=1e-12),
        CheckConfig(metric="mean_haircut[short]", op=">", value=19.999),
        CheckConfig(metric="mean_undamped[short]", op="<", value=100),
    )
    v = decide(_claim(*checks), w)
    assert [c.outcome for c in v.checks] == [HELD, HELD, HELD, NOT_HELD]
    assert all(c.metric.se == 0 for c in v.checks)


def test_payoff_statistics_match_independent_estimators():
    rng = np.random.default_rng(7)
    n = 20000
    gains = rng.pareto(3.0, size=n) + 1.0  # Pareto tail index 3
    pay = np.stack([gains, -gains], axis=1)
    w = {None: _world(np.zeros(n), pay, pay)}
    tail, es, kurt, q = evaluate(
        ["tail_index_damped[long]", "es99_damped[long]", "kurtosis_damped[long]",
         "q99_damped[long]"], w, resamples=50)
    assert tail.value == pytest.approx(float(hill(gains)), rel=1e-9)
    assert abs(tail.value - 3.0) < 3 * tail.se + 0.3
    top = np.sort(gains)[-n // 100:]
    assert es.value == pytest.approx(top.mean(), rel=1e-9)
    import scipy.stats as st

    assert kurt.value == pytest.approx(st.kurtosis(gains, fisher=True, bias=True), rel=1e-9)
    assert q.value == pytest.approx(np.quantile(gains, 0.99, method="inverted_cdf"))


def _paired_world(x: np.ndarray, antithetic: bool):
    from types import SimpleNamespace

    from tailrisk.studies.verdict import World

    n = x.size
    options = SimpleNamespace(antithetic=antithetic, n_paths=n, undamped=np.ones((n, 1)),
                              damped=np.ones((n, 1, 1)), entitled=np.ones((n, 1, 1)))
    return World({"liquidated_notional": x}, {"terminal_log_return": np.zeros(n)},
                 options=options)


def test_antithetic_pairs_are_resampled_whole():
    """Antithetic paths: when each pair sums to the same number the mean has no error at all,
    which only a bootstrap of whole pairs sees (over single paths it is sd / sqrt(n)); with
    independent pairs the two bootstraps agree."""
    from tailrisk.studies.verdict import evaluate

    rng = np.random.default_rng(5)
    first = rng.normal(100.0, 10.0, 2000)
    mirrored = np.stack([first, 200.0 - first], axis=1).ravel()
    [paired] = evaluate(["mean_liquidated_notional"], {None: _paired_world(mirrored, True)})
    [single] = evaluate(["mean_liquidated_notional"], {None: _paired_world(mirrored, False)})
    assert paired.value == pytest.approx(100.0) and paired.se < 1e-9
    assert single.se == pytest.approx(10.0 / np.sqrt(4000), rel=0.25)
    independent = rng.normal(100.0, 10.0, 4000)
    [a] = evaluate(["mean_liquidated_notional"], {None: _paired_world(independent, True)})
    [b] = evaluate(["mean_liquidated_notional"], {None: _paired_world(independent, False)})
    assert a.se == pytest.approx(b.se, rel=0.3)
