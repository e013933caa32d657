"""``run_network``: a network file from price paths to cleared, per-path network outcomes.

For each chunk of paths: draw the venues' price paths (one shared path, or correlated paths),
run the single-venue kernel once per venue (each hedger leg is an account of its venue), then
run the rounds of :mod:`._rounds` on every path. Path ``i`` draws from ``fold_in(key, i)`` and
the kernel and the rounds treat paths independently, so the numbers do not depend on the chunk
size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.network import NetworkExperiment
from ._rounds import Outcomes, Topology, network_rounds

__all__ = ["NetworkResult", "network_accounts", "network_paths", "run_network", "topology"]

#: per-venue kernel outputs kept in the result, (paths, venues)
KERNEL_KEPT = ("fund_final", "capital_injected", "insolvent", "adl_events", "haircut_total",
               "net_insolvent_debt", "liquidated_notional")
#: the venue streams of correlated paths: fold_in(price key, VENUE_STREAM_BASE + venue)
VENUE_STREAM_BASE = 0x7FFF0000


@dataclass
class NetworkResult:
    """Per-path outcomes of a network run (numpy, leading axis: paths).

    ``paths``: the rounds' outputs (see :func:`tailrisk.contagion._rounds.network_rounds`) plus
    ``kernel_<name>`` ``(paths, venues)`` for the names in ``KERNEL_KEPT``, all USD unless a
    count or a flag. ``link_names``: the columns of ``paths["link_loss"]``.
    """

    experiment: NetworkExperiment
    paths: dict[str, np.ndarray]
    venues: tuple[str, ...]
    link_names: tuple[str, ...]
    link_kinds: tuple[str, ...]
    wall_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    #: what the suite passes to the pages (the claim, its verdict, the experiment)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config_hash(self) -> str:
        from ..config.network import network_config_hash

        return network_config_hash(self.experiment)

    @property
    def n_paths(self) -> int:
        return len(self.paths["converged"])


def _venue_seed(seed: int, k: int) -> int:
    return (seed + 7919 * (k + 1)) % 2**32


def network_accounts(exp: NetworkExperiment):
    """Each venue's accounts with its hedger legs appended (recourse, entry ``s0``), and the legs
    as ``(venue index, cohort index, margin USD)`` in hedger order, long leg first."""
    from ..venue import Accounts, build_population

    s0 = exp.model.s0
    names = exp.venue_names
    accounts, legs = [], []
    for k, name in enumerate(names):
        base = build_population(exp.venues[name], s0, _venue_seed(exp.run.seed, k))
        extra = []
        for h in exp.hedgers:
            for side, venue in ((1, h.long_venue), (-1, h.short_venue)):
                if venue == name:
                    extra.append((h, side))
        if not extra:
            accounts.append(base)
            continue
        cohort_names = base.cohort_names + tuple(
            f"link {h.name} {'long' if side > 0 else 'short'}" for h, side in extra)
        m = len(extra)
        acc = Accounts.from_arrays(
            side=np.concatenate([base.side, [s for _, s in extra]]),
            quantity=np.concatenate([base.quantity, [h.quantity for h, _ in extra]]),
            entry=np.concatenate([base.entry, np.full(m, s0)]),
            leverage=np.concatenate([base.leverage, [h.leverage for h, _ in extra]]),
            mmr=np.concatenate([base.mmr, np.zeros(m)]),
            exempt=np.concatenate([base.exempt, [h.exempt for h, _ in extra]]),
            recourse=np.concatenate([base.recourse, np.ones(m, bool)]),
            cap=np.concatenate([base.cap, np.ones(m)]),
            cohort=np.concatenate([base.cohort, len(base.cohort_names) + np.arange(m)]),
            cohort_names=cohort_names, probe_index=base.probe_index,
            probe_names=base.probe_names)
        accounts.append(acc)
    for h in exp.hedgers:
        for side, venue in ((1, h.long_venue), (-1, h.short_venue)):
            k = names.index(venue)
            cohort = accounts[k].cohort_names.index(
                f"link {h.name} {'long' if side > 0 else 'short'}")
            legs.append((k, cohort, h.quantity * s0 / h.leverage))
    return accounts, legs


def topology(exp: NetworkExperiment, legs) -> Topology:
    """The index arrays of :class:`Topology` for a validated network file."""
    names = exp.venue_names
    hedgers = tuple(h.name for h in exp.hedgers)
    custodians = exp.custodians
    leg_hedger = np.repeat(np.arange(len(hedgers)), 2)
    leg_venue = np.array([k for k, _, _ in legs], np.int64)
    leg_margin = np.array([m for _, _, m in legs], float)
    leg_custodian = np.full(len(legs), -1, np.int64)
    holds = []
    for c_idx, c in enumerate(custodians):
        h = hedgers.index(c.hedger)
        g = 2 * h + (0 if exp.hedgers[h].long_venue == c.venue else 1)
        leg_custodian[g] = c_idx
        holds.append(leg_margin[g] if c.holds is None else c.holds)
    firms = tuple(f.name for f in exp.firms)
    lines = exp.credit_lines
    runs = exp.runs
    venues = [exp.venues[v] for v in names]
    net = exp.network
    return Topology(
        venues=names,
        no_adl=np.array([v.policy == "none" for v in venues]),
        fund0=np.array([v.fund for v in venues]),
        capital=np.array([v.capital for v in venues]),
        hedgers=hedgers,
        hedger_capital=np.array([h.outside_capital for h in exp.hedgers], float),
        leg_hedger=leg_hedger.astype(np.int64), leg_venue=leg_venue, leg_margin=leg_margin,
        leg_custodian=leg_custodian,
        custodians=tuple(c.name for c in custodians),
        custodian_holds=np.array(holds, float),
        custodian_venue=np.array([names.index(c.venue) for c in custodians], np.int64),
        custodian_refuse_below=np.array([c.refuse_below for c in custodians], float),
        firms=firms, firm_capital=np.array([f.capital for f in exp.firms], float),
        credit_names=tuple(c.name for c in lines),
        credit_lender_venue=np.array([names.index(c.lender) if c.lender in names else -1
                                      for c in lines], np.int64),
        credit_lender_firm=np.array([firms.index(c.lender) if c.lender in firms else -1
                                     for c in lines], np.int64),
        credit_borrower=np.array([names.index(c.borrower) for c in lines], np.int64),
        credit_limit=np.array([c.limit for c in lines], float),
        run_names=tuple(r.name for r in runs),
        run_venue=np.array([names.index(r.venue) for r in runs], np.int64),
        run_amount=np.array([r.amount for r in runs], float),
        run_fund_below=np.array([-math.inf if r.fund_below is None else r.fund_below
                                 for r in runs], float),
        run_on_adl=np.array([r.on_adl for r in runs], bool),
        run_unbacked=np.array([r.unbacked for r in runs], float),
        method=net.clearing, alpha=net.alpha, beta=net.beta, max_rounds=net.max_rounds,
        links=net.links,
    )


def network_paths(exp: NetworkExperiment, path_index: np.ndarray):
    """Log prices ``(venues, paths, steps)`` for the given global path indices.

    ``shared``: every venue reads the single-venue run's path (the price stream). ``correlation``:
    venue ``k`` draws its own increments from ``fold_in(price key, VENUE_STREAM_BASE + k)``;
    they are mixed by the lower Cholesky factor ``C`` of the correlation matrix around the
    physical drift: ``x_v = mu dt + sum_k C_vk (z_k - mu dt)`` (variance and correlation as
    given; the mixture of fat-tailed increments is not itself of the model's family).
    """
    import jax
    import jax.numpy as jnp

    from .._rng import STREAM_PRICE, stream_key
    from ..paths import log_increments

    run, model = exp.run, exp.model
    key = stream_key(run.seed, STREAM_PRICE)
    idx = jnp.asarray(path_index, jnp.uint32)
    nv = len(exp.venues)
    if exp.network.paths == "shared":
        x = log_increments(key, model, idx, run.steps, run.dt, run.dtype)
        log_s = jnp.log(jnp.asarray(model.s0, x.dtype)) + jnp.cumsum(x, axis=1)
        return [log_s] * nv
    chol = np.linalg.cholesky(exp.correlation_matrix() + 1e-12 * np.eye(nv))
    drift = model.mu * run.dt
    z = [log_increments(jax.random.fold_in(key, VENUE_STREAM_BASE + k), model, idx, run.steps,
                        run.dt, run.dtype) - drift for k in range(nv)]
    out = []
    for v in range(nv):
        x = drift + sum(float(chol[v, k]) * z[k] for k in range(v + 1))
        out.append(jnp.log(jnp.asarray(model.s0, x.dtype)) + jnp.cumsum(x, axis=1))
    return out


def run_network(exp: NetworkExperiment, *, progress: bool = False) -> NetworkResult:
    """Simulate every venue of ``exp`` on its paths, clear the links on every path, and return
    the per-path outcomes with the same venues' isolated numbers beside them."""
    import time

    import jax

    from ..venue.kernel import simulate_venue

    if exp.run.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    t0 = time.perf_counter()
    accounts, legs = network_accounts(exp)
    top = topology(exp, legs)
    names = exp.venue_names
    run = exp.run
    chunks: list[dict[str, np.ndarray]] = []
    for c in range(run.n_chunks):
        start, stop = c * run.chunk_size, min((c + 1) * run.chunk_size, run.paths)
        n = stop - start
        index = np.arange(start, start + run.chunk_size, dtype=np.int64)  # padded: one program
        log_s = network_paths(exp, index)
        kern: dict[str, list[np.ndarray]] = {k: [] for k in KERNEL_KEPT}
        winners, leg_payoff = [], np.zeros((n, len(legs)))
        for k, name in enumerate(names):
            venue = exp.venues[name]
            o = simulate_venue(accounts[k], venue, log_s[k], s0=exp.model.s0,
                               seed=_venue_seed(run.seed, k), path_index=index, dt=run.dt)
            for key in KERNEL_KEPT:
                kern[key].append(np.asarray(o[key])[:n])
            damped = np.asarray(o["cohort_damped"], np.float64)[:n]
            own = [i for i, nm in enumerate(accounts[k].cohort_names)
                   if not nm.startswith("link ")]
            winners.append(np.maximum(damped[:, own], 0.0).sum(axis=1))
            for g, (kv, cohort, _) in enumerate(legs):
                if kv == k:
                    leg_payoff[:, g] = damped[:, cohort]
        stack = {key: np.stack(v, axis=1) for key, v in kern.items()}
        outcomes = Outcomes(
            fund_final=stack["fund_final"].astype(np.float64),
            floor=np.array([exp.venues[v].floor for v in names]),
            capital_injected=stack["capital_injected"].astype(np.float64),
            insolvent=stack["insolvent"], adl_events=stack["adl_events"],
            winners=np.stack(winners, axis=1), haircut_total=stack["haircut_total"],
            leg_payoff=leg_payoff)
        res = network_rounds(top, outcomes, dtype=run.dtype)
        res.update({f"kernel_{key}": v for key, v in stack.items()})
        res["leg_payoff"] = leg_payoff
        res["path_index"] = index[:n]
        chunks.append(res)
        if progress:
            print(f"chunk {c + 1}/{run.n_chunks} done", flush=True)
    paths = {k: np.concatenate([ch[k] for ch in chunks]) for k in chunks[0]}
    link_names = (tuple(top.hedgers) + tuple(top.custodians) + tuple(top.credit_names)
                  + tuple(top.run_names))
    link_kinds = (("hedger",) * len(top.hedgers) + ("custodian",) * len(top.custodians)
                  + ("credit_line",) * len(top.credit_names) + ("run",) * len(top.run_names))
    return NetworkResult(experiment=exp, paths=paths, venues=names, link_names=link_names,
                         link_kinds=link_kinds, wall_s=time.perf_counter() - t0)
