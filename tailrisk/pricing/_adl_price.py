"""The price of ADL per probe: what a winner implicitly gives the venue by accepting ADL.

For a probe on side ``s`` with entry ``E``, the entitled asset ``U(T)`` (its undamped payoff
per unit, as a price: minus the margin where it was liquidated) and the damped asset ``A(T)``,
the claim given away is worth ``s (U(T) - A(T))`` per unit at ``T``: the entitled forward minus
the damped forward, signed so that a cost to the trader is positive (a short's damped asset
ends above its entitled one). Its price is the discounted risk-neutral mean, in USD per unit,
and as an annualised rate of the entry notional, ``price / (E T)`` per year: the fair fee a
trader should demand for bearing ADL. Errors are the standard errors of the per-path means.

The entitled asset rather than ``S(T)`` is used so that a liquidation, which the probe suffers
with or without ADL, is not counted as ADL; for a probe that is never liquidated the two are
the same.
"""

from __future__ import annotations

import math

import numpy as np

from ._damped_assets import DampedAssets

__all__ = ["adl_price"]


def adl_price(assets: DampedAssets) -> dict[str, np.ndarray]:
    """One row per (probe, maturity): the price of ADL and the forwards, as a column table.

    Columns: probe, side, leverage, entry_usd, maturity_years, adl_price_usd and its se (USD
    per unit, discounted to time 0), adl_rate_per_year and its se (share of entry notional per
    year), forward_damped_usd, forward_entitled_usd, forward_undamped_usd (undiscounted means
    of A, U and S at T, USD) with standard errors, p_adl (share of paths where the damped and
    entitled assets differ) and paths.
    """
    rows: dict[str, list] = {c: [] for c in (
        "probe", "side", "leverage", "entry_usd", "maturity_years", "adl_price_usd",
        "adl_price_se_usd", "adl_rate_per_year", "adl_rate_se_per_year", "forward_damped_usd",
        "forward_damped_se_usd", "forward_entitled_usd", "forward_entitled_se_usd",
        "forward_undamped_usd", "forward_undamped_se_usd", "p_adl", "paths")}
    n = assets.n_paths

    def mean_se(x):
        x = np.asarray(x, np.float64)
        return float(np.mean(x)), float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.nan

    for k, T in enumerate(assets.maturities):
        T = float(T)
        disc = math.exp(-assets.r * T)
        fu = mean_se(assets.undamped[:, k])
        for j, name in enumerate(assets.probe_names):
            s = float(assets.probe_side[j])
            A = assets.damped[:, k, j]
            U = assets.entitled[:, k, j]
            diff = s * (U - A)
            m, se = mean_se(diff)
            e = float(assets.probe_entry[j])
            fa, fe = mean_se(A), mean_se(U)
            tol = 1e-9 * e
            for c, v in (("probe", name), ("side", "long" if s > 0 else "short"),
                         ("leverage", float(assets.probe_leverage[j])), ("entry_usd", e),
                         ("maturity_years", T), ("adl_price_usd", disc * m),
                         ("adl_price_se_usd", disc * se), ("adl_rate_per_year", disc * m / (e * T)),
                         ("adl_rate_se_per_year", disc * se / (e * T)),
                         ("forward_damped_usd", fa[0]), ("forward_damped_se_usd", fa[1]),
                         ("forward_entitled_usd", fe[0]), ("forward_entitled_se_usd", fe[1]),
                         ("forward_undamped_usd", fu[0]), ("forward_undamped_se_usd", fu[1]),
                         ("p_adl", float(np.mean(np.abs(U - A) > tol))), ("paths", n)):
                rows[c].append(v)
    return {c: np.asarray(v) for c, v in rows.items()}
