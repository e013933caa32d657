"""The report's pricing pages: registered as their own family, shown only with [pricing], drawn
from the run folder's tables (synthetic damped assets here: no simulation)."""

from __future__ import annotations

import types

import numpy as np

from tailrisk.config import parse_config
from tailrisk.pricing import DampedAssets, adl_price, price_grid
from tailrisk.pricing.api import write_columns
from tailrisk.report import families
from tailrisk.report import pricing as pricing_pages

CFG = {
    "run": {"steps": 30, "dt": "1d", "paths": 4000},
    "model": {"name": "gbm", "s0": 100.0, "sigma": 0.5, "mode": "risk_neutral"},
    "venue": {"population": {"n_accounts": 50, "probes": [{"name": "s10", "side": "short"}]}},
    "pricing": {"moneyness": [0.8, 0.9, 1.0, 1.1, 1.2], "maturities": ["30d"]},
}


def _assets(exp, n=4000):
    rng = np.random.default_rng(0)
    T = 30 / 365
    s = 100.0 * np.exp(-0.5 * 0.25 * T + 0.5 * np.sqrt(T) * rng.standard_normal(n))
    damped = np.maximum(s, 92.0)  # a short's asset, closed by ADL near 92 USD
    return DampedAssets(
        maturities=np.array([T]), steps=(30,), undamped=s[:, None],
        damped=damped[:, None, None], entitled=s[:, None, None], probe_names=("s10",),
        probe_side=np.array([-1.0]), probe_leverage=np.array([10.0]),
        probe_entry=np.array([100.0]), s0=100.0, r=0.0, model=exp.model)


def test_family_registered_and_applies_only_with_pricing():
    fam = next(f for f in families() if f.name == "pricing")
    with_p = types.SimpleNamespace(experiment=parse_config(CFG))
    without = types.SimpleNamespace(experiment=parse_config({k: v for k, v in CFG.items()
                                                             if k != "pricing"}))
    assert fam.applies(with_p) and not fam.applies(without)


def test_pages_draw_from_the_run_folder(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    exp = parse_config(CFG)
    assets = _assets(exp)
    write_columns(price_grid(assets, [80.0, 90.0, 100.0, 110.0, 120.0], ("call", "put")),
                  tmp_path / "pricing.parquet")
    write_columns(adl_price(assets), tmp_path / "pricing_adl.parquet")
    result = types.SimpleNamespace(experiment=exp, run_dir=tmp_path, config_hash="x" * 16)
    pages = pricing_pages._pages(result)
    assert [p.title for p in pages] == ["damped and undamped smiles", "the price of ADL",
                                        "closed-market check"]
    for page in pages[:2]:
        fig = page.draw()
        assert fig.axes and fig._suptitle is not None
        matplotlib.pyplot.close(fig)
    prices, adl = pricing_pages._tables(result)
    # the short's asset floored at 92: its puts below 92 are worth nothing, ADL costs it
    m = (prices["probe"] == "s10") & (prices["kind"] == "put") & (prices["strike_usd"] == 80.0)
    assert prices["price_plain_usd"][m][0] == 0.0
    assert adl["adl_price_usd"][0] > 0
