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
    assert len(pages) == (7 if venue else 5)
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
