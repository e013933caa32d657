"""The PDF report: page count, atomic write, every page built from a small run."""

from __future__ import annotations

import re

import _standins
import numpy as np
import pytest

from tailrisk import report, runner
from tailrisk.config import parse_config


def n_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.fixture
def layers(monkeypatch):
    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner, "_venue_backend", lambda: (_standins.build_population, _standins.simulate_venue)
    )
    rng = np.random.default_rng(1)
    draws = {name: rng.standard_t(3, 5_000) * 0.03 for name in report.MODEL_DEFAULTS}
    monkeypatch.setattr(report, "model_one_day_returns", lambda *a, **k: draws)


def small_run(tmp_path, venue=True):
    data = {
        "run": {"name": "r", "paths": 600, "chunk_size": 200, "steps": 20, "keep_paths": 20},
        "model": {"name": "student_t", "nu": 3.0, "sigma": 0.8},
    }
    if venue:
        data["venue"] = {"fund": 1e5, "population": {"n_accounts": 10}}
    return runner.run_experiment(parse_config(data), tmp_path, progress=False)


@pytest.mark.parametrize("venue", [True, False])
def test_report_pages(tmp_path, layers, venue):
    res = small_run(tmp_path, venue)
    pages = report.report_pages(res)
    assert len(pages) == (10 if venue else 5)
    if venue:
        assert pages[1].startswith("headline") and pages[2] == "Hill stability plots"
        assert pages[3] == "venue risk metrics"
    pdf = report.build_report(res, tmp_path / "out" / "report.pdf")
    blob = pdf.read_bytes()
    assert blob.startswith(b"%PDF")
    assert n_pages(blob) == len(pages)
    assert [p.name for p in pdf.parent.iterdir()] == ["report.pdf"], "no temp file left"


def test_failed_report_keeps_the_old_file(tmp_path, layers, monkeypatch):
    res = small_run(tmp_path)
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")

    def broken(result):
        raise RuntimeError("page failed")

    monkeypatch.setattr(report, "_terminal_page", broken)
    with pytest.raises(RuntimeError, match="page failed"):
        report.build_report(res, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["report.pdf"]


def test_survival_curve():
    x, s = report._survival(np.arange(1.0, 101.0))
    assert x[0] == 1.0 and s[0] == 1.0
    assert x[-1] == 100.0 and s[-1] == pytest.approx(0.01)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(s) < 0)
    assert report._gauss_surv_abs(np.array([0.0]), 1.0)[0] == pytest.approx(1.0)
    assert report._gauss_surv_abs(np.array([1.959964]), 1.0)[0] == pytest.approx(0.05, rel=1e-5)


def test_model_returns_from_every_model():
    pytest.importorskip("tailrisk.paths")
    draws = report.model_one_day_returns(seed=0)
    assert set(draws) == set(report.MODEL_DEFAULTS) and len(draws) == 7
    for name, r in draws.items():
        assert r.shape == (report.MODEL_PATHS * report.MODEL_STEPS,), name
        assert np.all(np.isfinite(r)), name
    # fat tails: the Student-t's largest |return| is far beyond what a Gaussian would give
    t = draws["student_t"]
    assert np.abs(t).max() > 6 * t.std()
    g = draws["gbm"]
    assert np.abs(g).max() < 6 * g.std()


def test_headline_values_come_from_tail_summary(tmp_path, layers):
    from tailrisk.analytics import tail_summary

    res = small_run(tmp_path)
    groups = report.headline_groups(res)
    assert [g.label for g in groups] == ["long side (1 cohort)", "short side (1 cohort)"]
    rows = report.headline_rows(groups)
    exp = res.experiment
    damped = res.venue["cohort_damped"][:, 0].astype(np.float64)
    direct = tail_summary(
        damped,
        "damped",
        levels=report.HEADLINE_LEVELS,
        n_batches=exp.analysis.batches,
        n_resamples=min(report.HEADLINE_RESAMPLES, exp.analysis.bootstrap),
        seed=exp.run.seed,
    )

    def value(quantity, statistic):
        (row,) = [
            r
            for r in rows
            if r["group"] == "long side (1 cohort)"
            and r["sample"] == "damped"
            and (r["quantity"], r["statistic"]) == (quantity, statistic)
        ]
        return row

    hill = value("gain", "hill_alpha")
    assert hill["value"] == direct.tails["gain"].hill_alpha.value
    assert hill["error_kind"] == "bootstrap95"
    assert (hill["mcse_or_ci_low"], hill["ci_high"]) == (
        direct.tails["gain"].hill_alpha.ci_low,
        direct.tails["gain"].hill_alpha.ci_high,
    )
    assert value("payoff", "kurtosis_excess")["value"] == direct.kurtosis_excess.value
    assert value("payoff", "mean")["value"] == direct.mean.value
    # 600 paths leave 6 beyond the 99 % level: too few, so both give NaN
    np.testing.assert_equal(value("gain", "ES_0.99")["value"], direct.tails["gain"].es[0.99].value)
    assert value("payoff", "n")["value"] == res.n_paths
    # the undamped column is its own sample, not a copy of the damped one
    undamped = res.venue["cohort_undamped"][:, 0].astype(np.float64)
    assert groups[0].summaries["undamped"].kurtosis_excess.value == pytest.approx(
        tail_summary(undamped, n_resamples=10).kurtosis_excess.value
    )


def test_headline_and_venue_pages_leave_out_non_finite_paths(tmp_path, layers, monkeypatch):
    from tailrisk.analytics import venue_metrics

    def full_venue(*args, **kwargs):  # the outputs venue_metrics needs, beside the toy ones
        out = _standins.simulate_venue(*args, **kwargs)
        loss = np.maximum(-np.asarray(out["cohort_undamped"])[:, 0], 0.0)
        out["net_insolvent_debt"] = np.where(out["insolvent"], loss, 0.0)
        out["liquidated_notional"] = loss * 3.0
        out["adl_notional"] = np.where(out["adl_events"] > 0, loss, 0.0)
        return out

    monkeypatch.setattr(runner, "_venue_backend", lambda: (_standins.build_population, full_venue))
    res = small_run(tmp_path)
    res.venue["cohort_damped"] = res.venue["cohort_damped"].astype(np.float64)
    res.venue["cohort_damped"][[3, 7], 1] = np.nan
    res.venue["fund_min"] = res.venue["fund_min"].astype(np.float64)
    res.venue["fund_min"][11] = np.inf

    groups = report.headline_groups(res, n_resamples=20)
    ok = np.ones(res.n_paths, bool)
    ok[[3, 7, 11]] = False
    for g in groups:
        assert g.n_excluded == 3 and g.damped.size == g.undamped.size == res.n_paths - 3
        assert np.all(np.isfinite(g.damped))
    np.testing.assert_array_equal(groups[1].damped, res.venue["cohort_damped"][ok, 1])

    ms, missing = report.venue_metric_set(res)
    assert missing == []
    direct = venue_metrics(
        {k: np.asarray(v)[ok] for k, v in res.venue.items()},
        floor=res.experiment.venue.floor,
        cohort_names=["long", "short"],
    )
    for key in (("adl", "probability"), ("net_insolvent_debt", "q0.99"), ("haircut[long]", "mean")):
        assert ms[key].value == direct[key].value
        assert ms[key].mcse == direct[key].mcse
    pdf = report.build_report(res, tmp_path / "nan.pdf")
    assert n_pages(pdf.read_bytes()) == len(report.report_pages(res))
