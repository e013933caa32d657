"""Building blocks of the validated configuration: frozen strict models and bounded numbers.

Every float of every table is finite: NaN and infinities are refused by the base model
(``allow_inf_nan=False``), so a field that means something by infinity says so with
:data:`PositiveOrInf`. The bounds below follow from the model or from float32 arithmetic: the
kernels run in float32, where a price, a volatility or an impact past them overflows on some
paths (found by running the quickstart at growing values; see the field docs).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_ACCOUNTS",
    "MAX_CHUNK",
    "MAX_DRIFT",
    "MAX_LEVERAGE",
    "MAX_MONEY",
    "MAX_PATHS",
    "MAX_PRICE",
    "MAX_RATE",
    "MAX_VOL",
    "MIN_LEVERAGE",
    "MIN_PRICE",
    "Drift",
    "Frozen",
    "Leverage",
    "Money",
    "NonNegative",
    "Positive",
    "PositiveOrInf",
    "Price",
    "Probability",
    "Rate",
    "Volatility",
]


class Frozen(BaseModel):
    """Immutable, hashable, no unknown keys, no silent type coercion, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: paths of a run: the path index is a uint32
MAX_PATHS = 2**32 - 1
#: paths simulated at once (and steps): int32 indices inside the kernels
MAX_CHUNK = 2**31 - 1
#: accounts of a venue (generated or read from a CSV file)
MAX_ACCOUNTS = 10_000_000
#: prices in USD: beyond these a price or its notional leaves float32's comfortable range
MIN_PRICE = 1e-8
MAX_PRICE = 1e12
#: annualised volatilities, per sqrt(year): 10 is 1,000% a year, about 15 times bitcoin's
MAX_VOL = 10.0
#: annualised drifts and interest rates, per year
MAX_DRIFT = 10.0
#: event intensities, per year (jumps; 100,000 a year is one every 5 minutes)
MAX_RATE = 1e5
#: money in USD (funds, capital, notionals): 1e18 is the "unlimited" capital some studies use
MAX_MONEY = 1e18
#: leverage of an account (notional over margin)
MIN_LEVERAGE = 0.01
MAX_LEVERAGE = 1_000.0


def _positive_or_inf(x: float) -> float:
    if not x > 0:  # NaN too
        raise ValueError("must be a positive number, or inf for unlimited")
    return x


Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
#: a positive number where ``inf`` means unlimited (the field's doc says so)
PositiveOrInf = Annotated[float, Field(allow_inf_nan=True), AfterValidator(_positive_or_inf)]
Price = Annotated[float, Field(ge=MIN_PRICE, le=MAX_PRICE)]
Volatility = Annotated[float, Field(ge=0, le=MAX_VOL)]
Drift = Annotated[float, Field(ge=-MAX_DRIFT, le=MAX_DRIFT)]
Rate = Annotated[float, Field(ge=0, le=MAX_RATE)]
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
Leverage = Annotated[float, Field(ge=MIN_LEVERAGE, le=MAX_LEVERAGE)]
