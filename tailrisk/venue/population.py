"""Account populations of one venue: a seeded generator, a CSV loader, and probe accounts.

Both builders return an :class:`Accounts` table with the configured probes appended at the end.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np

from ..config._base import MAX_ACCOUNTS, MAX_LEVERAGE, MAX_PRICE, MIN_LEVERAGE, MIN_PRICE
from ..config.venue import MAX_QUANTITY, PopulationConfig, VenueConfig
from ._accounts import Accounts

__all__ = [
    "PopulationError",
    "build_population",
    "cohort_names",
    "generate_population",
    "load_population_csv",
    "maintenance_rate",
]

# tailrisk._rng.STREAM_POPULATION, not imported: _rng loads jax, and the config layer imports
# this package without it (tests check that the two agree)
STREAM_POPULATION = 3
_MAX_LISTED = 20
_REQUIRED = ("side", "quantity", "entry", "leverage")
_OPTIONAL = ("mmr", "exempt", "recourse", "cohort", "cap", "id")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


class PopulationError(ValueError):
    """A population file or setting that cannot be turned into accounts."""


def maintenance_rate(notional, tiers) -> np.ndarray:
    """Maintenance margin rate of each entry notional (USD) from ``(from_usd, rate)`` tiers."""
    froms = np.array([t[0] for t in tiers], np.float64)
    rates = np.array([t[1] for t in tiers], np.float64)
    k = np.searchsorted(froms, np.asarray(notional, np.float64), side="right") - 1
    return rates[np.clip(k, 0, len(rates) - 1)]


def cohort_names(edges) -> tuple[str, ...]:
    """Default cohorts "long|short x leverage bucket": longs' buckets first, then shorts'."""
    edges = [float(e) for e in edges]
    fmt = [f"{e:g}" for e in edges]
    if not edges:
        buckets = ["all"]
    else:
        buckets = [f"<{fmt[0]}x"]
        buckets += [f"{a}-{b}x" for a, b in itertools.pairwise(fmt)]
        buckets += [f"{fmt[-1]}x+"]
    return tuple(f"{side} {b}" for side in ("long", "short") for b in buckets)


def _default_cohort(side: np.ndarray, leverage: np.ndarray, edges) -> np.ndarray:
    n_buckets = len(edges) + 1
    bucket = np.searchsorted(np.asarray(edges, np.float64), leverage, side="right")
    return np.where(side > 0, 0, n_buckets) + bucket


def adl_rank_cohorts(side, quantity, entry, leverage, s0: float, buckets: int):
    """Cohorts "long|short x ADL rank bucket" at the start price ``s0``.

    Within each side, accounts in profit at ``s0`` are ordered by the BitMEX queue score
    ``pnl% x effective leverage`` (first in the queue = rank 1) and cut into ``buckets`` groups of
    (nearly) equal count; accounts not in profit form a last group. Returns (cohort, names).
    """
    side = np.asarray(side)
    upnl = side * quantity * (s0 - entry)
    equity = quantity * entry / leverage + upnl
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where((upnl > 0) & (equity > 0),
                         side * (s0 - entry) / entry * quantity * s0 / equity, -np.inf)
    cohort = np.empty(side.shape[0], np.int64)
    names = []
    for k, sgn in enumerate((1, -1)):
        base = k * (buckets + 1)
        label = "long" if sgn > 0 else "short"
        names += [f"{label} rank {b + 1}/{buckets}" for b in range(buckets)]
        names.append(f"{label} not in profit")
        mine = np.flatnonzero(side == sgn)
        profit = mine[np.isfinite(score[mine])]
        order = profit[np.lexsort((profit, -score[profit]))]
        cohort[mine] = base + buckets
        if order.size:
            cohort[order] = base + (np.arange(order.size) * buckets) // order.size
    return cohort, tuple(names)


def _flag_rule(notional, largest: int, share: float, ids, u, what: str) -> np.ndarray:
    """Flag the ``largest`` by notional, a random ``share`` (uniforms ``u``) and ``ids``."""
    n = notional.shape[0]
    flag = u < share
    if largest:
        flag[np.argsort(-notional, kind="stable")[: min(largest, n)]] = True
    bad = [i for i in ids if i >= n]
    if bad:
        raise PopulationError(f"venue.population.{what}_ids {bad}: only {n} accounts (0..{n - 1})")
    flag[list(ids)] = True
    return flag


def _backcast_entries(rng, s0: float, n: int, days: float, vol: float) -> np.ndarray:
    """Entry prices along a GBM path back-cast from ``s0`` over the last ``days`` days."""
    if days <= 0 or vol <= 0:
        return np.full(n, s0)
    n_days = math.ceil(days)
    dt = 1.0 / 365.0
    # log price k days ago; the path runs backwards from today, driftless in the price
    steps = vol * math.sqrt(dt) * rng.standard_normal(n_days) - 0.5 * vol**2 * dt
    log_back = math.log(s0) - np.r_[0.0, np.cumsum(steps)]
    ago = rng.uniform(0.0, days, n)
    return np.exp(np.interp(ago, np.arange(n_days + 1, dtype=np.float64), log_back))


def generate_population(cfg: PopulationConfig, s0: float, seed: int) -> Accounts:
    """Draw ``cfg.n_accounts`` accounts (deterministic in ``seed``), probes appended.

    Sides are long with probability ``long_share``; leverage is a level drawn with
    ``leverage_weights`` times ``exp(Uniform(-jitter, jitter))``; the entry notional is lognormal
    (median ``size_median_usd``, log-sd ``size_sigma``), except for a ``whale_share`` of whales,
    Pareto(``whale_alpha``) above ``whale_min_usd``; entries lie on a back-cast GBM of the last
    ``entry_days`` days, except that an account that would already be liquidated at ``s0``
    enters at ``s0`` (the population is the venue's survivors); the maintenance rate comes from
    ``mm_tiers`` by entry notional, and leverage is capped at ``0.5 / rate`` (initial margin at
    least twice the maintenance margin, as venues' tier tables do).
    """
    if not (s0 > 0 and math.isfinite(s0)):
        raise PopulationError(f"start price s0 = {s0}: must be a positive USD price")
    rng = np.random.default_rng([seed, STREAM_POPULATION])
    n = cfg.n_accounts
    side = np.where(rng.random(n) < cfg.long_share, 1, -1)
    weights = np.asarray(cfg.leverage_weights, np.float64)
    level = rng.choice(np.asarray(cfg.leverage_levels), size=n, p=weights / weights.sum())
    leverage = level * np.exp(rng.uniform(-cfg.leverage_jitter, cfg.leverage_jitter, n))
    notional = np.exp(math.log(cfg.size_median_usd) + cfg.size_sigma * rng.standard_normal(n))
    whale = rng.random(n) < cfg.whale_share
    pareto = cfg.whale_min_usd * (1.0 + rng.pareto(cfg.whale_alpha, n))
    notional = np.where(whale, pareto, notional)
    entry = _backcast_entries(rng, s0, n, cfg.entry_days, cfg.entry_vol)
    # Survivors only: an account already at or past its liquidation price at s0 would have been
    # liquidated before the simulation starts, so it opened at s0 instead.
    mmr_at_entry = maintenance_rate(notional, cfg.mm_tiers)
    # venues cap leverage by tier: initial margin at least twice the maintenance margin
    leverage = np.minimum(leverage, 0.5 / np.maximum(mmr_at_entry, 1e-12))
    liq = entry * (1.0 - side / leverage) / (1.0 - side * mmr_at_entry)
    dead = np.where(side > 0, s0 <= liq, s0 >= liq)
    entry = np.where(dead, s0, entry)
    exempt = _flag_rule(
        notional, cfg.exempt_largest, cfg.exempt_share, cfg.exempt_ids, rng.random(n), "exempt"
    )
    recourse = _flag_rule(
        notional,
        cfg.recourse_largest,
        cfg.recourse_share,
        cfg.recourse_ids,
        rng.random(n),
        "recourse",
    )
    if cfg.cohort_by == "adl_rank":
        cohort, names = adl_rank_cohorts(side, notional / entry, entry, leverage, s0,
                                         cfg.adl_rank_buckets)
    else:
        cohort = _default_cohort(side, leverage, cfg.cohort_leverage_edges).astype(np.int64)
        names = cohort_names(cfg.cohort_leverage_edges)
    acc = Accounts(
        side=side.astype(np.int64),
        quantity=notional / entry,
        entry=entry,
        leverage=leverage,
        mmr=maintenance_rate(notional, cfg.mm_tiers),
        exempt=exempt,
        recourse=recourse,
        cap=np.ones(n),
        cohort=cohort,
        cohort_names=names,
    )
    return _append_probes(acc, cfg, s0)


def _append_probes(acc: Accounts, cfg: PopulationConfig, s0: float) -> Accounts:
    """Append ``cfg.probes`` as accounts in their own cohort "probes" (when there are any)."""
    if not cfg.probes:
        return acc
    p = cfg.probes
    side = np.array([1 if pr.side == "long" else -1 for pr in p], np.int64)
    quantity = np.array([pr.quantity for pr in p], np.float64)
    entry = np.array([s0 if pr.entry is None else pr.entry for pr in p], np.float64)
    leverage = np.array([pr.leverage for pr in p], np.float64)
    names = acc.cohort_names
    if "probes" not in names:
        names = (*names, "probes")
    k = len(p)
    return Accounts(
        side=np.r_[acc.side, side],
        quantity=np.r_[acc.quantity, quantity],
        entry=np.r_[acc.entry, entry],
        leverage=np.r_[acc.leverage, leverage],
        mmr=np.r_[acc.mmr, maintenance_rate(quantity * entry, cfg.mm_tiers)],
        exempt=np.r_[acc.exempt, np.array([pr.exempt for pr in p], bool)],
        recourse=np.r_[acc.recourse, np.zeros(k, bool)],
        cap=np.r_[acc.cap, np.ones(k)],
        cohort=np.r_[acc.cohort, np.full(k, names.index("probes"), np.int64)],
        cohort_names=names,
        probe_index=np.r_[acc.probe_index, acc.n + np.arange(k)].astype(np.int64),
        probe_names=(*acc.probe_names, *(pr.name for pr in p)),
    )


_CSV_UNITS = {"quantity": " contracts", "entry": " USD", "leverage": " (times the margin)"}


def _short(text: str) -> str:
    """A field's text for a message: quoted, and cut when long."""
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} characters)"


def _parse_float(text: str, field: str, lo: float, hi: float, lo_open: bool, hi_open: bool):
    """A number in the interval, or an error message."""
    try:
        x = float(text)
    except ValueError:
        return None, f"{field} = {_short(text)} is not a number"
    if not math.isfinite(x):
        return None, f"{field} = {_short(text)} is not finite"
    if (x <= lo if lo_open else x < lo) or (x >= hi if hi_open else x > hi):
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        unit = _CSV_UNITS.get(field, "")
        return None, f"{field} = {_short(text)} is outside {lb}{lo:g}, {hi:g}{rb}{unit}"
    return x, None


def load_population_csv(path, cfg: PopulationConfig, s0: float) -> Accounts:
    """Accounts from a CSV file, probes appended.

    Columns: ``side`` (long/short), ``quantity`` (contracts, at most 1e15), ``entry`` (USD, 1e-8
    to 1e12), ``leverage`` (0.01 to 1,000); optional ``mmr`` (in [0, 1); empty: from
    ``cfg.mm_tiers`` by entry notional), ``exempt``, ``recourse`` (true/false/1/0/yes/no, empty
    false), ``cohort`` (a label; empty: the default side x leverage cohort), ``cap`` (haircut cap
    in [0, 1], empty 1) and ``id`` (an account's name, unique). The bounds are the config's for
    generated accounts and probes; numbers are finite. Any other column, a column given twice,
    and every bad row are reported, with row number and field, in one :class:`PopulationError`
    before anything is built.
    """
    path = Path(path)
    try:
        # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            raw_header = list(reader.fieldnames or [])
            raw_rows = list(itertools.islice(reader, MAX_ACCOUNTS + 1))
    except OSError as exc:
        raise PopulationError(f"{path}: cannot read the population file ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise PopulationError(
            f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.reason})"
        ) from exc
    except (csv.Error, ValueError) as exc:  # NUL bytes, a field over csv's size limit
        raise PopulationError(f"{path}: not a readable CSV file ({exc})") from exc
    header = [h.strip() for h in raw_header]
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [c for c in header if c not in _REQUIRED + _OPTIONAL]
    twice = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or twice:
        found = [
            *([f"missing column(s) {', '.join(missing)}"] if missing else []),
            *([f"unknown column(s) {', '.join(repr(c) for c in unknown)}"] if unknown else []),
            *([f"column(s) given twice: {', '.join(twice)}"] if twice else []),
        ]
        raise PopulationError(
            f"{path}: {'; '.join(found)} (header is {', '.join(header)}; "
            f"need {', '.join(_REQUIRED)}, optional {', '.join(_OPTIONAL)})"
        )
    if len(raw_rows) > MAX_ACCOUNTS:
        raise PopulationError(f"{path}: more than {MAX_ACCOUNTS:,} accounts (rows)")
    rows, ragged = [], []
    for row in raw_rows:
        ragged.append(None in row or any(v is None for v in row.values()))
        rows.append({k.strip(): v.strip() for k, v in row.items() if k is not None and v})
    if not rows:
        raise PopulationError(f"{path}: no accounts (the file has a header and no rows)")

    errors: list[str] = []
    recs = []
    first_row_of: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        where = f"row {i} (line {i + 1})"
        bad = []
        if "id" in header:
            ident = row.get("id", "")
            if not ident:
                bad.append("id is empty (ids name accounts, one each)")
            elif ident in first_row_of:
                bad.append(f"id = {_short(ident)} is also row {first_row_of[ident]}'s")
            else:
                first_row_of[ident] = i
        side_txt = row.get("side", "").lower()
        side = {"long": 1, "short": -1}.get(side_txt)
        if side is None:
            bad.append(f"side = {_short(row.get('side', ''))} is not long or short")
        q, e1 = _parse_float(row.get("quantity", ""), "quantity", 0, MAX_QUANTITY, True, False)
        entry, e2 = _parse_float(row.get("entry", ""), "entry", MIN_PRICE, MAX_PRICE, False, False)
        lev, e3 = _parse_float(
            row.get("leverage", ""), "leverage", MIN_LEVERAGE, MAX_LEVERAGE, False, False
        )
        bad += [e for e in (e1, e2, e3) if e]
        mmr = None
        if row.get("mmr", ""):
            mmr, e = _parse_float(row["mmr"], "mmr", 0, 1, False, True)
            bad += [e] if e else []
        cap = 1.0
        if row.get("cap", ""):
            cap, e = _parse_float(row["cap"], "cap", 0, 1, False, False)
            bad += [e] if e else []
        flags = {}
        for name in ("exempt", "recourse"):
            txt = row.get(name, "").lower()
            if txt not in _TRUE | _FALSE:
                bad.append(f"{name} = {_short(row[name])} is not true/false")
            flags[name] = txt in _TRUE
        if ragged[i - 1]:
            bad.append("wrong number of fields")
        if bad:
            errors.extend(f"{where}: {msg}" for msg in bad)
            continue
        recs.append(
            (
                side,
                q,
                entry,
                lev,
                mmr,
                flags["exempt"],
                flags["recourse"],
                cap,
                row.get("cohort", ""),
            )
        )
    if errors:
        shown = errors[:_MAX_LISTED]
        more = len(errors) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise PopulationError(
            f"{path}: {len(errors)} bad field(s):\n  " + "\n  ".join(shown) + tail
        )

    side = np.array([r[0] for r in recs], np.int64)
    quantity = np.array([r[1] for r in recs], np.float64)
    entry = np.array([r[2] for r in recs], np.float64)
    leverage = np.array([r[3] for r in recs], np.float64)
    tier_rate = maintenance_rate(quantity * entry, cfg.mm_tiers)
    mmr = np.array([t if r[4] is None else r[4] for r, t in zip(recs, tier_rate, strict=True)])
    default_names = cohort_names(cfg.cohort_leverage_edges)
    default = _default_cohort(side, leverage, cfg.cohort_leverage_edges)
    labels = [r[8] or default_names[d] for r, d in zip(recs, default, strict=True)]
    names = tuple(dict.fromkeys(labels))  # first appearance order
    acc = Accounts(
        side=side,
        quantity=quantity,
        entry=entry,
        leverage=leverage,
        mmr=mmr.astype(np.float64),
        exempt=np.array([r[5] for r in recs], bool),
        recourse=np.array([r[6] for r in recs], bool),
        cap=np.array([r[7] for r in recs], np.float64),
        cohort=np.array([names.index(lb) for lb in labels], np.int64),
        cohort_names=names,
    )
    return _append_probes(acc, cfg, s0)


def build_population(venue: VenueConfig, s0: float, seed: int) -> Accounts:
    """The venue's accounts: from ``population.csv`` when set, else generated; probes appended."""
    cfg = venue.population
    if cfg.csv:
        return load_population_csv(cfg.csv, cfg, s0)
    return generate_population(cfg, s0, seed)
