"""The exemption frontier: how venue insolvency grows as more accounts are exempt from ADL.

Exempt accounts are never deleveraged (docs/venue.md: the seed article's "secret no-ADL
agreement"), so the more of them, the less ADL can take from winners and the more of every gap
falls on the venue's capital. :func:`exemption_frontier` runs the venue at a list of
``venue.population.exempt_share`` values on the same price paths (common random numbers; the
generator draws the exemption uniforms independently of the share, so the exempt sets are nested)
and reports the share at which the insolvency probability crosses given levels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..analytics import Estimate, binomial_estimate
from ..config import ConfigError, Experiment, parse_config
from ..venue import POLICIES, build_population
from .variants import Variant, require_venue, simulate_variants

__all__ = ["DEFAULT_SHARES", "Crossing", "Frontier", "exemption_frontier", "wilson_interval"]

DEFAULT_SHARES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``p`` from ``n`` trials.

    Used for the crossing intervals because, unlike ``p +- z se``, it is not degenerate at
    ``p = 0`` or ``p = 1`` (where the binomial standard error is 0).
    """
    if n <= 0 or math.isnan(p):
        return math.nan, math.nan
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _first_crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """Smallest ``x`` where the piecewise-linear ``y(x)`` reaches ``level`` (NaN: never)."""
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(x[0])
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


@dataclass(frozen=True)
class Crossing:
    """Where the insolvency probability crosses ``threshold``.

    ``share`` interpolates the estimated curve linearly between grid shares; ``low`` and ``high``
    are where the upper and lower Wilson 95% bounds of the curve cross it (NaN: not within the
    grid). ``note`` says when the crossing lies at or outside the grid's ends.
    """

    threshold: float
    share: float
    low: float
    high: float
    note: str = ""


@dataclass
class Frontier:
    """Insolvency probability per exempt share (binomial SE) and the threshold crossings."""

    policy: str
    n_paths: int
    shares: np.ndarray
    insolvency: list[Estimate]
    adl: list[Estimate]
    crossings: list[Crossing]

    def to_rows(self) -> list[dict]:
        """Tidy rows: ``insolvency``/``adl`` probability per share, then the crossings."""
        rows = []
        for s, ins, adl in zip(self.shares, self.insolvency, self.adl, strict=True):
            ctx = {"policy": self.policy, "exempt_share": f"{s:g}"}
            rows.append(ins.row("insolvency", "probability", "1", **ctx))
            rows.append(adl.row("adl", "probability", "1", **ctx))
        for c in self.crossings:
            rows.append(
                {
                    "policy": self.policy,
                    "quantity": "exempt_share_at_insolvency",
                    "statistic": f"crossing p={c.threshold:g}",
                    "value": c.share,
                    "mcse_or_ci_low": c.low,
                    "ci_high": c.high,
                    "unit": "1",
                    "error_kind": "wilson95_band",
                    "note": c.note,
                }
            )
        return rows


def exemption_frontier(
    exp: Experiment,
    shares: Sequence[float] = DEFAULT_SHARES,
    thresholds: Sequence[float] = (0.01, 0.05, 0.5),
    *,
    policy: str | None = None,
    paths: int | None = None,
    chunk: int | None = None,
    z: float = 1.96,
    progress: bool = True,
) -> Frontier:
    """Insolvency probability of the venue of ``exp`` as ``exempt_share`` grows.

    Args:
        exp: experiment with a ``[venue]`` whose population is generated (not a CSV).
        shares: exempt shares to run, sorted ascending (each validated as a config value).
        thresholds: insolvency probabilities whose crossing share is reported.
        policy: ADL policy (default ``venue.policy``).
        paths, chunk: Monte Carlo budget (default ``run.paths``, ``run.chunk_size``).

    Returns:
        A :class:`Frontier`. Crossings interpolate linearly between the grid shares; the
        estimated curve need not be monotone (Monte Carlo noise), and the first crossing is
        reported.
    """
    venue = require_venue(exp, "frontier")
    shares = [float(s) for s in shares]
    problems = []
    if not shares or shares != sorted(shares):
        problems.append(f"shares = {shares}: must be a non-empty ascending list")
    if venue.population.csv:
        problems.append("venue.population.csv: the frontier needs a generated population")
    if policy is not None and policy not in POLICIES:
        problems.append(f"policy = {policy!r}: must be one of {', '.join(POLICIES)}")
    bad_t = [t for t in thresholds if not 0 < t < 1]
    if bad_t:
        problems.append(f"thresholds = {list(thresholds)}: each must be in (0, 1)")
    if problems:
        raise ConfigError("<frontier>", problems)
    policy = policy or venue.policy
    points = []
    for s in shares:
        data = exp.to_dict()
        data.pop("sweep", None)
        data["venue"].setdefault("population", {})["exempt_share"] = s
        points.append(parse_config(data, f"<frontier exempt_share = {s:g}>"))
    variants = [
        Variant(build_population(p.venue, p.model.s0, p.run.seed), p.venue, policy) for p in points
    ]
    outs = simulate_variants(
        exp, variants, paths=paths, chunk=chunk, progress=progress, desc="frontier"
    )
    insolvency = [binomial_estimate(o["insolvent"]) for o in outs]
    adl = [binomial_estimate(np.asarray(o["adl_events"]) > 0) for o in outs]
    n = int(outs[0]["insolvent"].shape[0])
    x = np.asarray(shares)
    p = np.array([e.value for e in insolvency])
    bounds = np.array([wilson_interval(v, n, z) for v in p])
    crossings = []
    for t in thresholds:
        share = _first_crossing(x, p, t)
        low = _first_crossing(x, bounds[:, 1], t)  # the upper bound crosses first
        high = _first_crossing(x, bounds[:, 0], t)
        note = ""
        if math.isnan(share):
            note = f"not reached up to exempt_share = {x[-1]:g}"
        elif share == x[0]:
            note = f"already reached at exempt_share = {x[0]:g}"
        elif math.isnan(high):
            note = "upper end of the interval beyond the grid"
        crossings.append(Crossing(float(t), share, low, high, note))
    return Frontier(
        policy=policy,
        n_paths=n,
        shares=x,
        insolvency=insolvency,
        adl=adl,
        crossings=crossings,
    )
