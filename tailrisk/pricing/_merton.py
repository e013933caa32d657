"""Merton's jump-diffusion prices: the Black–Scholes series over the number of jumps.

The risk-neutral price follows ``dS/S = (r - lam k) dt + sigma dW + (J - 1) dN`` with Poisson
jumps of rate ``lam`` per year and lognormal sizes ``log J ~ N(mu_j, sigma_j^2)``,
``k = E[J] - 1 = exp(mu_j + sigma_j^2 / 2) - 1`` (MODEL.md 2, ``merton``). Conditional on ``n``
jumps the price is lognormal, so (Merton, "Option pricing when underlying stock returns are
discontinuous", J. Financial Economics 3, 1976, eq. 19)

    price = sum_n  exp(-lam T) (lam T)^n / n!  exp(-r T) E[payoff | n jumps],
    E[payoff | n] = exp(r_n T) BS(S, K, sigma_n, T, r_n),
    sigma_n^2 = sigma^2 + n sigma_j^2 / T,  r_n = r - lam k + n log(1 + k) / T

(for calls and puts this is Merton's ``sum exp(-lam' T) (lam' T)^n / n! BS(..., r_n)`` with
``lam' = lam (1 + k)``; the form above serves digitals too).

The series is summed until the Poisson weights left are below ``tail`` (of the total mass).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ._black import bs_price

__all__ = ["merton_price"]


def merton_price(kind: str, S, K, sigma, T, r, lam, mu_j, sigma_j, *, tail: float = 1e-16):
    """Merton jump-diffusion price (USD per unit) of a European ``call``/``put``/``digital``/
    ``digital_put``; ``sigma`` (diffusion, annualised), ``lam`` (jumps per year), ``mu_j`` and
    ``sigma_j`` (mean and standard deviation of the log jump size); ``T`` in years."""
    for name, v in (("sigma", sigma), ("T", T), ("lam", lam), ("sigma_j", sigma_j)):
        a = np.asarray(v, np.float64)
        if not np.all(np.isfinite(a) & (a >= 0)):
            raise ValueError(f"merton_price: {name} = {v!r}: must be finite and >= 0")
    S, K, T = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (S, K, T)))
    k = np.expm1(mu_j + 0.5 * sigma_j**2)
    mean = float(np.max(lam * T)) if T.size else 0.0
    n_max = int(stats.poisson.isf(tail, mean)) + 2 if mean > 0 else 0
    out = np.zeros(np.broadcast(S, K, T).shape)
    for n in range(n_max + 1):
        w = stats.poisson.pmf(n, lam * T)
        sig_n = np.sqrt(sigma**2 + n * sigma_j**2 / T)
        r_n = r - lam * k + n * np.log1p(k) / T
        # BS with rate r_n discounts at r_n; the Merton price discounts at r
        out = out + w * np.exp((r_n - r) * T) * bs_price(kind, S, K, sig_n, T, r_n)
    return out
