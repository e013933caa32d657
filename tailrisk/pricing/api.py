"""The Python API of options on damped assets: one call from an experiment to a priced grid.

``price_options(exp)`` simulates the experiment once to its longest maturity (venue and
probes included), prices every option of its ``[pricing]`` table on each probe's damped asset
and on the undamped asset, adds the price of ADL per probe and, when asked, the Greeks, and
returns a :class:`PricingResult` whose tables are plain columns (``{name: array}``), written
to Parquet by :meth:`PricingResult.write`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..config import ConfigError, Experiment
from ..config.pricing import PricingConfig
from ._adl_price import adl_price
from ._damped_assets import DampedAssets, damped_assets
from ._prices import closed_form_price, price_grid

__all__ = ["PricingResult", "control_sample", "price_options", "write_columns"]


@dataclass(eq=False)
class PricingResult:
    """Prices (``prices``: one row per asset, probe, maturity, kind and strike), the price of
    ADL (``adl``: one row per probe and maturity), Greeks (``greeks``, or None), the simulated
    assets and timings (seconds)."""

    prices: dict[str, np.ndarray]
    adl: dict[str, np.ndarray]
    greeks: dict[str, np.ndarray] | None
    assets: DampedAssets = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``pricing.parquet``, ``pricing_adl.parquet`` (and ``pricing_greeks.parquet``)
        into ``folder``, each atomically; returns the paths."""
        folder = Path(folder)
        out = [folder / "pricing.parquet", folder / "pricing_adl.parquet"]
        write_columns(self.prices, out[0])
        write_columns(self.adl, out[1])
        if self.greeks is not None:
            out.append(folder / "pricing_greeks.parquet")
            write_columns(self.greeks, out[-1])
        return out


def write_columns(cols: dict[str, np.ndarray], path: str | Path) -> None:
    """A column table as Parquet, written atomically (temporary file, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for k, v in cols.items():
        v = np.asarray(v)
        arrays[k] = pa.array(v.astype(str) if v.dtype.kind in "OU" else v)
    table = pa.table(arrays)
    atomic_write(path, lambda fh: pq.write_table(table, fh), suffix=".parquet")


def control_sample(exp: Experiment, maturities, paths: int, *, first_path: int,
                   chunk: int | None = None) -> np.ndarray | None:
    """The undamped asset at each maturity on ``paths`` price-only paths (no venue),
    ``(paths, maturities)`` USD, drawn from the paths past ``first_path`` (independent of the
    priced ones): the sample that estimates the control's price where no closed form exists.
    None for ``paths = 0``."""
    if paths <= 0:
        return None
    return damped_assets(exp, maturities, probes=(), paths=paths, chunk=chunk,
                         first_path=first_path).undamped


def price_options(exp: Experiment, pricing: PricingConfig | None = None, *,
                  paths: int | None = None, chunk: int | None = None,
                  greeks: bool | None = None) -> PricingResult:
    """Price the ``[pricing]`` grid of ``exp`` (or ``pricing``) from one simulation.

    paths, chunk: Monte Carlo budget (default ``pricing.paths`` or ``run.paths``, and
    ``run.chunk_size``). greeks: also compute bump-and-revalue Greeks (default
    ``pricing.greeks``; four more venue runs on common random numbers, the paths drawn once).
    """
    pricing = pricing or exp.pricing
    if pricing is None:
        raise ConfigError("<price>", ["[pricing]: required table is missing (strikes or "
                                      "moneyness, maturities, kinds, probes)"])
    if exp.model.mode != "risk_neutral":
        raise ConfigError("<price>", [f"model.mode = {exp.model.mode!r}: option prices need "
                                      "mode = 'risk_neutral'"])
    n = paths or pricing.paths or exp.run.paths
    strikes = pricing.strike_grid(exp.model.s0)
    probes = list(pricing.probes) or None
    t0 = time.perf_counter()
    assets = damped_assets(exp, pricing.maturities, probes=probes, paths=n, chunk=chunk,
                           antithetic=pricing.antithetic)
    sample = None
    if pricing.control_variate and closed_form_price(exp.model, "call", exp.model.s0,
                                                     strikes[:1], 1.0, 0.0) is None:
        m = 10 * n if pricing.control_paths is None else pricing.control_paths
        sample = control_sample(exp, pricing.maturities, m, first_path=n, chunk=chunk)
    t1 = time.perf_counter()
    prices = price_grid(assets, strikes, pricing.kinds, control_variate=pricing.control_variate,
                        control_sample=sample)
    adl = adl_price(assets)
    t2 = time.perf_counter()
    seconds = {"simulate": t1 - t0, "price": t2 - t1}
    g = None
    if greeks if greeks is not None else pricing.greeks:
        from ._greeks import bump_greeks

        g = bump_greeks(exp, pricing.maturities, strikes, pricing.kinds, probes=probes, paths=n,
                        chunk=chunk, base=assets, antithetic=pricing.antithetic)
        seconds["greeks"] = time.perf_counter() - t2
    return PricingResult(prices, adl, g, assets, seconds)
