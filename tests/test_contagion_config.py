"""Network files: every bad input is reported at once, naming its key; the shipped ones load."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from tailrisk.config import ConfigError
from tailrisk.config.network import load_network_config, parse_network_config

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "run": {"paths": 10, "steps": 4},
    "model": {"name": "gbm", "sigma": 0.5},
    "venues": {"A": {"recourse_default_prob": 0.0}, "B": {"recourse_default_prob": 0.0},
               "C": {}},
    "hedgers": [{"name": "h", "long_venue": "A", "short_venue": "B", "quantity": 1.0}],
    "custodians": [{"name": "c", "hedger": "h", "venue": "B"}],
    "firms": [{"name": "f", "capital": 1e6}],
    "credit_lines": [{"name": "l", "lender": "f", "borrower": "A", "limit": 1e5}],
    "runs": [{"name": "r", "venue": "C", "amount": 1e5, "fund_below": 1e5}],
}


def _problems(**changes) -> list[str]:
    data = copy.deepcopy(GOOD)
    for key, value in changes.items():
        table, _, rest = key.partition("__")
        if rest:
            idx, _, field = rest.partition("__")
            if table == "network":
                data.setdefault("network", {})[rest] = value
            elif table == "venues":
                data["venues"][idx][field] = value
            else:
                data[table][int(idx)][field] = value
        else:
            data[table] = value
    with pytest.raises(ConfigError) as info:
        parse_network_config(data, "net.toml")
    return info.value.problems


def test_the_good_file_loads_and_the_shipped_experiment_too():
    exp = parse_network_config(copy.deepcopy(GOOD))
    assert exp.venue_names == ("A", "B", "C")
    assert load_network_config(ROOT / "experiments" / "seed_cascade.toml").network.links


@pytest.mark.parametrize(("changes", "key", "fragment"), [
    ({"hedgers__0__short_venue": "Z"}, "hedgers[0].short_venue = 'Z'", "unknown venue"),
    ({"runs__0__venue": "nowhere"}, "runs[0].venue = 'nowhere'", "unknown venue"),
    ({"credit_lines__0__lender": "bank"}, "credit_lines[0].lender = 'bank'",
     "unknown venue or firm"),
    ({"custodians__0__hedger": "x"}, "custodians[0].hedger = 'x'", "unknown hedger"),
    ({"custodians__0__venue": "C"}, "custodians[0].venue = 'C'", "legs on"),
    ({"hedgers__0__quantity": -5.0}, "hedgers[0].quantity = -5.0", "greater than 0"),
    ({"credit_lines__0__limit": -1.0}, "credit_lines[0].limit = -1.0",
     "greater than or equal to 0"),
    ({"runs__0__amount": math.inf}, "runs[0].amount = inf", "finite"),
    ({"firms__0__capital": math.nan}, "firms[0].capital = nan", "finite"),
    ({"network__paths": "correlation", "network__correlation": [[1.0, 0.5], [0.5, 1.0, 0.2],
                                                                [0.1, 0.2, 1.0]]},
     "network.correlation", "square"),
    ({"network__paths": "correlation", "network__correlation": [[1.0, 0.5], [0.5, 1.0]]},
     "network.correlation", "must be 3x3"),
    ({"network__paths": "correlation", "network__correlation": [
        [1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]},
     "network.correlation", "not positive semi-definite"),
    ({"network__paths": "correlation", "network__common_factor": -0.9},
     "network.common_factor = -0.9", "not positive semi-definite"),
    ({"network__alpha": 0.5}, "network.alpha = 0.5", "rogers_veraart"),
    ({"venues__A__recourse_default_prob": 0.5}, "venues.A.recourse_default_prob = 0.5",
     "must be 0"),
    ({"venues": {"A": {}}}, "venues", "needs >= 2"),
])
def test_each_bad_input_names_its_key(changes, key, fragment):
    problems = _problems(**changes)
    hits = [p for p in problems if p.startswith(key)]
    assert hits, problems
    assert any(fragment in p for p in hits), hits


def test_every_problem_of_a_kind_at_once():
    problems = _problems(hedgers__0__long_venue="X", runs__0__venue="Y",
                         credit_lines__0__borrower="Z")
    assert {p.split(" = ")[0] for p in problems} >= {
        "hedgers[0].long_venue", "runs[0].venue", "credit_lines[0].borrower"}
    problems = _problems(hedgers__0__quantity=-1.0, runs__0__amount=-2.0,
                         firms__0__capital=math.inf)
    assert len(problems) == 3, problems
