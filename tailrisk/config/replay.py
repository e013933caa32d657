"""``[replay]``: run the venue over a recorded day instead of a model's paths (issue 15, 11).

The recorded files are research fixtures in the workspace's shared data folder (see
docs/replay.md): ``klines`` (Binance BTCUSD_PERP 1-minute mark klines, 2025-10-09 00:00 to
2025-10-10 23:59 UTC), ``depth`` (Binance BTCUSDT book depth, 2025-10-10) and Hyperliquid's
2025-10-10 ADL summaries. Only the known files are accepted, and the window must lie inside
both files' days, so a config that passes never reads outside the data. Times are UTC, written
``"2025-10-10T21:15"``, on whole minutes. Plain pydantic, no file is read here.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ._base import MAX_MONEY
from ._base import Frozen as _Frozen

__all__ = ["DEPTH_FILES", "KLINE_FILES", "ReplayConfig", "parse_utc"]

#: known kline files and the minutes they cover, [first, last + 1 min) UTC
KLINE_FILES = {
    "BTCUSD_PERP_1m_zero_volume_klines_2025-10-09_10.csv": ("2025-10-09T00:00", "2025-10-11T00:00"),
}
#: known book-depth files and the day they cover, UTC
DEPTH_FILES = {
    "BTCUSDT-bookDepth-2025-10-10.csv": ("2025-10-10T00:00", "2025-10-11T00:00"),
}


def parse_utc(text: str) -> _dt.datetime:
    """``"2025-10-10T21:15"`` (or with a space, seconds, ``Z``) as an aware UTC datetime."""
    t = _dt.datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC)


class ReplayConfig(_Frozen):
    """The recorded day, the window, the matched population and the conditioned Monte Carlo."""

    #: folder holding ``binance_oct2025_theglory/`` and ``hyperliquid_adl_20251010/``; absent:
    #: $TAILRISK_SHARED_DATA, else ``shared/data`` beside the repository
    data: str | None = None
    klines: str = next(iter(KLINE_FILES))
    depth: str = next(iter(DEPTH_FILES))
    #: the window, UTC, whole minutes: [start, end)
    start: str = "2025-10-10T20:00"
    end: str = "2025-10-10T23:00"
    #: "ohlc": three 20 s steps a minute through the bar's extremes; "close": one a minute
    path: Literal["ohlc", "close"] = "ohlc"
    #: the Monte Carlo around the recorded path: a local block bootstrap of its returns, or the
    #: [model] started at the recorded first price
    monte_carlo: Literal["bootstrap", "model"] = "bootstrap"
    #: bootstrap blocks and how far (minutes) a block may come from its recorded time
    block_minutes: Annotated[int, Field(ge=1, le=600)] = 10
    reach_minutes: Annotated[int, Field(ge=0, le=2880)] = 30
    #: the liquidation engine unwinds at most the recorded book's notional within 5% per side
    #: per check (venue.capacity, if smaller, stays), so the fitted impact law is never used
    #: beyond the bands it was fitted to; the rest waits in the backlog for the next check
    capacity_from_book: bool = True
    #: accounts per side (longs, and shorts matched to Hyperliquid's deleveraged accounts)
    n_accounts: Annotated[int, Field(ge=10, le=100_000)] = 2000
    #: the longs' notional at entry, USD; absent: calibrated so that the recorded path
    #: liquidates what Hyperliquid liquidated in BTC
    open_interest_usd: Annotated[float, Field(gt=0, le=MAX_MONEY)] | None = None
    calibration_rounds: Annotated[int, Field(ge=1, le=20)] = 4
    #: Monte Carlo paths also run through the per-account reference venue (first ones by
    #: index): the timing and the per-account ADL distribution come from them
    reference_paths: Annotated[int, Field(ge=0, le=10_000)] = 100

    @field_validator("klines")
    @classmethod
    def _known_klines(cls, v: str) -> str:
        if v not in KLINE_FILES:
            raise ValueError(f"unknown klines file; allowed: {', '.join(KLINE_FILES)}")
        return v

    @field_validator("depth")
    @classmethod
    def _known_depth(cls, v: str) -> str:
        if v not in DEPTH_FILES:
            raise ValueError(f"unknown book-depth file; allowed: {', '.join(DEPTH_FILES)}")
        return v

    @field_validator("start", "end")
    @classmethod
    def _a_minute(cls, v: str) -> str:
        try:
            t = parse_utc(v)
        except ValueError:
            raise ValueError("a UTC time such as '2025-10-10T21:15'") from None
        if t.second or t.microsecond:
            raise ValueError("must be a whole minute (seconds = 0)")
        return v

    @model_validator(mode="after")
    def _window_inside_the_data(self) -> ReplayConfig:
        a, b = parse_utc(self.start), parse_utc(self.end)
        problems = []
        if b <= a:
            problems.append(f"replay.end = {self.end!r}: must be after replay.start "
                            f"({self.start!r})")
        for key, files, name in (("klines", KLINE_FILES, self.klines),
                                 ("depth", DEPTH_FILES, self.depth)):
            lo, hi = (parse_utc(x) for x in files[name])
            if a < lo or b > hi:
                problems.append(
                    f"replay.start/end = {self.start!r}..{self.end!r}: the window must lie inside "
                    f"the {key} file's data, {files[name][0]}..{files[name][1]} UTC")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def minutes(self) -> int:
        return int((parse_utc(self.end) - parse_utc(self.start)).total_seconds() // 60)

    @property
    def steps(self) -> int:
        """Steps of the replay's grid over the window."""
        return self.minutes * (3 if self.path == "ohlc" else 1)

    @property
    def dt_seconds(self) -> float:
        return 20.0 if self.path == "ohlc" else 60.0
