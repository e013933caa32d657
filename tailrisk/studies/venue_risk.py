"""How much to keep on a venue: haircut risk of a winning position, and the size a budget allows.

A *probe* account (docs/venue.md: small, takes part in ADL like any other account, cannot move the
venue) of the chosen side and leverage, entered at ``s0``, is added to the population. On each path
its haircut is ``undamped - damped`` (USD), and ``h = haircut / notional`` is the haircut per
dollar of position (notional = quantity x entry, USD).

Scale-free assumption: because the probe cannot move the venue (it does not change liquidations,
the fund or other accounts' ADL), ``h`` does not depend on its size, so a position of ``x`` USD
loses ``x h`` and the largest position whose expected shortfall of haircuts stays within a budget
``b`` is ``b / ES_level(h)``. This holds only while the position is small next to the venue's open
interest and its fund; a position large enough to be a whale changes the liquidation cascade and
the ADL queue, and needs its own run (put it in the population). The probe's margin is set to
``probe_margin_usd`` (default 10 USD) rather than something tiny because ``queue_binance``
ranks by ``... / max(1, margin)``, which is scale-free only for margins of at least 1 USD.

Under contract-space policies a position closed early can beat holding it (docs/model.md, damped
and undamped), so ``h`` can be negative on a path; the expected shortfall counts such paths as
gains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..analytics import Estimate, binomial_estimate, expected_shortfall, mean_estimate
from ..analytics import value_at_risk as _value_at_risk
from ..config import ConfigError, Experiment, parse_config
from ..venue import POLICIES, build_population
from .variants import Variant, require_venue, simulate_variants

__all__ = ["PROBE_NAME", "VenueRisk", "venue_risk"]

PROBE_NAME = "venue_risk_probe"


@dataclass
class VenueRisk:
    """Haircut risk of one probe position and the largest position a budget allows.

    Probabilities carry binomial standard errors, means and the expected shortfall ArviZ MCSEs.
    ``haircut_per_usd`` is ``(undamped - damped) / notional`` per path (shape ``(paths,)``).
    """

    side: str
    leverage: float
    policy: str
    level: float
    budget_usd: float
    n_paths: int
    probe_notional_usd: float
    p_win: Estimate
    p_haircut: Estimate
    p_haircut_given_win: Estimate
    mean_haircut_per_usd: Estimate
    var_haircut_per_usd: Estimate
    es_haircut_per_usd: Estimate
    damping_ratio_given_win: Estimate
    haircut_per_usd: np.ndarray = field(repr=False)
    damped: np.ndarray = field(repr=False)
    undamped: np.ndarray = field(repr=False)

    def max_position_usd(self, budget_usd: float | None = None) -> float:
        """Largest notional (USD) whose ES of haircuts is within ``budget_usd``: ``b / ES``.

        ``inf`` when the ES is not positive (no haircuts in the tail), NaN when the ES could not
        be estimated (fewer than 10 paths beyond the level).
        """
        b = self.budget_usd if budget_usd is None else float(budget_usd)
        es = self.es_haircut_per_usd.value
        if math.isnan(es):
            return math.nan
        return math.inf if es <= 0 else b / es

    def max_position_interval(self, z: float = 1.96) -> tuple[float, float]:
        """The budget divided by the ES interval ``ES +- z MCSE`` (low, high), USD."""
        lo, hi = self.es_haircut_per_usd.interval(z)
        b = self.budget_usd
        return (b / hi if hi > 0 else math.inf, b / lo if lo > 0 else math.inf)

    def to_rows(self) -> list[dict[str, Any]]:
        """Tidy rows (see :func:`tailrisk.analytics.to_table`)."""
        ctx = {"policy": self.policy, "side": self.side, "leverage": self.leverage}
        lv = f"{self.level:g}"
        rows = [
            self.p_win.row("probe_wins", "probability", "1", **ctx),
            self.p_haircut.row("probe_haircut", "probability", "1", **ctx),
            self.p_haircut_given_win.row("probe_haircut_given_win", "probability", "1", **ctx),
            self.mean_haircut_per_usd.row("haircut_per_usd", "mean", "USD/USD", **ctx),
            self.var_haircut_per_usd.row("haircut_per_usd", f"var{lv}", "USD/USD", **ctx),
            self.es_haircut_per_usd.row("haircut_per_usd", f"es{lv}", "USD/USD", **ctx),
            self.damping_ratio_given_win.row("damping_ratio_given_win", "mean", "1", **ctx),
        ]
        lo, hi = self.max_position_interval()
        rows.append(
            {
                **ctx,
                "quantity": "max_position_notional",
                "statistic": f"budget {self.budget_usd:g} USD / es{lv}",
                "value": self.max_position_usd(),
                "mcse_or_ci_low": lo,
                "ci_high": hi,
                "unit": "USD",
                "error_kind": "es_interval95",
            }
        )
        return rows


def _with_probe(exp: Experiment, side: str, leverage: float, margin_usd: float) -> Experiment:
    data = exp.to_dict()
    data.pop("sweep", None)
    s0 = exp.model.s0
    probe = {
        "name": PROBE_NAME,
        "side": side,
        "entry": s0,
        "leverage": float(leverage),
        "quantity": margin_usd * leverage / s0,
    }
    pop = data["venue"].setdefault("population", {})
    pop["probes"] = [p for p in pop.get("probes", []) if p.get("name") != PROBE_NAME] + [probe]
    return parse_config(data, f"<venue-risk probe {side} {leverage:g}x>")


def venue_risk(
    exp: Experiment,
    budget_usd: float,
    side: Literal["long", "short"],
    leverage: float = 10.0,
    *,
    level: float = 0.99,
    policy: str | None = None,
    paths: int | None = None,
    chunk: int | None = None,
    probe_margin_usd: float = 10.0,
    progress: bool = True,
) -> VenueRisk:
    """Haircut risk of a ``side`` position at ``leverage`` on the venue of ``exp``.

    Args:
        exp: experiment with a ``[venue]``.
        budget_usd: the loss to haircuts (USD) one is willing to take in the worst ``1 - level``
            of scenarios.
        side, leverage: the position (entered at ``s0``).
        level: the expected-shortfall level (default 99%).
        policy: ADL policy (default ``venue.policy``).
        paths, chunk: Monte Carlo budget (default ``run.paths``, ``run.chunk_size``).
        probe_margin_usd: the probe's margin (see the module docstring).

    Returns:
        A :class:`VenueRisk`. A path counts as a haircut when
        ``damped < undamped - 1e-6 * notional`` (float32 round-off of the payoffs is far below).
    """
    problems = []
    if not (budget_usd > 0 and math.isfinite(budget_usd)):
        problems.append(f"budget_usd = {budget_usd!r}: must be a positive number of USD")
    if side not in ("long", "short"):
        problems.append(f"side = {side!r}: must be long or short")
    if not (leverage > 0 and math.isfinite(leverage)):
        problems.append(f"leverage = {leverage!r}: must be > 0")
    if not 0 < level < 1:
        problems.append(f"level = {level!r}: must be in (0, 1)")
    if policy is not None and policy not in POLICIES:
        problems.append(f"policy = {policy!r}: must be one of {', '.join(POLICIES)}")
    if problems:
        raise ConfigError("<venue-risk>", problems)
    require_venue(exp, "venue-risk")
    probed = _with_probe(exp, side, leverage, probe_margin_usd)
    venue = probed.venue
    policy = policy or venue.policy
    accounts = build_population(venue, probed.model.s0, probed.run.seed)
    j = accounts.probe_names.index(PROBE_NAME)
    k = int(accounts.probe_index[j])
    notional = float(accounts.quantity[k] * accounts.entry[k])
    (out,) = simulate_variants(
        probed,
        [Variant(accounts, venue, policy)],
        paths=paths,
        chunk=chunk,
        progress=progress,
        desc="venue risk",
    )
    damped = np.asarray(out["probe_damped"][:, j], np.float64)
    undamped = np.asarray(out["probe_undamped"][:, j], np.float64)
    h = (undamped - damped) / notional
    cut = h > 1e-6
    win = undamped > 0
    ratio = damped[win] / undamped[win]
    return VenueRisk(
        side=side,
        leverage=float(leverage),
        policy=policy,
        level=level,
        budget_usd=float(budget_usd),
        n_paths=int(h.size),
        probe_notional_usd=notional,
        p_win=binomial_estimate(win),
        p_haircut=binomial_estimate(cut),
        p_haircut_given_win=binomial_estimate(cut[win]) if win.any() else Estimate(math.nan),
        mean_haircut_per_usd=mean_estimate(h),
        var_haircut_per_usd=_value_at_risk(h, level),
        es_haircut_per_usd=expected_shortfall(h, level),
        damping_ratio_given_win=mean_estimate(ratio),
        haircut_per_usd=h,
        damped=damped,
        undamped=undamped,
    )
