"""What several pages read from a run, computed one way for all of them: which paths have finite
outputs (the runner's definition: a path with any NaN or infinite per-path output, price or venue,
is left out of every statistic, and each page that leaves paths out says how many), the
per-cohort payoff columns, and the plotted survival curves with their Gaussian and Hill
references. numpy (and scipy.special) only; no plotting.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..runner import RunResult

__all__ = [
    "finite_mask",
    "finite_share",
    "flag",
    "gauss_surv",
    "gauss_surv_abs",
    "hill_alpha",
    "left_out_note",
    "negate",
    "nonfinite_outputs",
    "payoff_groups",
    "survival",
    "venue_array",
]

#: points of a plotted survival curve: log-spaced ranks, dense in the upper tail (a panel a few
#: inches wide shows no more; the ~50 largest values of a sample are each drawn)
SURVIVAL_POINTS = 600


def survival(x: np.ndarray, max_points: int = SURVIVAL_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Empirical P(X >= x) at sorted sample points, thinned to ~``max_points`` log-spaced ranks."""
    x = np.sort(np.asarray(x, np.float64)[np.isfinite(x)])
    n = x.size
    if n == 0:
        return x, x
    surv = 1.0 - np.arange(n) / n  # P(X >= x_(i)); the largest point has 1/n
    keep = np.unique(np.geomspace(1, n, min(n, max_points)).astype(np.int64) - 1)
    keep = n - 1 - keep  # dense in the upper tail
    return x[keep[::-1]], surv[keep[::-1]]


def gauss_surv_abs(x: np.ndarray, sd: float) -> np.ndarray:
    """P(|Z| > x) for a centred Gaussian of standard deviation ``sd``."""
    from scipy.special import erfc

    return erfc(np.asarray(x) / (sd * math.sqrt(2.0)))


def gauss_surv(x: np.ndarray, sd: float) -> np.ndarray:
    """P(Z > x) for a centred Gaussian of standard deviation ``sd``."""
    return 0.5 * gauss_surv_abs(x, sd)


def hill_alpha(x: np.ndarray) -> float:
    """Hill tail index of the positive sample ``x`` (k by the analytics default rule), or NaN."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 50 or np.count_nonzero(x > 0) < 20:
        return math.nan
    from ..analytics import hill

    try:
        return float(hill(x))
    except ValueError:
        return math.nan


def _nonfinite(result: RunResult) -> tuple[np.ndarray, dict[str, int]]:
    from ..runner import nonfinite_outputs as per_output

    return per_output({**result.per_path, **(result.venue or {})})


def finite_mask(result: RunResult) -> np.ndarray:
    """``(paths,)`` True where every per-path output (price summaries and venue outputs) of the
    path is finite."""
    return ~_nonfinite(result)[0]


def finite_share(result: RunResult) -> tuple[int, int]:
    """(paths with a non-finite output, paths)."""
    return int(_nonfinite(result)[0].sum()), result.n_paths


def nonfinite_outputs(result: RunResult) -> dict[str, int]:
    """Paths with a non-finite value, per output that has any."""
    return dict(_nonfinite(result)[1])


def left_out_note(result: RunResult) -> str:
    """``"12 of 20,000 paths have a non-finite output and are left out."`` (empty when none)."""
    bad, n = finite_share(result)
    if not bad:
        return ""
    return f"{bad:,} of {n:,} paths have a non-finite output and are left out."


def venue_array(result: RunResult, name: str) -> np.ndarray | None:
    """The venue output ``name`` as an array, or None when the run does not have it."""
    v = (result.venue or {}).get(name)
    return None if v is None else np.asarray(v)


def flag(result: RunResult, key: str) -> np.ndarray | None:
    """``(paths,)`` True where the venue output ``key`` is positive (None without it)."""
    arr = venue_array(result, key)
    return None if arr is None else np.asarray(arr) > 0


def negate(arr: np.ndarray | None) -> np.ndarray | None:
    """The boolean complement of a flag array (None stays None)."""
    return None if arr is None else ~np.asarray(arr, bool)


def payoff_groups(result: RunResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, damped, undamped)`` per cohort and per probe, each of shape (paths,)."""
    m = result.manifest
    groups = []
    for kind, names in (("cohort", m.get("cohort_names", [])), ("probe", m.get("probe_names", []))):
        damped = venue_array(result, f"{kind}_damped")
        undamped = venue_array(result, f"{kind}_undamped")
        if damped is None or undamped is None:
            continue
        damped = damped.reshape(damped.shape[0], -1)
        undamped = undamped.reshape(undamped.shape[0], -1)
        for j in range(damped.shape[1]):
            label = names[j] if j < len(names) else f"{kind} {j}"
            groups.append((f"{kind} {label}", damped[:, j], undamped[:, j]))
    return groups
