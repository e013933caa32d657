"""ADL policies compared on common random numbers: one set of price paths, every policy.

Each chunk of price paths is drawn once and every policy (more generally every *variant*: a
population, a venue config and a policy) runs on the same paths, so a difference between two
policies is a paired difference whose Monte Carlo error excludes the price noise they share
(:func:`tailrisk.analytics.compare_policies`). The sweep, venue-risk and exemption-frontier
features reuse :func:`simulate_variants` for the same reason.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analytics import PolicyComparison, compare_policies
from .config import ConfigError, Experiment
from .venue import POLICIES, build_population
from .venue._accounts import Accounts
from .venue._schema import VenueConfig

__all__ = ["Variant", "compare_policies_run", "comparison_table", "simulate_variants"]


@dataclass(frozen=True, eq=False)
class Variant:
    """One venue set-up to run on the shared paths: accounts, venue settings, ADL policy."""

    accounts: Accounts
    venue: VenueConfig
    policy: str


def _require_venue(exp: Experiment, what: str) -> VenueConfig:
    if exp.venue is None:
        raise ConfigError(f"<{what}>", ["[venue]: required table is missing (this needs a venue)"])
    return exp.venue


def _enable_dtype(exp: Experiment) -> None:
    if exp.run.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)


def _budget(exp: Experiment, paths: int | None, chunk: int | None) -> tuple[int, int]:
    n = exp.run.paths if paths is None else int(paths)
    c = min(exp.run.chunk_size if chunk is None else int(chunk), n)
    if n < 1 or c < 1:
        raise ValueError(f"paths = {n}, chunk = {c}: both must be >= 1")
    return n, c


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="chunk",
        desc=desc,
        disable=not enabled or not sys.stderr.isatty(),
        dynamic_ncols=True,
    )


def _price_backend():
    """The price sampler (tests replace it with hand-written paths)."""
    from .paths import log_prices

    return log_prices


def simulate_variants(
    exp: Experiment,
    variants: Sequence[Variant],
    *,
    paths: int | None = None,
    chunk: int | None = None,
    progress: bool = False,
    desc: str = "paths",
) -> list[dict[str, np.ndarray]]:
    """Run every variant on the same price paths of ``exp`` (run and model settings).

    Paths ``0 .. paths-1`` are drawn chunk by chunk from ``exp.run.seed`` exactly as the runner
    draws them (so path ``i`` is the same here as in ``tailrisk run``); the last chunk is padded to
    the chunk size so that one compiled kernel serves every chunk. Returns one dict per variant of
    per-path numpy arrays (docs/venue.md "Outputs per path", first axis ``paths``) plus
    ``path_index``.
    """
    import jax.numpy as jnp

    from ._rng import STREAM_PRICE, stream_key
    from .venue.kernel import simulate_venue

    _enable_dtype(exp)
    run, model = exp.run, exp.model
    n_paths, size = _budget(exp, paths, chunk)
    key = stream_key(run.seed, STREAM_PRICE)
    log_prices = _price_backend()
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in variants]
    n_chunks = math.ceil(n_paths / size)
    bar = _progress(n_chunks, progress, desc)
    try:
        for c in range(n_chunks):
            start, stop = c * size, min((c + 1) * size, n_paths)
            index = np.arange(start, start + size, dtype=np.int64)
            path_index = jnp.asarray(index, dtype=jnp.uint32)
            log_s = log_prices(key, model, path_index, run.steps, run.dt, run.dtype)
            for acc, v in zip(parts, variants, strict=True):
                out = simulate_venue(
                    v.accounts,
                    v.venue,
                    log_s,
                    s0=model.s0,
                    seed=run.seed,
                    path_index=path_index,
                    dt=run.dt,
                    policy=v.policy,
                )
                out["path_index"] = index
                for name, arr in out.items():
                    acc.setdefault(name, []).append(np.asarray(arr)[: stop - start])
            bar.update(1)
    finally:
        bar.close()
    return [{k: np.concatenate(v, axis=0) for k, v in p.items()} for p in parts]


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
    venue = _require_venue(exp, "compare-policies")
    policies = list(dict.fromkeys(policies))
    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise ConfigError(
            "<compare-policies>",
            [f"policies = {bad or policies}: each must be one of {', '.join(POLICIES)}"],
        )
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
