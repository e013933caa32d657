"""The methods page of a claim's report (tailrisk.report.claim_methods), read as text: it names
what was simulated from the config file itself, defines every metric the checks and headline
use, and gives the command and the folder hash that reproduce the run; every name of the claim
vocabulary has a definition."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tailrisk.config import claim as vocab
from tailrisk.config import config_hash, load_config
from tailrisk.config.claim_terms import describe
from tailrisk.report.claim_methods import methods_lines
from tailrisk.studies.verdict import CheckResult, MetricValue, Verdict

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _verdict(exp, n_paths=123) -> Verdict:
    def metric(expr):
        return MetricValue(expr, 0.5, 0.1, "", n_paths)

    checks = tuple(CheckResult(metric(c.metric), c.op, c.value, c.significance, c.tolerance,
                               5.0, "held") for c in exp.claim.checks)
    return Verdict(exp.claim.statement, exp.claim.source, "held", exp.claim.combine, checks,
                   tuple(metric(h) for h in exp.claim.headline), n_paths, 17)


def test_every_vocabulary_name_has_a_definition():
    names = [*vocab.VENUE_METRICS, *vocab.PRICE_METRICS, *vocab.OPTION_METRICS,
             *vocab.NETWORK_METRICS, *vocab.REPLAY_METRICS]
    names += [f"{s}_{w}" for s in vocab.PAYOFF_STATS for w in vocab.WORLDS]
    assert [n for n in names if not describe(n)] == []
    assert describe("no_such_metric") == ""


@pytest.mark.parametrize("stem", ["07_recourse_default", "09_options_damped"])
def test_methods_page_reads_the_config_and_the_claim(stem):
    exp = load_config(EXPERIMENTS / f"{stem}.toml")
    verdict = _verdict(exp)
    result = SimpleNamespace(experiment=exp, config_hash="0" * 16,
                             extra={"experiment": exp, "source": f"{stem}.toml"})
    sections = methods_lines(result, verdict)
    text = "\n".join(line for lines in sections.values() for line in lines)
    setup = "\n".join(sections["What was simulated"])
    assert f"{exp.run.paths:,} in chunks of {exp.run.chunk_size:,}" in setup
    assert f"seed {exp.run.seed}" in setup and exp.model.name in setup
    assert f"policy {exp.venue.policy}" in setup
    # every metric of the checks and the headline, with its sentence
    for expr in [c.metric for c in exp.claim.checks] + list(exp.claim.headline):
        for ref in vocab.metric_refs(vocab.parse_expression(expr)):
            assert f"{ref.name} [" in text and describe(ref.name) in text
    if exp.study is not None:  # each variant with what it sets
        for v in exp.study.variants:
            line = next(s for s in sections["What was simulated"] if f"@{v.label}:" in s)
            for key, value in v.set.items():
                assert f"{key} = {value}" in line
        assert any(s.startswith("name@label") for s in sections["What each number is"])
    else:
        assert not any(s.startswith("name@label") for s in sections["What each number is"])
    decided = " ".join(sections["How the verdict is decided"])
    assert f"all {verdict.n_paths:,} paths" in decided
    assert f"{verdict.resamples} bootstrap" in decided
    reproduce = sections["How to reproduce it"]
    assert reproduce[0].startswith(f"tailrisk run experiments/{stem}.toml")
    # the hash is the one the suite names the experiment's folder with, not the stub's
    assert config_hash(exp) in reproduce[2] and "0" * 16 not in reproduce[2]


def test_network_and_replay_reports_get_a_manifest_page_runs_do_not():
    """A run's report has its own title page (the manifest); a network or replay report,
    which has none, gets one from the claim family."""
    from tailrisk.report.registry import families

    [claim] = [f for f in families() if f.name == "claim"]
    exp = load_config(EXPERIMENTS / "07_recourse_default.toml")
    network = SimpleNamespace(experiment=exp, extra={"claim": exp.claim})
    run = SimpleNamespace(experiment=exp, extra={"claim": exp.claim}, per_path={})
    assert [p.title for p in claim.pages(network)] == ["claim and verdict", "methods",
                                                        "manifest"]
    assert [p.title for p in claim.pages(run)] == ["claim and verdict", "methods"]
