"""A small network end to end through the venue kernel: links cut give the isolated venues'
numbers exactly, money adds up on every path, hedger legs settle at the path's price."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tailrisk.config.network import parse_network_config
from tailrisk.contagion import network_summary, run_network
from tailrisk.contagion.api import network_accounts, network_paths

NET = {
    "run": {"paths": 192, "chunk_size": 192, "steps": 8, "dt": "1d", "seed": 11},
    "model": {"name": "gbm", "sigma": 2.0, "s0": 100.0},
    "network": {"clearing": "rogers_veraart", "alpha": 0.8, "beta": 0.9},
    "venues": {
        "A": {"policy": "pro_rata", "fund": 2000.0, "capital": 1000.0,
              "recourse_default_prob": 0.0,
              "population": {"n_accounts": 64, "size_median_usd": 1000.0}},
        "B": {"policy": "none", "fund": 500.0, "capital": 500.0, "recourse_default_prob": 0.0,
              "population": {"n_accounts": 64, "size_median_usd": 1000.0}},
    },
    "hedgers": [{"name": "h", "long_venue": "B", "short_venue": "A", "quantity": 50.0,
                 "leverage": 5.0, "outside_capital": 300.0}],
    "custodians": [{"name": "c", "hedger": "h", "venue": "B", "holds": 3000.0,
                    "refuse_below": 0.6}],
    "runs": [{"name": "r", "venue": "A", "amount": 800.0, "fund_below": 1500.0}],
}


@pytest.fixture(scope="module")
def runs():
    linked = run_network(parse_network_config(copy.deepcopy(NET)))
    cut = copy.deepcopy(NET)
    cut["network"]["links"] = False
    isolated = run_network(parse_network_config(cut))
    return linked, isolated


def test_links_cut_give_exactly_the_isolated_venues(runs):
    linked, cut = runs
    # the isolated numbers of a linked run are those of the run with every link cut
    for key in ("loss_isolated", "failed_isolated", "haircut_isolated", "kernel_fund_final",
                "kernel_capital_injected"):
        np.testing.assert_array_equal(linked.paths[key], cut.paths[key], err_msg=key)
    np.testing.assert_array_equal(cut.paths["loss_linked"], cut.paths["loss_isolated"])
    np.testing.assert_array_equal(cut.paths["failed"], cut.paths["failed_isolated"])
    assert not cut.paths["link_loss"].any()
    # and they are the single-venue kernel's numbers on each venue alone
    from tailrisk.venue.kernel import simulate_venue

    exp = cut.experiment
    accounts, _ = network_accounts(exp)
    index = np.arange(exp.run.paths)
    log_s = network_paths(exp, index)
    for k, name in enumerate(exp.venue_names):
        o = simulate_venue(accounts[k], exp.venues[name], log_s[k], s0=exp.model.s0,
                           seed=(exp.run.seed + 7919 * (k + 1)) % 2**32, path_index=index,
                           dt=exp.run.dt)
        np.testing.assert_array_equal(cut.paths["kernel_fund_final"][:, k], o["fund_final"])
        np.testing.assert_array_equal(cut.paths["haircut_isolated"][:, k], o["haircut_total"])


def test_hedger_legs_settle_at_the_path_price(runs):
    linked, _ = runs
    exp = linked.experiment
    s_t = np.exp(np.asarray(network_paths(exp, np.arange(exp.run.paths))[0])[:, -1])
    q, s0 = 50.0, exp.model.s0
    legs = linked.paths["leg_payoff"]  # long on B, short on A; recourse: never liquidated
    untouched = linked.paths["kernel_haircut_total"].sum(axis=1) == 0
    assert untouched.sum() > 20
    np.testing.assert_allclose(legs[untouched, 0], q * (s_t[untouched] - s0), rtol=1e-4,
                               atol=1e-3 * q * s0)
    np.testing.assert_allclose(legs[untouched, 1], -q * (s_t[untouched] - s0), rtol=1e-4,
                               atol=1e-3 * q * s0)


def test_money_adds_up_and_links_matter(runs):
    linked, _ = runs
    p = linked.paths
    scale = 1e-5 * (2000 + 1000 + 500 + 500 + 3000)
    assert np.abs(p["conservation"]).max() <= scale
    assert p["converged"].all()
    # every venue's shortfall is split into its layers
    layers = p["fund_used"] + p["adl"] + p["capital_used"] + p["credit_in"] + p["unpaid"]
    np.testing.assert_allclose(layers, p["shortfall"], atol=scale)
    # links only ever add loss, and on this network they do on some paths
    assert np.all(p["loss_linked"] >= p["loss_isolated"] - scale)
    assert (p["link_loss"].sum(axis=1) > 0).mean() > 0.05
    s = network_summary(linked)
    assert abs(sum(s["p_fail_linked"]) - 1) < 1e-12 and s["amplification"] >= 1


def test_run_folder_and_report_pages(runs, tmp_path):
    from tailrisk.contagion import summary_lines
    from tailrisk.contagion._store import load_network_run, save_network_run
    from tailrisk.report.contagion import build_network_report, network_pages

    linked, _ = runs
    summary = network_summary(linked)
    run_dir = save_network_run(linked, tmp_path, summary)
    back = load_network_run(run_dir)
    for key, arr in linked.paths.items():
        np.testing.assert_array_equal(back.paths[key], arr, err_msg=key)
    assert any("amplification" in line for line in summary_lines(summary))
    assert [p.title for p in network_pages(back)] == [
        "Contagion: venues failing and systemic loss",
        "Contagion: haircuts per venue, links cut vs with links",
        "Contagion: the network and the loss per link"]
    pdf = build_network_report(back, tmp_path / "report.pdf")
    assert pdf.read_bytes().count(b"/Type /Page") >= 3


NET_TOML = """
[run]
paths = 192
chunk_size = 192
steps = 8
dt = "1d"
seed = 11
[model]
name = "gbm"
sigma = 2.0
s0 = 100.0
[network]
clearing = "rogers_veraart"
alpha = 0.8
beta = 0.9
[venues.A]
policy = "pro_rata"
fund = 2000.0
capital = 1000.0
recourse_default_prob = 0.0
population = { n_accounts = 64, size_median_usd = 1000.0 }
[venues.B]
policy = "none"
fund = 500.0
capital = 500.0
recourse_default_prob = 0.0
population = { n_accounts = 64, size_median_usd = 1000.0 }
[[hedgers]]
name = "h"
long_venue = "B"
short_venue = "A"
quantity = 50.0
leverage = 5.0
outside_capital = 300.0
[[custodians]]
name = "c"
hedger = "h"
venue = "B"
holds = 3000.0
refuse_below = 0.6
[[runs]]
name = "r"
venue = "A"
amount = 800.0
fund_below = 1500.0
"""


def test_command_line(runs, tmp_path):
    import json

    from click.testing import CliRunner

    from tailrisk import cli
    from tailrisk.config.network import load_network_config

    config = tmp_path / "net.toml"
    config.write_text(NET_TOML)
    linked, _ = runs
    assert load_network_config(config) == linked.experiment  # the same programs, compiled once
    res = CliRunner().invoke(cli.main, ["contagion", str(config), "--out", str(tmp_path),
                                        "--no-report"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "amplification" in res.output and "USD" in res.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["loss_linked_mean"] == pytest.approx(network_summary(linked)["loss_linked_mean"])
    # `tailrisk run` on a network file runs it the same way
    res = CliRunner().invoke(cli.main, ["run", str(config), "--out", str(tmp_path / "run"),
                                        "--no-report"], catch_exceptions=False)
    assert res.exit_code == 0 and "amplification" in res.output, res.output
    config.write_text(NET_TOML.replace('long_venue = "B"', 'long_venue = "Q"'))
    res = CliRunner().invoke(cli.main, ["contagion", str(config), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "hedgers[0].long_venue = 'Q': unknown venue" in res.output
