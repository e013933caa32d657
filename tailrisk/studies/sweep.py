"""Parameter sweeps: a grid over dotted config keys, venue metrics per grid point, tidy Parquet.

Every grid point is the base experiment with some keys replaced, validated again through
:func:`tailrisk.config.parse_config`, so a bad value fails with the usual message naming the key,
and every point is validated before anything is simulated. All points use the same seed, so their
price paths are common random numbers whenever the run and model settings agree.

Compilation. Numbers that only change array *contents* (``venue.fund``, ``venue.eta``,
``venue.capital``, ``model.nu``, ``model.sigma``, ``venue.population.exempt_share``,
``venue.population.leverage_weights``, ...) are traced arguments of the jitted kernels: the first
grid point compiles, the others reuse it. Settings that shape the program compile once per
distinct value: ``venue.policy``, ``venue.check_every``, ``venue.max_rounds``,
``venue.fund_in_token``, switching ``venue.drawdown`` on or off, ``run.steps``, ``run.dtype``,
``model.name``, and anything that changes the number of accounts on a side
(``venue.population.n_accounts``, ``long_share``, probes). :class:`SweepResult` records the
number of XLA compilations per grid point, so a sweep that recompiles is visible.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analytics import venue_metrics, write_tidy
from ..config import ConfigError, Experiment, sweep_points
from ..config._base import MAX_CHUNK, MAX_PATHS
from ..config.experiment import grid_label as _label
from ..venue import PopulationError, build_population
from .variants import Variant, require_venue, simulate_variants

__all__ = [
    "DEFAULT_METRICS",
    "CompileCounter",
    "SweepResult",
    "grid_points",
    "parse_set",
    "run_sweep",
]

#: (quantity, statistic) pairs of :func:`tailrisk.analytics.venue_metrics` kept by default
DEFAULT_METRICS: tuple[tuple[str, str], ...] = (
    ("insolvency", "probability"),
    ("fund_exhausted", "probability"),
    ("adl", "probability"),
    ("net_insolvent_debt", "mean"),
    ("net_insolvent_debt", "q0.99"),
    ("liquidated_notional", "q0.95"),
    ("adl_notional", "mean"),
)

_BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"


class CompileCounter:
    """Counts XLA backend compilations (any jitted function) while active.

    ``with CompileCounter() as cc: ...`` then ``cc.count``. It listens to JAX's monitoring event
    for backend compilation, which fires on every cache miss and never on a cache hit.
    """

    def __init__(self) -> None:
        self.count = 0

    def _listen(self, event: str, duration: float, **kwargs: Any) -> None:
        if event == _BACKEND_COMPILE:
            self.count += 1

    def __enter__(self) -> CompileCounter:
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc: object) -> None:
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self._listen)


@dataclass
class SweepResult:
    """What :func:`run_sweep` computed.

    ``points[i]`` maps each grid key to its value at grid point ``i``; ``rows`` are the tidy rows
    written to ``out_path`` (one per grid point and metric, with its Monte Carlo error);
    ``compiles[i]`` is the number of XLA compilations grid point ``i`` needed.
    """

    keys: tuple[str, ...]
    points: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    compiles: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    out_path: Path | None = None


def grid_points(
    exp: Experiment, grid: Mapping[str, Sequence[Any]]
) -> list[tuple[dict[str, Any], Experiment]]:
    """Validate every point of the Cartesian grid; ``[(assignment, experiment), ...]``.

    Raises :class:`ConfigError` listing every bad grid value (naming its key) before anything
    runs. Keys are dotted config paths (``venue.population.exempt_share``). The config layer's
    :func:`tailrisk.config.sweep_points` does the work, so ``validate-config`` checks a
    ``[sweep]`` table the same way.
    """
    return sweep_points(exp, grid)


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``"key=v1,v2"`` (command line) to ``(key, [v1, v2])``; values are read as TOML.

    ``venue.fund=1e5,1e6`` gives floats, ``venue.policy=pro_rata,none`` strings, and
    ``venue.population.leverage_weights=[0.5,0.5],[0.2,0.8]`` two lists.
    """
    key, sep, rhs = text.partition("=")
    key = key.strip()
    if not sep or not key or not rhs.strip():
        raise ValueError(f"--set {text!r}: expected key=value1,value2,...")
    try:
        values = tomllib.loads(f"v = [{rhs}]")["v"]
    except tomllib.TOMLDecodeError:
        values = []
        for item in rhs.split(","):
            item = item.strip()
            try:
                values.append(tomllib.loads(f"v = {item}")["v"])
            except tomllib.TOMLDecodeError:
                values.append(item)
    return key, list(values)


def _metric_filter(metrics: Sequence[str | tuple[str, str]] | None) -> Callable[[dict], bool]:
    if metrics is None:
        return lambda row: True
    pairs = {tuple(m) for m in metrics if not isinstance(m, str)}
    names = {m for m in metrics if isinstance(m, str)}
    return lambda row: row["quantity"] in names or (row["quantity"], row["statistic"]) in pairs


def _check_budget(paths: int | None, chunk: int | None) -> None:
    """The sweep's own path and chunk counts, checked as ``run.paths`` and ``run.chunk_size``."""
    problems = []
    for name, value, most in (("paths", paths, MAX_PATHS), ("chunk", chunk, MAX_CHUNK)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            problems.append(f"--{name} = {value!r}: must be a whole number from 1 to "
                            f"{most:,}")
    if problems:
        raise ConfigError("<sweep>", problems)


def _population_key(point: Experiment) -> str:
    venue = require_venue(point, "sweep")
    return json.dumps(
        [venue.population.model_dump(mode="json"), point.model.s0, point.run.seed],
        sort_keys=True,
    )


def _build_populations(points: list[tuple[dict[str, Any], Experiment]]) -> dict[str, Any]:
    """Every grid point's accounts, built (a CSV read, a generator run) before any simulation:
    a bad population at any point fails the sweep with every such problem at once."""
    populations: dict[str, Any] = {}
    problems: list[str] = []
    for assignment, point in points:
        key = _population_key(point)
        if key in populations:
            continue
        venue = require_venue(point, "sweep")
        try:
            populations[key] = build_population(venue, point.model.s0, point.run.seed)
        except PopulationError as err:
            populations[key] = None
            where = ", ".join(f"{k} = {_label(v)}" for k, v in assignment.items())
            problems.append(f"sweep point ({where}): {err}")
    if problems:
        raise ConfigError("<sweep>", problems)
    return populations


def run_sweep(
    exp: Experiment,
    grid: Mapping[str, Sequence[Any]],
    metrics: Sequence[str | tuple[str, str]] | None = DEFAULT_METRICS,
    out_path: str | Path | None = None,
    *,
    paths: int | None = None,
    chunk: int | None = None,
    progress: bool = True,
    only: Sequence[int] | None = None,
) -> SweepResult:
    """Run ``exp`` at every point of ``grid`` and tabulate venue metrics.

    Args:
        exp: the base experiment (must have a ``[venue]``).
        grid: ``{dotted key: [values]}``; the sweep runs the Cartesian product, in order.
        metrics: ``(quantity, statistic)`` pairs, or quantity names (every statistic), of
            :func:`tailrisk.analytics.venue_metrics`; None keeps them all.
        out_path: where to write the tidy Parquet table (atomically); None writes nothing.
        paths, chunk: Monte Carlo budget per grid point (default ``run.paths``,
            ``run.chunk_size``).
        only: compute just these grid points (indices into the grid's order; the others get
            no rows). ``tailrisk.scale`` spreads the points over processes with it.

    Returns:
        A :class:`SweepResult`. Each row has one column per grid key (its value; lists as
        JSON), ``grid_point``, and the tidy columns ``quantity, statistic, value,
        mcse_or_ci_low, ci_high, unit, error_kind`` (probabilities with binomial errors, means and
        quantiles with ArviZ MCSEs).
    """
    import time

    require_venue(exp, "sweep")
    _check_budget(paths, chunk)
    points = grid_points(exp, grid)
    keep = _metric_filter(metrics)
    keys = tuple(grid)
    populations = _build_populations(points)
    result = SweepResult(keys=keys, points=[a for a, _ in points], rows=[])
    for i, (assignment, point) in enumerate(points):
        if only is not None and i not in only:
            continue
        venue = require_venue(point, "sweep")
        t0 = time.perf_counter()
        with CompileCounter() as cc:
            accounts = populations[_population_key(point)]
            (out,) = simulate_variants(
                point,
                [Variant(accounts, venue, venue.policy)],
                paths=paths,
                chunk=chunk,
                progress=progress,
                desc=f"grid point {i + 1}/{len(points)}",
            )
        result.compiles.append(cc.count)
        result.wall_s.append(time.perf_counter() - t0)
        context = {k: _label(v) for k, v in assignment.items()}
        context["grid_point"] = i
        ms = venue_metrics(
            out,
            floor=venue.floor,
            cohort_names=accounts.cohort_names,
            probe_names=accounts.probe_names,
            context=context,
        )
        result.rows.extend(r for r in ms.to_rows() if keep(r))
    if out_path is not None:
        result.out_path = Path(out_path)
        write_tidy(result.rows, result.out_path)
    return result


def sweep_table(result: SweepResult) -> list[dict[str, Any]]:
    """One printable row per grid point: the grid values and ``value ± error`` per metric."""
    by_point: dict[int, dict[str, Any]] = {}
    for r in result.rows:
        i = int(r["grid_point"])
        row = by_point.setdefault(i, {k: r[k] for k in result.keys})
        err = r["mcse_or_ci_low"]
        txt = f"{r['value']:.4g}" + ("" if math.isnan(err) else f" ± {err:.2g}")
        row[f"{r['quantity']} {r['statistic']} [{r['unit']}]"] = txt
    for i, row in by_point.items():
        if i < len(result.compiles):
            row["compiles"] = result.compiles[i]
    return [by_point[i] for i in sorted(by_point)]
