"""``[run]``: how much to simulate and how (the Monte Carlo budget, not the model).

Times are in years; ``dt`` also accepts strings such as ``"1d"``, ``"8h"``, ``"5min"``, ``"30s"``.
``name`` names the run's folder under ``--out``, so it is a plain name (:data:`NAME_RULE`).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import MAX_CHUNK, MAX_PATHS
from ._base import Frozen as _Frozen

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_CHUNK_CELLS",
    "DT_UNITS",
    "MAX_HORIZON",
    "MAX_NAME",
    "MIN_DT",
    "NAME_RULE",
    "YEAR_DAYS",
    "RunConfig",
    "default_chunk_size",
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
#: the shortest time step, in years (about 3 ms): below it float32 times and volatilities
#: scaled by sqrt(dt) lose their meaning
MIN_DT = 1e-10
#: the longest horizon (steps x dt), in years
MAX_HORIZON = 100.0
#: the longest run name, in characters
MAX_NAME = 100
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
NAME_RULE = (
    f"a plain name of 1 to {MAX_NAME} characters: ASCII letters, digits, '-', '_' and '.', "
    "not '.' or '..' (it names the run's folder inside --out)"
)


#: path-steps in a default chunk at most (a long horizon gets fewer paths a chunk): about
#: 0.5 GiB of path-step arrays in float32 (see tailrisk._memory), so that a default chunk of
#: any shape fits a laptop; the run checks the machine's memory before it starts either way
DEFAULT_CHUNK_CELLS = 1 << 24


def default_chunk_size(paths: int, steps: int = 256) -> int:
    """The chunk size of a config that gives none: all paths at once, at most DEFAULT_CHUNK
    paths and DEFAULT_CHUNK_CELLS path-steps (at least 1,024 paths), a multiple of 64 paths
    when it is less than ``paths``."""
    cap = max(1_024, DEFAULT_CHUNK_CELLS // max(1, steps) // 64 * 64)
    return min(paths, DEFAULT_CHUNK, cap)


_DT_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(y|d|h|min|s)\s*$")


class RunConfig(_Frozen):
    """How much to simulate and how: the Monte Carlo budget, not the model."""

    #: the run folder is ``<name>-<config hash>`` inside ``--out`` (:data:`NAME_RULE`)
    name: str = "experiment"
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    dtype: Literal["float32", "float64"] = "float32"
    #: at most 2**32 - 1 (the path index is a uint32)
    paths: Annotated[int, Field(ge=1, le=MAX_PATHS)] = 100_000
    #: paths simulated at once, at most 2**31 - 1; absent: ``default_chunk_size(paths, steps)``
    #: (all paths, at most DEFAULT_CHUNK paths and DEFAULT_CHUNK_CELLS path-steps)
    chunk_size: Annotated[int, Field(ge=1, le=MAX_CHUNK)] = DEFAULT_CHUNK
    #: at most 2**31 - 1 (int32 step indices)
    steps: Annotated[int, Field(ge=1, le=MAX_CHUNK)] = 256
    #: years, from MIN_DT (about 3 ms) to 1; steps x dt is at most MAX_HORIZON (100 years)
    dt: Annotated[float, Field(gt=0, le=1.0)] = 1.0 / YEAR_DAYS
    #: how many whole paths to keep for fan charts (the first ones by global index)
    keep_paths: Annotated[int, Field(ge=0, le=10_000)] = 200

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if len(v) > MAX_NAME or not _NAME_RE.fullmatch(v) or v in (".", ".."):
            raise ValueError(f"must be {NAME_RULE}")
        return v

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

    @field_validator("dt")
    @classmethod
    def _dt_not_tiny(cls, v: float) -> float:
        if v < MIN_DT:
            raise ValueError(f"must be at least {MIN_DT:g} years (about 3 ms)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_chunk(cls, data: Any) -> Any:
        # an absent chunk size follows paths, so that a small run needs no chunk_size key; the
        # value is then stored (and hashed) as if written, so configs that give it keep their hash
        if isinstance(data, dict) and "chunk_size" not in data:
            paths = data.get("paths", cls.model_fields["paths"].default)
            steps = data.get("steps", cls.model_fields["steps"].default)
            if not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
                steps = 1  # the steps' own check says what is wrong with them
            if isinstance(paths, int) and not isinstance(paths, bool) and paths >= 1:
                return {**data, "chunk_size": default_chunk_size(paths, steps)}
        return data

    @model_validator(mode="after")
    def _chunk_fits(self) -> RunConfig:
        if self.chunk_size > self.paths:
            raise ValueError(
                f"run.chunk_size = {self.chunk_size}: must be <= run.paths ({self.paths})"
            )
        if self.horizon > MAX_HORIZON:
            raise ValueError(
                f"run.steps x run.dt = {self.steps} x {self.dt:.6g} = {self.horizon:.6g} years: "
                f"the horizon must be at most {MAX_HORIZON:g} years"
            )
        return self

    @property
    def horizon(self) -> float:
        """Simulated horizon in years."""
        return self.steps * self.dt

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.paths / self.chunk_size)
