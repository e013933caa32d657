"""Hyperliquid 2025-10-10 comparison (tailrisk.studies.hyperliquid); skips without the data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailrisk.studies import hyperliquid as realdata

DATA = realdata.shared_data_dir()
HAVE = DATA is not None and (DATA / realdata.HYPERLIQUID_DIR / realdata.USERS_FILE).is_file()
needs_data = pytest.mark.skipif(
    not HAVE,
    reason="shared Hyperliquid data absent (set TAILRISK_SHARED_DATA or put shared/data "
    "beside the repository)",
)


def test_shared_data_dir_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILRISK_SHARED_DATA", str(tmp_path))
    assert realdata.shared_data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match=realdata.USERS_FILE):
        realdata.load_hyperliquid_users(tmp_path)


def test_back_solved_leverage_reproduces_observed_leverage():
    # a short at L entered at E, after a fall d: effective leverage (1 - d) / (1/L + d)
    lev = np.array([0.2, 0.5, 1.0, 2.0])
    d = 0.2
    L = realdata._winner_leverage({"leverage_realtime": lev}, d)
    np.testing.assert_allclose((1 - d) / (1 / L + d), lev)


@pytest.mark.shared_data
@needs_data
def test_observed_summary_matches_the_file():
    users = realdata.load_hyperliquid_users()
    assert users["adl_notional"].size == 19_337  # PROVENANCE.md
    rows = {(r["quantity"], r["statistic"]): r["value"] for r in realdata.observed_summary(users)}
    # realtime_analysis_summary.json: 99.4 % of ADL'd positions profitable
    assert rows[("profitable", "share")] == pytest.approx(0.994, abs=0.002)
    assert rows[("leverage_realtime", "q0.5")] == pytest.approx(
        np.median(users["leverage_realtime"])
    )


@pytest.mark.shared_data
@needs_data
def test_model_comparison_runs_and_says_what_it_deleverages():
    cmp = realdata.hyperliquid_comparison(n_accounts=300)
    rows = {(r["source"], r["quantity"], r["statistic"]): r["value"] for r in cmp.rows}
    # pro rata touches every winner; the queue only as many as the gap needs
    assert rows[("pro_rata", "winners_deleveraged", "share")] == 1.0
    q = rows[("queue_hyperliquid", "winners_deleveraged", "share")]
    assert 0 < q < 1
    # ADL'd accounts are winners in the model, by construction
    assert rows[("queue_hyperliquid", "profitable", "share")] == 1.0
    assert all(math.isfinite(v) for k, v in rows.items() if k[0] == "hyperliquid")
