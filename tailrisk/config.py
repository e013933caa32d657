"""Experiment configuration: TOML files parsed into frozen, validated parameter objects.

Every problem in a file is reported at once, one line each, naming the file, the key, the value
and what is allowed. Nothing downstream ever sees an unvalidated value.

Units: prices in USD, times in years (``dt`` also accepts ``"1d"``, ``"8h"``, ``"5min"``),
rates and volatilities annualised, quantities in contracts (units of the underlying).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from ._schema_base import Frozen as _Frozen
from ._schema_base import NonNegative, Positive, Probability
from .venue._schema import VenueConfig

__all__ = [
    "DEFAULT_CHUNK",
    "DT_UNITS",
    "MODEL_NAMES",
    "AnalysisConfig",
    "ConfigError",
    "Experiment",
    "GarchTModel",
    "GbmModel",
    "HawkesModel",
    "KouModel",
    "MertonModel",
    "ModelConfig",
    "RunConfig",
    "StableModel",
    "StudentTModel",
    "SweepConfig",
    "VenueConfig",
    "config_hash",
    "default_chunk_size",
    "load_config",
    "parse_config",
]

YEAR_DAYS = 365.0
DT_UNITS = {
    "y": 1.0,
    "d": 1.0 / YEAR_DAYS,
    "h": 1.0 / (YEAR_DAYS * 24),
    "min": 1.0 / (YEAR_DAYS * 24 * 60),
    "s": 1.0 / (YEAR_DAYS * 24 * 3600),
}
#: the largest chunk a config gets without a run.chunk_size key
DEFAULT_CHUNK = 50_000


def default_chunk_size(paths: int) -> int:
    """The chunk size of a config that gives none: all paths at once, at most DEFAULT_CHUNK."""
    return min(paths, DEFAULT_CHUNK)


_DT_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(y|d|h|min|s)\s*$")


class ConfigError(ValueError):
    """A configuration that cannot be run. ``problems`` holds one message per bad key."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in {source}:\n{lines}")




class RunConfig(_Frozen):
    """How much to simulate and how: the Monte Carlo budget, not the model."""

    name: str = "experiment"
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    dtype: Literal["float32", "float64"] = "float32"
    paths: Annotated[int, Field(ge=1)] = 100_000
    #: paths simulated at once; absent: min(paths, DEFAULT_CHUNK) (see ``_default_chunk``)
    chunk_size: Annotated[int, Field(ge=1)] = DEFAULT_CHUNK
    steps: Annotated[int, Field(ge=1)] = 256
    dt: Positive = 1.0 / YEAR_DAYS
    #: how many whole paths to keep for fan charts (the first ones by global index)
    keep_paths: Annotated[int, Field(ge=0, le=10_000)] = 200

    @field_validator("dt", mode="before")
    @classmethod
    def _parse_dt(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _DT_RE.match(v)
            if not m:
                raise ValueError(
                    "a time step is a positive number of years or a string such as "
                    "'1d', '8h', '5min', '30s'"
                )
            return float(m.group(1)) * DT_UNITS[m.group(2)]
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_chunk(cls, data: Any) -> Any:
        # an absent chunk size follows paths, so that a small run needs no chunk_size key; the
        # value is then stored (and hashed) as if written, so configs that give it keep their hash
        if isinstance(data, dict) and "chunk_size" not in data:
            paths = data.get("paths", cls.model_fields["paths"].default)
            if isinstance(paths, int) and not isinstance(paths, bool) and paths >= 1:
                return {**data, "chunk_size": default_chunk_size(paths)}
        return data

    @model_validator(mode="after")
    def _chunk_fits(self) -> RunConfig:
        if self.chunk_size > self.paths:
            raise ValueError(
                f"run.chunk_size = {self.chunk_size}: must be <= run.paths ({self.paths})"
            )
        return self

    @property
    def horizon(self) -> float:
        """Simulated horizon in years."""
        return self.steps * self.dt

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.paths / self.chunk_size)


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


class AnalysisConfig(_Frozen):
    """Monte Carlo error settings of the tail statistics (Hill uses k = ceil(sqrt(n)))."""

    #: independent batches of paths for batch-means errors
    batches: Annotated[int, Field(ge=2)] = 20
    #: bootstrap resamples for the intervals of tail estimators
    bootstrap: Annotated[int, Field(ge=10)] = 200


class SweepConfig(_Frozen):
    """A ``[sweep]`` table: a grid over dotted config keys (``tailrisk sweep``)."""

    #: {dotted key: values}, e.g. {"venue.fund": [1e5, 1e6]}; each point is validated again
    grid: dict[str, tuple[Any, ...]]
    #: venue metric quantities to keep (names from tailrisk.analytics.venue_metrics); empty: default
    metrics: tuple[str, ...] = ()

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, v: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        empty = [k for k, vals in v.items() if not vals]
        if not v or empty:
            raise ValueError(f"needs at least one key, each with a non-empty list (empty: {empty})")
        return v


class Experiment(_Frozen):
    """A whole experiment file."""

    run: RunConfig = RunConfig()
    model: ModelConfig
    analysis: AnalysisConfig = AnalysisConfig()
    #: the venue (liquidations, fund, ADL); None runs price paths only
    venue: VenueConfig | None = None
    #: an optional parameter grid for ``tailrisk sweep``
    sweep: SweepConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in MODEL_NAMES:
            continue  # the discriminator tag pydantic inserts into the path
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _allowed_models() -> str:
    return ", ".join(MODEL_NAMES)


def _missing_model_name(key: str, table: Any) -> str:
    """The message for a model table without ``name``, with a hint where another key holds a
    model's name (``kind = "gbm"``)."""
    msg = f"{key}.name: required key is missing; allowed models: {_allowed_models()}"
    items = table.items() if isinstance(table, dict) else ()
    for k, v in items:
        if isinstance(v, str) and v in MODEL_NAMES:
            return f"{msg} ({key}.{k} = {v!r}: did you mean name = {v!r}?)"
    return msg


def _problems(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        key = _format_loc(e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            out.append(f"{key} = {e['input']!r}: unknown key")
        elif e["type"] == "missing":
            out.append(f"{key}: required key is missing")
        elif msg.startswith(key.split(".")[0] + ".") or msg.startswith(key + " "):
            out.append(msg)  # a cross-field check that already names its keys
        elif e["type"] == "union_tag_invalid":
            name = e["input"].get("name")
            out.append(f"{key}.name = {name!r}: unknown model; allowed models: {_allowed_models()}")
        elif e["type"] == "union_tag_not_found":
            out.append(_missing_model_name(key, e["input"]))
        else:
            out.append(f"{key} = {e['input']!r}: {msg}")
    return out


def _tuples(v: Any) -> Any:
    # TOML arrays arrive as lists; the frozen schema stores tuples (strict mode won't coerce)
    if isinstance(v, dict):
        return {k: _tuples(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return tuple(_tuples(x) for x in v)
    return v


def parse_config(data: dict[str, Any], source: str = "<config>") -> Experiment:
    """Validate a parsed TOML document. Raises :class:`ConfigError` listing every problem."""
    data = _tuples(data)
    if "model" not in data:
        raise ConfigError(source, ["[model]: required table is missing (give at least name = "
                                   f"one of {_allowed_models()})"])
    try:
        return Experiment.model_validate(data)
    except ValidationError as err:
        problems = _problems(err)
        # pydantic skips cross-field checks of a table with field errors; this one is too common
        run = data.get("run") if isinstance(data.get("run"), dict) else {}
        paths = run.get("paths", RunConfig.model_fields["paths"].default)
        chunk = run.get("chunk_size")  # absent: it follows paths and always fits
        if (isinstance(paths, int) and isinstance(chunk, int) and chunk > paths
                and not any(p.startswith("run.chunk_size") for p in problems)):
            problems.append(f"run.chunk_size = {chunk}: must be <= run.paths ({paths})")
        raise ConfigError(source, problems) from None


def load_config(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ["file not found"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(source, [f"not valid TOML: {err}"]) from None
    return parse_config(data, source)


def config_hash(exp: Experiment) -> str:
    """A stable hash of the validated configuration (hex, 16 characters)."""
    blob = json.dumps(exp.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
