"""Damped assets of every probe at several maturities, from one venue simulation.

A probe on side ``s`` (+1 long, -1 short) with ``q`` contracts entered at ``E`` that closes at
maturity ``T_k`` receives the damped payoff ``P_k`` (USD); its *damped asset* is the price at
which the position was effectively settled, ``A(T_k) = E + s P_k / q`` (MODEL.md 4). The
*undamped asset* is the price itself, ``S(T_k)``; the probe's *entitled asset*
``U(T_k) = E + s P^u_k / q`` uses its undamped payoff (what it was owed: minus the margin if it
was liquidated, so ``U`` is the bankruptcy price there).

Probes are too small to move the venue, so one run to the longest maturity serves every
maturity: the venue kernel records each probe's payoff had it closed at each maturity step
(``simulate_venue(..., probe_steps=...)``). Paths are drawn exactly as ``tailrisk run`` draws
them (path ``i`` from ``fold_in(key, i)``), so the numbers do not depend on the chunk size.
Without a venue (or without probes) only the undamped asset is produced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..config import ConfigError, Experiment
from ..config.pricing import ANTITHETIC_MODELS

__all__ = ["ANTITHETIC_MODELS", "DampedAssets", "check_antithetic", "damped_assets",
           "maturity_steps", "variant_assets"]


@dataclass(frozen=True, eq=False)
class DampedAssets:
    """Per-path asset values at each maturity (USD), for one simulation.

    undamped: ``(paths, maturities)``, ``S(T_k)``. damped and entitled: ``(paths, maturities,
    probes)``, ``A(T_k)`` and ``U(T_k)`` (empty third axis without probes). maturities: years,
    the grid times ``steps x dt`` actually used.
    """

    maturities: np.ndarray
    steps: tuple[int, ...]
    undamped: np.ndarray
    damped: np.ndarray
    entitled: np.ndarray
    probe_names: tuple[str, ...]
    probe_side: np.ndarray  # +1 long, -1 short
    probe_leverage: np.ndarray
    probe_entry: np.ndarray  # USD
    s0: float
    r: float
    model: object = field(repr=False)
    path_index: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    #: paths ``2j`` and ``2j + 1`` are a path and its mirror (see :func:`damped_assets`)
    antithetic: bool = False

    @property
    def n_paths(self) -> int:
        return int(self.undamped.shape[0])


def maturity_steps(maturities: Sequence[float], dt: float, steps: int,
                   key: str = "pricing.maturities") -> tuple[int, ...]:
    """Grid steps of maturities in years: each must be a whole number of steps (within 1e-6 of
    a step) in ``1 .. steps``. Raises ConfigError naming ``key`` for every one that is not."""
    out, problems = [], []
    for i, t in enumerate(maturities):
        k = round(t / dt) if math.isfinite(t) else -1
        if not (math.isfinite(t) and t > 0):
            problems.append(f"{key}[{i}] = {t!r}: must be a positive, finite number of years")
        elif k < 1 or k > steps:
            problems.append(f"{key}[{i}] = {t:g} years: beyond the run's horizon of "
                            f"{steps * dt:g} years ({steps} steps of {dt:g})")
        elif abs(k * dt - t) > 1e-6 * max(dt, t):
            problems.append(f"{key}[{i}] = {t:g} years: not a whole number of steps of "
                            f"{dt:g} years")
        else:
            out.append(k)
    if len(set(out)) != len(out):
        problems.append(f"{key}: maturities must be distinct (steps {out})")
    if problems:
        raise ConfigError("<pricing>", problems)
    return tuple(out)


def damped_assets(exp: Experiment, maturities: Sequence[float], *, probes: Sequence[str] | None
                  = None, paths: int | None = None, chunk: int | None = None,
                  policy: str | None = None, venue=None, accounts=None, antithetic: bool = False,
                  first_path: int = 0) -> DampedAssets:
    """Simulate ``exp`` once to the longest maturity and return every probe's damped asset at
    every maturity (see the module docstring).

    maturities: years, each a whole number of steps of ``run.dt`` within the run. probes: names
    of ``venue.population.probes`` (default all). paths, chunk: Monte Carlo budget (default
    ``run.paths``, ``run.chunk_size``). policy: ADL policy (default ``venue.policy``). venue,
    accounts: a venue config and population to use instead of the experiment's (bump-and-revalue
    Greeks keep the population while the price model moves). first_path: the global index of
    the first path (an independent sample from the same stream starts past another's paths).

    antithetic: path ``2j`` is path ``j`` of ``tailrisk run`` and path ``2j + 1`` its mirror, the
    same innovations negated (``log S_t = 2 (log s0 + t x drift) - log S'_t``); only for models
    whose innovations are symmetric about the drift (:data:`ANTITHETIC_MODELS`), with an even
    number of paths. Each path is still a function of its own index alone, so the numbers do
    not depend on the chunk size.
    """
    return variant_assets(exp, maturities, [exp.model], probes=probes, paths=paths, chunk=chunk,
                          policy=policy, venue=venue, accounts=accounts, antithetic=antithetic,
                          first_path=first_path)[0]


def variant_assets(exp: Experiment, maturities: Sequence[float], models: Sequence, *,
                   probes: Sequence[str] | None = None, paths: int | None = None,
                   chunk: int | None = None, policy: str | None = None, venue=None,
                   accounts=None, antithetic: bool = False, first_path: int = 0
                   ) -> list[DampedAssets]:
    """:func:`damped_assets` of ``exp`` with its price model replaced by each of ``models`` in
    turn (variants of ``exp.model``: another ``s0``, another volatility), on common random
    numbers and one population, in one pass over the chunks: each chunk's innovations are
    drawn once and shared by every variant that allows it (:mod:`._scenario_paths`), then the
    venue runs once per variant. Each result is what :func:`damped_assets` gives for
    ``exp`` with that model (bit-identical where only ``s0`` moves, to float rounding where a
    ``gbm`` volatility moves)."""
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ._scenario_paths import ScenarioPaths

    run, model = exp.run, exp.model
    models = list(models)
    n_paths = run.paths if paths is None else int(paths)
    if antithetic:
        for m in models:
            check_antithetic(m, n_paths)
    if run.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    order = np.argsort(np.asarray(maturities, np.float64), kind="stable")
    mats = [float(maturities[i]) for i in order]
    steps_k = maturity_steps(mats, run.dt, run.steps)
    horizon = max(steps_k)
    size = min(run.chunk_size if chunk is None else int(chunk), n_paths)
    venue = venue if venue is not None else exp.venue
    if venue is not None and accounts is None:
        from ..venue import build_population

        accounts = build_population(venue, model.s0, run.seed)
    names: tuple[str, ...] = ()
    cols = np.zeros(0, np.int64)
    if venue is not None and accounts is not None and len(accounts.probe_names):
        known = list(accounts.probe_names)
        want = known if probes is None else list(probes)
        unknown = [p for p in want if p not in known]
        if unknown:
            raise ConfigError("<pricing>", [f"pricing.probes = {unknown}: unknown probe(s); "
                                            f"known: {known}"])
        names = tuple(want)
        cols = np.array([known.index(p) for p in want], np.int64)
    elif probes:
        raise ConfigError("<pricing>", [f"pricing.probes = {list(probes)}: the experiment has no "
                                        "venue with probes"])
    run_venue = bool(len(names))
    if run_venue:
        from ..venue.kernel import rows_budget_for, simulate_venue

        idx = accounts.probe_index[cols]
        side = accounts.side[idx].astype(np.float64)
        entry = accounts.entry[idx].astype(np.float64)
        qty = accounts.quantity[idx].astype(np.float64)
        lev = accounts.leverage[idx].astype(np.float64)
    else:
        side = entry = qty = lev = np.zeros(0)
    key = stream_key(run.seed, STREAM_PRICE)
    und = [[] for _ in models]
    dam = [[] for _ in models]
    ent = [[] for _ in models]
    for start in range(0, n_paths, size):
        stop = min(start + size, n_paths)
        index = np.arange(first_path + start, first_path + start + size, dtype=np.int64)
        path_index = jnp.asarray(index, dtype=jnp.uint32)  # the last chunk padded
        # drawn on the run's whole grid, so path i is the path i of `tailrisk run`; the venue
        # runs to the longest maturity only
        chunk_paths = ScenarioPaths(key, model, index, steps=run.steps, dt=run.dt,
                                    dtype=run.dtype, horizon=horizon, antithetic=antithetic)
        # the variants of one chunk have ADL on about the same paths: once one has run, the
        # others get a pool of account rows for twice its ADL paths, so that none runs twice
        # (the numbers do not depend on the pool; docs/venue.md)
        budget = None
        for v, m in enumerate(models):
            lp = chunk_paths.log_prices(m)
            und[v].append(np.exp(np.asarray(lp)[: stop - start, np.asarray(steps_k) - 1],
                                 dtype=None).astype(np.float64))
            if run_venue:
                out = simulate_venue(accounts, venue, lp, s0=m.s0, seed=run.seed,
                                     path_index=path_index, dt=run.dt, policy=policy,
                                     probe_steps=steps_k, rows_budget=budget)
                if len(models) > 1:
                    adl = int(np.sum(np.asarray(out["adl_events"])[: stop - start] > 0))
                    budget = max(budget or 0, rows_budget_for(
                        accounts, policy or venue.policy, run.dtype, 2 * adl))
                pd = np.asarray(out["probe_damped_at"], np.float64)[: stop - start][:, :, cols]
                pu = np.asarray(out["probe_undamped_at"], np.float64)[: stop - start][:, :, cols]
                dam[v].append(entry + side * pd / qty)
                ent[v].append(entry + side * pu / qty)
            del lp
    n_mat = len(steps_k)
    empty = np.zeros((n_paths, n_mat, 0))
    return [DampedAssets(
        maturities=np.asarray(steps_k, np.float64) * run.dt,
        steps=steps_k,
        undamped=np.concatenate(und[v]),
        damped=np.concatenate(dam[v]) if run_venue else empty,
        entitled=np.concatenate(ent[v]) if run_venue else empty,
        probe_names=names,
        probe_side=side,
        probe_leverage=lev,
        probe_entry=entry,
        s0=float(m.s0),
        r=float(getattr(m, "r", 0.0) if m.mode == "risk_neutral" else 0.0),
        model=m,
        path_index=np.arange(first_path, first_path + n_paths, dtype=np.int64),
        antithetic=bool(antithetic),
    ) for v, m in enumerate(models)]


def check_antithetic(model, n_paths: int, key: str = "pricing.antithetic") -> None:
    """ConfigError naming ``key`` unless ``model`` allows antithetic paths and ``n_paths`` is
    even."""
    name = getattr(model, "name", "")
    if name not in ANTITHETIC_MODELS:
        raise ConfigError("<pricing>", [f"{key} = true: model.name = {name!r} has innovations "
                                        "that are not symmetric; antithetic paths need one of "
                                        f"{list(ANTITHETIC_MODELS)}"])
    if n_paths % 2:
        raise ConfigError("<pricing>", [f"{key} = true: paths = {n_paths} must be even (pairs "
                                        "of a path and its mirror)"])
