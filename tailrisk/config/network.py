"""A network file: several venues on shared or correlated price paths, and the links between them.

``[run]`` and ``[model]`` are the single-venue tables (one price model for all venues);
``[network]`` holds the clearing and path settings; ``[venues.<name>]`` is a whole ``[venue]``
table per venue (with its ``population``); the links are arrays of tables: ``[[hedgers]]``,
``[[custodians]]``, ``[[credit_lines]]``, ``[[runs]]``, and ``[[firms]]`` (lenders that are not
venues). docs/contagion.md describes every key. As everywhere, every problem of a file is
reported at once, naming the key, the value and what is allowed. Money in USD, quantities in
contracts.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError

from ._base import Frozen as _Frozen
from .claim import ClaimConfig
from .errors import ConfigError
from .experiment import _problems, _tuples
from .models import ModelConfig
from .run import RunConfig
from .venue import VenueConfig

__all__ = [
    "CreditLineConfig",
    "CustodianConfig",
    "FirmConfig",
    "HedgerConfig",
    "NetworkConfig",
    "NetworkExperiment",
    "RunLinkConfig",
    "is_network_document",
    "load_network_config",
    "network_config_hash",
    "parse_network_config",
]

#: finite numbers only: a network's money must add up
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class NetworkConfig(_Frozen):
    """``[network]``: how the venues' paths relate and how obligations clear."""

    #: "shared": one price path for every venue; "correlation": each venue its own path, the
    #: log increments mixed by the Cholesky factor of ``correlation`` (or of a one-factor matrix
    #: with ``common_factor`` as every off-diagonal entry)
    paths: Literal["shared", "correlation"] = "shared"
    correlation: tuple[tuple[float, ...], ...] | None = None
    common_factor: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] | None = None
    clearing: Literal["eisenberg_noe", "rogers_veraart"] = "eisenberg_noe"
    #: Rogers–Veraart default costs: share of outside assets / of receivables a defaulter realises
    alpha: Share = 1.0
    beta: Share = 1.0
    #: rounds of venue outcomes -> clearing -> new shortfalls (a path that still changes after
    #: this many is flagged as not converged)
    max_rounds: Annotated[int, Field(ge=1, le=100)] = 20
    #: false: every link cut (the baseline: the same venues in isolation on the same paths)
    links: bool = True


class HedgerConfig(_Frozen):
    """A trader long on one venue and short on another, with limited outside capital.

    Each leg is an account of its venue's population (entry at ``s0``, recourse: never
    liquidated, its loss beyond its margin is owed by the hedger). A haircut on the winning leg
    can leave the hedger unable to pay the losing leg.
    """

    name: Name
    long_venue: str
    short_venue: str
    #: contracts on each leg
    quantity: PositiveMoney
    leverage: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] = 10.0
    #: USD the hedger can pay from outside the venues
    outside_capital: Money = 0.0
    #: the hedger's legs are never deleveraged (a secret no-ADL agreement)
    exempt: bool = False


class CustodianConfig(_Frozen):
    """Holds a hedger's margin on one venue off-exchange; refuses to transfer it when that
    venue's solvency ratio (fund plus capital left, over fund plus capital at the start) is
    below ``refuse_below``."""

    name: Name
    hedger: str
    venue: str
    #: USD held; None: the leg's initial margin
    holds: Money | None = None
    refuse_below: Share = 0.5


class FirmConfig(_Frozen):
    """A lender that is not a venue: it pays credit lines from ``capital`` (USD)."""

    name: Name
    capital: Money


class CreditLineConfig(_Frozen):
    """``lender`` (a venue or a firm) covers ``borrower``'s hole beyond its fund, ADL and
    capital, up to ``limit`` USD; the drawn amount is the lender's loss."""

    name: Name
    lender: str
    borrower: str
    limit: Money


class RunLinkConfig(_Frozen):
    """Exempt or informed traders withdraw ``amount`` USD of collateral from ``venue`` when its
    fund falls below ``fund_below`` (USD) or, with ``on_adl``, when it deleverages; the share
    ``unbacked`` of the withdrawal is a new shortfall for the venue (collateral it had lent out
    or spent)."""

    name: Name
    venue: str
    amount: Money
    fund_below: Money | None = None
    on_adl: bool = True
    unbacked: Share = 1.0


class NetworkExperiment(_Frozen):
    """A whole network file."""

    run: RunConfig = RunConfig()
    model: ModelConfig
    network: NetworkConfig = NetworkConfig()
    venues: dict[Name, VenueConfig]
    hedgers: tuple[HedgerConfig, ...] = ()
    custodians: tuple[CustodianConfig, ...] = ()
    firms: tuple[FirmConfig, ...] = ()
    credit_lines: tuple[CreditLineConfig, ...] = ()
    runs: tuple[RunLinkConfig, ...] = ()
    #: what the network claims, decided on the run with its links (``@linked``) against the
    #: same paths with every link cut (``@cut``) by ``tailrisk run`` (docs/experiments.md)
    claim: ClaimConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def venue_names(self) -> tuple[str, ...]:
        return tuple(self.venues)

    def correlation_matrix(self) -> np.ndarray:
        """The correlation of the venues' log increments, ``(venues, venues)``."""
        n = len(self.venues)
        if self.network.paths == "shared":
            return np.ones((n, n))
        if self.network.correlation is not None:
            return np.asarray(self.network.correlation, float)
        rho = self.network.common_factor
        return np.full((n, n), rho) + (1 - rho) * np.eye(n)


def _cross_checks(exp: NetworkExperiment) -> list[str]:
    """Problems that involve several tables: names, references, the correlation matrix."""
    out: list[str] = []
    venues = exp.venue_names
    if len(venues) < 2:
        out.append(f"venues: {len(venues)} venue(s) ({', '.join(venues)}); a network needs >= 2")
    firms = [f.name for f in exp.firms]
    links = ([("hedgers", h) for h in exp.hedgers] + [("custodians", c) for c in exp.custodians]
             + [("firms", f) for f in exp.firms] + [("credit_lines", c) for c in exp.credit_lines]
             + [("runs", r) for r in exp.runs])
    seen: dict[str, str] = {v: "venues" for v in venues}
    for table, link in links:
        k = [x for t, x in links if t == table].index(link)
        if link.name in seen:
            out.append(f"{table}[{k}].name = {link.name!r}: already names an entry of "
                       f"{seen[link.name]}; names must be unique across venues and links")
        seen.setdefault(link.name, table)

    def venue_ref(key: str, value: str) -> None:
        if value not in venues:
            out.append(f"{key} = {value!r}: unknown venue; venues are {', '.join(venues)}")

    hedgers = {h.name: h for h in exp.hedgers}
    for k, h in enumerate(exp.hedgers):
        venue_ref(f"hedgers[{k}].long_venue", h.long_venue)
        venue_ref(f"hedgers[{k}].short_venue", h.short_venue)
        if h.long_venue == h.short_venue:
            out.append(f"hedgers[{k}].short_venue = {h.short_venue!r}: must differ from "
                       "long_venue (a hedge spans two venues)")
        for side in ("long_venue", "short_venue"):
            v = exp.venues.get(getattr(h, side))
            if v is not None and v.recourse_default_prob != 0:
                out.append(
                    f"venues.{getattr(h, side)}.recourse_default_prob = "
                    f"{v.recourse_default_prob}: must be 0 on a venue that carries a hedger's "
                    f"leg (hedgers[{k}]): whether the hedger pays is decided by the clearing")
    for k, c in enumerate(exp.custodians):
        venue_ref(f"custodians[{k}].venue", c.venue)
        h = hedgers.get(c.hedger)
        if h is None:
            out.append(f"custodians[{k}].hedger = {c.hedger!r}: unknown hedger; hedgers are "
                       f"{', '.join(hedgers) or '(none)'}")
        elif c.venue not in (h.long_venue, h.short_venue):
            out.append(f"custodians[{k}].venue = {c.venue!r}: hedger {h.name!r} has legs on "
                       f"{h.long_venue!r} and {h.short_venue!r} only")
    for k, c in enumerate(exp.credit_lines):
        if c.lender not in venues and c.lender not in firms:
            out.append(f"credit_lines[{k}].lender = {c.lender!r}: unknown venue or firm; venues "
                       f"are {', '.join(venues)}; firms are {', '.join(firms) or '(none)'}")
        venue_ref(f"credit_lines[{k}].borrower", c.borrower)
        if c.lender == c.borrower:
            out.append(f"credit_lines[{k}].borrower = {c.borrower!r}: must differ from lender")
    for k, r in enumerate(exp.runs):
        venue_ref(f"runs[{k}].venue", r.venue)
        if r.fund_below is None and not r.on_adl:
            out.append(f"runs[{k}]: needs a trigger: fund_below (USD) or on_adl = true")
    net = exp.network
    if net.paths == "correlation":
        if exp.model.mode != "physical":
            out.append(f"model.mode = {exp.model.mode!r}: correlated venue paths mix increments "
                       "around the physical drift; use mode = 'physical' or paths = 'shared'")
        if (net.correlation is None) == (net.common_factor is None):
            out.append("network.correlation: with paths = 'correlation' give exactly one of "
                       "correlation (a matrix) or common_factor (a number in [-1, 1])")
        elif net.correlation is not None:
            out.extend(_matrix_problems(net.correlation, len(venues)))
        else:
            c = exp.correlation_matrix()
            if np.linalg.eigvalsh(c).min() < -1e-10:
                out.append(f"network.common_factor = {net.common_factor}: gives a correlation "
                           f"matrix that is not positive semi-definite for {len(venues)} venues "
                           f"(needs >= {-1 / (len(venues) - 1):.4g})")
    elif net.correlation is not None or net.common_factor is not None:
        out.append("network.paths = 'shared': correlation and common_factor need "
                   "paths = 'correlation'")
    if net.clearing == "eisenberg_noe" and (net.alpha != 1 or net.beta != 1):
        out.append(f"network.alpha = {net.alpha}, network.beta = {net.beta}: default costs need "
                   "clearing = 'rogers_veraart' (Eisenberg–Noe has alpha = beta = 1)")
    return out + _claim_problems(exp)


def _claim_problems(exp: NetworkExperiment) -> list[str]:
    """A network claim names network metrics only, in the worlds ``linked`` and ``cut``."""
    from .claim import NETWORK_METRICS, NETWORK_WORLDS, metric_refs, parse_expression

    if exp.claim is None:
        return []
    exprs = [(f"claim.checks[{i}].metric", c.metric) for i, c in enumerate(exp.claim.checks)]
    exprs += [(f"claim.headline[{i}]", h) for i, h in enumerate(exp.claim.headline)]
    out = []
    for key, expr in exprs:
        for ref in metric_refs(parse_expression(expr)):
            if ref.name not in NETWORK_METRICS:
                out.append(f"{key} = {expr!r}: {ref.name} is not a network metric; a network "
                           f"file's claim takes {', '.join(NETWORK_METRICS)}")
            if ref.variant is not None and ref.variant not in NETWORK_WORLDS:
                out.append(f"{key} = {expr!r}: no world {ref.variant!r} (a network claim has "
                           f"{' and '.join('@' + w for w in NETWORK_WORLDS)})")
    return out


def _matrix_problems(rows: tuple[tuple[float, ...], ...], n: int) -> list[str]:
    key = "network.correlation"
    if any(len(r) != len(rows) for r in rows):
        return [f"{key}: rows of lengths {[len(r) for r in rows]}: must be a square matrix"]
    if len(rows) != n:
        return [f"{key}: a {len(rows)}x{len(rows)} matrix: must be {n}x{n} (one row a venue)"]
    c = np.asarray(rows, float)
    if not np.all(np.isfinite(c)):
        return [f"{key}: every entry must be finite"]
    out = []
    if not np.allclose(c, c.T, atol=1e-12):
        out.append(f"{key}: must be symmetric")
    if not np.allclose(np.diag(c), 1.0, atol=1e-12) or np.any(np.abs(c) > 1 + 1e-12):
        out.append(f"{key}: the diagonal must be 1 and every entry in [-1, 1]")
    low = float(np.linalg.eigvalsh((c + c.T) / 2).min())
    if low < -1e-10:
        out.append(f"{key}: not positive semi-definite (smallest eigenvalue {low:.4g}); "
                   "a correlation matrix needs every eigenvalue >= 0")
    return out


def parse_network_config(data: dict[str, Any], source: str = "<network>") -> NetworkExperiment:
    """Validate a parsed network TOML document; raises :class:`ConfigError` with every problem."""
    data = _tuples(data)
    missing = [f"[{t}]: required table is missing" for t in ("model", "venues") if t not in data]
    if missing:
        raise ConfigError(source, missing)
    try:
        exp = NetworkExperiment.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, _problems(err)) from None
    problems = _cross_checks(exp)
    if problems:
        raise ConfigError(source, problems)
    return exp


def network_config_hash(exp: NetworkExperiment) -> str:
    """A stable hash of the validated network configuration (hex, 16 characters)."""
    blob = json.dumps(exp.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_network_config(path: str | Path) -> NetworkExperiment:
    """Read and validate a network TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), [f"not valid TOML: {err}"]) from None
    return parse_network_config(data, str(path))


def is_network_document(data: dict[str, Any]) -> bool:
    """Whether a parsed TOML document is a network file (it has a ``[venues]`` table)."""
    return isinstance(data.get("venues"), dict)

