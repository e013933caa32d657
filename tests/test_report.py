"""The PDF report: page count, atomic write, every page built from a small run, the registry of
page families, the kept model tails, and a cheap import."""

from __future__ import annotations

import re
import subprocess
import sys

import _standins
import numpy as np
import pytest

from tailrisk import report, runner
from tailrisk.config import parse_config
from tailrisk.report import build, models, registry

STALE = (
    "tailrisk/report/model_tails.npz is not what the samplers draw now: refresh it with "
    "python -c 'from tailrisk.report.models import refresh_shipped_model_tails as r; r()'"
)


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
    monkeypatch.setattr(models, "model_tails", lambda *a, **k: models.model_tails_from(draws))


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

    monkeypatch.setattr(report.prices, "_terminal_page", broken)
    with pytest.raises(RuntimeError, match="page failed"):
        report.build_report(res, target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["report.pdf"]


def test_survival_curve():
    from tailrisk.report.data import gauss_surv_abs, survival

    x, s = survival(np.arange(1.0, 101.0))
    assert x[0] == 1.0 and s[0] == 1.0
    assert x[-1] == 100.0 and s[-1] == pytest.approx(0.01)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(s) < 0)
    # thinned: log-spaced ranks, every one of the largest values kept
    x, s = survival(np.arange(1.0, 100_001.0), max_points=300)
    assert x.size <= 300 and x[0] == 1.0 and s[0] == 1.0
    np.testing.assert_array_equal(x[-20:], np.arange(99_981.0, 100_001.0))
    np.testing.assert_allclose(s[-20:], np.arange(20, 0, -1) / 100_000)
    assert gauss_surv_abs(np.array([0.0]), 1.0)[0] == pytest.approx(1.0)
    assert gauss_surv_abs(np.array([1.959964]), 1.0)[0] == pytest.approx(0.05, rel=1e-5)


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
    # the model page plots the kept summary of exactly these draws
    shipped = models._load(models.SHIPPED, models.model_tails_key(report.MODEL_SEED))
    assert shipped is not None, STALE
    fresh = models.model_tails_from(draws)
    assert shipped.names == fresh.names and shipped.n == fresh.n
    assert shipped.lo == pytest.approx(fresh.lo, rel=1e-6)
    for name in fresh.names:
        np.testing.assert_allclose(shipped.x[name], fresh.x[name], rtol=1e-6, err_msg=STALE)
        np.testing.assert_array_equal(shipped.surv[name], fresh.surv[name])
        for field in ("sd", "alpha", "top"):
            got, want = getattr(shipped, field)[name], getattr(fresh, field)[name]
            assert got == pytest.approx(want, rel=1e-6), (name, field, STALE)


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


def test_an_unhaircut_group_is_summarised_once_and_exactly(tmp_path, layers, monkeypatch):
    import tailrisk.analytics

    res = small_run(tmp_path)
    res.venue["cohort_undamped"] = np.array(res.venue["cohort_damped"], copy=True)
    calls = []
    real = tailrisk.analytics.tail_summary

    def counted(x, label, **kw):
        calls.append(label)
        return real(x, label, **kw)

    monkeypatch.setattr(tailrisk.analytics, "tail_summary", counted)
    groups = report.headline_groups(res, n_resamples=20)
    assert calls == ["damped", "damped"], "one summary per group: the two worlds are one sample"
    exp = res.experiment
    for g in groups:
        direct = real(
            g.undamped,
            "undamped",
            levels=report.HEADLINE_LEVELS,
            n_batches=exp.analysis.batches,
            n_resamples=20,
            seed=exp.run.seed,
        )
        np.testing.assert_equal(g.summaries["undamped"].to_rows(), direct.to_rows())


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


# ----------------------------------------------------------------------------- registry


def _recording(monkeypatch) -> list[str]:
    """Record the title of every page build_report draws, in order."""
    drawn: list[str] = []

    def pages_of(result):
        return [
            registry.Page(p.title, lambda p=p: (drawn.append(p.title), p.draw())[1])
            for p in registry.pages_of(result)
        ]

    monkeypatch.setattr(build, "pages_of", pages_of)
    return drawn


@pytest.mark.parametrize("venue", [True, False])
def test_titles_match_the_pages_written(tmp_path, layers, monkeypatch, venue):
    res = small_run(tmp_path, venue)
    drawn = _recording(monkeypatch)
    pdf = report.build_report(res, tmp_path / "report.pdf")
    titles = report.report_pages(res)
    assert drawn == titles
    assert n_pages(pdf.read_bytes()) == len(titles)
    assert len(set(titles)) == len(titles), "titles name the pages one by one"


def test_a_registered_family_adds_its_pages(tmp_path, layers, monkeypatch):
    import matplotlib.pyplot as plt

    res = small_run(tmp_path)
    before = report.report_pages(res)
    calls = []

    def stand_in(result):
        fig = plt.figure()
        fig.text(0.5, 0.5, f"stand-in page of {result.experiment.run.name}")
        calls.append(result)
        return fig

    family = registry.PageFamily(
        "stand-in",
        55,  # between the model tails (50) and the terminal returns (60)
        lambda result: [
            registry.Page("stand-in one", lambda: stand_in(result)),
            registry.Page("stand-in two", lambda: stand_in(result)),
        ],
    )
    report.register(family)
    try:
        with pytest.raises(ValueError, match="already registered"):
            report.register(family)
        pages = report.report_pages(res)
        i = pages.index("model return tails (one day)")
        assert pages[i + 1 : i + 3] == ["stand-in one", "stand-in two"]
        assert pages[:i + 1] + pages[i + 3 :] == before
        drawn = _recording(monkeypatch)
        blob = report.build_report(res, tmp_path / "with.pdf").read_bytes()
        assert n_pages(blob) == len(before) + 2 and drawn == pages
        assert calls == [res, res]
    finally:
        assert report.unregister("stand-in") is family
    assert report.report_pages(res) == before
    assert n_pages(report.build_report(res, tmp_path / "without.pdf").read_bytes()) == len(before)
    with pytest.raises(KeyError):
        report.unregister("stand-in")


def test_a_family_that_does_not_apply_adds_nothing(tmp_path, layers):
    res = small_run(tmp_path, venue=False)
    before = report.report_pages(res)
    assert not any(t.startswith(("headline", "venue", "insurance")) for t in before)
    listed = []
    report.register(
        registry.PageFamily(
            "venue only", 5, lambda r: listed.append(r) or [], applies=lambda r: bool(r.venue)
        )
    )
    try:
        assert report.report_pages(res) == before and listed == []
    finally:
        report.unregister("venue only")


def test_import_is_cheap():
    """Importing the report (and listing its families) loads no plotting, JAX, ArviZ or scipy."""
    code = (
        "import sys, tailrisk.report as r; r.families(); "
        "heavy = [m for m in ('matplotlib', 'jax', 'arviz', 'scipy') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_module_imports_on_its_own():
    """No import cycles: each module of the package imports first in a fresh interpreter."""
    names = ["build", "cohorts", "data", "format", "headline", "methods", "models", "prices"]
    names += ["registry", "style", "venue"]
    code = "; ".join(f"import tailrisk.report.{n}" for n in names)
    for n in names:
        first = f"import tailrisk.report.{n}; " + code
        subprocess.run([sys.executable, "-c", first], check=True)


# ----------------------------------------------------------------------------- model tails


def test_shipped_model_tails_match_the_code():
    """The shipped summary is keyed to the samplers, configs and versions in use (cheap check;
    test_model_returns_from_every_model compares it with fresh draws)."""
    assert models.model_tails_key() == models.model_tails_key()
    assert models._load(models.SHIPPED, models.model_tails_key()) is not None, STALE


def test_model_tails_are_kept_under_their_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "SHIPPED", tmp_path / "none.npz")
    models.model_tails.cache_clear()
    rng = np.random.default_rng(3)
    draws = {name: rng.standard_t(4, 3_000) * 0.02 for name in report.MODEL_DEFAULTS}
    seeds = []

    def fake(seed=0, dtype="float32"):
        seeds.append(seed)
        return draws

    monkeypatch.setattr(models, "model_one_day_returns", fake)
    try:
        first = models.model_tails(7)
        assert seeds == [7]
        (kept,) = (tmp_path / "cache" / "report").iterdir()
        models.model_tails.cache_clear()
        again = models.model_tails(7)
        assert seeds == [7], "read back, not drawn again"
        for name in report.MODEL_DEFAULTS:
            np.testing.assert_array_equal(again.x[name], first.x[name])
            np.testing.assert_array_equal(again.surv[name], first.surv[name])
            assert again.alpha[name] == first.alpha[name] and again.sd[name] == first.sd[name]
        assert again.n == first.n == 3_000 and again.lo == first.lo
        # another key (here: the seed) is drawn afresh, and a file under a wrong key is ignored
        models.model_tails(8)
        assert seeds == [7, 8]
        assert models._load(kept, models.model_tails_key(9)) is None
        # with the cache off nothing is kept
        monkeypatch.setenv("TAILRISK_CACHE_DIR", "off")
        models.model_tails(10)
        assert seeds == [7, 8, 10] and len(list((tmp_path / "cache" / "report").iterdir())) == 2
    finally:
        models.model_tails.cache_clear()


def test_the_key_follows_the_code_not_its_docstrings(tmp_path):
    code = tmp_path / "m.py"
    code.write_text('"""Doc."""\n\ndef f(x):\n    """Doc."""\n    return x + 1  # note\n')
    base = models._code_digest(code)
    code.write_text('"""Other."""\n\n\ndef f(x):  # other note\n\n    return x + 1   \n')
    assert models._code_digest(code) == base
    code.write_text('"""Doc."""\n\ndef f(x):\n    """Doc."""\n    return x + 2\n')
    assert models._code_digest(code) != base
    assert models._code_digest(tmp_path / "gone.py") == "missing"  # then the key misses: drawn


# ----------------------------------------------------------------------------- non-finite paths


def _recording_texts(monkeypatch) -> dict[str, str]:
    """Every page's text (titles, labels, notes) as build_report draws it, by page title."""
    from matplotlib.text import Text

    texts: dict[str, str] = {}

    def draw(page):
        fig = page.draw()
        texts[page.title] = "\n".join(t.get_text() for t in fig.findobj(Text))
        return fig

    monkeypatch.setattr(build, "pages_of", lambda result: [
        registry.Page(p.title, lambda p=p: draw(p)) for p in registry.pages_of(result)])
    return texts


@pytest.mark.parametrize("bad_paths", [(5, 250, 599), None], ids=["some", "all"])
def test_a_run_with_non_finite_paths_reports_what_it_left_out(tmp_path, layers, monkeypatch,
                                                              bad_paths):
    monkeypatch.setattr(runner, "_venue_backend", lambda: (
        _standins.build_population, _standins.nonfinite_venue(bad_paths)))
    res = small_run(tmp_path)
    bad = 600 if bad_paths is None else len(bad_paths)
    assert res.manifest["nonfinite"] == {
        "paths": bad, "outputs": {"cohort_damped": bad, "fund_final": bad}}
    texts = _recording_texts(monkeypatch)
    pdf = report.build_report(res, tmp_path / "report.pdf")
    assert n_pages(pdf.read_bytes()) == len(report.report_pages(res)) == len(texts)

    assert f"{bad:,} of 600 paths (paths per output: fund_final {bad:,}, cohort_damped " \
        f"{bad:,}); left out of every statistic" in " ".join(texts["title"].split())
    affected = [t for t in texts if t.startswith(("headline", "venue", "insurance", "terminal",
                                                 "damped vs", "summary"))]
    assert len(affected) == 6
    for title in affected:
        flat = " ".join(texts[title].split())
        assert f"{bad:,} " in flat and "left out" in flat, title
    kept = 600 - bad
    terminal = " ".join(texts["terminal return tails of this run"].split())
    assert (f"of this run: {kept:,} paths" if kept else "too few paths left") in terminal
    # the pages that do not use the run's paths say nothing of them
    assert "left out" not in texts["model return tails (one day)"]
