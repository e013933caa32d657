"""The 2025-10-10 replay (tailrisk.studies.replay): recorded path, impact from the book depth,
the bootstrap, config validation, and one small end-to-end run checked against the data files.

Oracles: PROVENANCE.md's stated statistics of the klines, the depth file and Hyperliquid's JSON
and CSV read here with the standard library, an exact power law, hand-made return series, and
conservation of money. Tests that need ../shared/data skip without it.
"""

from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np
import pytest

from tailrisk._shared_data import shared_data_dir
from tailrisk.config import ConfigError, parse_config
from tailrisk.studies import replay as rp
from tailrisk.studies.replay._depth import DEPTH_FILE, PERCENTAGES
from tailrisk.studies.replay._recorded import KLINES_FILE

DATA = shared_data_dir()
HAVE = (DATA is not None and (DATA / rp.BINANCE_DIR / KLINES_FILE).is_file()
        and (DATA / rp.HYPERLIQUID_DIR / "total_impact_results.json").is_file())
needs_data = pytest.mark.skipif(
    not HAVE,
    reason="shared Binance/Hyperliquid data absent (set TAILRISK_SHARED_DATA or put shared/data "
    "beside the repository)",
)

BASE = {
    "run": {"name": "replay_test", "seed": 7, "dtype": "float64", "paths": 64, "chunk_size": 64},
    "model": {"name": "gbm", "sigma": 0.6},
    "venue": {"policy": "queue_hyperliquid", "gamma": 0.0, "fund": 2e7, "capital": 1e18},
    "replay": {"start": "2025-10-10T20:00", "end": "2025-10-10T23:00", "n_accounts": 300,
               "reference_paths": 3, "block_minutes": 10, "reach_minutes": 30},
}


def _config(**replay):
    data = json.loads(json.dumps(BASE))
    data["replay"].update(replay)
    return parse_config(data, "<test>")


# ----------------------------------------------------------------------------- config


def test_config_validation_names_every_bad_key_at_once():
    data = json.loads(json.dumps(BASE))
    data["replay"].update(start="2025-10-08T23:00", end="2025-10-08T22:00", klines="other.csv",
                          n_accounts=5, open_interest_usd=math.nan, path="ticks")
    data.pop("venue")
    with pytest.raises(ConfigError) as err:
        parse_config(data, "<bad>")
    text = "\n".join(err.value.problems)
    for key in ("replay.klines = 'other.csv'", "replay.n_accounts = 5",
                "replay.open_interest_usd = nan", "replay.path = 'ticks'"):
        assert key in text, text
    # field errors stop pydantic's cross-field checks; with the fields right, the window's turn
    data["replay"].update(klines=KLINES_FILE, n_accounts=300, path="ohlc")
    data["replay"].pop("open_interest_usd")
    with pytest.raises(ConfigError) as err:
        parse_config(data, "<bad>")
    text = "\n".join(err.value.problems)
    assert "replay.end = '2025-10-08T22:00': must be after replay.start" in text
    assert "must lie inside the klines file's data" in text
    assert "must lie inside the depth file's data" in text


def test_config_window_on_whole_minutes_and_needs_a_venue():
    with pytest.raises(ConfigError, match=r"replay.start = '2025-10-10T20:00:30'.*whole minute"):
        _config(start="2025-10-10T20:00:30")
    data = json.loads(json.dumps(BASE))
    data.pop("venue")
    with pytest.raises(ConfigError, match="replay: needs a \\[venue\\]"):
        parse_config(data, "<no venue>")
    cfg = _config().replay
    assert cfg.steps == 540 and cfg.dt_seconds == 20.0
    assert _config(path="close").replay.steps == 180


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_keeps_recorded_blocks_and_is_chunk_invariant():
    returns = np.arange(1, 101, dtype=np.float64) * 1e-4  # distinct: positions are recoverable
    block, reach = 7, 20
    x = rp.bootstrap_log_prices(returns, 100.0, [0, 3, 4, 5], block=block, reach=reach, seed=1)
    np.testing.assert_allclose(np.diff(np.r_[math.log(100.0), x[0]]), returns, atol=1e-15)
    for row, path in zip(x[1:], (3, 4, 5), strict=True):
        r = np.diff(np.r_[math.log(100.0), row])
        for b in range(math.ceil(100 / block)):
            seg = r[b * block:(b + 1) * block]
            start = round(seg[0] / 1e-4) - 1  # where the block came from
            np.testing.assert_allclose(seg, returns[start:start + seg.size], atol=1e-12)
            assert abs(start - b * block) <= reach or start == 100 - block
        starts = rp.block_starts(100, block, reach, 1, path)
        assert np.all(np.abs(starts - np.arange(starts.size) * block) <= reach)
    # a path is the same whichever paths it is drawn with
    alone = rp.bootstrap_log_prices(returns, 100.0, [4], block=block, reach=reach, seed=1)
    np.testing.assert_array_equal(alone[0], x[2])
    other = rp.bootstrap_log_prices(returns, 100.0, [4], block=block, reach=reach, seed=2)
    assert not np.array_equal(other[0], x[2])


def test_adl_timing_on_hand_made_events():
    from types import SimpleNamespace as NS

    prices = np.full(31, 100.0)
    path = rp.RecordedPath(prices=prices, times_s=np.arange(31) * 20.0, start_ms=0,
                           minute_ms=np.arange(10) * 60_000, steps_per_minute=3)

    def ev(step, q, adl=()):
        return NS(step=step, quantity=q, mark=100.0, close_price=90.0,
                  adl_accounts=tuple(range(len(adl))), adl_amounts=tuple(adl))

    # liquidations at 20 s and 40 s, a 160 s gap, then a cascade from 200 s, ADL at 260 s
    ref = NS(events=[ev(1, 1.0), ev(2, 1.0), ev(10, 2.0), ev(11, 3.0), ev(13, 1.0, (0.5, 0.25))])
    t = rp.adl_timing(ref, path, cascade_s=100.0, policy="queue_hyperliquid")
    assert t == {"first_adl_after_recorded_start_s": 160.0, "cascade_to_adl_s": 60.0,
                 "cascade_start_s": 200.0}
    line = rp.event_timeline(ref, path, "queue_hyperliquid")
    np.testing.assert_allclose(line["liquidated"], [100, 100, 200, 300, 100])
    np.testing.assert_allclose(line["adl"], [0, 0, 0, 0, 0.75 * 90.0])  # contracts x close
    assert rp.event_timeline(ref, path, "pro_rata")["adl"][-1] == 0.75  # a haircut in USD
    none = rp.adl_timing(NS(events=ref.events[:4]), path, 100.0, "queue_hyperliquid")
    assert all(math.isnan(v) for v in none.values())


# ----------------------------------------------------------------------------- impact law


def test_impact_fit_recovers_an_exact_power_law():
    eta, beta, v1 = 0.02, 1.7, 3e8
    times = np.repeat(np.arange(20) * 30_000, 10)
    pct = np.tile([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5], 20)
    p = np.abs(pct) / 100.0
    notional = v1 * (-np.log1p(-p) / (-math.log(0.99))) ** (1 / beta)
    mark = 1e5
    depth = {"time_ms": times, "percentage": pct, "notional": notional,
             "weighted_avg_price": mark * (1 + np.sign(pct) * p / 2)}
    fit = rp.fit_impact(depth, np.full(times.size, mark), 0, 10**9)
    assert fit.used == "bid" and fit.snapshots == {"bid": 20, "ask": 20}
    assert fit.beta == pytest.approx(beta, rel=1e-9)
    np.testing.assert_allclose(fit.move(fit.bands["bid"]), np.arange(1, 6) / 100, rtol=1e-9)
    assert fit.depth == pytest.approx(v1)
    assert fit.eta == pytest.approx(-math.log(0.99), rel=1e-9)
    del eta  # the law is pinned by its 1% point: eta follows from depth = V_1%


# ----------------------------------------------------------------------------- the data


@pytest.mark.shared_data
@needs_data
def test_recorded_path_matches_provenance():
    k = rp.load_klines(DATA / rp.BINANCE_DIR / KLINES_FILE)
    assert k["open_time_ms"].size == 2880  # PROVENANCE.md section 5
    i = int(np.argmin(k["low"]))
    assert k["low"][i] == pytest.approx(102_497.49, abs=0.01)
    assert k["open_time_ms"][i] == rp.utc_minute("2025-10-10T21:20")
    assert k["high"].max() == pytest.approx(123_748.78, abs=0.01)
    r = np.diff(np.log(k["close"]))
    j = int(np.argmin(r)) + 1
    assert r[j - 1] == pytest.approx(-0.042, abs=5e-4)
    assert k["open_time_ms"][j] == rp.utc_minute("2025-10-10T21:19")
    path = rp.recorded_path(k, rp.utc_minute("2025-10-10T20:00"), rp.utc_minute("2025-10-10T23:00"))
    assert path.steps == 540 and path.dt_seconds == 20.0
    assert path.prices.min() == pytest.approx(102_497.49, abs=0.01)
    assert path.utc(path.times_s[np.argmin(path.prices)]).startswith("21:20")
    closes = path.prices[3::3]  # every minute's close, in order
    sel = (k["open_time_ms"] >= rp.utc_minute("2025-10-10T20:00")) & (
        k["open_time_ms"] < rp.utc_minute("2025-10-10T23:00"))
    np.testing.assert_array_equal(closes, k["close"][sel])


def _csv_band_medians(start: str, end: str, sign: int) -> tuple[np.ndarray, int]:
    """Medians of one side's 1..5% notionals over the snapshots whose bands are all in range
    (read with csv, the mark from the kline file): an independent reading of the depth file."""
    marks = {}
    with (DATA / rp.BINANCE_DIR / KLINES_FILE).open() as fh:
        for row in csv.DictReader(fh):
            marks[int(row["open_time_ms"])] = float(row["close"])
    snaps: dict[str, dict[int, tuple[float, float]]] = {}
    with (DATA / rp.BINANCE_DIR / DEPTH_FILE).open() as fh:
        for row in csv.DictReader(fh):
            ts = row["timestamp"].strip()
            if start <= ts.replace(" ", "T") < end and int(row["percentage"]) * sign > 0:
                snaps.setdefault(ts, {})[abs(int(row["percentage"]))] = (
                    float(row["notional"]), float(row["weighted_avg_price"]))
    good = []
    for ts, bands in snaps.items():
        mark = marks[rp.utc_minute(ts[:16])]
        vals = []
        for p in PERCENTAGES:
            if p not in bands:
                break
            v, w = bands[p]
            far = mark * (1 + sign * p / 100)
            if not min(mark, far) * 0.99 <= w <= max(mark, far) * 1.01:
                break
            vals.append(v)
        if len(vals) == 5 and all(b >= a for a, b in itertools.pairwise(vals)):
            good.append(vals)
    return (np.median(np.array(good), axis=0) if good else np.full(5, np.nan)), len(good)


@pytest.mark.shared_data
@needs_data
def test_depth_impact_reproduces_the_recorded_notional_in_each_band():
    k = rp.load_klines(DATA / rp.BINANCE_DIR / KLINES_FILE)
    depth = rp.load_depth(DATA / rp.BINANCE_DIR / DEPTH_FILE)
    marks = rp.snapshot_marks(depth, k)
    for start, end, used in (("2025-10-10T20:00", "2025-10-10T23:00", "ask"),
                             ("2025-10-10T00:00", "2025-10-10T12:00", "bid")):
        fit = rp.fit_impact(depth, marks, rp.utc_minute(start), rp.utc_minute(end))
        assert fit.used == used  # the evening's bid bands are stale (PROVENANCE, module doc)
        for side, sign in (("bid", -1), ("ask", 1)):
            want, n = _csv_band_medians(start, end, sign)
            assert fit.snapshots[side] == n
            np.testing.assert_allclose(fit.bands[side], want, rtol=1e-12)
        moves = 100 * fit.move(fit.bands[used])
        # selling the notional of band p moves the price within one band of p percent
        assert np.all(np.abs(moves - np.arange(1, 6)) < 1.0), moves
        assert fit.depth == pytest.approx(fit.bands[used][0])


@pytest.fixture(scope="module")
def small_replay(tmp_path_factory):
    if not HAVE:
        pytest.skip("shared data absent")
    res = rp.run_replay(_config())
    folder = tmp_path_factory.mktemp("replay")
    rp.write_replay(res, folder)
    return res, folder


def _recorded_from_files():
    h = DATA / rp.HYPERLIQUID_DIR
    impact = json.loads((h / "total_impact_results.json").read_text())
    timing = json.loads((h / "cascade_timing_results.json").read_text())
    with (h / "adl_net_volume_full_12min.csv").open() as fh:
        btc = next(r for r in csv.DictReader(fh) if r["ticker"] == "BTC")
    with (h / "adl_by_user_REALTIME_noaddr.csv").open() as fh:
        per = np.array([float(r["adl_notional"]) for r in csv.DictReader(fh)])
    return impact, timing, btc, per


@pytest.mark.shared_data
@needs_data
def test_recorded_column_equals_the_data_files(small_replay):
    res, _ = small_replay
    impact, timing, btc, per = _recorded_from_files()
    rows = {r["metric"]: r["recorded"] for r in res.comparison()}
    assert rows["liquidated notional (BTC)"] == 1_789_607_763.72
    btc_impact = impact["top_combined_tickers"]["BTC"]
    assert rows["liquidated notional (BTC)"] == btc_impact["liquidations"]
    assert rows["ADL notional (BTC)"] == btc_impact["adl"]
    assert rows["ADL count (BTC)"] == int(btc["num_adl_events"]) == 2443
    key = "first ADL after Hyperliquid's first liquidation"
    assert rows[key] == timing["delay_seconds"] == pytest.approx(61.7, abs=0.01)
    assert per.size == 19_337
    for q in (0.1, 0.5, 0.9, 0.99):
        assert rows[f"ADL'd notional per account, q{q:g}"] == np.quantile(per, q)


@pytest.mark.shared_data
@needs_data
def test_replay_run_conserves_money_and_kernel_equals_reference(small_replay):
    res, folder = small_replay
    ref = res.reference
    scale = max(1.0, ref.liquidated_notional)
    assert abs(ref.conservation_error) <= 1e-9 * scale
    # the kernel's path 0 is the recorded path: the same numbers as the reference
    for k in ("liquidated_notional", "adl_notional", "adl_count"):
        assert res.kernel_path0[k] == pytest.approx(getattr(ref, k), rel=1e-9, abs=1e-6)
    # the scale is calibrated to the recorded BTC liquidations
    assert ref.liquidated_notional == pytest.approx(1_789_607_763.72, rel=1e-3)
    assert res.mc["liquidated_notional"].shape == (64,)
    assert np.all(np.isfinite(res.mc["liquidated_notional"]))
    assert res.mc_reference["cascade_to_adl_s"].shape == (3,)
    # the engine never unwinds more than the recorded 5% depth a check (plus the account that
    # crosses it): the impact law stays within the bands it was fitted to
    cap = res.fit.bands[res.fit.used][-1]
    assert res.venue.capacity == cap
    acc = res.accounts
    biggest = float(np.max(acc.quantity * acc.entry)) * 1.5
    by_check: dict[tuple[int, int], float] = {}
    for e in ref.events:
        by_check[(e.step, e.side)] = by_check.get((e.step, e.side), 0.0) + e.quantity * e.mark
    assert max(by_check.values()) <= cap + biggest
    # the event times are multiples of the 20 s grid
    t = res.mc_reference["cascade_to_adl_s"]
    assert np.all(np.isnan(t) | (np.abs(t / 20.0 - np.round(t / 20.0)) < 1e-9))
    saved = json.loads((folder / rp.REPLAY_JSON).read_text())
    assert saved["comparison"][0]["metric"] == "liquidated notional (BTC)"
    assert saved["population"]["shorts"] == 300
    with np.load(folder / rp.REPLAY_NPZ) as z:
        np.testing.assert_array_equal(z["mc__adl_notional"], res.mc["adl_notional"])


@pytest.mark.shared_data
@needs_data
def test_replay_report_pages(small_replay, tmp_path):
    from tailrisk.report.replay import build_replay_report, differences_text, replay_pages

    res, _ = small_replay
    titles = [p.title for p in replay_pages(res)]
    assert len(titles) == 6 and "comparison table" in titles[-1]
    text = differences_text(res)
    assert "ADL'd notional" in text and "USD" in text
    pdf = build_replay_report(res, tmp_path / "r.pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"


@pytest.mark.shared_data
@needs_data
def test_replay_numbers_do_not_depend_on_the_chunk_size(small_replay):
    res, _ = small_replay
    data = json.loads(json.dumps(BASE))
    data["run"]["chunk_size"] = 24  # 64 paths in chunks of 24, 24 and 16
    data["replay"]["reference_paths"] = 0
    other = rp.run_replay(parse_config(data, "<chunked>"))
    for k, v in res.mc.items():
        np.testing.assert_array_equal(other.mc[k], v, err_msg=k)
    assert other.mc_reference["cascade_to_adl_s"].size == 0


@pytest.mark.shared_data
@needs_data
def test_replay_monte_carlo_resumes_from_its_chunks(small_replay, tmp_path):
    """With a store the Monte Carlo keeps its chunks: after one is lost only it is computed
    again, a damaged one is noticed by its checksum, and the numbers are those of one call."""
    res, _ = small_replay
    data = json.loads(json.dumps(BASE))
    data["run"]["chunk_size"] = 24
    data["replay"]["reference_paths"] = 0
    exp = parse_config(data, "<chunked>")
    rp.run_replay(exp, store=tmp_path)
    chunks = sorted((tmp_path / "chunks").glob("chunk_*.npz"))
    assert len(chunks) == 3
    chunks[1].unlink()
    chunks[2].write_bytes(chunks[2].read_bytes()[:-1] + b"x")  # same size, other bytes
    kept = chunks[0].stat().st_mtime_ns
    again = rp.run_replay(exp, store=tmp_path)
    assert chunks[0].stat().st_mtime_ns == kept and chunks[1].exists()
    for k, v in res.mc.items():
        np.testing.assert_array_equal(again.mc[k], v, err_msg=k)


def test_replay_command_without_data_says_where_it_looked(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tailrisk import cli

    monkeypatch.setenv("TAILRISK_SHARED_DATA", str(tmp_path))
    config = tmp_path / "replay.toml"
    config.write_text("""
[run]
name = "r"
paths = 4
[model]
name = "gbm"
[venue]
policy = "queue_hyperliquid"
[replay]
n_accounts = 10
""")
    runner = CliRunner()
    ok = runner.invoke(cli.main, ["validate-config", str(config)])
    assert ok.exit_code == 0, ok.output
    res = runner.invoke(cli.main, ["run", str(config), "--out", str(tmp_path / "runs")])
    assert res.exit_code == 1
    assert "binance_oct2025_theglory: not found" in res.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.shared_data
@needs_data
def test_model_paths_start_at_the_recorded_price(small_replay):
    from tailrisk.studies.replay._study import _mc_log_prices

    res, _ = small_replay
    data = json.loads(json.dumps(BASE))
    data["replay"]["monte_carlo"] = "model"
    exp = parse_config(data, "<model>")
    x = _mc_log_prices(exp, res.path, np.arange(4))
    np.testing.assert_array_equal(x[0], np.log(res.path.prices[1:]))  # path 0: recorded
    assert x.shape == (4, res.path.steps) and np.all(np.isfinite(x))
    # GBM at sigma 0.6 a year over 20 s steps: the first step is within 1% of the recorded start
    assert np.all(np.abs(x[1:, 0] - math.log(res.path.prices[0])) < 0.01)
    assert not np.array_equal(x[1], x[2])


def test_replay_modules_import_on_their_own_and_cheaply():
    import subprocess
    import sys

    for first in ("tailrisk.studies.replay", "tailrisk.report.replay", "tailrisk.config.replay"):
        code = (f"import sys, {first}; import tailrisk.studies.replay, tailrisk.report.replay; "
                "heavy = [m for m in ('matplotlib', 'jax', 'arviz') if m in sys.modules]; "
                "assert not heavy, heavy")
        subprocess.run([sys.executable, "-c", code], check=True)
