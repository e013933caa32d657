"""A whole experiment file: parsing, validation with every problem at once, the config hash.

Every problem in a file is reported at once, one line each, naming the file, the key, the value
and what is allowed. Nothing downstream ever sees an unvalidated value.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from ._base import Frozen as _Frozen
from .errors import ConfigError
from .models import MODEL_NAMES, ModelConfig
from .pricing import PricingConfig, pricing_problems
from .run import RunConfig
from .venue import VenueConfig

__all__ = [
    "AnalysisConfig",
    "Experiment",
    "SweepConfig",
    "config_hash",
    "load_config",
    "parse_config",
]


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
    #: options on damped assets (``tailrisk price``); None: no pricing
    pricing: PricingConfig | None = None

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
    cross = pricing_problems(data)  # [pricing] against the other tables
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as err:
        problems = _problems(err) + cross
        # pydantic skips cross-field checks of a table with field errors; this one is too common
        run = data.get("run") if isinstance(data.get("run"), dict) else {}
        paths = run.get("paths", RunConfig.model_fields["paths"].default)
        chunk = run.get("chunk_size")  # absent: it follows paths and always fits
        if (isinstance(paths, int) and isinstance(chunk, int) and chunk > paths
                and not any(p.startswith("run.chunk_size") for p in problems)):
            problems.append(f"run.chunk_size = {chunk}: must be <= run.paths ({paths})")
        raise ConfigError(source, problems) from None
    if cross:
        raise ConfigError(source, cross)
    return exp


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
