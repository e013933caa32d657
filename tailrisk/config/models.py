"""``[model]``: the seven price models (docs/model.md, price paths), one table each, chosen by
``name``.

Units: ``s0`` in USD, drifts, rates and volatilities annualised, jump intensities per year.
Every number is finite and within the bounds of :mod:`._base`: ``s0`` in [1e-8, 1e12] USD,
volatilities at most 10 per sqrt(year), drifts and rates within +-10 per year, intensities at
most 1e5 per year. A Student-t ``nu`` is finite (use ``gbm`` for Gaussian increments).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ._base import MAX_RATE, MAX_VOL, Drift, Price, Probability, Rate, Volatility
from ._base import Frozen as _Frozen

__all__ = [
    "MODEL_NAMES",
    "GarchTModel",
    "GbmModel",
    "HawkesModel",
    "KouModel",
    "MertonModel",
    "ModelConfig",
    "StableModel",
    "StudentTModel",
]


#: a volatility that must not be zero (it scales the whole law)
_PositiveVol = Annotated[float, Field(gt=0, le=MAX_VOL)]
#: jump sizes: mean and spread of a log jump (a log jump of 10 multiplies the price by 22,000)
_LogJump = Annotated[float, Field(ge=-10, le=10)]
_LogJumpSd = Annotated[float, Field(ge=0, le=10)]
#: standard units at which risk-neutral increments are clipped
_Clip = Annotated[float, Field(gt=0, le=100)]
#: Student-t degrees of freedom: the tabulated quantiles are tested from 0.5 to 1e6
_Nu = Annotated[float, Field(ge=0.5, le=1e6)]


class _ModelBase(_Frozen):
    #: USD, from 1e-8 to 1e12
    s0: Price = 100_000.0
    #: "physical" uses ``mu``; "risk_neutral" sets the drift so that E[S_t] = s0 exp(r t)
    mode: Literal["physical", "risk_neutral"] = "physical"
    #: per year, within +-10
    mu: Drift = 0.0
    r: Drift = 0.0


class GbmModel(_ModelBase):
    name: Literal["gbm"]
    sigma: _PositiveVol = 0.6


class StudentTModel(_ModelBase):
    """Student-t increments. Give ``sigma`` (a standard deviation, needs nu > 2) or ``scale``.

    ``nu`` is finite, from 0.5 to 1e6 (``nu = inf`` is not accepted: for Gaussian increments use
    ``gbm``, or a large ``nu``).
    """

    name: Literal["student_t"]
    nu: _Nu = 3.0
    sigma: _PositiveVol | None = None
    scale: _PositiveVol | None = None
    #: risk-neutral mode clips increments at +-clip standard units (t has no exponential moment)
    clip: _Clip = 20.0

    @model_validator(mode="after")
    def _one_scale(self) -> StudentTModel:
        if (self.sigma is None) == (self.scale is None):
            raise ValueError("model: give exactly one of model.sigma or model.scale")
        if self.sigma is not None and self.nu <= 2:
            raise ValueError(
                f"model.nu = {self.nu}: sigma (a standard deviation) needs nu > 2; "
                "use model.scale for nu <= 2"
            )
        return self


class MertonModel(_ModelBase):
    name: Literal["merton"]
    sigma: Volatility = 0.5
    lam: Rate = 5.0
    mu_j: _LogJump = -0.05
    sigma_j: _LogJumpSd = 0.08


class KouModel(_ModelBase):
    name: Literal["kou"]
    sigma: Volatility = 0.5
    lam: Rate = 5.0
    p: Probability = 0.4
    #: rates of the exponential log jumps (mean jump 1 / eta): up above 1 (E[S] finite), down
    #: from 0.1 (a mean fall of 10 log units), both at most 1e6
    eta_up: Annotated[float, Field(gt=1, le=1e6)] = 15.0
    eta_down: Annotated[float, Field(ge=0.1, le=1e6)] = 10.0


class GarchTModel(_ModelBase):
    """GARCH(1,1) on per-step log returns with standardised Student-t innovations.

    ``omega`` is in per-step variance units; the first step starts at the stationary variance
    ``omega / (1 - alpha - beta)``, which must be at most 1 (a standard deviation of one log
    unit a step).
    """

    name: Literal["garch_t"]
    omega: Annotated[float, Field(gt=0, le=1)] = 2e-6
    alpha: Probability = 0.08
    beta: Probability = 0.9
    nu: Annotated[float, Field(gt=2, le=1e6)] = 4.0
    clip: _Clip = 20.0

    @model_validator(mode="after")
    def _stationary(self) -> GarchTModel:
        if self.alpha + self.beta >= 1:
            raise ValueError(
                f"model.alpha + model.beta = {self.alpha + self.beta}: must be < 1 "
                "(covariance-stationary GARCH)"
            )
        variance = self.omega / (1 - self.alpha - self.beta)
        if variance > 1:
            raise ValueError(
                f"model.omega / (1 - model.alpha - model.beta) = {variance:.6g}: the stationary "
                "variance of a step must be at most 1 (log units squared)"
            )
        return self


class HawkesModel(_ModelBase):
    """Gaussian diffusion plus self-exciting Gaussian log-jumps (intensities per year)."""

    name: Literal["hawkes"]
    sigma: Volatility = 0.5
    lam0: Annotated[float, Field(gt=0, le=MAX_RATE)] = 2.0
    alpha: Rate = 20.0
    beta: Annotated[float, Field(gt=0, le=MAX_RATE)] = 40.0
    mu_j: _LogJump = -0.04
    sigma_j: _LogJumpSd = 0.05

    @model_validator(mode="after")
    def _stable(self) -> HawkesModel:
        if self.alpha >= self.beta:
            raise ValueError(
                f"model.alpha = {self.alpha}: must be < model.beta ({self.beta}) "
                "for a stationary Hawkes intensity"
            )
        return self


class StableModel(_ModelBase):
    """Alpha-stable increments, scale ``scale * dt**(1/alpha)`` per step."""

    name: Literal["stable"]
    alpha: Annotated[float, Field(gt=0, le=2)] = 1.7
    beta: Annotated[float, Field(ge=-1, le=1)] = 0.0
    scale: _PositiveVol = 0.4
    clip: _Clip = 20.0


_MODELS = (GbmModel, StudentTModel, MertonModel, KouModel, GarchTModel, HawkesModel, StableModel)
ModelConfig = Annotated[
    GbmModel | StudentTModel | MertonModel | KouModel | GarchTModel | HawkesModel | StableModel,
    Field(discriminator="name"),
]
#: the allowed values of ``model.name``
MODEL_NAMES: tuple[str, ...] = tuple(
    get_args(m.model_fields["name"].annotation)[0] for m in _MODELS
)
