"""``[model]``: the seven price models (MODEL.md section 2), one table each, chosen by ``name``.

Units: ``s0`` in USD, drifts, rates and volatilities annualised, jump intensities per year.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ._base import Frozen as _Frozen
from ._base import NonNegative, Positive, Probability

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


class _ModelBase(_Frozen):
    s0: Positive = 100_000.0
    #: "physical" uses ``mu``; "risk_neutral" sets the drift so that E[S_t] = s0 exp(r t)
    mode: Literal["physical", "risk_neutral"] = "physical"
    mu: float = 0.0
    r: float = 0.0


class GbmModel(_ModelBase):
    name: Literal["gbm"]
    sigma: Positive = 0.6


class StudentTModel(_ModelBase):
    """Student-t increments. Give ``sigma`` (a standard deviation, needs nu > 2) or ``scale``."""

    name: Literal["student_t"]
    nu: Positive = 3.0
    sigma: Positive | None = None
    scale: Positive | None = None
    #: risk-neutral mode clips increments at +-clip standard units (t has no exponential moment)
    clip: Positive = 20.0

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
    sigma: NonNegative = 0.5
    lam: NonNegative = 5.0
    mu_j: float = -0.05
    sigma_j: NonNegative = 0.08


class KouModel(_ModelBase):
    name: Literal["kou"]
    sigma: NonNegative = 0.5
    lam: NonNegative = 5.0
    p: Probability = 0.4
    eta_up: Annotated[float, Field(gt=1)] = 15.0
    eta_down: Positive = 10.0


class GarchTModel(_ModelBase):
    """GARCH(1,1) on per-step log returns with standardised Student-t innovations.

    ``omega`` is in per-step variance units; the first step starts at the stationary variance.
    """

    name: Literal["garch_t"]
    omega: Positive = 2e-6
    alpha: NonNegative = 0.08
    beta: NonNegative = 0.9
    nu: Annotated[float, Field(gt=2)] = 4.0
    clip: Positive = 20.0

    @model_validator(mode="after")
    def _stationary(self) -> GarchTModel:
        if self.alpha + self.beta >= 1:
            raise ValueError(
                f"model.alpha + model.beta = {self.alpha + self.beta}: must be < 1 "
                "(covariance-stationary GARCH)"
            )
        return self


class HawkesModel(_ModelBase):
    """Gaussian diffusion plus self-exciting Gaussian log-jumps (intensities per year)."""

    name: Literal["hawkes"]
    sigma: NonNegative = 0.5
    lam0: Positive = 2.0
    alpha: NonNegative = 20.0
    beta: Positive = 40.0
    mu_j: float = -0.04
    sigma_j: NonNegative = 0.05

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
    scale: Positive = 0.4
    clip: Positive = 20.0


_MODELS = (GbmModel, StudentTModel, MertonModel, KouModel, GarchTModel, HawkesModel, StableModel)
ModelConfig = Annotated[
    GbmModel | StudentTModel | MertonModel | KouModel | GarchTModel | HawkesModel | StableModel,
    Field(discriminator="name"),
]
#: the allowed values of ``model.name``
MODEL_NAMES: tuple[str, ...] = tuple(
    get_args(m.model_fields["name"].annotation)[0] for m in _MODELS
)
