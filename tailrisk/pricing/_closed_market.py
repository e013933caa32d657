"""The closed market's check: Monte Carlo of the stopped price against the barrier closed form as
the check interval shrinks.

In the closed market of MODEL.md 3.6 a short's position is closed at the longs' bankruptcy price
``B`` at the first check where the mark is at or below ``B``, so its damped asset is
``A_T = B`` if a check found the price at or below ``B`` and ``S_T`` otherwise. This module
simulates that asset on the project's own ``gbm`` paths (risk-neutral, ``r = 0``), checked every
``c`` steps of a fine grid for several ``c`` on common random numbers, and sets each price
beside :func:`damped_barrier_price` with continuous monitoring and with the
Broadie–Glasserman–Kou correction for the interval ``c dt``. The Monte Carlo converges to the
continuous price as the interval shrinks (the gap is of order ``sqrt(dt)``), and at every interval
agrees with the corrected price to ``o(sqrt(dt))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._barrier import damped_barrier_price

__all__ = ["closed_market_check"]


def closed_market_check(*, s0: float = 100.0, barrier: float = 90.0, strike: float = 95.0,
                        sigma: float = 0.8, maturity: float = 30 / 365, fine_steps: int = 480,
                        intervals: Sequence[int] = (1, 2, 4, 8, 16, 32, 96),
                        paths: int = 100_000, seed: int = 0, chunk: int = 50_000,
                        dtype: str = "float64") -> dict[str, np.ndarray]:
    """Prices (USD per unit) of a put and a call on the stopped price checked every ``c`` fine
    steps, for each ``c`` in ``intervals``, with standard errors, beside the closed forms.

    Returns columns: ``interval_steps``, ``check_interval_years``, ``option``, ``mc_usd``,
    ``se_usd``, ``continuous_usd`` (continuous monitoring), ``bgk_usd`` (BGK-corrected for the
    interval) and ``paths``.
    """
    import jax
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ..config import GbmModel
    from ..paths import log_prices

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dt = maturity / fine_steps
    bad = [c for c in intervals if fine_steps % c]
    if bad:
        raise ValueError(f"intervals {bad}: must divide fine_steps = {fine_steps}")
    model = GbmModel(name="gbm", s0=float(s0), sigma=float(sigma), mode="risk_neutral", r=0.0)
    key = stream_key(seed, STREAM_PRICE)
    log_b = math.log(barrier)
    sums = {c: np.zeros((2, 2)) for c in intervals}  # (put, call) x (sum, sum of squares)
    for start in range(0, paths, chunk):
        size = min(chunk, paths - start)
        index = jnp.arange(start, start + size, dtype=jnp.uint32)
        lp = np.asarray(log_prices(key, model, index, fine_steps, dt, dtype), np.float64)
        s_t = np.exp(lp[:, -1])
        for c in intervals:
            hit = np.min(lp[:, c - 1::c], axis=1) <= log_b
            a = np.where(hit, barrier, s_t)
            for i, pay in enumerate((np.maximum(strike - a, 0.0), np.maximum(a - strike, 0.0))):
                sums[c][i] += (pay.sum(), (pay * pay).sum())
    cols: dict[str, list] = {k: [] for k in ("interval_steps", "check_interval_years", "option",
                                             "mc_usd", "se_usd", "continuous_usd", "bgk_usd",
                                             "paths")}
    for c in intervals:
        for i, option in enumerate(("put", "call")):
            m = sums[c][i, 0] / paths
            var = max(sums[c][i, 1] / paths - m * m, 0.0) * paths / max(paths - 1, 1)
            cols["interval_steps"].append(c)
            cols["check_interval_years"].append(c * dt)
            cols["option"].append(option)
            cols["mc_usd"].append(m)
            cols["se_usd"].append(math.sqrt(var / paths))
            cols["continuous_usd"].append(float(damped_barrier_price(
                option, s0, strike, barrier, sigma, maturity)))
            cols["bgk_usd"].append(float(damped_barrier_price(
                option, s0, strike, barrier, sigma, maturity, check_interval=c * dt)))
            cols["paths"].append(paths)
    return {k: np.asarray(v) for k, v in cols.items()}
