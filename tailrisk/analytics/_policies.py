"""Solvency and fairness of ADL policies compared on the same price paths.

Every policy is run on the same paths (common random numbers, CRN), so path ``i`` of one policy
and path ``i`` of another share their prices. A difference against the baseline policy is the mean
of the per-path differences, and its error is the MCSE of those differences: the pairing removes
the path-to-path variation the policies share, which an unpaired ``sqrt(se_a^2 + se_b^2)`` would
keep. Both errors are stored so the gain from pairing can be read off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._errors import Estimate, arviz_mcse, binomial_estimate, mean_estimate, quantile_estimate
from ._venue_metrics import fund_exhausted

__all__ = ["PolicyComparison", "compare_policies", "policy_series"]

#: (quantity, unit, is_probability) of the per-path series compared across policies
SERIES = (
    ("insolvency", "1", True),
    ("fund_exhausted", "1", True),
    ("net_insolvent_debt", "USD", False),
    ("winners_touched_share", "1", False),
    ("max_haircut_pct", "%", False),
    ("gini_haircut", "1", False),
    ("overshoot", "USD", False),
)


def policy_series(
    outputs: Mapping[str, np.ndarray], *, floor: float = 0.0, atol: float = 1e-6
) -> dict[str, np.ndarray]:
    """Per-path series (shape ``(paths,)``) of one policy's outputs, named as in :data:`SERIES`.

    ``winners_touched_share`` is ``winners_touched / winners`` and 0 on paths without winners
    (nobody could be touched), so that every policy keeps every path and the pairing holds.
    NaN in ``max_haircut_pct``, ``gini_haircut`` or ``overshoot`` (no haircut on the path) counts
    as 0. Series whose keys are missing are left out.
    """
    out: dict[str, np.ndarray] = {}
    if "insolvent" in outputs:
        out["insolvency"] = np.asarray(outputs["insolvent"]).astype(np.float64)
    if "fund_min" in outputs:
        out["fund_exhausted"] = fund_exhausted(outputs, floor, atol).astype(np.float64)
    if "net_insolvent_debt" in outputs:
        out["net_insolvent_debt"] = np.asarray(outputs["net_insolvent_debt"], dtype=np.float64)
    if "winners" in outputs and "winners_touched" in outputs:
        w = np.asarray(outputs["winners"], dtype=np.float64)
        t = np.asarray(outputs["winners_touched"], dtype=np.float64)
        out["winners_touched_share"] = np.where(w > 0, t / np.where(w > 0, w, 1.0), 0.0)
    for key in ("max_haircut_pct", "gini_haircut", "overshoot"):
        if key in outputs:
            out[key] = np.nan_to_num(np.asarray(outputs[key], dtype=np.float64), nan=0.0)
    return out


@dataclass
class PolicyComparison:
    """Per-policy estimates and paired differences against ``baseline``.

    ``levels[policy][(quantity, statistic)]`` and ``diffs[policy][quantity]`` are
    :class:`Estimate`; ``unpaired_se[policy][quantity]`` is ``sqrt(se_policy^2 + se_baseline^2)``
    for the same difference, for comparison with the paired MCSE.
    """

    baseline: str
    n_paths: int
    units: dict[str, str]
    levels: dict[str, dict[tuple[str, str], Estimate]] = field(default_factory=dict)
    diffs: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    unpaired_se: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_rows(self) -> list[dict]:
        """Tidy rows with a ``policy`` column; differences have the statistic
        ``mean_diff_vs_<baseline>`` and a paired MCSE."""
        rows = []
        for policy, ests in self.levels.items():
            for (quantity, statistic), est in ests.items():
                rows.append(est.row(quantity, statistic, self.units[quantity], policy=policy))
            for quantity, est in self.diffs.get(policy, {}).items():
                rows.append(
                    est.row(
                        quantity,
                        f"mean_diff_vs_{self.baseline}",
                        self.units[quantity],
                        policy=policy,
                    )
                )
        return rows


def compare_policies(
    outputs_by_policy: Mapping[str, Mapping[str, np.ndarray]],
    baseline: str | None = None,
    *,
    floor: float = 0.0,
    atol: float = 1e-6,
) -> PolicyComparison:
    """Compare policies run on the same paths (common random numbers).

    Args:
        outputs_by_policy: ``{policy_name: per-path outputs}``; every policy must have the same
            number of paths in the same order (checked against a ``path_index`` array when all
            outputs carry one).
        baseline: the policy differences are taken against (default the first).
        floor, atol: the fund-exhausted rule of :func:`venue_metrics`.

    Returns:
        A :class:`PolicyComparison`: per policy, probabilities (binomial SE) of insolvency and
        fund exhaustion, means (ArviZ MCSE) of net insolvent debt, winners-touched share, largest
        haircut % (and its 99% quantile), Gini of haircuts and overshoot; per non-baseline policy
        the mean paired difference of each series with its paired MCSE.
    """
    if not outputs_by_policy:
        raise ValueError("outputs_by_policy: no policies")
    names = list(outputs_by_policy)
    baseline = names[0] if baseline is None else baseline
    if baseline not in outputs_by_policy:
        raise KeyError(f"baseline {baseline!r} not among {names}")
    series = {p: policy_series(o, floor=floor, atol=atol) for p, o in outputs_by_policy.items()}
    sizes = {p: {len(v) for v in s.values()} for p, s in series.items()}
    all_sizes = set().union(*sizes.values())
    if len(all_sizes) != 1:
        raise ValueError(f"policies differ in their number of paths: {sizes}")
    if all("path_index" in o for o in outputs_by_policy.values()):
        ref = np.asarray(outputs_by_policy[baseline]["path_index"])
        for p, o in outputs_by_policy.items():
            if not np.array_equal(np.asarray(o["path_index"]), ref):
                raise ValueError(f"policy {p!r}: path_index differs from {baseline!r}; not CRN")
    units = {q: u for q, u, _ in SERIES}
    probability = {q for q, _, is_p in SERIES if is_p}
    result = PolicyComparison(baseline=baseline, n_paths=all_sizes.pop(), units=units)
    for p in names:
        ests: dict[tuple[str, str], Estimate] = {}
        for q, _, _ in SERIES:
            if q not in series[p]:
                continue
            x = series[p][q]
            if q in probability:
                ests[(q, "probability")] = binomial_estimate(x > 0.5)
            else:
                ests[(q, "mean")] = mean_estimate(x)
            if q == "max_haircut_pct":
                ests[(q, "q0.99")] = quantile_estimate(x, 0.99)
        result.levels[p] = ests
    for p in names:
        if p == baseline:
            continue
        result.diffs[p], result.unpaired_se[p] = {}, {}
        for q, _, _ in SERIES:
            if q not in series[p] or q not in series[baseline]:
                continue
            d = series[p][q] - series[baseline][q]
            result.diffs[p][q] = Estimate(float(d.mean()), arviz_mcse(d, "mean"), kind="mcse")
            key = (q, "probability") if q in probability else (q, "mean")
            se_p, se_b = result.levels[p][key].mcse, result.levels[baseline][key].mcse
            result.unpaired_se[p][q] = math.sqrt(se_p**2 + se_b**2)
    return result
