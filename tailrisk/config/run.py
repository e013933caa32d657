"""``[run]``: how much to simulate and how (the Monte Carlo budget, not the model).

Times are in years; ``dt`` also accepts strings such as ``"1d"``, ``"8h"``, ``"5min"``, ``"30s"``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import Frozen as _Frozen
from ._base import Positive

__all__ = ["DEFAULT_CHUNK", "DT_UNITS", "YEAR_DAYS", "RunConfig", "default_chunk_size"]

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
