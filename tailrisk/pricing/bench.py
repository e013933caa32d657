"""``tailrisk bench --what pricing``: what options on damped assets cost on top of the venue.

Three figures, each the median of ``repeats`` timed calls after one untimed (compiling) call:

- the price grid (``strikes`` x ``maturities`` x ``probes``, calls and puts, on the damped
  and the undamped asset, with the price of ADL) from one venue simulation, against the same
  venue simulation without pricing (same paths, population, chunks): the ratio;
- the control variate's variance-reduction factor at the money (the damped call) where ADL is
  rare (the 2x probes at the shortest maturity) and the median over the ten probes, for
  ``gbm`` (the undamped call's Black–Scholes price is the control's) and ``student_t`` (no
  closed form: the control's price from ``control_factor`` times as many price-only paths, its
  error included; and what the control would give were its price known);
- bump-and-revalue Greeks (delta, gamma, vega together: four more venue runs on paths drawn
  once per chunk) against one pricing run: the ratio.
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


def _pricing_run(exp, accounts, control_paths: int = 0):
    from ._adl_price import adl_price
    from ._damped_assets import damped_assets
    from ._prices import price_grid
    from .api import control_sample

    p = exp.pricing
    assets = damped_assets(exp, p.maturities, venue=exp.venue, accounts=accounts)
    sample = control_sample(exp, p.maturities, control_paths, first_path=exp.run.paths)
    grid = price_grid(assets, p.strike_grid(exp.model.s0), p.kinds, control_sample=sample)
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


def _atm_vrf(grid, column: str, maturity: str = "longest", leverage: float | None = None):
    """The damped call's variance-reduction factor at the money (``column``: ``vrf`` or
    ``vrf_potential``) at the shortest or longest maturity, per probe: ``{probe: factor}``,
    only the probes of ``leverage`` when given."""
    m = (grid["asset"] == "damped") & (grid["kind"] == "call")
    ks = np.unique(grid["strike_usd"][m])
    s0 = grid["strike_usd"][m][0] / grid["moneyness"][m][0]
    k_atm = ks[np.argmin(np.abs(ks - s0))]
    mats = grid["maturity_years"][m]
    t = mats.min() if maturity == "shortest" else mats.max()
    m &= (grid["strike_usd"] == k_atm) & (grid["maturity_years"] == t)
    if leverage is not None:
        m &= grid["leverage"] == leverage
    return {str(p): float(v) for p, v in zip(grid["probe"][m], grid[column][m], strict=True)}


def _vrf_note(grid, column: str) -> str:
    rare = _atm_vrf(grid, column, "shortest", leverage=2.0)
    longest = _atm_vrf(grid, column, "longest")
    shortest = _atm_vrf(grid, column, "shortest")
    return ("where ADL is rare (2x probes, shortest maturity): "
            + ", ".join(f"{p} {v:.1f}" for p, v in rare.items())
            + f"; median over the 10 probes {np.median(list(shortest.values())):.1f} (shortest "
            f"maturity), {np.median(list(longest.values())):.1f} (longest)")


def bench_pricing(*, n_paths: int = 1_000_000, steps: int = 256, n_accounts: int = 10_000,
                  chunk: int = 100_000, repeats: int = 3, greeks: bool = True,
                  control_factor: int = 10, on_row=None) -> list[dict[str, Any]]:
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
    emit({"case": "control variate at the money (damped call): variance-reduction factor",
          "model": "gbm", "seconds": None, "ratio": None,
          "note": "achieved (Black-Scholes price of the control), " + _vrf_note(grid, "vrf")})
    if greeks:
        p = exp.pricing
        # timed like the other rows: the bumped runs compile programs of their own (the
        # venue's pools are sized by what each run needs), so one untimed call first
        t_greeks, _ = _median_time(
            lambda: bump_greeks(exp, p.maturities, p.strike_grid(exp.model.s0), p.kinds,
                                base=assets), repeats)
        emit({"case": "Greeks (delta, gamma, vega; bumps on common random numbers)",
              "model": "gbm", "seconds": round(t_greeks, 3),
              "ratio": round(t_greeks / t_price, 3), "note": "ratio to one pricing run"})
    st = bench_experiment("student_t", n_paths=n_paths, steps=steps, n_accounts=n_accounts,
                          chunk=chunk)
    st_acc = build_population(st.venue, st.model.s0, st.run.seed)
    t = time.perf_counter()
    _, grid_t = _pricing_run(st, st_acc, control_paths=control_factor * n_paths)
    t_st = time.perf_counter() - t  # includes compiling the student_t programs
    emit({"case": "control variate at the money (damped call): variance-reduction factor",
          "model": "student_t", "seconds": round(t_st, 3), "ratio": None,
          "note": f"achieved, the control's price from {control_factor * n_paths:,} price-only "
                  "paths (its error included), " + _vrf_note(grid_t, "vrf")})
    emit({"case": "same, were the control's price known exactly", "model": "student_t",
          "seconds": None, "ratio": None, "note": _vrf_note(grid_t, "vrf_potential")})
    return rows
