"""The replay itself: the recorded-path run, the conditioned Monte Carlo and the comparison.

:func:`run_replay` takes a validated experiment with a ``[replay]`` table and

1. loads the recorded window (:mod:`._recorded`) and fits the venue's impact to the recorded
   book depth of the window (:mod:`._depth`): ``venue.eta``, ``venue.beta_impact`` and
   ``venue.depth`` of the config are replaced by the fit;
2. builds the matched population (:mod:`._population`) and scales it (to
   ``replay.open_interest_usd``, or calibrated to the recorded BTC liquidations);
3. runs the recorded path through the per-account reference venue (the timeline of
   liquidations and ADL, each account's ADL) and through the fast kernel (path 0 of the Monte
   Carlo: the two must agree);
4. runs ``run.paths`` conditioned paths (path 0 recorded, the others bootstrapped or from
   ``[model]``) through the kernel in chunks of ``run.chunk_size``, and the first
   ``replay.reference_paths`` of them through the reference as well;
5. compares with what Hyperliquid recorded (:mod:`._figures`).

Times are seconds (UTC clock times where said), money USD, counts plain numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._shared_data import shared_data_dir
from ._bootstrap import bootstrap_log_prices
from ._compare import HAIRCUT_QUANTILES, comparison_rows
from ._depth import DepthFit, depth_by_hour, fit_impact, load_depth, snapshot_marks
from ._figures import RecordedFigures, load_recorded_figures
from ._population import long_open_interest, matched_accounts, scaled
from ._recorded import RecordedPath, load_klines, recorded_path, utc_minute

__all__ = ["BINANCE_DIR", "HYPERLIQUID_DIR", "ReplayResult", "replay_data_dir", "run_replay"]

BINANCE_DIR = "binance_oct2025_theglory"
HYPERLIQUID_DIR = "hyperliquid_adl_20251010"
#: quantiles of the Monte Carlo band
BAND = (0.05, 0.5, 0.95)
_YEAR_S = 365.0 * 86400.0


def replay_data_dir(data: str | Path | None) -> Path:
    """The folder holding both data folders; raises FileNotFoundError naming what is missing."""
    base = Path(data) if data is not None else shared_data_dir()
    if base is None:
        raise FileNotFoundError(
            "no shared data folder: set TAILRISK_SHARED_DATA or replay.data, or put shared/data "
            "beside the repository (docs/replay.md says where the files come from)")
    for sub in (BINANCE_DIR, HYPERLIQUID_DIR):
        if not (base / sub).is_dir():
            raise FileNotFoundError(f"{base / sub}: not found (docs/replay.md)")
    return base


@dataclass
class ReplayResult:
    """Everything the replay's pages and table need (plain numbers and numpy arrays)."""

    experiment: Any
    config_hash: str
    path: RecordedPath
    fit: DepthFit
    recorded: RecordedFigures
    venue: Any
    accounts: Any
    scale: float
    reference: Any  # ReferenceResult of the recorded path
    kernel_path0: dict[str, float]
    mc: dict[str, np.ndarray]  # per Monte Carlo path (paths,)
    mc_reference: dict[str, np.ndarray]  # per reference path (reference_paths,)
    model_adl_per_account: np.ndarray
    mc_adl_per_account: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    #: what the suite passes to the pages (the claim, its verdict, the experiment)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the book through the day (:func:`._depth.depth_by_hour`)
    depth_hours: dict[str, np.ndarray] = field(default_factory=dict)
    is_replay: bool = True

    def comparison(self) -> list[dict[str, Any]]:
        """The comparison table: metric, recorded, model (recorded path), Monte Carlo median and
        5-95% band, unit, and why they differ."""
        return comparison_rows(self)


def event_timeline(ref, path: RecordedPath, policy: str) -> dict[str, np.ndarray]:
    """Per liquidation batch of a reference run: ``time_s`` (since the window's start),
    ``liquidated`` (notional at the mark, USD), ``adl`` (ADL'd notional, USD: contracts closed x
    close price, or the haircut for a PnL-space policy) and ``adl_accounts`` (accounts touched)."""
    from ...venue import CONTRACT_POLICIES

    t, liq, adl, n_adl = [], [], [], []
    for e in ref.events:
        t.append(path.times_s[e.step])
        liq.append(e.quantity * e.mark)
        amount = float(sum(e.adl_amounts))
        adl.append(amount * e.close_price if policy in CONTRACT_POLICIES else amount)
        n_adl.append(len(e.adl_accounts))
    return {k: np.asarray(v, np.float64) for k, v in
            (("time_s", t), ("liquidated", liq), ("adl", adl), ("adl_accounts", n_adl))}


#: liquidation batches closer than this (s) belong to one cascade
CASCADE_GAP_S = 60.0


def adl_timing(ref, path: RecordedPath, cascade_s: float, policy: str) -> dict[str, float]:
    """When the model's first ADL came, two ways (seconds; NaN without ADL):

    ``first_adl_after_recorded_start_s``: the first ADL's time minus the recorded first
    liquidation's (21:15:03 UTC, ``cascade_s`` after the window's start): the recorded
    figure is 61.7 s; negative when the model deleverages earlier.
    ``cascade_to_adl_s``: from the start of the model's own cascade that led to its first ADL
    (going back from it through liquidation batches no more than :data:`CASCADE_GAP_S` apart)
    to that ADL; ``cascade_start_s``: that start, seconds since the window's start.
    """
    ev = event_timeline(ref, path, policy)
    out = {"first_adl_after_recorded_start_s": math.nan, "cascade_to_adl_s": math.nan,
           "cascade_start_s": math.nan}
    adl = ev["time_s"][ev["adl_accounts"] > 0]
    if not adl.size:
        return out
    t_adl = float(adl.min())
    liq = np.unique(ev["time_s"][(ev["liquidated"] > 0) & (ev["time_s"] <= t_adl)])
    start = t_adl
    for t in liq[::-1]:
        if start - t > CASCADE_GAP_S:
            break
        start = float(t)
    out.update(first_adl_after_recorded_start_s=t_adl - cascade_s,
               cascade_to_adl_s=t_adl - start, cascade_start_s=start)
    return out


def _adl_per_account(acc, ref, policy: str) -> np.ndarray:
    from ..hyperliquid import _model_features

    return np.asarray(_model_features(acc, ref, policy)["adl_notional"], np.float64)


def _mc_log_prices(exp, path: RecordedPath, index: np.ndarray) -> np.ndarray:
    """(len(index), steps) log prices of the Monte Carlo paths ``index`` (path 0 recorded)."""
    rp = exp.replay
    s0 = float(path.prices[0])
    if rp.monte_carlo == "bootstrap":
        k = path.steps_per_minute
        return bootstrap_log_prices(path.log_returns, s0, index, block=rp.block_minutes * k,
                                    reach=rp.reach_minutes * k, seed=exp.run.seed)
    import jax.numpy as jnp

    from ..._rng import STREAM_PRICE, stream_key
    from ...paths import log_prices

    model = exp.model.model_copy(update={"s0": s0})
    x = np.asarray(log_prices(stream_key(exp.run.seed, STREAM_PRICE), model,
                              jnp.asarray(index, jnp.uint32), path.steps,
                              path.dt_seconds / _YEAR_S, exp.run.dtype), np.float64).copy()
    recorded = index == 0
    if recorded.any():
        x[recorded] = np.log(path.prices[1:])
    return x


def _chunk_store(store: Path | None, digest: str, n_chunks: int):
    """(load, save) of the Monte Carlo's chunks in ``store`` (a run folder): each chunk an
    ``.npz`` of :mod:`tailrisk.run_store` with its SHA-256 in ``replay_chunks.json``; a chunk
    that is missing, damaged or of another config is computed again. None: keep nothing."""
    import json

    from ..._atomic import atomic_write
    from ...run_store import chunk_path, read_chunk, write_chunk

    if store is None:
        return (lambda c, n: None), (lambda c, arrays: None)
    store = Path(store)
    book = store / "replay_chunks.json"
    try:
        records = json.loads(book.read_text(encoding="utf-8"))
        if records.get("config_hash") != digest:
            records = {}
    except (OSError, ValueError):
        records = {}
    records = {"config_hash": digest, "n_chunks": n_chunks,
               "chunks": dict(records.get("chunks", {}))}

    def load(c: int, n: int):
        rec = records["chunks"].get(str(c))
        if rec is None:
            return None
        found = read_chunk(store, c, n_chunks, rec, n)
        return found.arrays if found.ok else None

    def save(c: int, arrays: dict[str, np.ndarray]) -> None:
        path = chunk_path(store, c)
        path.parent.mkdir(parents=True, exist_ok=True)
        records["chunks"][str(c)] = write_chunk(path, arrays)
        blob = (json.dumps(records, indent=2, sort_keys=True) + "\n").encode()
        atomic_write(book, lambda fh: fh.write(blob))

    return load, save


def run_replay(exp, *, paths: int | None = None, progress=None,
               store: str | Path | None = None) -> ReplayResult:
    """Run the replay of ``exp`` (an Experiment with ``[replay]`` and ``[venue]``); ``paths``
    overrides ``run.paths``. ``progress(text)`` is told what runs. ``store``: a run folder
    where the conditioned Monte Carlo keeps its chunks, so that a second call (or one after an
    interruption) computes only the chunks it lacks; the numbers do not depend on it. Raises
    FileNotFoundError when the data are absent."""
    from ...config import config_hash
    from ...venue.kernel import simulate_venue
    from ...venue.reference import simulate_path_reference
    from ..hyperliquid import load_hyperliquid_users

    say = progress or (lambda text: None)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    rp, run = exp.replay, exp.run
    n_paths = int(paths or run.paths)
    base = replay_data_dir(rp.data)
    bdir, hdir = base / BINANCE_DIR, base / HYPERLIQUID_DIR
    t0 = time.perf_counter()
    klines = load_klines(bdir / rp.klines)
    start, end = utc_minute(rp.start), utc_minute(rp.end)
    path = recorded_path(klines, start, end, rp.path)
    depth = load_depth(bdir / rp.depth)
    marks = snapshot_marks(depth, klines)
    fit = fit_impact(depth, marks, start, end)
    hourly = depth_by_hour(depth, marks)
    recorded = load_recorded_figures(hdir)
    users = load_hyperliquid_users(hdir)
    timings["load_s"] = time.perf_counter() - t0

    update = {"eta": fit.eta, "beta_impact": fit.beta, "depth": fit.depth}
    if rp.capacity_from_book:  # the law is never used past the recorded 5% band
        update["capacity"] = min(exp.venue.capacity, float(fit.bands[fit.used][-1]))
    venue = exp.venue.model_copy(update=update)
    s0 = float(path.prices[0])
    drop = 1.0 - float(path.prices.min()) / s0
    base_acc = matched_accounts(users, rp.n_accounts, s0, drop, run.seed)
    dt_years = path.dt_seconds / _YEAR_S
    t0 = time.perf_counter()
    if rp.open_interest_usd is not None:
        scale = rp.open_interest_usd / long_open_interest(base_acc)
        acc = scaled(base_acc, scale)
        ref = simulate_path_reference(acc, venue, path.prices, seed=run.seed, dt=dt_years)
    else:
        scale = 1.0
        for _ in range(rp.calibration_rounds):
            acc = scaled(base_acc, scale)
            ref = simulate_path_reference(acc, venue, path.prices, seed=run.seed, dt=dt_years)
            if ref.liquidated_notional <= 0:
                raise ValueError("the recorded path liquidates nobody: no scale to calibrate")
            scale *= recorded.liquidated_notional_btc / ref.liquidated_notional
        acc = scaled(base_acc, scale)
        ref = simulate_path_reference(acc, venue, path.prices, seed=run.seed, dt=dt_years)
    timings["recorded_reference_s"] = time.perf_counter() - t0
    say(f"recorded path: {path.steps} steps of {path.dt_seconds:g} s; scale {scale:.4g}")

    # the conditioned Monte Carlo through the kernel, chunk by chunk (path 0 is the recorded one)
    import jax.numpy as jnp

    dtype = jnp.float32 if run.dtype == "float32" else jnp.float64
    if run.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    chunk = min(run.chunk_size, n_paths)
    keys = ("liquidated_notional", "adl_notional", "adl_count", "fund_min", "winners_touched",
            "haircut_total", "insolvent")
    mc: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    t0 = time.perf_counter()
    n_chunks = -(-n_paths // chunk)
    load, save = _chunk_store(store, f"{config_hash(exp)}-{n_paths}-{scale!r}", n_chunks)
    for c, lo in enumerate(range(0, n_paths, chunk)):
        n = min(chunk, n_paths - lo)
        arrays = load(c, n)
        if arrays is None:
            index = np.arange(lo, lo + chunk, dtype=np.int64)  # the last chunk is padded
            x = _mc_log_prices(exp, path, index)
            out = simulate_venue(acc, venue, jnp.asarray(x, dtype), s0=s0, seed=run.seed,
                                 path_index=index.astype(np.uint32), dt=dt_years)
            arrays = {k: np.asarray(out[k], np.float64)[:n] for k in keys}
            arrays["path_index"] = index[:n]
            save(c, arrays)
        for k in keys:
            mc[k].append(np.asarray(arrays[k], np.float64))
        say(f"Monte Carlo: {min(lo + chunk, n_paths):,} of {n_paths:,} paths")
    mc_arr = {k: np.concatenate(v) for k, v in mc.items()}
    timings["monte_carlo_kernel_s"] = time.perf_counter() - t0
    kernel_path0 = {k: float(v[0]) for k, v in mc_arr.items()}

    # timing and per-account ADL from the reference on the first Monte Carlo paths
    cascade = cascade_offset_s(rp.start, recorded)
    n_ref = min(rp.reference_paths, n_paths)
    t0 = time.perf_counter()
    timing: list[dict[str, float]] = []
    per_acc = []
    if n_ref:
        x = _mc_log_prices(exp, path, np.arange(n_ref))
        for i in range(n_ref):
            prices = np.r_[s0, np.exp(x[i])]
            r = ref if i == 0 else simulate_path_reference(acc, venue, prices, seed=run.seed,
                                                           path=i, dt=dt_years)
            timing.append(adl_timing(r, path, cascade, venue.policy))
            per_acc.append(_adl_per_account(acc, r, venue.policy))
    timings["monte_carlo_reference_s"] = time.perf_counter() - t0
    mc_reference = {k: np.array([t[k] for t in timing], np.float64)
                    for k in ("first_adl_after_recorded_start_s", "cascade_to_adl_s",
                              "cascade_start_s")}
    for q in HAIRCUT_QUANTILES:
        mc_reference[f"adl_q{q:g}"] = np.array(
            [np.quantile(a, q) if a.size else math.nan for a in per_acc], np.float64)
    timings["total_s"] = time.perf_counter() - t_all
    return ReplayResult(
        experiment=exp, config_hash=config_hash(exp), path=path, fit=fit, recorded=recorded,
        venue=venue, accounts=acc, scale=scale, reference=ref, kernel_path0=kernel_path0,
        mc=mc_arr, mc_reference=mc_reference,
        model_adl_per_account=_adl_per_account(acc, ref, venue.policy),
        mc_adl_per_account=np.concatenate(per_acc) if per_acc else np.zeros(0),
        timings=timings, depth_hours=hourly,
    )


def cascade_offset_s(window_start: str, recorded: RecordedFigures) -> float:
    """Seconds from the window's start to the recorded first liquidation (21:15:03 UTC)."""
    from ...config.replay import parse_utc

    return (parse_utc(recorded.cascade_start_utc) - parse_utc(window_start)).total_seconds()
