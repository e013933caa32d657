"""The comparison table: each recorded figure beside the model's, with why they differ.

Rows: liquidated notional, ADL'd notional and ADL count (BTC), when the first ADL came after the
recorded first liquidation (and after the model's own cascade began), and quantiles of the ADL'd
notional per account.
Columns: recorded, model on the recorded path, the Monte Carlo median and 5-95% band over the
conditioned paths, the unit, and a one-line reason where they differ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["HAIRCUT_QUANTILES", "comparison_rows"]

#: quantiles of the ADL'd notional per account compared
HAIRCUT_QUANTILES = (0.1, 0.5, 0.9, 0.99)


def _band(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if not x.size:
        return (math.nan,) * 3
    lo, med, hi = np.quantile(x, (0.05, 0.5, 0.95))
    return float(med), float(lo), float(hi)


def _row(metric, recorded, model, mc, unit, why, source) -> dict[str, Any]:
    med, lo, hi = mc
    return {"metric": metric, "recorded": float(recorded), "model_recorded_path": float(model),
            "mc_median": med, "mc_p05": lo, "mc_p95": hi, "unit": unit, "why": why,
            "recorded_source": source}


def comparison_rows(res) -> list[dict[str, Any]]:
    """The comparison of a :class:`~tailrisk.studies.replay.ReplayResult` (see module doc)."""
    rec, ref, mc = res.recorded, res.reference, res.mc
    calibrated = res.experiment.replay.open_interest_usd is None
    n_short = int(np.sum(res.accounts.side < 0))
    after = res.mc_reference["first_adl_after_recorded_start_s"]
    own = res.mc_reference["cascade_to_adl_s"]
    dt = res.path.dt_seconds * res.venue.check_every
    rows = [
        _row("liquidated notional (BTC)", rec.liquidated_notional_btc, ref.liquidated_notional,
             _band(mc["liquidated_notional"]), "USD",
             "calibrated: the longs are scaled so that the recorded path liquidates this"
             if calibrated else "the longs' size is replay.open_interest_usd, not calibrated",
             "total_impact_results.json: top_combined_tickers.BTC.liquidations"),
        _row("ADL notional (BTC)", rec.adl_notional_btc, ref.adl_notional,
             _band(mc["adl_notional"]), "USD",
             "capped by the model's shorts, sized like all coins' accounts; no HLP, no cross "
             "margin",
             "total_impact_results.json: top_combined_tickers.BTC.adl"),
        _row("ADL count (BTC)", rec.adl_events_btc, ref.adl_count, _band(mc["adl_count"]),
             "account closes",
             f"a count follows the {n_short:,} modelled shorts (replay.n_accounts)",
             "adl_net_volume_full_12min.csv: BTC num_adl_events"),
        _row("first ADL after Hyperliquid's first liquidation",
             rec.first_liquidation_to_adl_s, after[0] if after.size else math.nan, _band(after),
             "s",
             f"a constant fund runs dry on the first large batch (checks every {dt:g} s); "
             "HLP took the first minute",
             "cascade_timing_results.json: delay_seconds"),
        _row("model's own cascade start to first ADL", rec.first_liquidation_to_adl_s,
             own[0] if own.size else math.nan, _band(own), "s",
             "the model's cascade: liquidation batches at most 60 s apart before its ADL",
             "cascade_timing_results.json: delay_seconds"),
    ]
    per = rec.adl_notional_per_account
    for q in HAIRCUT_QUANTILES:
        model_q = (float(np.quantile(res.model_adl_per_account, q))
                   if res.model_adl_per_account.size else math.nan)
        rows.append(_row(
            f"ADL'd notional per account, q{q:g}", float(np.quantile(per, q)), model_q,
            _band(res.mc_reference[f"adl_q{q:g}"]), "USD",
            "shorts sized like all coins' deleveraged accounts; one BTC market, one queue"
            if q < 0.99 else "the few largest model shorts against whales of 162 coins",
            "adl_by_user_REALTIME_noaddr.csv: adl_notional (all coins)"))
    return rows
