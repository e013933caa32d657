"""``tailrisk bench --what pricing``: what options on damped assets cost on top of the venue.

Three figures, each the median of ``repeats`` timed calls after one untimed (compiling) call:

- the price grid (``strikes`` x ``maturities`` x ``probes``, calls and puts, on the damped
  and the undamped asset, with the price of ADL) from one venue simulation, against the same
  venue simulation without pricing (same paths, population, chunks): the ratio;
- the control variate's variance-reduction factor at the money (the damped call of each
  probe, median over probes) for ``gbm`` (achieved: the undamped call's Black–Scholes price is
  the control's) and ``student_t`` (what the control achieves were its price known: there is
  no closed form);
- bump-and-revalue Greeks (delta, gamma, vega together: four more simulations) against one
  pricing run: the ratio.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

__all__ = ["bench_experiment", "bench_pricing"]


def bench_experiment(model: str = "gbm", *, n_paths: int, steps: int, n_accounts: int,
                     chunk: int, n_strikes: int = 50, n_maturities: int = 4):
    """The benchmark's experiment: daily steps, a queue_bitmex venue with a modest fund, ten
    probes (long and short at 2, 5, 10, 25, 50x), strikes from 0.5 to 1.5 of s0."""
    from ..config import parse_config

    mats = [round(steps * (i + 1) / n_maturities) for i in range(n_maturities)]
    probes = [{"name": f"{side}_{lev:g}x", "side": side, "leverage": float(lev),
               "quantity": 1e-4} for side in ("long", "short") for lev in (2, 5, 10, 25, 50)]
    m = {"name": model, "s0": 100_000.0, "sigma": 0.8, "mode": "risk_neutral", "r": 0.0}
    if model == "student_t":
        m["nu"] = 3.0
    return parse_config({
        "run": {"name": f"bench_pricing_{model}", "seed": 1, "dtype": "float32",
                "paths": n_paths, "chunk_size": min(chunk, n_paths), "steps": steps,
                "dt": "1d"},
        "model": m,
        "venue": {"policy": "queue_bitmex", "fund": 5_000_000.0, "eta": 0.002,
                  "depth": 50_000_000.0, "population": {"n_accounts": n_accounts,
                                                        "probes": probes}},
        "pricing": {"moneyness": list(np.linspace(0.5, 1.5, n_strikes)),
                    "maturities": [t / 365 for t in mats], "kinds": ["call", "put"],
                    "rate": 0.0},
    })


def _venue_only(exp, accounts):
    """The same venue simulation without pricing: the chunks of damped_assets, no probe steps."""
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ..paths import log_prices
    from ..venue.kernel import simulate_venue

    run = exp.run
    key = stream_key(run.seed, STREAM_PRICE)
    for start in range(0, run.paths, run.chunk_size):
        index = jnp.arange(start, start + run.chunk_size, dtype=jnp.uint32)
        lp = log_prices(key, exp.model, index, run.steps, run.dt, run.dtype)
        simulate_venue(accounts, exp.venue, lp, s0=exp.model.s0, seed=run.seed,
                       path_index=index, dt=run.dt)


def _pricing_run(exp, accounts):
    from ._adl_price import adl_price
    from ._damped_assets import damped_assets
    from ._prices import price_grid

    p = exp.pricing
    assets = damped_assets(exp, p.maturities, venue=exp.venue, accounts=accounts)
    grid = price_grid(assets, p.strike_grid(exp.model.s0), p.kinds)
    adl_price(assets)
    return assets, grid


def _median_time(fn, repeats: int) -> tuple[float, Any]:
    fn()  # compile
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _atm_vrf(grid, column: str) -> float:
    m = (grid["asset"] == "damped") & (grid["kind"] == "call")
    ks = np.unique(grid["strike_usd"][m])
    s0 = grid["strike_usd"][m][0] / grid["moneyness"][m][0]
    k_atm = ks[np.argmin(np.abs(ks - s0))]
    m &= (grid["strike_usd"] == k_atm) & (grid["maturity_years"] == grid["maturity_years"].max())
    return float(np.median(grid[column][m]))


def bench_pricing(*, n_paths: int = 1_000_000, steps: int = 256, n_accounts: int = 10_000,
                  chunk: int = 100_000, repeats: int = 3, greeks: bool = True,
                  on_row=None) -> list[dict[str, Any]]:
    """Rows of the benchmark (see the module docstring); seconds are medians."""
    from ..venue import build_population
    from ._greeks import bump_greeks

    rows: list[dict[str, Any]] = []

    def emit(row):
        rows.append(row)
        if on_row:
            on_row(row)

    exp = bench_experiment("gbm", n_paths=n_paths, steps=steps, n_accounts=n_accounts,
                           chunk=chunk)
    acc = build_population(exp.venue, exp.model.s0, exp.run.seed)
    t_venue, _ = _median_time(lambda: _venue_only(exp, acc), repeats)
    t_price, (assets, grid) = _median_time(lambda: _pricing_run(exp, acc), repeats)
    n_rows = len(grid["price_usd"])
    emit({"case": "venue simulation, no pricing", "model": "gbm", "seconds": round(t_venue, 3),
          "ratio": 1.0, "note": f"{n_paths:,} paths x {steps} steps x {n_accounts:,} accounts"})
    emit({"case": "same + 50 strikes x 4 maturities x 10 probes (call, put)", "model": "gbm",
          "seconds": round(t_price, 3), "ratio": round(t_price / t_venue, 3),
          "note": f"{n_rows:,} prices, damped and undamped, with the price of ADL"})
    emit({"case": "control variate at the money (damped call, longest maturity)",
          "model": "gbm", "seconds": None, "ratio": None,
          "note": f"variance-reduction factor {_atm_vrf(grid, 'vrf'):.1f} (achieved; median "
                  "over 10 probes)"})
    if greeks:
        p = exp.pricing
        t = time.perf_counter()  # once: the bumped runs reuse the compiled programs
        bump_greeks(exp, p.maturities, p.strike_grid(exp.model.s0), p.kinds, base=assets)
        t_greeks = time.perf_counter() - t
        emit({"case": "Greeks (delta, gamma, vega; bumps on common random numbers)",
              "model": "gbm", "seconds": round(t_greeks, 3),
              "ratio": round(t_greeks / t_price, 3), "note": "ratio to one pricing run"})
    st = bench_experiment("student_t", n_paths=n_paths, steps=steps, n_accounts=n_accounts,
                          chunk=chunk)
    st_acc = build_population(st.venue, st.model.s0, st.run.seed)
    _, grid_t = _pricing_run(st, st_acc)
    emit({"case": "control variate at the money (damped call, longest maturity)",
          "model": "student_t", "seconds": None, "ratio": None,
          "note": f"variance-reduction factor {_atm_vrf(grid_t, 'vrf_potential'):.1f} (were the "
                  "undamped price known; no closed form)"})
    return rows
