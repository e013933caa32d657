"""``[study]``: an experiment that runs several variants of one config on the same paths.

``tailrisk run`` runs every variant as a run of its own (resumable, by its own config hash)
and the claim compares them (``metric@label`` in a check). The kinds:

- ``policy_comparison``: one variant per ADL policy in ``policies`` (labels: the policy names);
- ``sweep``: the Cartesian grid of ``grid`` (one or two dotted keys; labels ``i`` or ``i_j``,
  the indices of the values), drawn as a heat map of ``metric``;
- ``frontier``: the values of one dotted ``key`` (default the exempt share of the accounts;
  labels ``0``, ``1``, ...), ``metric`` drawn against them;
- ``variants``: named variants, each a ``label`` and a table ``set`` of dotted keys.

Every variant shares the run's seed, so path ``i`` is drawn from the same numbers in each
(common random numbers) and differences between variants get paired errors. Each variant is
validated as a whole file would be, and every problem of every variant is reported at once.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import Frozen as _Frozen

__all__ = ["LABEL_RE", "MAX_VARIANTS", "StudyConfig", "VariantConfig"]

#: a variant's label: it names the variant's run folder (``<run.name>.<label>``) and ``@label``
LABEL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
#: the most variants a study may run
MAX_VARIANTS = 64


class VariantConfig(_Frozen):
    """A named variant: dotted config keys and their values."""

    label: str
    set: dict[str, Any] = Field(default_factory=dict)

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        if not LABEL_RE.match(v):
            raise ValueError("must be 1 to 40 ASCII letters, digits, '_', '-' or '.'")
        return v


class StudyConfig(_Frozen):
    """A ``[study]`` table (see the module docstring)."""

    kind: Literal["policy_comparison", "sweep", "frontier", "variants"]
    #: policy_comparison: the policies, in table order (default: all nine)
    policies: tuple[str, ...] = ()
    #: sweep: {dotted key: values}, one or two keys
    grid: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    #: frontier: the dotted key and its values (in order)
    key: str = "venue.population.exempt_share"
    values: tuple[Any, ...] = ()
    #: variants: the named variants
    variants: tuple[VariantConfig, ...] = ()
    #: the metric a sweep's heat map or a frontier's curve shows (a venue metric name)
    metric: str = "p_insolvent"

    @model_validator(mode="after")
    def _kind_needs(self) -> StudyConfig:
        from .venue import POLICIES

        problems = []
        if self.kind == "policy_comparison":
            bad = [p for p in self.policies if p not in POLICIES]
            if bad:
                problems.append(f"study.policies = {list(self.policies)}: unknown {bad}; "
                                f"allowed: {', '.join(POLICIES)}")
        if self.kind == "sweep" and not 1 <= len(self.grid) <= 2:
            problems.append(f"study.grid: a sweep needs one or two keys, got {len(self.grid)}")
        if self.kind == "sweep":
            empty = [k for k, v in self.grid.items() if not v]
            if empty:
                problems.append(f"study.grid: empty value lists for {empty}")
        if self.kind == "frontier" and len(self.values) < 2:
            problems.append(f"study.values = {list(self.values)}: a frontier needs at least 2")
        if self.kind == "variants":
            labels = [v.label for v in self.variants]
            if len(labels) < 2 or len(set(labels)) != len(labels):
                problems.append(f"study.variants: need at least 2 with distinct labels, got "
                                f"{labels}")
        from .claim import VENUE_METRICS

        if self.metric not in VENUE_METRICS:
            problems.append(f"study.metric = {self.metric!r}: allowed: "
                            f"{', '.join(VENUE_METRICS)}")
        n = len(self.labels())
        if n > MAX_VARIANTS:
            problems.append(f"study: {n} variants; at most {MAX_VARIANTS} allowed")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def assignments(self) -> list[tuple[str, dict[str, Any]]]:
        """``[(label, {dotted key: value})]`` of every variant, in order."""
        if self.kind == "policy_comparison":
            from .venue import POLICIES

            return [(p, {"venue.policy": p}) for p in (self.policies or POLICIES)]
        if self.kind == "sweep":
            keys = list(self.grid)
            out = []
            for idx in itertools.product(*(range(len(self.grid[k])) for k in keys)):
                label = "_".join(str(i) for i in idx)
                out.append((label, {k: self.grid[k][i] for k, i in zip(keys, idx, strict=True)}))
            return out
        if self.kind == "frontier":
            return [(str(i), {self.key: v}) for i, v in enumerate(self.values)]
        return [(v.label, dict(v.set)) for v in self.variants]

    def labels(self) -> list[str]:
        return [label for label, _ in self.assignments()]

