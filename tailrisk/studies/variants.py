"""Common random numbers: several venue set-ups (*variants*) run on one set of price paths.

Each chunk of price paths is drawn once and every variant (a population, a venue config and an
ADL policy) runs on the same paths, so a difference between two variants is a paired difference
whose Monte Carlo error excludes the price noise they share. The policy comparison, sweeps,
venue risk and the exemption frontier are all built on :func:`simulate_variants`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import ConfigError, Experiment
from ..config.venue import VenueConfig
from ..venue._accounts import Accounts

__all__ = ["Variant", "require_venue", "simulate_variants"]


@dataclass(frozen=True, eq=False)
class Variant:
    """One venue set-up to run on the shared paths: accounts, venue settings, ADL policy."""

    accounts: Accounts
    venue: VenueConfig
    policy: str


def require_venue(exp: Experiment, what: str) -> VenueConfig:
    """The experiment's [venue] table, or a ConfigError naming the command ``what``."""
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
    from ..paths import log_prices

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
    ``path_index``. Each chunk's paths are split over every local device (``tailrisk.scale``;
    the same numbers as one device).
    """
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ..scale._devices import chunk_log_prices, padded_size, paths_mesh
    from ..venue.kernel import simulate_venue

    _enable_dtype(exp)
    run, model = exp.run, exp.model
    n_paths, size = _budget(exp, paths, chunk)
    key = stream_key(run.seed, STREAM_PRICE)
    log_prices = _price_backend()
    mesh = paths_mesh()  # None with one device: the plain programs
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in variants]
    n_chunks = math.ceil(n_paths / size)
    bar = _progress(n_chunks, progress, desc)
    try:
        for c in range(n_chunks):
            start, stop = c * size, min((c + 1) * size, n_paths)
            if mesh is None:
                index = np.arange(start, start + size, dtype=np.int64)
                path_index = jnp.asarray(index, dtype=jnp.uint32)
                log_s = log_prices(key, model, path_index, run.steps, run.dt, run.dtype)
            else:
                index = np.arange(start, start + padded_size(size, mesh), dtype=np.int64)
                path_index, log_s = chunk_log_prices(mesh, key, model, index.astype(np.uint32),
                                                     run.steps, run.dt, run.dtype)
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
                    **({} if mesh is None else {"mesh": mesh}),
                )
                out["path_index"] = index
                for name, arr in out.items():
                    acc.setdefault(name, []).append(np.asarray(arr)[: stop - start])
            bar.update(1)
    finally:
        bar.close()
    return [{k: np.concatenate(v, axis=0) for k, v in p.items()} for p in parts]
