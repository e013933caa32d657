"""Hyperliquid's 2025-10-10 auto-deleveraging beside the model's ADL policies.

The data (``hyperliquid_adl_20251010/`` in the shared data folder; see its PROVENANCE.md, no
licence: read in place, never copied into the project) lists the 19,337 accounts Hyperliquid
deleveraged between 21:15 and 21:27 UTC, one row each: ADL'd notional (USD), closed PnL (USD),
the account's real-time leverage (position notional / account value), PnL percent (closed PnL /
ADL'd notional x 100) and account value.

The model side runs the plain reference venue (``tailrisk.venue.reference``, per-account detail)
over one stylised crash path on a population matched to the data where the data allow it:

- *matched*: the winners' (shorts') position sizes (lognormal fitted to the quantiles of
  ``account value x real-time leverage``, whales above 1M USD at the data's share) and their
  leverage mix (initial leverage levels set so that their effective leverage after the crash
  has the data's quartiles, see :func:`_winner_leverage`);
- *not matched*: the losers (longs) - the data describe only the deleveraged side, so the longs
  get the generator's default leverage mix and sizes; cross margin (Hyperliquid accounts hold
  idle collateral, so their account leverage is far below their position leverage; the model has
  isolated margin); the 162 coins (one underlying here); the HLP vault's role (a small fund
  stands in); the timing of the 12-minute cascade (one path of a few checks).

For contract-space policies an account's ADL'd notional is ``closed contracts x close price`` and
its PnL percent ``100 x proceeds / ADL'd notional``, as in the data. ``pro_rata`` closes no
contracts: its "ADL'd notional" is the haircut in USD, which the data have no counterpart of.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._shared_data import shared_data_dir

__all__ = [
    "HYPERLIQUID_DIR",
    "QUANTILES",
    "HyperliquidComparison",
    "crash_path",
    "hyperliquid_comparison",
    "load_hyperliquid_users",
    "observed_summary",
    "shared_data_dir",
]

HYPERLIQUID_DIR = "hyperliquid_adl_20251010"
USERS_FILE = "adl_by_user_REALTIME_noaddr.csv"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
FEATURES = ("leverage_realtime", "pnl_percent", "adl_notional")
_COLUMNS = (
    "adl_notional",
    "closed_pnl",
    "leverage_realtime",
    "pnl_percent",
    "account_value_realtime",
    "num_adl_events",
)


def _hyperliquid_dir(folder: str | Path | None) -> Path:
    if folder is not None:
        path = Path(folder)
    else:
        base = shared_data_dir()
        if base is None:
            raise FileNotFoundError(
                "no shared data folder: set TAILRISK_SHARED_DATA or put shared/data beside "
                "the repository"
            )
        path = base / HYPERLIQUID_DIR
    if not (path / USERS_FILE).is_file():
        raise FileNotFoundError(f"{path / USERS_FILE}: not found")
    return path


def load_hyperliquid_users(folder: str | Path | None = None) -> dict[str, np.ndarray]:
    """The per-account ADL table as float64 arrays (``is_negative_equity`` as bool), shape (N,)."""
    path = _hyperliquid_dir(folder) / USERS_FILE
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {c: np.array([float(r[c]) for r in rows], np.float64) for c in _COLUMNS}
    out["is_negative_equity"] = np.array([r["is_negative_equity"] == "True" for r in rows])
    return out


def _quantile_rows(source: str, name: str, x: np.ndarray, unit: str) -> list[dict[str, Any]]:
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    rows = []
    for q in QUANTILES:
        v = float(np.quantile(x, q)) if x.size else math.nan
        rows.append(_row(source, name, f"q{q:g}", v, unit))
    return rows


def _row(source: str, quantity: str, statistic: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "source": source,
        "quantity": quantity,
        "statistic": statistic,
        "value": float(value),
        "mcse_or_ci_low": math.nan,
        "ci_high": math.nan,
        "unit": unit,
        "error_kind": "none",
    }


_UNITS = {"leverage_realtime": "x", "pnl_percent": "%", "adl_notional": "USD"}


def observed_summary(users: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Tidy rows: quantiles of leverage, PnL % and ADL'd notional of the deleveraged accounts,
    their number and the share in profit. (One real event: no Monte Carlo error.)"""
    rows = []
    for f in FEATURES:
        rows += _quantile_rows("hyperliquid", f, users[f], _UNITS[f])
    n = users["adl_notional"].size
    rows.append(_row("hyperliquid", "accounts_deleveraged", "count", n, "1"))
    rows.append(
        _row("hyperliquid", "profitable", "share", float(np.mean(users["closed_pnl"] > 0)), "1")
    )
    return rows


def crash_path(s0: float = 100.0, drop: float = 0.2, steps_down: int = 6, rebound: float = 0.05):
    """A stylised crash: ``s0`` falls by ``drop`` in ``steps_down`` equal log steps, then
    recovers ``rebound`` of its level over two steps and stays. Shape ``(steps_down + 4,)``
    including ``S_0`` (USD)."""
    down = s0 * np.exp(np.linspace(0.0, math.log(1.0 - drop), steps_down + 1))
    low = down[-1]
    up = [low * (1 + rebound / 2), low * (1 + rebound), low * (1 + rebound)]
    return np.r_[down, up]


def _winner_leverage(users: dict[str, np.ndarray], drop: float) -> np.ndarray:
    """Initial leverage of a short whose effective leverage after a fall ``drop`` is the
    observed one: ``lev = (1 - d) / (1/L + d)`` gives ``1/L = (1 - d)/lev - d``; accounts
    whose observed leverage is too high for any ``L`` (``1/L <= 0``) get 50x."""
    lev = users["leverage_realtime"]
    lev = lev[np.isfinite(lev) & (lev > 0)]
    inv = (1.0 - drop) / lev - drop
    return np.where(inv > 0, 1.0 / np.maximum(inv, 1e-12), 50.0)


def _matched_population(users, n_accounts: int, s0: float, drop: float, seed: int):
    from ..venue import PopulationConfig, generate_population
    from ..venue._accounts import Accounts

    size = users["account_value_realtime"] * users["leverage_realtime"]
    size = size[np.isfinite(size) & (size > 0)]
    logq = np.log(np.quantile(size, [0.25, 0.5, 0.75]))
    whale = float(np.mean(size > 1e6))
    lev_w = np.clip(_winner_leverage(users, drop), 0.1, 50.0)
    levels = tuple(float(v) for v in np.quantile(lev_w, [0.1, 0.3, 0.5, 0.7, 0.9]))
    shorts = PopulationConfig(
        n_accounts=n_accounts,
        long_share=0.0,
        leverage_levels=levels,
        leverage_weights=(0.2,) * 5,
        size_median_usd=float(math.exp(logq[1])),
        size_sigma=float((logq[2] - logq[0]) / 1.349),
        whale_share=whale,
        entry_days=3.0,
        cohort_leverage_edges=(),
    )
    longs = PopulationConfig(n_accounts=n_accounts, long_share=1.0, cohort_leverage_edges=())
    a = generate_population(longs, s0, seed)
    b = generate_population(shorts, s0, seed + 1)
    cat = {f: np.r_[getattr(a, f), getattr(b, f)] for f in ("side", "quantity", "entry")}
    cat.update({f: np.r_[getattr(a, f), getattr(b, f)] for f in ("leverage", "mmr", "cap")})
    cat.update({f: np.r_[getattr(a, f), getattr(b, f)] for f in ("exempt", "recourse")})
    return Accounts(
        **cat,
        cohort=np.r_[np.zeros(a.n, np.int64), np.ones(b.n, np.int64)],
        cohort_names=("long", "short"),
    )


def _model_features(acc, res, policy: str) -> dict[str, np.ndarray]:
    """Per deleveraged account: ADL'd notional (USD), PnL %, effective leverage at the close."""
    from ..venue import CONTRACT_POLICIES

    if policy in CONTRACT_POLICIES:
        closed = acc.quantity - res.remaining
        hit = (closed > 1e-12 * acc.quantity) & (res.adl_proceeds != 0)
        c = closed[hit]
        s = acc.side[hit]
        e = acc.entry[hit]
        close = e + res.adl_proceeds[hit] / (s * c)
        notional = c * close
        pnl_pct = 100.0 * res.adl_proceeds[hit] / notional
        q = acc.quantity[hit]
        equity = acc.margin[hit] + q * s * (close - e)
        lev = q * close / equity
    else:
        hit = res.haircut > 0
        s, e, q = acc.side[hit], acc.entry[hit], acc.quantity[hit]
        p = res.final_mark
        notional = res.haircut[hit]
        pnl_pct = 100.0 * s * (p - e) / p
        lev = q * p / (acc.margin[hit] + q * s * (p - e))
    return {"adl_notional": notional, "pnl_percent": pnl_pct, "leverage_realtime": lev}


@dataclass
class HyperliquidComparison:
    """Observed and modelled distributions of deleveraged accounts, as tidy rows."""

    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One printable row per (quantity, statistic), a column per source."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.rows:
            key = (r["quantity"], r["statistic"])
            row = out.setdefault(
                key, {"quantity": f"{r['quantity']} [{r['unit']}]", "statistic": r["statistic"]}
            )
            row[r["source"]] = r["value"]
        return list(out.values())


def hyperliquid_comparison(
    folder: str | Path | None = None,
    *,
    policies: tuple[str, ...] = ("queue_hyperliquid", "pro_rata"),
    n_accounts: int = 1500,
    drop: float = 0.2,
    fund_share: float = 0.002,
    eta: float = 0.02,
    seed: int = 0,
) -> HyperliquidComparison:
    """Compare Hyperliquid's deleveraged accounts with the model's on a matched population.

    Args:
        folder: the ``hyperliquid_adl_20251010`` folder (default: found by
            :func:`shared_data_dir`).
        policies: ADL policies to run.
        n_accounts: accounts per side (longs: generator defaults; shorts: matched to the data).
        drop: the crash's fall (20 %: between BTC's ~7 % and the 30-80 % of many altcoins).
        fund_share: insurance fund as a share of the open interest (notional at entry).
        eta: price impact of liquidating ``depth`` (= the open interest) of notional.

    Raises ``FileNotFoundError`` when the data are absent.
    """
    from ..venue import VenueConfig
    from ..venue.reference import simulate_path_reference

    users = load_hyperliquid_users(folder)
    rows = observed_summary(users)
    s0 = 100.0
    acc = _matched_population(users, n_accounts, s0, drop, seed)
    oi = float(np.sum(acc.quantity * acc.entry * (acc.side > 0)))
    venue = VenueConfig(fund=fund_share * oi, eta=eta, depth=max(oi, 1.0), capital=1e18, fee=0.0005)
    prices = crash_path(s0, drop)
    winners = acc.side < 0
    for policy in policies:
        res = simulate_path_reference(acc, venue, prices, seed=seed, policy=policy)
        feats = _model_features(acc, res, policy)
        for f in FEATURES:
            rows += _quantile_rows(policy, f, feats[f], _UNITS[f])
        n_hit = feats["adl_notional"].size
        rows.append(_row(policy, "accounts_deleveraged", "count", n_hit, "1"))
        rows.append(
            _row(policy, "profitable", "share", float(np.mean(feats["pnl_percent"] > 0)), "1")
            if n_hit
            else _row(policy, "profitable", "share", math.nan, "1")
        )
        rows.append(
            _row(policy, "winners_deleveraged", "share", n_hit / max(1, int(winners.sum())), "1")
        )
    notes = [
        f"model: one stylised crash path (fall of {drop:.0%} over 6 checks, 5% rebound), one "
        "underlying, isolated margin; data: 162 coins, cross margin, 12 minutes",
        "matched: the deleveraged side's sizes and (back-solved) leverage; not matched: the "
        "liquidated side, cross-margin collateral, HLP, per-coin paths",
        "pro_rata closes no contracts: its adl_notional is the haircut in USD",
    ]
    settings = {
        "n_accounts_per_side": n_accounts,
        "drop": drop,
        "fund_usd": venue.fund,
        "eta": eta,
        "open_interest_usd": oi,
    }
    return HyperliquidComparison(rows=rows, notes=notes, settings=settings)
