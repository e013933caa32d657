"""Price impact from the recorded book depth: Binance BTCUSDT, 2025-10-10, +-1..5% of mid.

The depth file (``BTCUSDT-bookDepth-2025-10-10.csv``, PROVENANCE.md section 5) gives, about
every 30 s, the cumulative notional (USD) resting within ``p``% of mid for ``p`` in
-5..-1 (bids) and 1..5 (asks). Selling ``V_p`` (the bid notional within ``p``%) walks the price
down by ``p``%; the venue's impact law (docs/venue.md) says a sale of ``V`` fills at
``P exp(-eta (V / depth)^beta)``. Taking logs, ``log(-log(1 - p/100)) = log(eta) +
beta log(V_p / depth)``: a straight line through the five bands, fitted by least squares, with
``depth`` fixed at the side's median notional within 1% (so that ``eta`` is about 0.01, the log
move of selling that much). Beyond 5% the file says nothing: the law is extrapolated there.

Which snapshots: those inside the replay window whose five bands on a side are all valid: a band
is stale when its volume-weighted price lies outside its own price range (for bids, between
``mark (1 - p/100)`` and the mark, with 1% slack for the USDT/USD basis and the moves within a
minute; the mark is the recorded kline's close of that minute), and the five cumulative
notionals must not decrease. On this day the 1-3% bid bands hold one 17.654 BTC order at
121,364 USD from 19:15 UTC on, far above the mark: a stale reference in the upstream file, not
liquidity. Per band the median notional over a side's valid snapshots is taken (the same
snapshots for every band, so the medians stay cumulative). The venue's impact uses the bid side
(liquidated longs sell) when it has at least 10 valid snapshots in the window, else the ask side
mirrored; the choice is reported. The kernel's depth is one constant over the window (it has
no time-varying depth).
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DEPTH_FILE", "DepthFit", "depth_by_hour", "fit_impact", "load_depth", "snapshot_marks"]

DEPTH_FILE = "BTCUSDT-bookDepth-2025-10-10.csv"
#: slack on a band's price range for the USDT/USD basis and the 30 s between mark and snapshot
_SLACK = 0.01
#: the fewest valid snapshots a side needs for a fit of its own
_MIN_SNAPSHOTS = 10
PERCENTAGES = (1, 2, 3, 4, 5)


def load_depth(path: str | Path) -> dict[str, np.ndarray]:
    """Columns ``time_ms`` (int64, UTC), ``percentage`` (int), ``notional`` (USD) and
    ``weighted_avg_price`` (USD), shape (rows,)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no rows")

    def ms(text: str) -> int:
        t = _dt.datetime.fromisoformat(text.strip()).replace(tzinfo=_dt.UTC)
        return round(t.timestamp() * 1000)

    return {
        "time_ms": np.array([ms(r["timestamp"]) for r in rows], np.int64),
        "percentage": np.array([int(r["percentage"]) for r in rows], np.int64),
        "notional": np.array([float(r["notional"]) for r in rows], np.float64),
        "weighted_avg_price": np.array([float(r["weighted_avg_price"]) for r in rows], np.float64),
    }


def snapshot_marks(depth: dict[str, np.ndarray], klines: dict[str, np.ndarray]) -> np.ndarray:
    """The recorded mark (close of the minute, USD) at each depth row; NaN outside the klines."""
    minute = depth["time_ms"] // 60_000 * 60_000
    t = klines["open_time_ms"]
    k = np.searchsorted(t, minute)
    k = np.clip(k, 0, t.size - 1)
    return np.where(t[k] == minute, klines["close"][k], np.nan)


@dataclass(frozen=True)
class DepthFit:
    """The impact law fitted to the recorded book: ``fill = P exp(-side eta (V/depth)^beta)``.

    ``bands``: {side: (5,) median notional (USD) within 1..5% of mid over the valid snapshots of
    the window, NaN where no snapshot was valid}; ``used``: the side the venue's impact takes
    ("bid" or "ask"); ``snapshots``: {side: valid snapshots}; ``fits``: {side: (eta, beta)}.
    """

    eta: float
    beta: float
    depth: float
    used: str
    bands: dict[str, np.ndarray]
    snapshots: dict[str, int]
    fits: dict[str, tuple[float, float]] = field(default_factory=dict)

    def move(self, notional) -> np.ndarray:
        """Fractional price move of trading ``notional`` USD at once (0.01 = 1%)."""
        v = np.asarray(notional, np.float64)
        return 1.0 - np.exp(-self.eta * (v / self.depth) ** self.beta)

    def notional_for(self, move) -> np.ndarray:
        """USD that moves the price by ``move`` (0.01 = 1%) under the fitted law."""
        m = np.asarray(move, np.float64)
        return self.depth * (-np.log1p(-m) / self.eta) ** (1.0 / self.beta)


def _side_table(depth, marks, inside, times, sign: int) -> np.ndarray:
    """(snapshots, 5) notional within 1..5% on one side, NaN where a band is stale."""
    table = np.full((times.size, len(PERCENTAGES)), np.nan)
    row = np.searchsorted(times, depth["time_ms"])
    vwap = depth["weighted_avg_price"]
    for i, p in enumerate(PERCENTAGES):
        sel = inside & (depth["percentage"] == sign * p)
        far = marks * (1 + sign * p / 100.0)
        lo = np.minimum(marks, far) * (1 - _SLACK)
        hi = np.maximum(marks, far) * (1 + _SLACK)
        ok = sel & (vwap >= lo) & (vwap <= hi) & (depth["notional"] > 0)
        table[row[ok], i] = depth["notional"][ok]
    return table


def _fit_line(pct: np.ndarray, notional: np.ndarray, depth: float) -> tuple[float, float]:
    y = np.log(-np.log1p(-pct / 100.0))
    x = np.log(notional / depth)
    beta, log_eta = np.polyfit(x, y, 1)
    return float(math.exp(log_eta)), float(beta)


def fit_impact(depth: dict[str, np.ndarray], marks: np.ndarray, start_ms: int,
               end_ms: int) -> DepthFit:
    """Fit the impact law to the snapshots in ``[start_ms, end_ms)`` (see the module doc)."""
    inside = (depth["time_ms"] >= start_ms) & (depth["time_ms"] < end_ms) & np.isfinite(marks)
    if not inside.any():
        raise ValueError("no book-depth snapshot inside the window")
    bands: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    times = np.unique(depth["time_ms"][inside])
    for side, sign in (("bid", -1), ("ask", 1)):
        table = _side_table(depth, marks, inside, times, sign)
        ok = np.all(np.isfinite(table), axis=1) & np.all(np.diff(table, axis=1) >= 0, axis=1)
        counts[side] = int(ok.sum())
        bands[side] = (np.median(table[ok], axis=0) if ok.any()
                       else np.full(len(PERCENTAGES), np.nan))
    fits = {}
    p = np.asarray(PERCENTAGES, np.float64)
    for side in ("bid", "ask"):
        if counts[side] >= _MIN_SNAPSHOTS:
            fits[side] = _fit_line(p, bands[side], float(bands[side][0]))
    used = "bid" if "bid" in fits else "ask"
    if used not in fits:
        raise ValueError("too few valid book-depth snapshots in the window for an impact fit")
    eta, beta = fits[used]
    return DepthFit(eta=eta, beta=beta, depth=float(bands[used][0]), used=used, bands=bands,
                    snapshots=counts, fits=fits)


def depth_by_hour(depth: dict[str, np.ndarray], marks: np.ndarray) -> dict[str, np.ndarray]:
    """The book through the day: per UTC hour of the file, each side's median notional within 1%
    and within 5% (USD) over its valid snapshots (NaN where none is valid), and the impact law
    fitted to that hour as :func:`fit_impact` fits a window (``eta``, ``beta`` of the side it
    would use; NaN where neither side has 10 valid snapshots). Shapes (hours,)."""
    day0 = int(depth["time_ms"].min()) // 3_600_000 * 3_600_000
    hours = np.arange(day0, int(depth["time_ms"].max()) + 1, 3_600_000)
    out = {k: np.full(hours.size, np.nan) for k in
           ("bid_1pct", "bid_5pct", "ask_1pct", "ask_5pct", "eta", "beta")}
    out["hour_ms"] = hours
    out["side"] = np.array([""] * hours.size, dtype=object)
    for i, h in enumerate(hours):
        try:
            fit = fit_impact(depth, marks, int(h), int(h) + 3_600_000)
        except ValueError:
            continue
        for side in ("bid", "ask"):
            out[f"{side}_1pct"][i] = fit.bands[side][0]
            out[f"{side}_5pct"][i] = fit.bands[side][-1]
        out["eta"][i], out["beta"][i], out["side"][i] = fit.eta, fit.beta, fit.used
    return out
