"""ADL policies compared on common random numbers: one set of price paths, every policy.

Every policy runs on the same chunks of paths (:func:`tailrisk.studies.variants.simulate_variants`),
so a difference between two policies is a paired difference whose Monte Carlo error excludes the
price noise they share (:func:`tailrisk.analytics.compare_policies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analytics import PolicyComparison, compare_policies
from ..config import ConfigError, Experiment
from ..venue import POLICIES, build_population
from .variants import Variant, require_venue, simulate_variants

__all__ = ["compare_policies_run", "comparison_table"]


def checked_policies(exp: Experiment, policies: Sequence[str]) -> tuple[Any, list[str]]:
    """The experiment's venue and ``policies`` without repeats; :class:`ConfigError` naming
    any unknown policy (or an empty list) before any work."""
    venue = require_venue(exp, "compare-policies")
    policies = list(dict.fromkeys(policies))
    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise ConfigError(
            "<compare-policies>",
            [f"policies = {bad or policies}: each must be one of {', '.join(POLICIES)}"],
        )
    return venue, policies


def compare_policies_run(
    exp: Experiment,
    policies: Sequence[str] = POLICIES,
    paths: int | None = None,
    chunk: int | None = None,
    progress: bool = True,
    *,
    baseline: str | None = None,
) -> tuple[PolicyComparison, dict[str, dict[str, np.ndarray]]]:
    """Run ``policies`` on the same price paths and compare them.

    The population is built once from ``exp.venue``; each chunk of ``chunk`` paths (default
    ``run.chunk_size``) is drawn once and every policy runs on it. ``paths`` defaults to
    ``run.paths``. ``baseline`` (default the first policy) is what paired differences are taken
    against.

    Returns ``(comparison, outputs)``: the :class:`~tailrisk.analytics.PolicyComparison` and
    ``{policy: per-path outputs}`` (numpy arrays with first axis ``paths``, ``path_index``
    included).
    """
    venue, policies = checked_policies(exp, policies)
    accounts = build_population(venue, exp.model.s0, exp.run.seed)
    variants = [Variant(accounts, venue, p) for p in policies]
    outs = simulate_variants(exp, variants, paths=paths, chunk=chunk, progress=progress)
    outputs = dict(zip(policies, outs, strict=True))
    comparison = compare_policies(outputs, baseline=baseline, floor=venue.floor)
    return comparison, outputs


def comparison_table(comparison: PolicyComparison) -> list[dict[str, Any]]:
    """One row per policy with the headline estimates and their errors (for printing)."""
    rows = []
    for policy, ests in comparison.levels.items():
        row: dict[str, Any] = {"policy": policy}
        for (q, stat), est in ests.items():
            unit = comparison.units[q]
            row[f"{q} {stat} [{unit}]"] = f"{est.value:.4g} ± {est.mcse:.2g}"
        rows.append(row)
    return rows
