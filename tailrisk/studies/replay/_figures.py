"""What Hyperliquid recorded on 2025-10-10, read from its summary files (no model here).

From ``hyperliquid_adl_20251010/`` (PROVENANCE.md section 6; no licence, read in place):
BTC's liquidated and ADL'd notional (``total_impact_results.json``, top tickers), BTC's ADL
events (``adl_net_volume_full_12min.csv``), the time from the first liquidation to the first
ADL and when the cascade started (``cascade_timing_results.json``; over all coins: the file has
no per-coin timing), and the ADL'd notional of each of the 19,337 deleveraged accounts
(``adl_by_user_REALTIME_noaddr.csv``, all coins: the file has no coin column).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["RecordedFigures", "load_recorded_figures"]


@dataclass(frozen=True)
class RecordedFigures:
    """Recorded figures (USD, counts, seconds) and where each comes from."""

    liquidated_notional_btc: float
    adl_notional_btc: float
    adl_events_btc: int
    liquidated_notional_all: float
    adl_notional_all: float
    adl_events_all: int
    first_liquidation_to_adl_s: float
    cascade_start_utc: str
    first_adl_utc: str
    #: (19,337,) ADL'd notional per deleveraged account, USD (all coins)
    adl_notional_per_account: np.ndarray
    timeline_s: np.ndarray
    timeline_liquidations: np.ndarray
    timeline_adls: np.ndarray


def load_recorded_figures(folder: str | Path) -> RecordedFigures:
    """Read the recorded figures from the ``hyperliquid_adl_20251010`` folder."""
    from ..hyperliquid import load_hyperliquid_users

    folder = Path(folder)
    impact = json.loads((folder / "total_impact_results.json").read_text(encoding="utf-8"))
    timing = json.loads((folder / "cascade_timing_results.json").read_text(encoding="utf-8"))
    with (folder / "adl_net_volume_full_12min.csv").open(newline="", encoding="utf-8") as fh:
        btc = next(r for r in csv.DictReader(fh) if r["ticker"] == "BTC")
    users = load_hyperliquid_users(folder)
    tl = timing.get("timeline", [])
    return RecordedFigures(
        liquidated_notional_btc=float(impact["top_combined_tickers"]["BTC"]["liquidations"]),
        adl_notional_btc=float(impact["top_combined_tickers"]["BTC"]["adl"]),
        adl_events_btc=int(btc["num_adl_events"]),
        liquidated_notional_all=float(impact["liquidations"]["notional"]),
        adl_notional_all=float(impact["adl"]["notional"]),
        adl_events_all=int(impact["adl"]["events"]),
        first_liquidation_to_adl_s=float(timing["delay_seconds"]),
        cascade_start_utc=str(timing["first_liquidation"]),
        first_adl_utc=str(timing["first_adl"]),
        adl_notional_per_account=users["adl_notional"],
        timeline_s=np.array([float(r["second"]) for r in tl]),
        timeline_liquidations=np.array([float(r["liquidations"]) for r in tl]),
        timeline_adls=np.array([float(r["adls"]) for r in tl]),
    )
