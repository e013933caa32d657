"""The recorded day: Binance's BTCUSD_PERP 1-minute mark klines of 2025-10-09/10 as a price path.

The klines (``binance_oct2025_theglory/`` in the shared data folder; PROVENANCE.md section 5, no
licence: read in place, never copied into the project) hold open, high, low and close (USD) of
every minute. A replay runs on a grid finer than a minute so that the bars' extremes are visited:
with ``path = "ohlc"`` each minute gives three steps of 20 s, ``[first extreme, second extreme,
close]``, where a falling bar (close < open) visits its high first and a rising bar its low first
(the usual convention for bars without ticks; the order inside a bar is not recorded). The next
minute starts from this close: the gap between a close and the next open (median 0.0003% on
these two days, at most 0.37%, 14 gaps above 0.1%, all in the crash) is folded into that
minute's first step. ``path = "close"`` keeps one step a minute, the closes.
"""

from __future__ import annotations

import csv
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "KLINES_FILE",
    "RecordedPath",
    "load_klines",
    "recorded_path",
    "utc_minute",
]

KLINES_FILE = "BTCUSD_PERP_1m_zero_volume_klines_2025-10-09_10.csv"
_MS_PER_MIN = 60_000


def utc_minute(text: str) -> int:
    """``"2025-10-10T21:15"`` (UTC; seconds allowed) as milliseconds since the epoch."""
    t = _dt.datetime.fromisoformat(text.replace(" ", "T"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return round(t.timestamp() * 1000)


def load_klines(path: str | Path) -> dict[str, np.ndarray]:
    """Columns ``open_time_ms`` (int64) and ``open, high, low, close`` (float64 USD), shape (N,)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no rows")
    out = {"open_time_ms": np.array([int(r["open_time_ms"]) for r in rows], np.int64)}
    for c in ("open", "high", "low", "close"):
        out[c] = np.array([float(r[c]) for r in rows], np.float64)
    return out


@dataclass(frozen=True)
class RecordedPath:
    """The recorded mark path of a window.

    ``prices``: (steps + 1,) USD, ``prices[0]`` the first minute's open. ``times_s``: (steps + 1,)
    seconds since ``start_ms`` (UTC). ``minute_ms``: open times of the window's minutes.
    """

    prices: np.ndarray
    times_s: np.ndarray
    start_ms: int
    minute_ms: np.ndarray
    steps_per_minute: int

    @property
    def steps(self) -> int:
        return self.prices.size - 1

    @property
    def dt_seconds(self) -> float:
        return 60.0 / self.steps_per_minute

    @property
    def log_returns(self) -> np.ndarray:
        """(steps,) log returns of the path's steps."""
        return np.diff(np.log(self.prices))

    def utc(self, seconds: float) -> str:
        """A time of the path (seconds since its start) as ``HH:MM:SS`` UTC."""
        t = _dt.datetime.fromtimestamp(self.start_ms / 1000 + seconds, _dt.UTC)
        return t.strftime("%H:%M:%S")


def recorded_path(klines: dict[str, np.ndarray], start_ms: int, end_ms: int,
                  path: str = "ohlc") -> RecordedPath:
    """The minutes ``[start_ms, end_ms)`` of ``klines`` as a price path (see the module doc)."""
    t = klines["open_time_ms"]
    sel = (t >= start_ms) & (t < end_ms)
    n = int(sel.sum())
    expected = (end_ms - start_ms) // _MS_PER_MIN
    if n == 0 or n != expected:
        raise ValueError(f"window holds {n} of its {expected} minutes in the klines")
    o, h, lo, c = (klines[k][sel] for k in ("open", "high", "low", "close"))
    if path == "close":
        pts = c[:, None]
    elif path == "ohlc":
        down = c < o
        first = np.where(down, h, lo)
        second = np.where(down, lo, h)
        pts = np.stack([first, second, c], axis=1)
    else:
        raise ValueError(f"path = {path!r}: must be 'ohlc' or 'close'")
    k = pts.shape[1]
    prices = np.r_[o[0], pts.ravel()]
    times = np.arange(prices.size) * (60.0 / k)
    if not (np.all(np.isfinite(prices)) and np.all(prices > 0)):
        raise ValueError("klines: prices must be finite and positive")
    return RecordedPath(prices=prices, times_s=times, start_ms=int(start_ms),
                        minute_ms=t[sel].copy(), steps_per_minute=k)
