"""``[pricing]``: options on damped assets (``tailrisk price``, docs/pricing.md).

Strikes in USD (``strikes``) or as shares of the start price (``moneyness``, ``K / s0``);
maturities in years or as strings such as ``"7d"``, ``"12h"``, ``"0.25y"``, each a whole number
of steps of ``run.dt`` within the run; kinds ``call``, ``put``, ``digital`` (1 USD if the asset
ends above the strike), ``digital_put``; probes by name (``venue.population.probes``; empty: all
of them); ``rate``, the continuously compounded rate per year, must be the risk-neutral model's
``r``. Checks that need other tables (the horizon, the probes, the model's mode and rate) are in
:func:`pricing_problems`, so that every problem of a file is reported at once.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import Frozen as _Frozen
from ._base import Positive
from .run import DT_UNITS

__all__ = ["ANTITHETIC_MODELS", "PricingConfig", "parse_maturity", "pricing_problems"]

#: models whose log increments are the drift plus a symmetric innovation (normal; Student t,
#: clipped symmetrically): a path mirrored about its drift line has the same law
ANTITHETIC_MODELS = ("gbm", "student_t")

_MAT_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(y|d|h|min|s)\s*$")

Kind = Literal["call", "put", "digital", "digital_put"]


def parse_maturity(v: Any) -> float:
    """A maturity in years from a number of years or a string such as '7d', '12h', '0.25y'."""
    if isinstance(v, str):
        m = _MAT_RE.match(v)
        if not m:
            raise ValueError(f"{v!r}: a maturity is a positive number of years or a string such "
                             "as '7d', '12h', '0.25y'")
        return float(m.group(1)) * DT_UNITS[m.group(2)]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{v!r}: a maturity is a positive number of years or a string such as "
                         "'7d'")
    return float(v)


class PricingConfig(_Frozen):
    """Which options to price on the damped and the undamped asset."""

    #: strikes in USD (absolute); give these or ``moneyness``
    strikes: tuple[Positive, ...] = ()
    #: strikes as shares of the start price s0 (K / s0)
    moneyness: tuple[Positive, ...] = ()
    #: maturities in years, or strings such as "7d", "12h", "0.25y"
    maturities: tuple[Annotated[float, Field(gt=0)], ...]
    kinds: tuple[Kind, ...] = ("call", "put")
    #: probe names from venue.population.probes; empty: every probe
    probes: tuple[str, ...] = ()
    #: continuously compounded rate per year; must equal the risk-neutral model's r
    rate: float | None = None
    #: the undamped option (closed form for gbm and merton) as a control variate
    control_variate: bool = True
    #: also compute delta, gamma and vega (bump and revalue on common random numbers)
    greeks: bool = False
    #: Monte Carlo paths for pricing (default: run.paths)
    paths: Annotated[int, Field(ge=1)] | None = None
    #: pair each path with its mirror (innovations negated): gbm and student_t only, even paths
    antithetic: bool = False
    #: where the undamped option has no closed form (student_t, ...): price-only paths (no
    #: venue) that estimate the control's price; default 10 x the pricing paths, 0: none
    control_paths: Annotated[int, Field(ge=0)] | None = None

    @field_validator("maturities", mode="before")
    @classmethod
    def _parse_maturities(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple):
            return v
        out, bad = [], []
        for i, x in enumerate(v):
            try:
                t = parse_maturity(x)
            except ValueError as err:
                bad.append(f"[{i}] = {err}")
                continue
            if not (math.isfinite(t) and t > 0):
                bad.append(f"[{i}] = {x!r}: must be a positive, finite number of years")
            out.append(t)
        if bad:
            raise ValueError("; ".join(bad))
        return tuple(out)

    @field_validator("maturities", "kinds")
    @classmethod
    def _non_empty(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("the grid needs at least one entry")
        return v

    @field_validator("strikes", "moneyness", "maturities")
    @classmethod
    def _finite(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        bad = [x for x in v if not math.isfinite(x)]
        if bad:
            raise ValueError(f"every entry must be finite (got {bad})")
        return v

    @field_validator("rate")
    @classmethod
    def _finite_rate(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite rate per year")
        return v

    @model_validator(mode="after")
    def _grid(self) -> PricingConfig:
        problems = []
        if bool(self.strikes) == bool(self.moneyness):
            problems.append("pricing.strikes / pricing.moneyness: give exactly one non-empty "
                            "list of strikes (USD) or of moneyness (K / s0)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def strike_grid(self, s0: float) -> tuple[float, ...]:
        """Strikes in USD, ascending and distinct."""
        ks = self.strikes or tuple(m * s0 for m in self.moneyness)
        return tuple(sorted(set(ks)))


def _raw_maturity(v: Any) -> float | None:
    try:
        return parse_maturity(v)
    except ValueError:
        return None


def pricing_problems(data: dict[str, Any]) -> list[str]:
    """Checks of ``[pricing]`` against the other tables of a parsed TOML document (raw, so that
    they run even when other keys are bad): maturities on the run's grid and within its horizon,
    probes known, a risk-neutral model whose ``r`` is the pricing rate."""
    pricing = data.get("pricing")
    if not isinstance(pricing, dict):
        return []
    from .run import RunConfig

    problems = []
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    try:
        dt = RunConfig._parse_dt(run.get("dt", RunConfig.model_fields["dt"].default))
        steps = run.get("steps", RunConfig.model_fields["steps"].default)
        dt = float(dt)
        steps = int(steps)
    except (TypeError, ValueError):
        dt = steps = None
    mats = pricing.get("maturities", ())
    if dt and steps and isinstance(mats, list | tuple) and dt > 0:
        for i, v in enumerate(mats):
            t = _raw_maturity(v)
            if t is None or not math.isfinite(t) or t <= 0:
                continue  # the field check reports it
            k = round(t / dt)
            if t > steps * dt * (1 + 1e-9):
                problems.append(f"pricing.maturities[{i}] = {v!r}: beyond the run's horizon of "
                                f"{steps * dt:g} years ({steps} steps of {dt:g} years)")
            elif k < 1 or abs(k * dt - t) > 1e-6 * max(dt, t):
                problems.append(f"pricing.maturities[{i}] = {v!r}: not a whole number of steps "
                                f"of run.dt = {dt:g} years")
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    if model.get("mode", "physical") != "risk_neutral":
        problems.append(f"model.mode = {model.get('mode', 'physical')!r}: option prices need "
                        "mode = 'risk_neutral' (with [pricing])")
    rate = pricing.get("rate")
    model_r = model.get("r", 0.0)
    if isinstance(rate, int | float) and isinstance(model_r, int | float) and not isinstance(
            rate, bool) and math.isfinite(rate) and rate != model_r:
        problems.append(f"pricing.rate = {rate!r}: must equal the risk-neutral model's "
                        f"model.r = {model_r!r} (prices are discounted at the drift's rate)")
    if pricing.get("antithetic") is True:
        name = model.get("name")
        if name not in ANTITHETIC_MODELS:
            problems.append(f"pricing.antithetic = true: model.name = {name!r} has innovations "
                            "that are not symmetric; antithetic paths need one of "
                            f"{list(ANTITHETIC_MODELS)}")
        n = pricing.get("paths", run.get("paths"))
        if isinstance(n, int) and not isinstance(n, bool) and n % 2:
            key = "pricing.paths" if "paths" in pricing else "run.paths"
            problems.append(f"pricing.antithetic = true: {key} = {n} must be even (pairs of a "
                            "path and its mirror)")
    want = pricing.get("probes", ())
    venue = data.get("venue") if isinstance(data.get("venue"), dict) else None
    pop = venue.get("population", {}) if venue else {}
    known = [p.get("name") for p in pop.get("probes", ()) if isinstance(p, dict)] if isinstance(
        pop, dict) else []
    if isinstance(want, list | tuple):
        unknown = [p for p in want if p not in known]
        if unknown:
            problems.append(f"pricing.probes = {list(unknown)}: unknown probe(s); known: "
                            f"{known or 'none (add [[venue.population.probes]])'}")
    return problems
