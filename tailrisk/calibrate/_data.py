"""Reading a daily price series and turning it into log returns, with checks that name the row."""

from __future__ import annotations

import csv
import datetime as _dt
import importlib.resources
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PriceSeries", "default_data_path", "read_prices"]

#: one step of the daily series, in years (calendar days: crypto trades every day of the year)
DAILY_DT = 1.0 / 365.0


def default_data_path() -> Path:
    """The shipped BTC/USD daily closes, 2015-01-01 to 2026-02-13 (MIT; see ``tailrisk/data``)."""
    return Path(str(importlib.resources.files("tailrisk") / "data" / "btc_usd_daily.csv"))


@dataclass(frozen=True)
class PriceSeries:
    """A validated daily price series.

    ``dates`` has shape ``(n,)``; ``prices`` (USD, > 0) has shape ``(n,)``; ``returns`` are the
    ``n - 1`` close-to-close log returns ``log(p[t] / p[t-1])``, one per step of ``dt`` years.
    """

    source: str
    dates: tuple[_dt.date, ...]
    prices: np.ndarray
    dt: float = DAILY_DT

    @property
    def returns(self) -> np.ndarray:
        return np.diff(np.log(self.prices))

    @property
    def n_returns(self) -> int:
        return self.prices.size - 1


def read_prices(
    path: str | Path, date_col: str = "date", price_col: str = "price", dt: float = DAILY_DT
) -> PriceSeries:
    """Read a CSV of dates and prices.

    Dates are ISO ``YYYY-MM-DD`` (a time part after the date is ignored) and must be strictly
    increasing; prices must be finite and positive. Gaps in the calendar are allowed (a return then
    spans the gap) but every return is treated as one step of ``dt`` years. Raises ``ValueError``
    naming the file, the column and the row (1-based, header = row 1) of the first problem.
    """
    path = Path(path)
    src = str(path)
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"{src}: file not found") from None
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{src}: the file is empty (expected a header row)")
        header = [h.strip() for h in header]
        missing = [c for c in (date_col, price_col) if c not in header]
        if missing:
            cols = ", ".join(repr(c) for c in missing)
            raise ValueError(
                f"{src}: column(s) {cols} not found; the header has {header} "
                "(choose columns with date_col= / price_col=, or --date-col / --price-col)"
            )
        i_date, i_price = header.index(date_col), header.index(price_col)
        dates: list[_dt.date] = []
        prices: list[float] = []
        for row_no, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            where = f"{src}, row {row_no}"
            if len(row) <= max(i_date, i_price):
                raise ValueError(f"{where}: has {len(row)} field(s), fewer than the header")
            raw_date, raw_price = row[i_date].strip(), row[i_price].strip()
            try:
                date = _dt.date.fromisoformat(raw_date[:10])
            except ValueError:
                raise ValueError(
                    f"{where}, column {date_col!r}: {raw_date!r} is not a YYYY-MM-DD date"
                ) from None
            try:
                price = float(raw_price)
            except ValueError:
                raise ValueError(
                    f"{where}, column {price_col!r}: {raw_price!r} is not a number"
                ) from None
            if not math.isfinite(price) or price <= 0:
                raise ValueError(
                    f"{where}, column {price_col!r}: price {raw_price!r} must be finite and > 0"
                )
            if dates and date <= dates[-1]:
                what = "duplicate date" if date == dates[-1] else "dates out of order"
                raise ValueError(
                    f"{where}, column {date_col!r}: {what}: {date} comes after {dates[-1]} "
                    "(dates must be strictly increasing)"
                )
            dates.append(date)
            prices.append(price)
    if len(prices) < 3:
        raise ValueError(f"{src}: only {len(prices)} price row(s); need at least 3")
    return PriceSeries(src, tuple(dates), np.asarray(prices, dtype=np.float64), dt)
