"""What deciding a claim costs: :func:`tailrisk.studies.verdict.decide` on stand-in per-path
outputs (Student-t payoffs of two sides, a venue's flags), timed with the median of repeats.

``tailrisk bench --what verdict``. numpy only; no venue kernel is run.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

__all__ = ["bench_verdict"]


def bench_verdict(n_paths: int = 20_000, resamples: int = 200, repeats: int = 3,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Median seconds of ``decide`` for a claim of three payoff-tail checks (the kind of
    experiment 1) and one of three venue-probability checks, on ``n_paths`` paths."""
    from ..config.claim import CheckConfig, ClaimConfig
    from .verdict import World, decide

    rng = np.random.default_rng(seed)
    owed = rng.standard_t(2.5, size=(n_paths, 2)) * 1e5
    paid = np.minimum(owed, 2e5)
    venue = {"cohort_damped": paid, "cohort_undamped": owed,
             "insolvent": rng.random(n_paths) < 0.01, "adl_events": rng.random(n_paths) < 0.2,
             "fund_min": rng.random(n_paths)}
    world = World(venue, {"terminal_log_return": rng.standard_normal(n_paths)},
                  ["long all", "short all"])
    claims = {
        "payoff tails (3 checks)": ("tail_index_damped[sides] - tail_index_undamped[sides]",
                                    "kurtosis_undamped[sides] - kurtosis_damped[sides]",
                                    "es99_undamped[sides] - es99_damped[sides]"),
        "venue probabilities (3 checks)": ("p_adl", "p_insolvent", "p_fund_exhausted"),
    }
    rows = []
    for name, exprs in claims.items():
        claim = ClaimConfig(statement="a benchmark claim", resamples=resamples, checks=tuple(
            CheckConfig(metric=e, op=">", value=0) for e in exprs))
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            decide(claim, {None: world})
            times.append(time.perf_counter() - t0)
        rows.append({"claim": name, "paths": n_paths, "resamples": resamples,
                     "median_s": statistics.median(times)})
    return rows
