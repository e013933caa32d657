"""``[claim]``: what an experiment claims, in words, and the rule its numbers decide it by.

A claim has a statement (one or two sentences citing the article's section) and a list of
checks. Each check compares a *metric expression* with a value::

    [claim]
    statement = "ADL damps payoffs ... (Liquidation Alchemy Part 2, 'The BitMEX OG Setup')"
    checks = [
      { metric = "tail_index_damped[sides] - tail_index_undamped[sides]", op = ">", value = 0 },
    ]

A metric expression is arithmetic (``+ - * /``, parentheses, numbers) over metric names from a
small vocabulary (:data:`PAYOFF_STATS`, :data:`VENUE_METRICS`, :data:`PRICE_METRICS`,
:data:`OPTION_METRICS`, :data:`NETWORK_METRICS`, :data:`REPLAY_METRICS`), each with an optional
``[group]`` (which accounts' payoffs) and, in a study, an ``@variant`` label (which variant's
run). The option metrics take ``[probe:NAME, m=K/S0, T=maturity]`` instead of a group (see
:func:`option_spec`); a network file's claim compares the worlds ``@linked`` and ``@cut`` (the
same paths with every link cut). The verdict layer (:mod:`tailrisk.studies.verdict`) evaluates
an expression on the run's paths and gives it a paired-bootstrap standard error; a check
*holds* when the value is beyond ``value`` by more than ``significance`` standard errors in the
direction of ``op``, *does not hold* when it is beyond by as much the other way, and is
*inconclusive* in between. ``op = "=="`` holds when ``|metric - value| <= tolerance`` (and
``significance`` errors).

Everything here is plain Python: the names are checked against the vocabulary and the variant
labels against the ``[study]`` table when the whole file is validated (``experiment.py``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ._base import Frozen as _Frozen

__all__ = [
    "GROUP_RE",
    "NETWORK_METRICS",
    "NETWORK_WORLDS",
    "OPS",
    "OPTION_METRICS",
    "PAYOFF_STATS",
    "PRICE_METRICS",
    "REPLAY_METRICS",
    "VENUE_METRICS",
    "WORLDS",
    "CheckConfig",
    "ClaimConfig",
    "MetricRef",
    "OptionSpec",
    "metric_refs",
    "option_spec",
    "parse_expression",
]

#: statistics of a payoff sample (per path: the group's payoff, USD), with their units
PAYOFF_STATS = {
    "tail_index": "1",  # Hill tail index of the gains (k = ceil(sqrt(n)))
    "tail_index_loss": "1",  # Hill tail index of the losses
    "kurtosis": "1",  # excess kurtosis of the payoff
    "es99": "USD",  # expected shortfall at 99 % of the gains (mean of the best 1 %)
    "es99_loss": "USD",  # expected shortfall at 99 % of the losses
    "mean": "USD",
    "sd": "USD",
    "q99": "USD",  # 99 % quantile of the payoff
}
#: the two worlds of docs/model.md, damped and undamped: what is paid and what is owed
WORLDS = ("damped", "undamped")
#: venue metrics (per path, then a mean or a probability over paths), with their units;
#: those marked with a group take one (default "sides")
VENUE_METRICS = {
    "p_insolvent": "1",
    "p_adl": "1",
    "p_fund_exhausted": "1",
    "p_winner_touched": "1",
    "p_recourse_default": "1",
    "mean_net_insolvent_debt": "USD",
    "q99_net_insolvent_debt": "USD",
    "mean_capital_injected": "USD",
    "mean_liquidated_notional": "USD",
    "mean_adl_notional": "USD",
    "mean_adl_count": "accounts",
    "mean_fund_final": "USD",
    "mean_fund_min": "USD",
    "mean_shortfall": "USD",
    "mean_gini_haircut": "1",
    "mean_max_haircut_pct": "%",  # of what the winner was owed
    "mean_haircut": "USD",  # group: undamped - damped payoff
    "q99_haircut": "USD",  # group
    "damping_ratio": "1",  # group: E[damped | owed > 0] / E[undamped | owed > 0]
    "p_haircut": "1",  # group: P(undamped - damped > 1e-6 of the owed)
}
#: metrics that take a group
GROUPED = frozenset({"mean_haircut", "q99_haircut", "damping_ratio", "p_haircut"})
#: price metrics (no venue needed): statistics of the terminal log return log(S_T / S_0)
PRICE_METRICS = {
    "price_tail_index": "1",  # Hill tail index of |log(S_T / S_0)|
    "price_kurtosis": "1",
    "price_sd": "log units",
}
#: options on damped assets (a ``[pricing]`` table; docs/pricing.md), at the maturity ``T`` (default
#: the longest of ``pricing.maturities``); per unit of the underlying, discounted at the model's
#: rate. Those marked "probe" need ``probe:NAME``, those marked "m" a strike ``m = K / S0``.
OPTION_METRICS = {
    "adl_price": "USD",  # probe: the entitled minus the damped forward, signed as a cost
    "adl_rate": "1/yr",  # probe: adl_price / (entry price x T)
    "forward_damped": "USD",  # probe: mean of the damped asset A(T) (undiscounted)
    "forward_entitled": "USD",  # probe: mean of the entitled asset U(T)
    "forward_undamped": "USD",  # mean of S(T)
    "option_damped": "USD",  # probe, m: out-of-the-money option on A(T) (put below its forward)
    "option_undamped": "USD",  # m: the same option on S(T)
    "iv_damped": "annualised",  # probe, m: Black implied volatility of option_damped
    "iv_undamped": "annualised",  # m: Black implied volatility of option_undamped
}
OPTION_NEEDS_PROBE = frozenset({"adl_price", "adl_rate", "forward_damped", "forward_entitled",
                                "option_damped", "iv_damped"})
OPTION_NEEDS_STRIKE = frozenset({"option_damped", "option_undamped", "iv_damped",
                                 "iv_undamped"})
#: a network file (docs/contagion.md): per path, how many venues fail (insolvent: past their
#: capital) and the systemic loss; the worlds are the run with its links and with them cut
NETWORK_METRICS = {
    "p_fail_1plus": "1",  # P(at least one venue fails)
    "p_fail_2plus": "1",  # P(at least two venues fail)
    "mean_failed_venues": "venues",
    "mean_systemic_loss": "USD",  # haircuts + capital injected + unpaid debt + firms' losses
    "q99_systemic_loss": "USD",
}
#: the worlds of a network claim: ``@linked`` (the file as written) and ``@cut`` (every link cut)
NETWORK_WORLDS = ("linked", "cut")
#: the replay of recorded prices (a ``[replay]`` table; docs/replay.md): the model on the
#: recorded path (path 0 of the conditioned Monte Carlo, no error) and the recorded figures
REPLAY_METRICS = {
    "path0_liquidated_notional": "USD",
    "path0_adl_notional": "USD",
    "path0_adl_count": "account closes",
    "path0_first_adl_delay_s": "s",  # first ADL minus the recorded first liquidation
    "path0_cascade_to_adl_s": "s",  # from the model's own cascade start to its first ADL
    "recorded_liquidated_notional": "USD",  # BTC liquidations recorded on Hyperliquid
    "recorded_adl_notional": "USD",
    "recorded_adl_count": "account closes",  # BTC ADL events
    "recorded_first_adl_delay_s": "s",  # 61.7 s
}
#: a group: the long side, the short side, both pooled, a cohort or a probe by name
GROUP_RE = re.compile(r"^(long|short|sides|cohort:[^\]\[@]+|probe:[^\]\[@]+)$")
OPS = (">", ">=", "<", "<=", "==")

_NAME = r"[a-z][a-z0-9_]*"
_TOKEN = re.compile(
    rf"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
    rf"|(?P<ref>{_NAME}(?:\[[^\]]*\])?(?:@[A-Za-z0-9_.-]+)?)"
    rf"|(?P<op>[-+*/()]))"
)


@dataclass(frozen=True)
class MetricRef:
    """One metric of an expression: ``name[group]@variant`` (group and variant optional)."""

    text: str
    name: str
    group: str | None
    variant: str | None

    @property
    def unit(self) -> str:
        for vocab in (VENUE_METRICS, PRICE_METRICS, OPTION_METRICS, NETWORK_METRICS,
                      REPLAY_METRICS):
            if self.name in vocab:
                return vocab[self.name]
        stat, _ = split_payoff_name(self.name) or ("", "")
        return PAYOFF_STATS.get(stat, "")


def split_payoff_name(name: str) -> tuple[str, str] | None:
    """``"tail_index_damped"`` -> ``("tail_index", "damped")``; None if not a payoff metric."""
    for world in WORLDS:
        suffix = "_" + world
        if name.endswith(suffix) and name[: -len(suffix)] in PAYOFF_STATS:
            return name[: -len(suffix)], world
    return None


def _ref(text: str) -> MetricRef:
    m = re.fullmatch(rf"({_NAME})(?:\[([^\]]*)\])?(?:@([A-Za-z0-9_.-]+))?", text)
    assert m is not None  # the tokenizer matched the same pattern
    return MetricRef(text, m.group(1), m.group(2), m.group(3))


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read {expr[pos:].strip()[:20]!r} (position {pos})")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_expression(expr: str):
    """Parse a metric expression into a tree: ``("num", x)``, ``("ref", MetricRef)``,
    ``("neg", t)`` or ``(op, left, right)`` with op in ``+ - * /``. Raises ValueError."""
    toks = _tokens(expr)
    if not toks:
        raise ValueError("empty expression")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise ValueError("the expression ends too early")
        pos += 1
        return tok

    def atom():
        kind, text = take()
        if kind == "num":
            return ("num", float(text))
        if kind == "ref":
            return ("ref", _ref(text))
        if text == "(":
            inner = sum_()
            if take() != ("op", ")"):
                raise ValueError("a '(' is not closed")
            return inner
        if text == "-":
            return ("neg", atom())
        raise ValueError(f"unexpected {text!r}")

    def product():
        node = atom()
        while (tok := peek()) is not None and tok[1] in ("*", "/"):
            take()
            node = (tok[1], node, atom())
        return node

    def sum_():
        node = product()
        while (tok := peek()) is not None and tok[1] in ("+", "-"):
            take()
            node = (tok[1], node, product())
        return node

    tree = sum_()
    if pos != len(toks):
        raise ValueError(f"unexpected {toks[pos][1]!r} after a complete expression")
    return tree


def metric_refs(tree) -> list[MetricRef]:
    """The metric names of a parsed expression, in order."""
    if tree[0] == "ref":
        return [tree[1]]
    if tree[0] == "num":
        return []
    return [r for t in tree[1:] for r in metric_refs(t)]


@dataclass(frozen=True)
class OptionSpec:
    """The qualifiers of an option metric: ``[probe:NAME, m=K/S0, T=maturity]``, any order."""

    probe: str | None = None
    moneyness: float | None = None
    maturity: float | None = None  # years; None: the longest of pricing.maturities


def option_spec(ref: MetricRef) -> OptionSpec:
    """Parse the bracket of an option metric; raises ValueError saying what is allowed."""
    from .pricing import parse_maturity

    probe = m = T = None
    for part in (p.strip() for p in (ref.group or "").split(",") if p.strip()):
        if part.startswith("probe:") and len(part) > 6 and probe is None:
            probe = part[6:].strip()
        elif part.startswith("m=") and m is None:
            try:
                m = float(part[2:])
            except ValueError:
                m = math.nan
            if not (math.isfinite(m) and m > 0):
                raise ValueError(f"{part!r}: m is the strike over the start price, a positive "
                                 "number such as m=0.8")
        elif part.startswith("T=") and T is None:
            T = parse_maturity(part[2:].strip())
        else:
            raise ValueError(f"{part!r}: allowed in the brackets are probe:NAME, m=K/S0 and "
                             "T=maturity (e.g. '30d'), each once")
    name = ref.name
    if name in OPTION_NEEDS_PROBE and probe is None:
        raise ValueError(f"{name} needs probe:NAME in its brackets")
    if name not in OPTION_NEEDS_PROBE and probe is not None:
        raise ValueError(f"{name} is about the undamped asset: it takes no probe")
    if name in OPTION_NEEDS_STRIKE and m is None:
        raise ValueError(f"{name} needs a strike m=K/S0 in its brackets")
    if name not in OPTION_NEEDS_STRIKE and m is not None:
        raise ValueError(f"{name} takes no strike m")
    return OptionSpec(probe, m, T)


def ref_problem(ref: MetricRef) -> str | None:
    """What is wrong with one metric name (None when it is in the vocabulary)."""
    name, group = ref.name, ref.group
    if name in OPTION_METRICS:
        try:
            option_spec(ref)
        except ValueError as err:
            return f"{ref.text!r}: {err}"
        return None
    if name in NETWORK_METRICS or name in REPLAY_METRICS:
        if group is not None:
            return f"{ref.text!r}: {name} takes no [group]"
        return None
    if name in VENUE_METRICS or name in PRICE_METRICS:
        if group is not None and name not in GROUPED:
            return f"{ref.text!r}: {name} takes no [group]"
    elif split_payoff_name(name) is None:
        stats = ", ".join(f"{s}_{w}" for s in PAYOFF_STATS for w in WORLDS)
        return (f"{ref.text!r}: unknown metric {name!r}; allowed: payoff statistics {stats}; "
                f"venue metrics {', '.join(VENUE_METRICS)}; price metrics "
                f"{', '.join(PRICE_METRICS)}; option metrics {', '.join(OPTION_METRICS)}; "
                f"network metrics {', '.join(NETWORK_METRICS)}; replay metrics "
                f"{', '.join(REPLAY_METRICS)}")
    if group is not None and not GROUP_RE.match(group):
        return (f"{ref.text!r}: group {group!r} must be long, short, sides, cohort:<name> or "
                "probe:<name>")
    return None


class CheckConfig(_Frozen):
    """One check of a claim: ``metric op value``, decided at ``significance`` standard errors."""

    #: a metric expression (see the module docstring)
    metric: str
    op: Literal[">", ">=", "<", "<=", "=="]
    value: float
    #: standard errors the metric must lie beyond ``value`` for a verdict (0 to 10)
    significance: Annotated[float, Field(ge=0, le=10)] = 2.0
    #: ``==`` only: the largest distance from ``value`` that still counts as equal (>= 0)
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    #: what the check means, in words (optional; shown on the claim page)
    label: str = ""

    @field_validator("metric")
    @classmethod
    def _expression(cls, v: str) -> str:
        try:
            tree = parse_expression(v)
        except ValueError as err:
            raise ValueError(f"not a metric expression: {err}") from None
        problems = [p for r in metric_refs(tree) if (p := ref_problem(r))]
        if not metric_refs(tree):
            problems.append("names no metric")
        if problems:
            raise ValueError("; ".join(problems))
        return v


class ClaimConfig(_Frozen):
    """The claim of an experiment and the checks its numbers decide it by."""

    #: the claim in words, citing the article's section (one or two sentences)
    statement: Annotated[str, Field(min_length=10, max_length=600)]
    #: the article or source the claim comes from (title, section)
    source: str = ""
    #: one to twelve checks
    checks: tuple[CheckConfig, ...]
    #: the claim holds when every check holds ("all") or when at least one does ("any")
    combine: Literal["all", "any"] = "all"
    #: paired bootstrap resamples over paths for the standard errors (50 to 2,000)
    resamples: Annotated[int, Field(ge=50, le=2000)] = 200
    #: headline numbers shown on the claim page: metric expressions, like the checks'
    headline: tuple[str, ...] = ()

    @field_validator("checks")
    @classmethod
    def _some_checks(cls, v: tuple[CheckConfig, ...]) -> tuple[CheckConfig, ...]:
        if not 1 <= len(v) <= 12:
            raise ValueError(f"give 1 to 12 checks, got {len(v)}")
        return v

    @field_validator("headline")
    @classmethod
    def _headline(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        problems = []
        for i, expr in enumerate(v):
            try:
                tree = parse_expression(expr)
            except ValueError as err:
                problems.append(f"[{i}] = {expr!r}: not a metric expression: {err}")
                continue
            problems += [f"[{i}]: {p}" for r in metric_refs(tree) if (p := ref_problem(r))]
        if problems:
            raise ValueError("; ".join(problems))
        return v
