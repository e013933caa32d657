"""A whole experiment file: parsing, validation with every problem at once, the config hash.

Every problem in a file is reported at once, one line each, naming the file, the key, the value
and what is allowed. Nothing downstream ever sees an unvalidated value.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from ._base import Frozen as _Frozen
from .claim import ClaimConfig
from .errors import ConfigError
from .models import MODEL_NAMES, ModelConfig
from .pricing import PricingConfig, pricing_problems
from .replay import ReplayConfig
from .run import RunConfig
from .study import StudyConfig
from .venue import VenueConfig

__all__ = [
    "MAX_GRID_POINTS",
    "MAX_LOG_DRIFT",
    "MAX_LOG_SPREAD",
    "AnalysisConfig",
    "Experiment",
    "SweepConfig",
    "config_hash",
    "load_config",
    "parse_config",
    "sweep_points",
    "variant_points",
]

#: the most log units a model's volatility may spread log prices over the horizon
#: (volatility x sqrt(horizon)); float32 prices overflow at about e^88 times a dollar
MAX_LOG_SPREAD = 10.0
#: the most log units the drift (``mu``, or ``r`` when risk-neutral) may move them
MAX_LOG_DRIFT = 20.0
#: the most points a sweep grid may have
MAX_GRID_POINTS = 10_000


class AnalysisConfig(_Frozen):
    """Monte Carlo error settings of the tail statistics (Hill uses k = ceil(sqrt(n)))."""

    #: independent batches of paths for batch-means errors
    batches: Annotated[int, Field(ge=2, le=10_000)] = 20
    #: bootstrap resamples for the intervals of tail estimators
    bootstrap: Annotated[int, Field(ge=10, le=100_000)] = 200


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
    #: a replay of recorded prices (docs/replay.md); needs a [venue]
    replay: ReplayConfig | None = None
    #: what the experiment claims and the checks that decide it (config/claim.py)
    claim: ClaimConfig | None = None
    #: several variants of this config on the same paths (config/study.py)
    study: StudyConfig | None = None

    @model_validator(mode="after")
    def _scale_over_the_horizon(self) -> Experiment:
        problems = _horizon_problems(self) + _claim_problems(self)
        if self.replay is not None and self.venue is None:
            problems.append("replay: needs a [venue] table (the venue that replays the day)")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _horizon_problems(exp: Experiment) -> list[str]:
    """Drift and volatility that would move float32 log prices out of range over the horizon."""
    model, years = exp.model, exp.run.horizon
    where = f"over the horizon (run.steps x run.dt = {years:.4g} years)"
    out = []
    drift_key = "r" if model.mode == "risk_neutral" else "mu"
    drift = getattr(model, drift_key)
    if abs(drift) * years > MAX_LOG_DRIFT:
        out.append(
            f"model.{drift_key} = {drift:g} per year: {where} it moves log prices by "
            f"{abs(drift) * years:.4g}; at most {MAX_LOG_DRIFT:g} allowed"
        )
    if model.name == "garch_t":
        variance = model.omega / (1 - model.alpha - model.beta)
        spread = math.sqrt(variance * exp.run.steps)
        if spread > MAX_LOG_SPREAD:
            out.append(
                f"model.omega = {model.omega:g}: {where} the stationary variance "
                f"({variance:.4g} a step) spreads log prices by {spread:.4g} log units; at most "
                f"{MAX_LOG_SPREAD:g} allowed"
            )
        return out
    for key in ("sigma", "scale"):
        vol = getattr(model, key, None)
        if vol is not None and vol * math.sqrt(years) > MAX_LOG_SPREAD:
            out.append(
                f"model.{key} = {vol:g} per sqrt(year): {where} it spreads log prices by "
                f"{key} x sqrt(horizon) = {vol * math.sqrt(years):.4g} log units; at most "
                f"{MAX_LOG_SPREAD:g} allowed"
            )
    return out


def _claim_problems(exp: Experiment) -> list[str]:
    """Checks that name a variant the study does not have, or need a venue the file lacks."""
    from .claim import metric_refs, parse_expression

    if exp.claim is None:
        return []
    labels = set(exp.study.labels()) if exp.study is not None else set()
    exprs = [(f"claim.checks[{i}].metric", c.metric) for i, c in enumerate(exp.claim.checks)]
    exprs += [(f"claim.headline[{i}]", h) for i, h in enumerate(exp.claim.headline)]
    out = []
    for key, expr in exprs:
        for ref in metric_refs(parse_expression(expr)):
            if ref.variant is not None and ref.variant not in labels:
                have = ", ".join(sorted(labels)) or "none: the file has no [study]"
                out.append(f"{key} = {expr!r}: no variant {ref.variant!r} (variants: {have})")
            out += [f"{key} = {expr!r}: {p}" for p in _ref_table_problems(exp, ref)]
    return out


def _ref_table_problems(exp: Experiment, ref: Any) -> list[str]:
    """What a metric of a single-venue file's claim needs that the file lacks."""
    from .claim import (
        NETWORK_METRICS,
        OPTION_METRICS,
        OPTION_NEEDS_PROBE,
        REPLAY_METRICS,
        option_spec,
    )

    name = ref.name
    if name in NETWORK_METRICS:
        return [f"{name} is a network metric: it needs a network file ([venues], "
                "docs/contagion.md)"]
    if name in REPLAY_METRICS:
        return [] if exp.replay is not None else [f"{name} needs a [replay] table"]
    if name in OPTION_METRICS:
        if exp.pricing is None:
            return [f"{name} needs a [pricing] table"]
        spec = option_spec(ref)
        out = []
        if name in OPTION_NEEDS_PROBE:
            known = [p.name for p in exp.venue.population.probes] if exp.venue else []
            allowed = list(exp.pricing.probes) or known
            if spec.probe not in allowed:
                out.append(f"probe {spec.probe!r} is not priced (pricing probes: "
                           f"{', '.join(allowed) or 'none'})")
        if spec.maturity is not None and not any(
                abs(spec.maturity - t) <= 1e-6 * t for t in exp.pricing.maturities):
            days = ", ".join(f"{t * 365:g}d" for t in exp.pricing.maturities)
            out.append(f"T = {spec.maturity * 365:g}d is not one of pricing.maturities "
                       f"({days})")
        return out
    if exp.venue is None and not name.startswith("price_"):
        return [f"{name} needs a [venue] table"]
    return []


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif i == 1 and loc[0] == "model" and item in MODEL_NAMES:
            continue  # the discriminator tag pydantic inserts into the path
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


#: units of the bounded numbers, named after a bound's message
_UNITS = {
    "run.dt": "years",
    "model.s0": "USD",
    "model.mu": "per year",
    "model.r": "per year",
    "model.sigma": "per sqrt(year)",
    "model.scale": "per sqrt(year)",
    "model.lam": "jumps per year",
    "model.lam0": "jumps per year",
    "model.mu_j": "log units",
    "model.sigma_j": "log units",
    "model.omega": "per-step variance",
    "model.clip": "standard units",
    "venue.capacity": "USD per side per check",
    "venue.depth": "USD",
    "venue.fund": "USD",
    "venue.floor": "USD",
    "venue.capital": "USD",
    "venue.token_sigma": "per sqrt(year)",
    "venue.token_cojump": "log units",
    "venue.cojump_threshold": "log units",
    "venue.population.size_median_usd": "USD",
    "venue.population.whale_min_usd": "USD",
    "venue.population.entry_days": "days",
    "venue.population.entry_vol": "per sqrt(year)",
    "venue.population.leverage_levels": "times the margin",
    "venue.population.cohort_leverage_edges": "times the margin",
    "venue.population.mm_tiers": "USD of notional, or a rate",
    "venue.population.probes.entry": "USD",
    "venue.population.probes.quantity": "contracts",
    "venue.population.probes.leverage": "times the margin",
}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal",
                 "finite_number"}


def _unit(key: str, kind: str) -> str:
    unit = _UNITS.get(re.sub(r"\[\d+\]", "", key)) if kind in _BOUND_ERRORS else None
    return f" ({unit})" if unit else ""


#: the longest value a message shows whole
_SHOWN = 80


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN - 20]}... ({len(text)} characters)"


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
            out.append(f"{key} = {_shown(e['input'])}: unknown key")
        elif e["type"] == "missing":
            out.append(f"{key}: required key is missing")
        elif not e["loc"] or msg.startswith(key.split(".")[0] + ".") or msg.startswith(key + " "):
            out.extend(msg.splitlines())  # a cross-field check that already names its keys
        elif e["type"] == "union_tag_invalid":
            name = e["input"].get("name")
            out.append(
                f"{key}.name = {_shown(name)}: unknown model; allowed models: {_allowed_models()}"
            )
        elif e["type"] == "union_tag_not_found":
            out.append(_missing_model_name(key, e["input"]))
        else:
            out.append(f"{key} = {_shown(e['input'])}: {msg}{_unit(key, e['type'])}")
    return out


def _tuples(v: Any) -> Any:
    # TOML arrays arrive as lists; the frozen schema stores tuples (strict mode won't coerce)
    if isinstance(v, dict):
        return {k: _tuples(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return tuple(_tuples(x) for x in v)
    return v


def parse_config(data: dict[str, Any], source: str = "<config>") -> Experiment:
    """Validate a parsed TOML document. Raises :class:`ConfigError` listing every problem.

    A ``[sweep]`` table's grid is validated point by point (:func:`sweep_points`), so a config
    that passes has no bad grid value either.
    """
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
    if exp.sweep is not None:
        try:
            sweep_points(exp, exp.sweep.grid)
        except ConfigError as err:
            raise ConfigError(source, err.problems) from None
    if exp.study is not None:
        try:
            variant_points(exp)
        except ConfigError as err:
            raise ConfigError(source, err.problems) from None
    return exp


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            node[p] = nxt
        node = nxt
    node[parts[-1]] = value


def grid_label(value: Any) -> str:
    """A grid value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def sweep_points(
    exp: Experiment, grid: Mapping[str, Sequence[Any]]
) -> list[tuple[dict[str, Any], Experiment]]:
    """Validate every point of the Cartesian grid; ``[(assignment, experiment), ...]``.

    Each point is ``exp`` with the grid's dotted keys replaced, validated by
    :func:`parse_config` as a file would be. Raises :class:`ConfigError` listing every bad grid
    value (naming its key), and for a grid of more than :data:`MAX_GRID_POINTS` points.
    """
    problems: list[str] = []
    if not grid:
        raise ConfigError("<sweep>", ["grid: give at least one key with a list of values"])
    for key, values in grid.items():
        if not isinstance(values, list | tuple) or not values:
            problems.append(
                f"sweep grid {key}: needs a non-empty list of values, got {_shown(values)}"
            )
    if problems:
        raise ConfigError("<sweep>", problems)
    n_points = math.prod(len(v) for v in grid.values())
    if n_points > MAX_GRID_POINTS:
        sizes = " x ".join(str(len(v)) for v in grid.values())
        raise ConfigError("<sweep>", [
            f"sweep grid: {sizes} = {n_points:,} points; at most {MAX_GRID_POINTS:,} allowed"])
    keys = tuple(grid)
    base = exp.to_dict()
    base.pop("sweep", None)
    out = []
    seen: set[str] = set()
    for combo in itertools.product(*(grid[k] for k in keys)):
        assignment = dict(zip(keys, combo, strict=True))
        data = copy.deepcopy(base)
        for k, v in assignment.items():
            _set_dotted(data, k, v)
        where = ", ".join(f"{k} = {grid_label(v)}" for k, v in assignment.items())
        if len(where) > _SHOWN:
            where = f"{where[:_SHOWN - 20]}..."
        point = _parse_point(data, f"<sweep point {where}>", f"sweep point ({where})",
                             problems, seen)
        if point is not None:
            out.append((assignment, point))
    if problems:
        raise ConfigError("<sweep>", problems)
    return out


def _parse_point(data: dict[str, Any], source: str, where: str, problems: list[str],
                 seen: set[str]) -> Experiment | None:
    """One point of a grid or study, validated; None after adding its problems (each once over
    the whole grid, prefixed with ``where``) to ``problems``."""
    try:
        return parse_config(data, source)
    except ConfigError as err:
        for p in err.problems:
            if p not in seen:
                seen.add(p)
                problems.append(f"{where}: {p}")
        return None


def variant_points(exp: Experiment) -> list[tuple[str, dict[str, Any], Experiment]]:
    """The variants of a ``[study]``: ``[(label, assignment, experiment)]``, each validated.

    A variant is ``exp`` without its ``[claim]``, ``[study]`` and ``[sweep]`` tables, with the
    assignment's dotted keys set and ``run.name`` = ``<run.name>.<label>`` (its run folder).
    Raises :class:`ConfigError` naming every bad value of every variant.
    """
    if exp.study is None:
        return []
    base = exp.to_dict()
    for table in ("claim", "study", "sweep"):
        base.pop(table, None)
    out, problems, seen = [], [], set()
    for label, assignment in exp.study.assignments():
        data = copy.deepcopy(base)
        for k, v in assignment.items():
            _set_dotted(data, k, list(v) if isinstance(v, tuple) else v)
        name = f"{exp.run.name}.{label}"
        data["run"]["name"] = name[:100]
        point = _parse_point(data, f"<variant {label}>", f"study variant {label!r}", problems,
                             seen)
        if point is not None:
            out.append((label, assignment, point))
    if problems:
        raise ConfigError("<study>", problems)
    return out


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
