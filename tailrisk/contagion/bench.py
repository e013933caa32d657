"""``tailrisk bench --what contagion``: what the links cost on top of the venues, and the JAX
clearing against the plain reference.

Rows (medians of ``repeats`` timed calls after one untimed warm-up that compiles):

* ``venues unlinked``: draw every venue's correlated paths and run the venue kernel on each;
* ``venues + rounds``: the same plus the rounds between venues (obligations, Eisenberg–Noe
  clearing, waterfalls) on every path;
* ``clearing (JAX)`` and ``clearing (reference)``: one random network of ``venues + entities``
  entities per path (about four creditors each), cleared by :func:`clear` over a batch of paths
  and by the Picard reference path by path; compared per path. Twice: with every path stressed
  (outside assets 60-110% of debts: defaults everywhere, the worst case for the JAX clearing,
  which solves a linear system over each path's defaulters) and with 5% of paths stressed
  (the others pay in full; closer to a Monte Carlo run, where most paths have no default).

The venues share one population (and the same number of hedger legs on each side), so one
compiled venue program serves all of them; the benchmark measures running, not compiling.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["bench_contagion", "bench_network"]


def bench_network(n_venues: int = 10, n_entities: int = 100, n_paths: int = 100_000,
                  chunk: int = 25_000, steps: int = 64, n_accounts: int = 1_000):
    """The benchmark's network file: ``n_venues`` alike venues on correlated paths; of the
    ``n_entities`` linked entities half are hedgers (hedger ``i`` long on venue ``i % V``, short
    on ``(i + 1) % V``), a fifth custodians, a twentieth firms, the rest credit lines and runs."""
    from ..config.network import parse_network_config

    nh, nc, nf = n_entities // 2, n_entities // 5, max(1, n_entities // 20)
    nk = (n_entities - nh - nc - nf) * 3 // 5
    nr = n_entities - nh - nc - nf - nk
    names = [f"v{k}" for k in range(n_venues)]
    venue = {"policy": "queue_bitmex", "fund": 2e6, "capital": 2e6, "eta": 0.001,
             "depth": 5e7, "recourse_default_prob": 0.0,
             "population": {"n_accounts": n_accounts, "size_median_usd": 20_000.0}}
    data = {
        "run": {"name": "bench_contagion", "paths": n_paths, "chunk_size": min(chunk, n_paths),
                "steps": steps, "dt": "8h", "seed": 7},
        "model": {"name": "student_t", "nu": 3.0, "sigma": 0.9, "s0": 100_000.0},
        "network": {"paths": "correlation", "common_factor": 0.6},
        "venues": {v: venue for v in names},
        "hedgers": [{"name": f"h{i}", "long_venue": names[i % n_venues],
                     "short_venue": names[(i + 1) % n_venues], "quantity": 20.0,
                     "leverage": 10.0, "outside_capital": 2e5} for i in range(nh)],
        "custodians": [{"name": f"c{i}", "hedger": f"h{i}", "venue": names[i % n_venues],
                        "holds": 5e5, "refuse_below": 0.5} for i in range(nc)],
        "firms": [{"name": f"f{i}", "capital": 5e6} for i in range(nf)],
        "credit_lines": [{"name": f"l{i}", "lender": f"f{i % nf}" if i % 2 else
                          names[(i + 3) % n_venues], "borrower": names[i % n_venues],
                          "limit": 1e6} for i in range(nk)],
        "runs": [{"name": f"r{i}", "venue": names[i % n_venues], "amount": 1e6,
                  "fund_below": 1e6, "unbacked": 0.3} for i in range(nr)],
    }
    return parse_network_config(data, "<bench_contagion>")


def _alike_accounts(exp):
    """One population for every venue, each with its hedger legs appended in the same order
    (long legs, then short legs): identical account tables, one compiled program."""
    from ..venue import Accounts, generate_population

    name0 = exp.venue_names[0]
    base = generate_population(exp.venues[name0].population, exp.model.s0, exp.run.seed)
    accounts, legs = [], [None] * (2 * len(exp.hedgers))
    for k, v in enumerate(exp.venue_names):
        longs = [i for i, h in enumerate(exp.hedgers) if h.long_venue == v]
        shorts = [i for i, h in enumerate(exp.hedgers) if h.short_venue == v]
        extra = [(i, 1) for i in longs] + [(i, -1) for i in shorts]
        m = len(extra)
        hq = [exp.hedgers[i] for i, _ in extra]
        accounts.append(Accounts.from_arrays(
            side=np.concatenate([base.side, [s for _, s in extra]]),
            quantity=np.concatenate([base.quantity, [h.quantity for h in hq]]),
            entry=np.concatenate([base.entry, np.full(m, exp.model.s0)]),
            leverage=np.concatenate([base.leverage, [h.leverage for h in hq]]),
            mmr=np.concatenate([base.mmr, np.zeros(m)]),
            exempt=np.concatenate([base.exempt, np.zeros(m, bool)]),
            recourse=np.concatenate([base.recourse, np.ones(m, bool)]),
            cap=np.concatenate([base.cap, np.ones(m)]),
            cohort=np.concatenate([base.cohort, len(base.cohort_names) + np.arange(m)]),
            cohort_names=base.cohort_names + tuple(f"link {j}" for j in range(m))))
        for j, (i, side) in enumerate(extra):
            h = exp.hedgers[i]
            legs[2 * i + (0 if side > 0 else 1)] = (k, len(base.cohort_names) + j,
                                                     h.quantity * exp.model.s0 / h.leverage)
    return accounts, legs


def _run(exp, accounts, legs, top, linked: bool) -> float:
    from ..venue.kernel import simulate_venue
    from ._rounds import Outcomes, network_rounds
    from .api import network_paths

    run = exp.run
    t0 = time.perf_counter()
    names = exp.venue_names
    n_own = len(accounts[0].cohort_names) - sum(1 for lg in legs if lg[0] == 0)
    for c in range(run.n_chunks):
        start = c * run.chunk_size
        index = np.arange(start, start + run.chunk_size)
        log_s = network_paths(exp, index)
        outs = [simulate_venue(accounts[k], exp.venues[v], log_s[k], s0=exp.model.s0,
                               seed=run.seed + k, path_index=index, dt=run.dt)
                for k, v in enumerate(names)]
        outs = [{key: np.asarray(val) for key, val in o.items()} for o in outs]
        if not linked:
            continue
        damped = [o["cohort_damped"].astype(np.float64) for o in outs]
        outcomes = Outcomes(
            fund_final=np.stack([o["fund_final"] for o in outs], 1).astype(np.float64),
            floor=np.zeros(len(names)),
            capital_injected=np.stack([o["capital_injected"] for o in outs], 1),
            insolvent=np.stack([o["insolvent"] for o in outs], 1),
            adl_events=np.stack([o["adl_events"] for o in outs], 1),
            winners=np.stack([np.maximum(d[:, :n_own], 0).sum(1) for d in damped], 1),
            haircut_total=np.stack([o["haircut_total"] for o in outs], 1),
            leg_payoff=np.stack([damped[k][:, cohort] for k, cohort, _ in legs], 1))
        network_rounds(top, outcomes, dtype=run.dtype)
    return time.perf_counter() - t0


def _clearing_rows(n: int, paths: int, reference_paths: int, repeats: int,
                   default_share: float = 1.0, seed: int = 3):
    from ._clearing import clear
    from ._reference import clear_reference

    rng = np.random.default_rng(seed)
    density = min(1.0, 4.0 / n)  # about four creditors an entity
    liab = (rng.exponential(1e5, (paths, n, n)) * (rng.random((paths, n, n)) < density))
    liab[:, np.arange(n), np.arange(n)] = 0.0
    liab = liab.astype(np.float32)
    owed = liab.sum(2)
    # on a share of the paths outside assets are 60-110% of what each owes (defaults), on the
    # others 105-130% (nobody defaults)
    stressed = rng.random((paths, 1)) < default_share
    e = (owed * np.where(stressed, rng.uniform(0.6, 1.1, (paths, n)),
                         rng.uniform(1.05, 1.3, (paths, n)))).astype(np.float32)
    o = np.full((paths, n), 1e4, np.float32)
    clear(liab, e, o)  # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = clear(liab, e, o)
        times.append(time.perf_counter() - t)
    jax_s = statistics.median(times)
    t = time.perf_counter()
    worst = 0.0
    for k in np.linspace(0, paths - 1, reference_paths).astype(int):
        paid, _, _ = clear_reference(liab[k], e[k], o[k])
        worst = max(worst, float(np.max(np.abs(paid - res.paid[k]) / np.maximum(paid, 1.0))))
    ref_s = time.perf_counter() - t
    share = float(res.defaulted.any(axis=1).mean())
    jax_per = jax_s / paths
    ref_per = ref_s / reference_paths
    return [
        {"case": f"clearing (JAX), {100 * default_share:g}% stressed", "entities": n,
         "paths": paths, "seconds": jax_s, "us_per_path": 1e6 * jax_per,
         "paths_with_default": share},
        {"case": f"clearing (reference), {100 * default_share:g}% stressed", "entities": n,
         "paths": reference_paths, "seconds": ref_s, "us_per_path": 1e6 * ref_per,
         "speedup": ref_per / jax_per, "max_rel_diff": worst},
    ]


def bench_contagion(*, n_paths: int = 100_000, chunk: int = 25_000, steps: int = 64,
                    n_accounts: int = 1_000, n_venues: int = 10, n_entities: int = 100,
                    repeats: int = 3, clearing_paths: int = 4_096, reference_paths: int = 20,
                    on_row: Callable[[dict[str, Any]], None] | None = None
                    ) -> list[dict[str, Any]]:
    """The rows described in the module docstring (seconds; ratios to ``venues unlinked``)."""
    from .api import topology

    exp = bench_network(n_venues, n_entities, n_paths, chunk, steps, n_accounts)
    accounts, legs = _alike_accounts(exp)
    top = topology(exp, legs)
    rows: list[dict[str, Any]] = []
    base = None
    for case, linked in (("venues unlinked", False), ("venues + rounds", True)):
        _run(exp, accounts, legs, top, linked)  # warm-up: compiles
        times = [_run(exp, accounts, legs, top, linked) for _ in range(repeats)]
        sec = statistics.median(times)
        base = base or sec
        row = {"case": case, "venues": n_venues, "entities": n_entities, "paths": n_paths,
               "steps": steps, "accounts": n_accounts, "seconds": sec, "ratio": sec / base}
        rows.append(row)
        if on_row:
            on_row(row)
    for share in (1.0, 0.05):
        for row in _clearing_rows(n_venues + n_entities, clearing_paths, reference_paths,
                                  repeats, default_share=share):
            rows.append(row)
            if on_row:
                on_row(row)
    return rows
