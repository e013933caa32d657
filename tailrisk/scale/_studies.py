"""Sweeps and policy comparisons spread over the processes of a distributed run.

Grid point ``i`` (or the ``i``-th policy) is computed by process ``i mod N``; the results come
back to every process through the coordinator and are put in the single-process order, so the
table is the one :func:`tailrisk.studies.sweep.run_sweep` or
:func:`tailrisk.studies.policy_comparison.compare_policies_run` gives in one process, value for
value. Every process draws the same price paths (path ``i`` from ``fold_in(key, i)``), so the
policies still run on common random numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._processes import SINGLE, ProcessGroup

__all__ = ["compare_policies_distributed", "run_sweep_distributed"]


def run_sweep_distributed(exp, grid: Mapping[str, Sequence[Any]], metrics=None,
                          out_path: str | Path | None = None, *,
                          group: ProcessGroup = SINGLE, paths: int | None = None,
                          chunk: int | None = None, progress: bool = False):
    """:func:`tailrisk.studies.sweep.run_sweep` with the grid points spread over ``group``.

    Every process validates the whole grid first (a bad value fails everywhere, before anything
    runs), computes its points, and gets every point's rows; process 0 writes ``out_path``.
    Returns the :class:`~tailrisk.studies.sweep.SweepResult` of the whole grid (``compiles`` and
    ``wall_s`` per point as measured by the process that computed it).
    """
    from ..analytics import write_tidy
    from ..studies.sweep import DEFAULT_METRICS, grid_points, run_sweep

    metrics = DEFAULT_METRICS if metrics is None else metrics
    n_points = len(grid_points(exp, grid))
    mine = list(group.share(n_points))
    part = run_sweep(exp, grid, metrics, None, paths=paths, chunk=chunk, progress=progress,
                     only=mine)
    parts = group.gather("sweep", (mine, part.rows, part.compiles, part.wall_s))
    rows_by_point: dict[int, list] = {}
    compiles: dict[int, int] = {}
    wall: dict[int, float] = {}
    for points, rows, comp, walls in parts:
        for r in rows:
            rows_by_point.setdefault(int(r["grid_point"]), []).append(r)
        compiles.update(zip(points, comp, strict=True))
        wall.update(zip(points, walls, strict=True))
    part.rows = [r for i in range(n_points) for r in rows_by_point.get(i, [])]
    part.compiles = [compiles[i] for i in range(n_points)]
    part.wall_s = [wall[i] for i in range(n_points)]
    if out_path is not None:
        part.out_path = Path(out_path)
        if group.writer:
            write_tidy(part.rows, part.out_path)
        group.barrier("sweep/written")
    return part


def compare_policies_distributed(exp, policies: Sequence[str], paths: int | None = None,
                                 chunk: int | None = None, *, group: ProcessGroup = SINGLE,
                                 baseline: str | None = None, progress: bool = False):
    """:func:`tailrisk.studies.policy_comparison.compare_policies_run` with the policies spread
    over ``group``: each process runs its policies on the same paths, the per-path outputs are
    gathered on every process, and each compares them as one process would. Returns
    ``(comparison, outputs)`` as ``compare_policies_run`` does."""
    from ..analytics import compare_policies
    from ..studies.policy_comparison import checked_policies
    from ..studies.variants import Variant, simulate_variants
    from ..venue import build_population

    venue, policies = checked_policies(exp, policies)
    mine = [policies[i] for i in group.share(len(policies))]
    outs: list = []
    if mine:
        accounts = build_population(venue, exp.model.s0, exp.run.seed)
        outs = simulate_variants(exp, [Variant(accounts, venue, p) for p in mine], paths=paths,
                                 chunk=chunk, progress=progress)
    gathered: dict[str, Any] = {}
    for names, arrays in group.gather("compare", (mine, outs)):
        gathered.update(zip(names, arrays, strict=True))
    outputs = {p: gathered[p] for p in policies}
    return compare_policies(outputs, baseline=baseline, floor=venue.floor), outputs
