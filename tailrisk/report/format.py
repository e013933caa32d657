"""How numbers are written on the pages: USD amounts, time steps, estimates with their Monte Carlo
errors. Plain Python, no plotting; the command line uses :func:`step_text` too.
"""

from __future__ import annotations

import math

__all__ = ["money_scale", "num", "short", "step_text", "usd", "usd_tick", "with_error"]

_SCALES = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))


def usd(v: float) -> str:
    """``v`` USD with a thousands unit: '1.25M USD', '830.00 USD'."""
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    for div, unit in _SCALES:
        if a >= div:
            return f"{v / div:,.2f}{unit} USD"
    return f"{v:,.2f} USD"


def usd_tick(v: float, _pos=None) -> str:
    """An axis tick label in USD without the unit: '2M', '500k', '30'."""
    for div, unit in _SCALES:
        if abs(v) >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def step_text(dt_years: float) -> str:
    """A time step in the friendliest unit: '1 d', '8 h', '5 min'."""
    days = dt_years * 365.0
    if days >= 1:
        return f"{days:.4g} d"
    if days * 24 >= 1:
        return f"{days * 24:.4g} h"
    return f"{days * 24 * 60:.4g} min"


def short(v: float, digits: int = 4) -> str:
    """``v`` in at most ``digits`` significant digits, scientific below 1e-3 (no "-0")."""
    v = float(v) + 0.0
    if v != 0 and math.isfinite(v) and abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def num(v: float, digits: int = 4) -> str:
    """A table number: ``digits`` significant digits with thousands separators; n/a for NaN."""
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:,.{digits}g}" if abs(v) < 10**digits else f"{v:,.0f}"


def money_scale(values: list[float]) -> tuple[float, str]:
    """``(divisor, unit)`` that writes the largest finite ``|value|`` in bn, M, k or plain USD."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    top = max(finite, default=0.0)
    for div, unit in _SCALES:
        if top >= div:
            return div, f"{unit} USD"
    return 1.0, "USD"


def with_error(row: dict | None, scale: float = 1.0, digits: int = 4) -> str:
    """``value ± se`` or ``value [low, high]`` from a tidy row, in units of ``scale``."""
    if row is None or math.isnan(row["value"]):
        return "n/a"
    v = row["value"] / scale
    kind = row["error_kind"]
    if kind == "bootstrap95":
        lo, hi = row["mcse_or_ci_low"] / scale, row["ci_high"] / scale
        return f"{num(v, digits)}  [{num(lo, digits)}, {num(hi, digits)}]"
    if kind in ("mcse", "batch_se", "binomial_se") and math.isfinite(row["mcse_or_ci_low"]):
        return f"{num(v, digits)} ± {num(row['mcse_or_ci_low'] / scale, 2)}"
    return num(v, digits)
