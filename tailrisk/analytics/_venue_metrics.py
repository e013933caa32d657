"""Venue-level risk metrics from the per-path outputs of the venue kernel (docs/venue.md).

The input is a mapping of numpy arrays with one entry per path (path-index order): the keys of
docs/venue.md "Outputs per path", plus ``cohort_damped`` / ``cohort_undamped`` of shape
``(paths, n_cohorts)`` and ``probe_damped`` / ``probe_undamped`` of shape ``(paths, n_probes)``
(USD). Probabilities carry binomial standard errors; means and quantiles ArviZ MCSEs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._errors import Estimate, arviz_mcse, binomial_estimate, mean_estimate, quantile_estimate

__all__ = ["MetricSet", "fund_exhausted", "haircuts", "venue_metrics"]

#: keys :func:`venue_metrics` needs; the others are used when present
REQUIRED_KEYS = (
    "fund_min",
    "insolvent",
    "net_insolvent_debt",
    "liquidated_notional",
    "adl_events",
    "adl_notional",
)


@dataclass
class MetricSet:
    """Named estimates with units: ``estimates[(quantity, statistic)] = (Estimate, unit)``."""

    estimates: dict[tuple[str, str], tuple[Estimate, str]] = field(default_factory=dict)
    context: dict[str, object] = field(default_factory=dict)

    def add(self, quantity: str, statistic: str, estimate: Estimate, unit: str) -> None:
        self.estimates[(quantity, statistic)] = (estimate, unit)

    def __getitem__(self, key: tuple[str, str]) -> Estimate:
        return self.estimates[key][0]

    def to_rows(self) -> list[dict]:
        """Tidy rows (see :func:`tailrisk.analytics.to_table`), with the context columns."""
        return [
            est.row(quantity, statistic, unit, **self.context)
            for (quantity, statistic), (est, unit) in self.estimates.items()
        ]


def _paths(outputs: Mapping[str, np.ndarray], key: str, n: int | None) -> np.ndarray:
    arr = np.asarray(outputs[key])
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"outputs[{key!r}]: {arr.shape[0]} paths, expected {n}")
    return arr


def haircuts(outputs: Mapping[str, np.ndarray], kind: str = "cohort") -> np.ndarray:
    """Haircut ``undamped - damped`` (USD) per path and cohort (``kind="cohort"``) or probe
    (``kind="probe"``), shape ``(paths, n_groups)``. Under contract-space policies it can be
    negative on a path (a position closed early may beat holding to the horizon; docs/model.md,
    damped and undamped)."""
    damped = np.asarray(outputs[f"{kind}_damped"], dtype=np.float64)
    undamped = np.asarray(outputs[f"{kind}_undamped"], dtype=np.float64)
    if damped.shape != undamped.shape or damped.ndim != 2:
        raise ValueError(
            f"{kind}_damped {damped.shape} and {kind}_undamped {undamped.shape}: "
            "expected equal shapes (paths, groups)"
        )
    return undamped - damped


def fund_exhausted(outputs: Mapping[str, np.ndarray], floor: float, atol: float) -> np.ndarray:
    """Per-path flag: the fund reached its floor, ``fund_min <= floor + atol`` (USD)."""
    return np.asarray(outputs["fund_min"], dtype=np.float64) <= floor + atol


def venue_metrics(
    outputs: Mapping[str, np.ndarray],
    *,
    floor: float = 0.0,
    atol: float = 1e-6,
    cohort_names: Sequence[str] | None = None,
    probe_names: Sequence[str] | None = None,
    haircut_level: float = 0.99,
    context: Mapping[str, object] | None = None,
) -> MetricSet:
    """Risk metrics of one venue over i.i.d. paths (docs/model.md, tail statistics, venue level).

    Args:
        outputs: per-path arrays as described in the module docstring.
        floor: the fund floor (USD); the fund counts as exhausted on a path when
            ``fund_min <= floor + atol``.
        cohort_names, probe_names: labels of the cohort / probe columns (default their index).
        haircut_level: upper quantile of the haircut distribution to report (default 99%).
        context: extra columns for every row (e.g. ``{"policy": "pro_rata"}``).

    Returns:
        A :class:`MetricSet` with, as ``(quantity, statistic)``: fund_exhausted / insolvency /
        adl / adl_notional_positive ``probability``; net_insolvent_debt ``mean, q0.95, q0.99``;
        liquidated_notional ``mean, q0.95``; adl_notional (deleveraged notional) ``mean, sd,
        q0.5, q0.95, q0.99``; ``haircut[<cohort>]`` and ``probe_haircut[<probe>]`` ``mean`` and
        ``q<level>``; and, when present, capital_injected ``mean`` and check_not_converged
        ``probability``.
    """
    missing = [k for k in REQUIRED_KEYS if k not in outputs]
    if missing:
        raise KeyError(f"outputs: missing {missing}")
    n = np.asarray(outputs["fund_min"]).shape[0]
    if n == 0:
        raise ValueError("outputs: no paths")
    get = lambda k: _paths(outputs, k, n)  # noqa: E731
    ms = MetricSet(context=dict(context or {}))

    ms.add(
        "fund_exhausted",
        "probability",
        binomial_estimate(fund_exhausted(outputs, floor, atol)),
        "1",
    )
    ms.add("insolvency", "probability", binomial_estimate(get("insolvent")), "1")
    ms.add("adl", "probability", binomial_estimate(get("adl_events") > 0), "1")
    if "converged" in outputs:
        ms.add(
            "check_not_converged",
            "probability",
            binomial_estimate(~get("converged").astype(bool)),
            "1",
        )

    debt = get("net_insolvent_debt").astype(np.float64)
    ms.add("net_insolvent_debt", "mean", mean_estimate(debt), "USD")
    for q in (0.95, 0.99):
        ms.add("net_insolvent_debt", f"q{q:g}", quantile_estimate(debt, q), "USD")

    liq = get("liquidated_notional").astype(np.float64)
    ms.add("liquidated_notional", "mean", mean_estimate(liq), "USD")
    ms.add("liquidated_notional", "q0.95", quantile_estimate(liq, 0.95), "USD")

    adl = get("adl_notional").astype(np.float64)
    ms.add("adl_notional", "mean", mean_estimate(adl), "USD")
    ms.add("adl_notional", "sd", _sd_estimate(adl), "USD")
    for q in (0.5, 0.95, 0.99):
        ms.add("adl_notional", f"q{q:g}", quantile_estimate(adl, q), "USD")
    ms.add("adl_notional_positive", "probability", binomial_estimate(adl > 0), "1")

    if "capital_injected" in outputs:
        ms.add("capital_injected", "mean", mean_estimate(get("capital_injected")), "USD")

    for kind, names, prefix in (
        ("cohort", cohort_names, "haircut"),
        ("probe", probe_names, "probe_haircut"),
    ):
        if f"{kind}_damped" not in outputs:
            continue
        h = haircuts(outputs, kind)
        if h.shape[0] != n:
            raise ValueError(f"{kind}_damped: {h.shape[0]} paths, expected {n}")
        labels = list(names) if names is not None else [str(j) for j in range(h.shape[1])]
        if len(labels) != h.shape[1]:
            raise ValueError(f"{kind}_names: {len(labels)} names for {h.shape[1]} columns")
        for j, name in enumerate(labels):
            ms.add(f"{prefix}[{name}]", "mean", mean_estimate(h[:, j]), "USD")
            ms.add(
                f"{prefix}[{name}]",
                f"q{haircut_level:g}",
                quantile_estimate(h[:, j], haircut_level),
                "USD",
            )
    return ms


def _sd_estimate(x: np.ndarray) -> Estimate:
    if x.size < 2:
        return Estimate(float("nan"))
    return Estimate(float(x.std(ddof=1)), arviz_mcse(x, "sd"), kind="mcse")
