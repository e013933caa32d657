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
        """Means and standard errors over paths (axis 0) of a ``(paths, ...)`` array."""
        x = np.asarray(x, np.float64)
        m = np.mean(x, axis=0)
        if n < 2:
            return m, np.full_like(m, math.nan)
        return m, np.std(x, axis=0, ddof=1) / math.sqrt(n)

    side = np.asarray(assets.probe_side, np.float64)
    entry = np.asarray(assets.probe_entry, np.float64)
    # whole (paths, maturities, probes) arrays at once: the claim's sign is per probe, so its
    # mean is the side times the mean difference and its error the difference's
    diff = assets.entitled - assets.damped
    claim, claim_se = mean_se(diff)
    claim = side * claim
    p_adl = np.count_nonzero(np.abs(diff) > 1e-9 * entry, axis=0) / max(n, 1)
    del diff
    fa, fe, fu = mean_se(assets.damped), mean_se(assets.entitled), mean_se(assets.undamped)
    for k, T in enumerate(assets.maturities):
        T = float(T)
        disc = math.exp(-assets.r * T)
        m, se = claim[k], claim_se[k]
        for j, name in enumerate(assets.probe_names):
            s, e = float(side[j]), float(entry[j])
            for c, v in (("probe", name), ("side", "long" if s > 0 else "short"),
                         ("leverage", float(assets.probe_leverage[j])), ("entry_usd", e),
                         ("maturity_years", T), ("adl_price_usd", disc * m[j]),
                         ("adl_price_se_usd", disc * se[j]),
                         ("adl_rate_per_year", disc * m[j] / (e * T)),
                         ("adl_rate_se_per_year", disc * se[j] / (e * T)),
                         ("forward_damped_usd", fa[0][k, j]),
                         ("forward_damped_se_usd", fa[1][k, j]),
                         ("forward_entitled_usd", fe[0][k, j]),
                         ("forward_entitled_se_usd", fe[1][k, j]),
                         ("forward_undamped_usd", fu[0][k]), ("forward_undamped_se_usd", fu[1][k]),
                         ("p_adl", p_adl[k, j]), ("paths", n)):
                rows[c].append(float(v) if isinstance(v, np.floating) else v)
    return {c: np.asarray(v) for c, v in rows.items()}
