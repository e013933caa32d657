"""The venue kernel on a CUDA device (skipped without one): the reference parity in float64, and
float32 runs at a larger scale that conserve money and do not depend on the chunking."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tailrisk.config import parse_config
from tailrisk.venue import CONTRACT_POLICIES, PNL_POLICIES, POLICIES, build_population
from tailrisk.venue.kernel import device_knobs, simulate_venue


def _gpu():
    try:
        return jax.devices("gpu")[0]
    except RuntimeError:
        return None


GPU = _gpu()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(GPU is None, reason="no CUDA device")]


def _experiment():
    return parse_config({
        "run": {"dt": "1h", "seed": 0},
        "model": {"name": "student_t", "nu": 3.0, "sigma": 0.9, "s0": 100_000.0},
        "venue": {"policy": "queue_bitmex", "fund": 500.0 * 2000,
                  "population": {"n_accounts": 2000}},
    }, "<gpu test>")


@pytest.mark.parametrize("policy", POLICIES)
def test_gpu_float32_conserves_money_and_ignores_the_chunking(policy):
    """4,096 float32 paths x 256 steps against 2,000 generated accounts on the GPU: every path
    conserves money; the numbers do not depend on the chunks, batches or pool size (bit for
    bit), and the CPU's narrow ADL blocks move them by rounding at most."""
    from tailrisk._rng import STREAM_PRICE, stream_key
    from tailrisk.paths import log_prices

    exp = _experiment()
    acc = build_population(exp.venue, exp.model.s0, 0)
    n = 4096
    with jax.default_device(GPU):
        assert device_knobs(GPU)["block"] > 2
        lp = log_prices(stream_key(0, STREAM_PRICE), exp.model, jnp.arange(n), 256, exp.run.dt)

        def run(lo, hi, **kw):
            return simulate_venue(acc, exp.venue, lp[lo:hi], s0=exp.model.s0, seed=0,
                                  path_index=np.arange(lo, hi), dt=exp.run.dt, policy=policy,
                                  **kw)

        whole = run(0, n)
        parts = [run(0, 1000, compact=64), run(1000, n, rows_budget=1 << 22)]
        narrow = run(0, n, block=2)
    scale = float(np.sum(acc.quantity * acc.entry)) + exp.venue.fund
    for key, value in whole.items():
        assert np.all(np.isfinite(value)), key
        np.testing.assert_array_equal(value, np.concatenate([p[key] for p in parts]), key)
        np.testing.assert_allclose(value, narrow[key], rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=key)
    residual = (whole["cohort_damped"].sum(axis=1) + whole["pnl_rest"] + whole["fund_final"]
                - exp.venue.fund - whole["token_revaluation"] - whole["capital_injected"])
    assert np.max(np.abs(residual)) < 2e-5 * scale
    assert whole["liquidated_count"].sum() > 0
    if policy in CONTRACT_POLICIES + PNL_POLICIES:
        assert np.sum(whole["adl_events"] > 0) > 0


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("venue_name", ["impact_capacity", "sparse_checks_token_drawdown"])
def test_gpu_kernel_matches_reference(policy, venue_name):
    from test_venue_parity import test_kernel_matches_reference

    with jax.default_device(GPU):
        test_kernel_matches_reference(policy, venue_name, exact=False)
