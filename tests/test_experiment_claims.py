"""Claims on options, on a network of venues and on the replay (experiments 9, 10 and 11 of
issue 15): the new metric names are validated, the suite's verdicts match what the runs' own
saved tables say, the replay is skipped cleanly without its data, and `tailrisk report` on a
folder the suite wrote gives the suite's PDF.

The tiny runs reuse other modules' shapes (tests/test_pricing_damped.py's venue and maturities,
tests/test_contagion_network.py's network), so their programs are compiled once a session.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_experiments_suite import same_pdf

from tailrisk.cli import main
from tailrisk.config import ConfigError, parse_config
from tailrisk.config.claim import CheckConfig
from tailrisk.config.network import parse_network_config

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize("metric", [
    "adl_price[probe:short_10x]",
    "adl_rate[probe:long_10x, T=24d]",
    "iv_damped[probe:short_10x, m=0.8] - iv_undamped[m=0.8]",
    "option_damped[m=1.2, probe:long_10x] / option_undamped[m=1.2]",
    "forward_entitled[probe:short_10x] - forward_damped[probe:short_10x]",
    "forward_undamped",
    "p_fail_2plus@linked - p_fail_2plus@cut",
    "mean_systemic_loss@linked / mean_systemic_loss@cut",
    "path0_adl_notional / recorded_adl_notional",
])
def test_new_metric_names_parse(metric):
    assert CheckConfig(metric=metric, op=">", value=0).metric == metric


@pytest.mark.parametrize(("metric", "says"), [
    ("iv_smile[probe:short_10x]", "unknown metric 'iv_smile'"),
    ("iv_damped[m=0.8]", "iv_damped needs probe:NAME"),
    ("iv_undamped[probe:short_10x, m=0.8]", "iv_undamped is about the undamped asset"),
    ("option_damped[probe:short_10x]", "option_damped needs a strike m=K/S0"),
    ("adl_price[probe:short_10x, m=0.8]", "adl_price takes no strike m"),
    ("iv_undamped[m=-1]", "'m=-1': m is the strike over the start price"),
    ("adl_price[probe:short_10x, k=3]", "'k=3': allowed in the brackets are probe:NAME"),
    ("adl_rate[probe:long_10x, T=soon]", "'soon': a maturity is"),
    ("p_fail_2plus[long]", "p_fail_2plus takes no [group]"),
])
def test_bad_metric_names_are_rejected_naming_them(metric, says):
    with pytest.raises(ConfigError) as err:
        parse_config({**PRICING, "claim": {"statement": "a claim of ten characters",
                                           "checks": [{"metric": metric, "op": ">",
                                                       "value": 0}]}})
    assert "claim.checks[0].metric" in str(err.value) and says in str(err.value)


PRICING = {
    "run": {"seed": 7, "dtype": "float64", "paths": 256, "chunk_size": 128, "steps": 24,
            "dt": "1d"},
    "model": {"name": "gbm", "s0": 100.0, "sigma": 1.2, "mode": "risk_neutral", "r": 0.0},
    "venue": {
        "policy": "queue_bitmex", "fund": 2000.0, "eta": 0.002, "depth": 1e6, "capital": 0.0,
        "population": {
            "n_accounts": 200, "size_median_usd": 2000.0, "long_share": 0.5,
            "probes": [
                {"name": "short_10x", "side": "short", "leverage": 10.0, "quantity": 1e-3},
                {"name": "long_10x", "side": "long", "leverage": 10.0, "quantity": 1e-3},
                {"name": "short_3x", "side": "short", "leverage": 3.0, "quantity": 1e-3},
            ],
        },
    },
    "pricing": {"moneyness": [0.7, 0.9, 1.0, 1.2], "maturities": ["5d", "12d", "24d"],
                "kinds": ["call", "put"]},
}


def _claim(*metrics: str, headline: tuple[str, ...] = ()) -> dict:
    return {"statement": "a stand-in claim for the tests", "resamples": 200,
            "checks": [{"metric": m, "op": ">", "value": 0} for m in metrics],
            "headline": list(headline)}


@pytest.mark.parametrize(("change", "says"), [
    ({"claim": _claim("p_fail_1plus")}, "p_fail_1plus is a network metric"),
    ({"claim": _claim("adl_price[probe:nobody]")}, "probe 'nobody' is not priced"),
    ({"claim": _claim("iv_undamped[m=0.9, T=7d]")}, "T = 7d is not one of pricing.maturities"),
    ({"claim": _claim("path0_adl_count")}, "path0_adl_count needs a [replay] table"),
    ({"claim": _claim("forward_undamped"), "pricing": None}, "needs a [pricing] table"),
])
def test_metrics_need_their_tables(change, says):
    data = {**copy.deepcopy(PRICING), **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "<test>")
    assert "claim.checks[0].metric" in str(err.value) and says in str(err.value)


def test_a_network_claim_takes_network_metrics_in_two_worlds():
    from test_contagion_network import NET

    good = {**copy.deepcopy(NET), "claim": _claim("p_fail_1plus@linked - p_fail_1plus@cut")}
    assert parse_network_config(good).claim is not None
    for metric, says in (("p_adl", "p_adl is not a network metric"),
                         ("p_fail_1plus@other", "no world 'other'")):
        bad = {**copy.deepcopy(NET), "claim": _claim(metric)}
        with pytest.raises(ConfigError) as err:
            parse_network_config(bad, "<test>")
        assert "claim.checks[0].metric" in str(err.value) and says in str(err.value)


def test_the_experiment_files_are_valid():
    from tailrisk.config import load_config
    from tailrisk.config.network import load_network_config

    for name in ("09_options_damped.toml", "11_replay_20251010.toml"):
        assert load_config(REPO / "experiments" / name).claim is not None
    assert load_network_config(REPO / "experiments" / "10_cross_venue_cascade.toml").claim


# ----------------------------------------------------------------------------- pricing


def _parquet(path: Path) -> dict[str, np.ndarray]:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    return {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}


def test_pricing_verdict_matches_the_run_tables(tmp_path):
    """The verdict's price of ADL is the pricing tables' (pricing_adl.parquet, computed by the
    pricing package) and its bootstrap error agrees with their standard error; the undamped
    option is the grid's plain Monte Carlo price; the undamped implied volatility is the
    model's sigma within its error (Black–Scholes: an independent oracle)."""
    from tailrisk.studies.suite import run_one

    data = copy.deepcopy(PRICING)
    data["claim"] = _claim("adl_price[probe:short_10x]",
                           headline=("option_undamped[m=0.9]", "iv_undamped[m=0.9]",
                                     "adl_rate[probe:long_10x, T=12d]"))
    src = tmp_path / "tiny_pricing.toml"
    outcome = run_one(src, tmp_path / "runs", None, config=parse_config(data))
    run_dir = outcome.run_dirs[0]
    adl = _parquet(run_dir / "pricing_adl.parquet")
    grid = _parquet(run_dir / "pricing.parquet")
    price = outcome.verdict.checks[0].metric
    row = np.flatnonzero((adl["probe"] == "short_10x")
                         & np.isclose(adl["maturity_years"], 24 / 365))[0]
    assert price.value == pytest.approx(adl["adl_price_usd"][row], rel=1e-9, abs=1e-12)
    if adl["adl_price_se_usd"][row] > 0:  # bootstrap and analytic errors of one mean
        assert 0.6 < price.se / adl["adl_price_se_usd"][row] < 1.6
    option, iv, rate = outcome.verdict.headline
    m = ((grid["asset"] == "undamped") & (grid["kind"] == "put")
         & np.isclose(grid["moneyness"], 0.9) & np.isclose(grid["maturity_years"], 24 / 365))
    assert option.value == pytest.approx(grid["price_plain_usd"][m][0], rel=1e-9)
    assert abs(iv.value - 1.2) < 4 * iv.se + 1e-3
    row = np.flatnonzero((adl["probe"] == "long_10x")
                         & np.isclose(adl["maturity_years"], 12 / 365))[0]
    assert rate.value == pytest.approx(adl["adl_rate_per_year"][row], rel=1e-9, abs=1e-12)
    # the per-path assets are kept: a second call reads them instead of simulating again
    stamp = (run_dir / "damped_assets.npz").stat().st_mtime_ns
    again = run_one(src, tmp_path / "runs", None, config=parse_config(data))
    assert again.verdict.checks[0].metric.value == price.value
    assert (run_dir / "damped_assets.npz").stat().st_mtime_ns == stamp


# ----------------------------------------------------------------------------- network


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """The suite on a network file with a claim: both runs, the verdict and the PDF."""
    from test_contagion_network import NET_TOML

    root = tmp_path_factory.mktemp("network")
    src = root / "net_claim.toml"
    src.write_text(NET_TOML + """
[claim]
statement = "A stand-in claim: links make more venues fail."
checks = [
  { metric = "p_fail_1plus@linked - p_fail_1plus@cut", op = ">", value = 0 },
  { metric = "mean_systemic_loss@linked / mean_systemic_loss@cut", op = ">", value = 1 },
]
headline = ["mean_failed_venues@linked", "q99_systemic_loss@cut"]
resamples = 100
""")
    out, reports = root / "runs", root / "reports"
    res = CliRunner().invoke(main, ["run", str(src), "--out", str(out), "--reports",
                                    str(reports), "-q"], catch_exceptions=False)
    return {"res": res, "out": out, "reports": reports, "src": src}


def test_network_verdict_matches_the_saved_runs(network):
    """Recomputed by hand from the two runs' network.npz: the linked and the cut run share
    their paths, the cut run's venues are the linked run's isolated ones exactly, and each
    check's value is the difference or ratio of plain means over those arrays."""
    assert network["res"].exit_code == 0, network["res"].output
    [folder] = [p for p in network["out"].iterdir() if (p / "verdict.json").exists()]
    record = json.loads((folder / "verdict.json").read_text())
    runs = {}
    for d in record["run_dirs"]:
        manifest = json.loads((Path(d) / "manifest.json").read_text())
        with np.load(Path(d) / "network.npz") as z:
            runs[manifest["config"]["network"].get("links", True)] = {k: z[k] for k in z.files}
    linked, cut = runs[True], runs[False]
    np.testing.assert_array_equal(linked["path_index"], cut["path_index"])
    np.testing.assert_array_equal(cut["failed"], linked["failed_isolated"])
    fail = {k: r["failed"].sum(axis=1) >= 1 for k, r in runs.items()}
    loss = {k: r["loss_linked"].sum(axis=1) + r["firm_loss"] for k, r in runs.items()}
    checks = record["verdict"]["checks"]
    assert checks[0]["metric"]["value"] == pytest.approx(fail[True].mean() - fail[False].mean())
    assert checks[1]["metric"]["value"] == pytest.approx(loss[True].mean() / loss[False].mean())
    d = fail[True].astype(float) - fail[False]  # paired: the error of a mean of differences
    assert checks[0]["metric"]["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(d.size),
                                                      rel=0.35)
    head = record["verdict"]["headline"]
    assert head[0]["value"] == pytest.approx(linked["failed"].sum(axis=1).mean())
    assert head[1]["value"] == pytest.approx(np.quantile(loss[False], 0.99,
                                                         method="inverted_cdf"))
    assert (network["reports"] / "net_claim.pdf").read_bytes()[:5] == b"%PDF-"


def test_runs_list_names_the_network_runs(network):
    res = CliRunner().invoke(main, ["runs", "list", "--out", str(network["out"])])
    assert res.exit_code == 0, res.output
    for status in ("network claim of 2 runs", "network run, links cut", "network run "):
        assert status in res.output


def test_report_on_the_network_folder_writes_the_suite_pdf(network, tmp_path):
    [folder] = [p for p in network["out"].iterdir() if (p / "verdict.json").exists()]
    pdf = tmp_path / "again.pdf"
    res = CliRunner().invoke(main, ["report", str(folder), "-o", str(pdf)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert same_pdf(pdf, network["reports"] / "net_claim.pdf")


# ----------------------------------------------------------------------------- replay


def test_replay_experiment_is_skipped_without_the_data(tmp_path, monkeypatch):
    """Without the shared data the suite lists experiment 11 as skipped with one line, exits 0,
    and the summary shows it as not run."""
    import shutil

    from tailrisk.studies.replay import _study

    monkeypatch.setattr(_study, "shared_data_dir", lambda: None)
    folder = tmp_path / "experiments"
    folder.mkdir()
    shutil.copy(REPO / "experiments" / "11_replay_20251010.toml", folder)
    out = tmp_path / "runs"
    res = CliRunner().invoke(main, ["run", str(folder), "--out", str(out), "--reports",
                                    str(tmp_path / "reports"), "-q"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    [line] = [ln for ln in res.output.splitlines() if ln.startswith("11_replay_20251010")]
    assert "skipped (needs the shared data" in line
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())
    pdf = tmp_path / "summary.pdf"
    res = CliRunner().invoke(main, ["report", "--summary", str(out), "-o", str(pdf)])
    assert res.exit_code == 0, res.output
    assert "11_replay_20251010: not run: needs the shared data" in res.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
