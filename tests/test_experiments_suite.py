"""`tailrisk run FOLDER`: every experiment with a claim runs, gets its verdict and PDF; a bad
one fails alone (exit code 1); a second call recomputes nothing; `tailrisk report --summary`
writes one PDF; and experiment 2 reproduces the article's 100 -> 80 USD example.

The tiny configs share one venue program (256 paths x 16 steps x the same 200 accounts, read
from one CSV file whatever the seed: a generated population's side sizes, and so the program's
shapes, would change with the seed) with tests/test_runs_store.py, so the session compiles it
once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tailrisk.cli import main

REPO = Path(__file__).resolve().parents[1]

TINY = """
[run]
name = "{name}"
seed = {seed}
paths = 256
chunk_size = 256
steps = 16
dt = "8h"
keep_paths = 20

[model]
name = "student_t"
s0 = 100000.0
nu = 2.5
sigma = 0.8

[venue]
policy = "queue_bitmex"
eta = 0.002
depth = 20000000.0
fund = 50000.0
capital = 100000.0

[venue.population]
csv = "{csv}"

[analysis]
batches = 4
bootstrap = 20
"""

def write_population(folder: Path) -> Path:
    """200 accounts (110 long, 90 short) with fixed sizes, entries and leverages, as CSV."""
    import numpy as np

    rng = np.random.default_rng(2026)
    lines = ["side,quantity,entry,leverage"]
    for i in range(200):
        side = "long" if i < 110 else "short"
        quantity = float(np.exp(rng.normal(np.log(0.2), 1.0)))  # contracts, ~20k USD
        entry = 100000.0 * float(np.exp(rng.normal(0.0, 0.02)))
        leverage = float(rng.choice([2.0, 5.0, 10.0, 20.0, 50.0]))
        lines.append(f"{side},{quantity:.6f},{entry:.2f},{leverage:g}")
    path = folder / "population.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


CLAIM = """
[claim]
statement = "A stand-in claim: the price moves and the venue pays."
checks = [{{ metric = "{metric}", op = ">", value = 0 }}]
resamples = 50
headline = ["p_adl", "price_sd"]
"""

STUDY = """
[study]
kind = "variants"
metric = "p_adl"
variants = [
  { label = "small", set = { "venue.fund" = 10000.0 } },
  { label = "large", set = { "venue.fund" = 10000000.0 } },
]
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    folder = root / "experiments"
    folder.mkdir()
    csv = write_population(root)

    def tiny(name: str, seed: int) -> str:
        return TINY.format(name=name, seed=seed, csv=csv)

    (folder / "a_single.toml").write_text(tiny("a_single", 1) + CLAIM.format(metric="price_sd"))
    (folder / "b_study.toml").write_text(
        tiny("b_study", 2) + STUDY + CLAIM.format(metric="p_adl@small - p_adl@large"))
    bad = tiny("c_bad", 3).replace("fund = 50000.0", "fund = -5.0")
    (folder / "c_bad.toml").write_text(bad + CLAIM.format(metric="p_adl"))
    (folder / "d_no_claim.toml").write_text(tiny("d_no_claim", 4))
    out, reports = root / "runs", root / "reports"
    args = ["run", str(folder), "--out", str(out), "--reports", str(reports), "-q"]
    first = CliRunner().invoke(main, args)
    stamps = {p: p.stat().st_mtime_ns for p in (*out.rglob("*.npz"), *reports.glob("*.pdf"))}
    second = CliRunner().invoke(main, args)
    return {"out": out, "reports": reports, "first": first, "second": second,
            "stamps": stamps, "args": args}


def test_folder_writes_one_pdf_per_experiment_and_a_bad_one_fails_alone(suite):
    first = suite["first"]
    assert first.exit_code == 1, first.output
    assert "c_bad: FAILED" in first.output and "venue.fund = -5.0" in first.output
    assert "d_no_claim: skipped" in first.output
    assert "a_single: held" in first.output and "b_study: held" in first.output
    pdfs = sorted(p.name for p in suite["reports"].glob("*.pdf"))
    assert pdfs == ["a_single.pdf", "b_study.pdf"]
    for pdf in pdfs:
        assert (suite["reports"] / pdf).read_bytes()[:5] == b"%PDF-"
    assert not list(suite["reports"].glob(".*"))  # no temporary files left


def test_study_runs_each_variant_and_records_the_verdict(suite):
    out = suite["out"]
    names = sorted(p.name.rsplit("-", 1)[0] for p in out.iterdir() if p.is_dir())
    assert names == ["a_single", "b_study", "b_study.large", "b_study.small"]
    [study] = [p for p in out.iterdir() if p.name.startswith("b_study-")]
    record = json.loads((study / "verdict.json").read_text())
    assert record["verdict"]["outcome"] == "held"
    table = record["study"]["table"]
    assert table["small"]["p_adl"]["value"] > table["large"]["p_adl"]["value"]
    for run in record["run_dirs"]:
        assert (Path(run) / "paths.parquet").exists()


def test_second_call_recomputes_nothing(suite):
    second = suite["second"]
    assert second.exit_code == 1
    assert "a_single: held" in second.output
    for path, stamp in suite["stamps"].items():
        assert path.stat().st_mtime_ns == stamp, path


def test_summary_lists_every_verdict(suite, tmp_path):
    pdf = tmp_path / "summary.pdf"
    result = CliRunner().invoke(main, ["report", "--summary", str(suite["out"]), "-o", str(pdf)])
    assert result.exit_code == 0, result.output
    assert "a_single: held" in result.output and "b_study: held" in result.output
    assert "summary of 2 experiment(s)" in result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"


def same_pdf(a: Path, b: Path) -> bool:
    """Two reports alike: the same pages, the same size within 0.5 % (the title page's clock
    times may differ: a resumed run notes when it last ended)."""
    import re

    pages = [len(re.findall(rb"/Type\s*/Page\b(?!s)", p.read_bytes())) for p in (a, b)]
    sizes = [p.stat().st_size for p in (a, b)]
    return pages[0] == pages[1] > 0 and abs(sizes[0] - sizes[1]) <= 0.005 * sizes[1]


def test_report_on_a_study_folder_writes_the_suite_pdf(suite, tmp_path):
    """`tailrisk report` on the study's <run.name>-<config hash>/ folder (and on a single
    experiment's run folder) writes the PDF the suite wrote, without running anything."""
    out = suite["out"]
    [study] = [p for p in out.iterdir() if p.name.startswith("b_study-")]
    [single] = [p for p in out.iterdir() if p.name.startswith("a_single-")]
    chunks = {p: p.stat().st_mtime_ns for p in out.rglob("chunk_*.npz")}
    records = {p: p.read_bytes() for p in out.rglob("verdict.json")}
    for folder, name in ((study, "b_study.pdf"), (single, "a_single.pdf")):
        pdf = tmp_path / name
        result = CliRunner().invoke(main, ["report", str(folder), "-o", str(pdf)])
        assert result.exit_code == 0, result.output
        assert f"{name[:-4]}: held; report: {pdf}" in result.output
        assert same_pdf(pdf, suite["reports"] / name)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("chunk_*.npz")} == chunks
    assert {p: p.read_bytes() for p in out.rglob("verdict.json")} == records  # left as it was


def test_paths_override_changes_the_config_hash(tmp_path):
    from tailrisk.config import config_hash, load_config
    from tailrisk.studies.suite import with_paths

    exp = load_config(REPO / "experiments" / "01_adl_damps_payoffs.toml")
    small = with_paths(exp, 300)
    assert (small.run.paths, small.run.chunk_size) == (300, 300)
    assert config_hash(small) != config_hash(exp)
    from tailrisk.config import ConfigError

    with pytest.raises(ConfigError, match=r"run\.paths = 0"):
        with_paths(exp, 0)


def test_experiment_2_reproduces_the_article_example(tmp_path, monkeypatch):
    """The article: a short owed 100 USD gets 80 USD, 20 from 4 contracts closed early at the
    bankruptcy price 95 of a 20x long (4 x (100 - 95)) and 60 from the 6 held to 90."""
    from tailrisk.studies.suite import run_one

    monkeypatch.chdir(REPO)  # the population CSV is named relative to the repository
    outcome = run_one(REPO / "experiments" / "02_article_100_to_80.toml", tmp_path / "runs",
                      None, paths=64)
    assert outcome.verdict.outcome == "held"
    from tailrisk.runner import load_run

    run = load_run(outcome.run_dirs[0])
    names = run.manifest["cohort_names"]
    damped = dict(zip(names, run.venue["cohort_damped"][0], strict=True))
    undamped = dict(zip(names, run.venue["cohort_undamped"][0], strict=True))
    hand = {  # the hand-worked table: (damped, undamped) payoff in USD
        "short_winner": (4 * (100 - 95) + 6 * (100 - 90), 10 * (100 - 90)),
        "long_liquidated": (-4 * 100 / 20, -4 * 100 / 20),  # the margin is seized
    }
    for name, (d, u) in hand.items():
        assert damped[name] == pytest.approx(d, abs=2e-3)
        assert undamped[name] == pytest.approx(u, abs=2e-3)
    assert run.venue["adl_notional"][0] == pytest.approx(4 * 95, abs=1e-3)
    assert int(run.venue["adl_events"][0]) == 1
    assert run.venue["liquidated_notional"][0] == pytest.approx(4 * 100 * 0.9**0.5, rel=1e-3)
    # the plain reference engine, step by step (the report's ledger page), on the same path
    import numpy as np

    from tailrisk.venue import build_population
    from tailrisk.venue.reference import simulate_path_reference

    exp = run.experiment
    prices = np.r_[100.0, np.exp(run.sample_log_prices[0].astype(np.float64))]
    ref = simulate_path_reference(build_population(exp.venue, 100.0, exp.run.seed), exp.venue,
                                  prices, seed=exp.run.seed)
    [event] = ref.events
    assert event.step == 5 and event.mark == pytest.approx(100 * 0.9**0.5, rel=1e-6)
    assert event.close_price == pytest.approx(95.0) and event.phi == pytest.approx(1.0)
    assert event.adl_accounts == (1,) and event.adl_amounts == pytest.approx((4.0,))
    assert ref.payoff == pytest.approx([-20.0, 80.0], abs=2e-3)
