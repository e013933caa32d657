"""Deciding a claim: evaluate its metric expressions on a run's paths and give the verdict.

Every metric of :mod:`tailrisk.config.claim` is a function of the per-path outputs of one run
(a *world*; a study has one world per variant, all with the same paths). An expression is
evaluated on all paths and on ``resamples`` paired bootstrap resamples of the path indices (the
same resample in every world and every metric), so that its standard error accounts for what
the metrics of one expression share: the damped and the undamped payoff of the same paths, or
two policies on common random numbers (Efron and Tibshirani 1993, ch. 6). Paths with a
non-finite output in any world are left out of every world.

A check ``metric op value`` at ``significance`` z:

- ``>``, ``>=``: held when ``(metric - value) / se >= z``, not held when ``<= -z``;
- ``<``, ``<=``: the mirror image;
- ``==``: held when ``|metric - value| <= tolerance + z se``, not held otherwise (its z is
  ``(|metric - value| - tolerance) / se``: negative inside the tolerance);
- inconclusive in between, or when the metric is not a finite number (NaN: too few paths).

A standard error of 0 (a deterministic run) decides by the sign alone (``>`` then needs a
strictly positive difference). The claim holds when every check holds (``combine = "all"``) or
at least one does (``"any"``); it does not hold when a check fails under "all" (every check
under "any"); otherwise it is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..config.claim import (
    GROUPED,
    NETWORK_METRICS,
    OPTION_METRICS,
    PAYOFF_STATS,
    PRICE_METRICS,
    REPLAY_METRICS,
    VENUE_METRICS,
    ClaimConfig,
    MetricRef,
    metric_refs,
    option_spec,
    parse_expression,
    split_payoff_name,
)

__all__ = [
    "HELD",
    "INCONCLUSIVE",
    "NOT_HELD",
    "CheckResult",
    "MetricValue",
    "Verdict",
    "World",
    "decide",
    "evaluate",
    "world_of",
]

HELD = "held"
NOT_HELD = "did not hold"
INCONCLUSIVE = "inconclusive"
#: ES level of the es99 metrics
ES_LEVEL = 0.99


@dataclass(frozen=True)
class World:
    """The per-path outputs of one run: ``venue`` (docs/venue.md outputs), ``per_path`` (price
    summaries, log returns), cohort and probe names, and the fund floor (USD).

    Other kinds of run add what their metrics read: ``options``, the damped, entitled and
    undamped assets of a pricing run (:class:`tailrisk.pricing.DampedAssets`, one row a path);
    ``network``, a network run's per-path ``failed`` (paths, venues) and ``systemic_loss``
    (USD); ``constants``, numbers that are the same on every resample (the replay's recorded
    figures and the model on the recorded path)."""

    venue: Mapping[str, np.ndarray] | None
    per_path: Mapping[str, np.ndarray]
    cohort_names: Sequence[str] = ()
    probe_names: Sequence[str] = ()
    floor: float = 0.0
    options: Any = None
    network: Mapping[str, np.ndarray] | None = None
    constants: Mapping[str, float] = field(default_factory=dict)

    @property
    def paired(self) -> bool:
        """Whether paths ``2j`` and ``2j + 1`` are an antithetic pair (a pricing run with
        ``[pricing] antithetic = true``): the bootstrap then resamples whole pairs."""
        return bool(getattr(self.options, "antithetic", False))

    @property
    def n(self) -> int:
        if "terminal_log_return" in self.per_path:
            return int(np.asarray(self.per_path["terminal_log_return"]).shape[0])
        if self.network:
            return int(np.asarray(self.network["systemic_loss"]).shape[0])
        if self.options is not None:
            return int(self.options.n_paths)
        return int(np.asarray(next(iter((self.venue or {}).values()))).shape[0])

    def finite(self) -> np.ndarray:
        from ..runner import nonfinite_outputs

        ok = np.ones(self.n, bool)
        if self.per_path or self.venue:
            bad, _ = nonfinite_outputs({**self.per_path, **(self.venue or {})})
            ok &= ~bad
        if self.options is not None:
            for arr in (self.options.undamped, self.options.damped, self.options.entitled):
                ok &= np.isfinite(arr.reshape(self.n, -1)).all(axis=1)
        if self.network:
            ok &= np.isfinite(np.asarray(self.network["systemic_loss"], np.float64))
        return ok


def world_of(result: Any) -> World:
    """The :class:`World` of a :class:`~tailrisk.runner.RunResult`."""
    exp = result.experiment
    return World(
        venue=result.venue,
        per_path=result.per_path,
        cohort_names=list(result.manifest.get("cohort_names", [])),
        probe_names=list(result.manifest.get("probe_names", [])),
        floor=float(exp.venue.floor) if exp.venue is not None else 0.0,
    )


@dataclass(frozen=True)
class MetricValue:
    """An expression's value on all paths, its paired-bootstrap standard error and unit."""

    expression: str
    value: float
    se: float
    unit: str
    n_paths: int

    def text(self, digits: int = 4) -> str:
        if not math.isfinite(self.value):
            return "n/a"
        se = f" ± {self.se:.2g}" if math.isfinite(self.se) and self.se > 0 else ""
        unit = "" if self.unit in ("1", "") else f" {self.unit}"
        return f"{self.value:.{digits}g}{se}{unit}"


@dataclass(frozen=True)
class CheckResult:
    metric: MetricValue
    op: str
    value: float
    significance: float
    tolerance: float
    z: float
    outcome: str
    label: str = ""

    def text(self) -> str:
        rule = f"{self.metric.expression} {self.op} {self.value:g}"
        if self.op == "==" and self.tolerance:
            rule += f" (± {self.tolerance:g})"
        z = f"z = {self.z:+.3g}" if math.isfinite(self.z) else f"z = {self.z:+}"
        return f"{rule}: {self.metric.text()} ({z}, needs {self.significance:g}) -> {self.outcome}"


@dataclass(frozen=True)
class Verdict:
    """The verdict of a claim, the checks that decided it and the headline numbers."""

    statement: str
    source: str
    outcome: str
    combine: str
    checks: tuple[CheckResult, ...]
    headline: tuple[MetricValue, ...] = ()
    n_paths: int = 0
    resamples: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        checks = tuple(
            CheckResult(**{**c, "metric": MetricValue(**c["metric"])}) for c in d["checks"]
        )
        head = tuple(MetricValue(**m) for m in d.get("headline", ()))
        return cls(**{**d, "checks": checks, "headline": head, "notes": tuple(d.get("notes", ()))})


# ----------------------------------------------------------------------------- per-path samples


def _group_columns(world: World, kind: str, group: str) -> list[int]:
    names = list(world.cohort_names if kind == "cohort" else world.probe_names)
    if group in ("long", "short"):
        cols = [j for j, nm in enumerate(names) if str(nm).lower().startswith(group)]
    elif group == "sides":
        cols = list(range(len(names)))
    else:
        wanted = group.split(":", 1)[1]
        cols = [j for j, nm in enumerate(names) if str(nm) == wanted]
    if not cols:
        raise ValueError(f"group {group!r}: no such {kind} (have: {', '.join(map(str, names))})")
    return cols


def payoff_sample(world: World, group: str | None, which: str) -> np.ndarray:
    """Per-path payoff of a group (USD): ``(paths,)``, or ``(paths, 2)`` for ``sides`` (the long
    side's and the short side's payoff of each path, pooled by the statistics)."""
    venue = world.venue
    if not venue:
        raise ValueError("the run has no venue outputs")
    group = group or "sides"
    kind = "probe" if group.startswith("probe:") else "cohort"
    arr = np.asarray(venue[f"{kind}_{which}"], np.float64).reshape(world.n, -1)
    if group == "sides":
        return np.stack([arr[:, _group_columns(world, kind, s)].sum(axis=1)
                         for s in ("long", "short")], axis=1)
    return arr[:, _group_columns(world, kind, group)].sum(axis=1)


def _hill_gain(x: np.ndarray) -> float:
    from ..analytics import hill_k_rule

    x = x.ravel()
    n = x.size
    if n < 3:
        return math.nan
    k = hill_k_rule(n)
    top = -np.sort(-np.partition(x, n - k - 1)[n - k - 1:])  # the k + 1 largest, descending
    if top[k] <= 0:
        return math.nan
    gap = float(np.mean(np.log(top[:k])) - math.log(top[k]))
    return 1.0 / gap if gap > 0 else math.inf


def _es_upper(x: np.ndarray, level: float = ES_LEVEL) -> float:
    x = x.ravel()
    n = x.size
    beyond = round(n * (1 - level), 9)
    kf = math.floor(beyond)
    if kf < 1 or kf >= n:
        return math.nan
    top = -np.sort(-np.partition(x, n - kf - 1)[n - kf - 1:])
    return float((top[:kf].sum() + (beyond - kf) * top[kf]) / beyond)


def _kurtosis(x: np.ndarray) -> float:
    x = x.ravel()
    if x.size < 4 or np.ptp(x) == 0:
        return math.nan
    d = x - x.mean()
    d *= d  # squares: d ** 4 through pow() costs ten times more (and no BLAS call here:
    m2 = float(np.mean(d))  # a threaded dot product stalls on a busy machine)
    d *= d
    return float(np.mean(d)) / (m2 * m2) - 3.0


_PAYOFF_FUNCS = {
    "tail_index": _hill_gain,
    "tail_index_loss": lambda x: _hill_gain(-x),
    "kurtosis": _kurtosis,
    "es99": _es_upper,
    "es99_loss": lambda x: _es_upper(-x),
    "mean": lambda x: float(np.mean(x)),
    "sd": lambda x: float(np.std(x, ddof=1)) if x.size > 1 else math.nan,
    "q99": lambda x: float(np.quantile(x.ravel(), 0.99, method="inverted_cdf")),
}


def _venue(world: World, key: str) -> np.ndarray:
    if not world.venue or key not in world.venue:
        raise ValueError(f"the run has no venue output {key!r}")
    return np.asarray(world.venue[key], np.float64).reshape(world.n, -1)[:, 0]


def _metric_function(world: World, ref: MetricRef):
    """``f(idx) -> float`` of one metric on the paths ``idx`` of ``world``."""
    name, group = ref.name, ref.group
    split = split_payoff_name(name)
    if split is not None:
        stat, which = split
        x = payoff_sample(world, group, which)
        func = _PAYOFF_FUNCS[stat]
        return lambda idx: func(np.take(x, idx, axis=0))
    if name in OPTION_METRICS:
        return _option_function(world, ref)
    if name in NETWORK_METRICS:
        return _network_function(world, name)
    if name in REPLAY_METRICS:
        if name not in world.constants:
            raise ValueError(f"the run has no {name!r} (a replay's number)")
        value = float(world.constants[name])
        return lambda idx: value
    if name in PRICE_METRICS:
        r = np.asarray(world.per_path["terminal_log_return"], np.float64)
        funcs = {"price_tail_index": lambda v: _hill_gain(np.abs(v)),
                 "price_kurtosis": _kurtosis,
                 "price_sd": lambda v: float(np.std(v, ddof=1))}
        func = funcs[name]
        return lambda idx: func(r[idx])
    if name in GROUPED:
        d = payoff_sample(world, group, "damped")
        u = payoff_sample(world, group, "undamped")
        d, u = d.reshape(world.n, -1).sum(axis=1), u.reshape(world.n, -1).sum(axis=1)
        h = u - d
        if name == "mean_haircut":
            return lambda idx: float(np.mean(h[idx]))
        if name == "q99_haircut":
            return lambda idx: float(np.quantile(h[idx], 0.99, method="inverted_cdf"))
        if name == "p_haircut":
            cut = h > 1e-6 * np.maximum(1.0, np.abs(u))
            return lambda idx: float(np.mean(cut[idx]))

        def ratio(idx: np.ndarray) -> float:  # damping_ratio
            owed = u[idx] > 0
            total = float(u[idx][owed].sum())
            return float(d[idx][owed].sum()) / total if total > 0 else math.nan

        return ratio
    assert name in VENUE_METRICS
    simple = {
        "p_insolvent": ("insolvent", "p"),
        "p_adl": ("adl_events", "p"),
        "p_winner_touched": ("winners_touched", "p"),
        "mean_net_insolvent_debt": ("net_insolvent_debt", "mean"),
        "q99_net_insolvent_debt": ("net_insolvent_debt", "q99"),
        "mean_capital_injected": ("capital_injected", "mean"),
        "mean_liquidated_notional": ("liquidated_notional", "mean"),
        "mean_adl_notional": ("adl_notional", "mean"),
        "mean_adl_count": ("adl_count", "mean"),
        "mean_fund_final": ("fund_final", "mean"),
        "mean_fund_min": ("fund_min", "mean"),
        "mean_shortfall": ("shortfall", "mean"),
        "mean_gini_haircut": ("gini_haircut", "mean"),
        "mean_max_haircut_pct": ("max_haircut_pct", "mean"),
    }
    if name == "p_fund_exhausted":
        v = _venue(world, "fund_min") <= world.floor + 1e-6
    else:
        key, how = simple[name]
        v = _venue(world, key)
        if how == "p":
            v = v > 0
        elif how == "q99":
            return lambda idx: float(np.quantile(v[idx], 0.99, method="inverted_cdf"))
    v = v.astype(np.float64)
    return lambda idx: float(np.mean(v[idx]))


def _maturity_index(assets: Any, T: float | None) -> int:
    mats = np.asarray(assets.maturities, np.float64)
    if T is None:
        return int(np.argmax(mats))
    hit = np.flatnonzero(np.abs(mats - T) <= 1e-6 * T)
    if not hit.size:
        days = ", ".join(f"{t * 365:g}d" for t in mats)
        raise ValueError(f"maturity {T * 365:g}d was not priced (maturities: {days})")
    return int(hit[0])


def _option_function(world: World, ref: MetricRef):
    """An option metric on the paths ``idx`` (plain Monte Carlo means over them: the paired
    bootstrap then compares the damped and the undamped asset path by path)."""
    from ..pricing._black import implied_vol

    a = world.options
    if a is None:
        raise ValueError(f"{ref.text}: the run has no damped assets (a [pricing] table)")
    spec = option_spec(ref)
    k = _maturity_index(a, spec.maturity)
    T = float(a.maturities[k])
    disc = math.exp(-a.r * T)
    S = np.asarray(a.undamped[:, k], np.float64)
    name = ref.name
    if spec.probe is not None:
        names = list(a.probe_names)
        if spec.probe not in names:
            raise ValueError(f"{ref.text}: no probe {spec.probe!r} (priced: {names})")
        j = names.index(spec.probe)
        A = np.asarray(a.damped[:, k, j], np.float64)
        U = np.asarray(a.entitled[:, k, j], np.float64)
        side, entry = float(a.probe_side[j]), float(a.probe_entry[j])
    if name == "adl_price":
        cost = side * (U - A)
        return lambda idx: disc * float(np.mean(cost[idx]))
    if name == "adl_rate":
        cost = side * (U - A) / (entry * T)
        return lambda idx: disc * float(np.mean(cost[idx]))
    if name in ("forward_damped", "forward_entitled", "forward_undamped"):
        x = {"forward_damped": A if spec.probe else None, "forward_entitled":
             U if spec.probe else None, "forward_undamped": S}[name]
        return lambda idx: float(np.mean(x[idx]))
    x = A if name in ("option_damped", "iv_damped") else S
    K = spec.moneyness * a.s0
    # the out-of-the-money option on the whole sample's forward, the same on every resample
    kind = "put" if K < float(np.mean(x)) else "call"
    pay = np.maximum(K - x, 0.0) if kind == "put" else np.maximum(x - K, 0.0)
    if name.startswith("option_"):
        return lambda idx: disc * float(np.mean(pay[idx]))

    def iv(idx: np.ndarray) -> float:
        price = disc * float(np.mean(pay[idx]))
        spot = float(np.mean(x[idx])) * disc  # Black on the asset's own forward
        sigma, _ = implied_vol(kind, price, spot, K, T, a.r)
        value = float(sigma)
        return value if value > 0 else math.nan  # no time value left: no volatility

    return iv


def _network_function(world: World, name: str):
    net = world.network
    if not net:
        raise ValueError(f"{name}: the run has no network outputs (a network file)")
    failed = np.asarray(net["failed"]).reshape(world.n, -1).sum(axis=1).astype(np.float64)
    loss = np.asarray(net["systemic_loss"], np.float64)
    if name == "p_fail_1plus":
        v = (failed >= 1).astype(np.float64)
    elif name == "p_fail_2plus":
        v = (failed >= 2).astype(np.float64)
    elif name == "mean_failed_venues":
        v = failed
    elif name == "q99_systemic_loss":
        return lambda idx: float(np.quantile(loss[idx], 0.99, method="inverted_cdf"))
    else:
        v = loss
    return lambda idx: float(np.mean(v[idx]))


def _unit(tree) -> str:
    refs = metric_refs(tree)
    units = {r.unit for r in refs}
    if tree[0] == "/" or len(units) != 1:
        return "1" if tree[0] == "/" else "mixed"
    return units.pop()


def _eval_tree(tree, values: Mapping[str, np.ndarray]) -> np.ndarray:
    op = tree[0]
    if op == "num":
        return np.asarray(tree[1])
    if op == "ref":
        return values[tree[1].text]
    if op == "neg":
        return -_eval_tree(tree[1], values)
    a, b = _eval_tree(tree[1], values), _eval_tree(tree[2], values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


def evaluate(
    expressions: Sequence[str],
    worlds: Mapping[str | None, World],
    *,
    resamples: int = 200,
    seed: int = 0,
) -> list[MetricValue]:
    """Evaluate metric expressions on ``worlds`` (key None: the run itself; else a variant's
    label) with paired bootstrap standard errors over the common paths (over whole antithetic
    pairs when a world's paths come in pairs, :attr:`World.paired`)."""
    trees = [parse_expression(e) for e in expressions]
    refs = {r.text: r for t in trees for r in metric_refs(t)}
    used = {r.variant for r in refs.values()}
    missing = [v for v in used if v not in worlds]
    if missing:
        raise ValueError(f"no run for variant(s) {missing}; have {list(worlds)}")
    sizes = {w.n for w in worlds.values()}
    if len(sizes) != 1:
        raise ValueError(f"the worlds have different numbers of paths: {sorted(sizes)}")
    ok = np.logical_and.reduce([w.finite() for w in worlds.values()])
    rng = np.random.default_rng(seed)
    if any(w.paired for w in worlds.values()):
        # antithetic paths: 2j and 2j + 1 are one draw, so a pair is resampled as a whole
        pairs = np.flatnonzero(ok[0::2] & ok[1::2])
        keep = np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel()
        draws = [keep] + [np.stack([2 * (b := rng.choice(pairs, size=pairs.size)), 2 * b + 1],
                                   axis=1).ravel() for _ in range(resamples)]
    else:
        keep = np.flatnonzero(ok)
        draws = [keep] + [rng.choice(keep, size=keep.size, replace=True)
                          for _ in range(resamples)]
    values = {}
    for text, ref in refs.items():
        func = _metric_function(worlds[ref.variant], ref)
        values[text] = np.array([func(idx) for idx in draws])
    out = []
    for expr, tree in zip(expressions, trees, strict=True):
        reps = np.asarray(_eval_tree(tree, values), np.float64) * np.ones(len(draws))
        value = float(reps[0])
        boot = reps[1:][np.isfinite(reps[1:])]
        if boot.size < 2:
            se = math.nan
        else:  # a constant (a recorded figure, one path's number) has no error at all
            se = 0.0 if np.ptp(boot) == 0 else float(np.std(boot, ddof=1))
        out.append(MetricValue(expr, value, se, _unit(tree), int(keep.size)))
    return out


def _decide_check(m: MetricValue, op: str, value: float, z_need: float, tol: float) -> tuple:
    diff = m.value - value
    if not math.isfinite(m.value):
        return math.nan, INCONCLUSIVE
    se = m.se if math.isfinite(m.se) else math.inf
    if op == "==":  # z: how many errors the distance lies beyond the tolerance
        over = abs(diff) - tol
        z = over / se if se > 0 else (math.copysign(math.inf, over) if over else 0.0)
        return z, HELD if over <= z_need * (se if se < math.inf else 0) else NOT_HELD
    sign = 1.0 if op in (">", ">=") else -1.0
    d = sign * diff
    if se == 0:
        strict = op in (">", "<")
        held = d > 0 if strict else d >= 0
        return (math.inf if d > 0 else -math.inf if d < 0 else 0.0), HELD if held else NOT_HELD
    z = d / se
    if z >= z_need:
        return sign * z, HELD
    if z <= -z_need:
        return sign * z, NOT_HELD
    return sign * z, INCONCLUSIVE


def decide(
    claim: ClaimConfig, worlds: Mapping[str | None, World], *, seed: int = 0
) -> Verdict:
    """The :class:`Verdict` of ``claim`` on ``worlds`` (see the module docstring)."""
    exprs = [c.metric for c in claim.checks] + list(claim.headline)
    values = evaluate(exprs, worlds, resamples=claim.resamples, seed=seed)
    checks = []
    for c, m in zip(claim.checks, values, strict=False):
        z, outcome = _decide_check(m, c.op, c.value, c.significance, c.tolerance)
        checks.append(CheckResult(m, c.op, c.value, c.significance, c.tolerance, z, outcome,
                                  c.label))
    outcomes = [c.outcome for c in checks]
    if claim.combine == "all":
        outcome = (NOT_HELD if NOT_HELD in outcomes else
                   HELD if all(o == HELD for o in outcomes) else INCONCLUSIVE)
    else:
        outcome = (HELD if HELD in outcomes else
                   NOT_HELD if all(o == NOT_HELD for o in outcomes) else INCONCLUSIVE)
    n = values[0].n_paths if values else 0
    return Verdict(claim.statement, claim.source, outcome, claim.combine, tuple(checks),
                   tuple(values[len(claim.checks):]), n, claim.resamples)


#: the payoff statistics' names, for the docs
PAYOFF_METRICS = tuple(f"{s}_{w}" for s in PAYOFF_STATS for w in ("damped", "undamped"))
