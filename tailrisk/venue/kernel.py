"""The fast venue kernel: liquidations, insurance fund and ADL for a chunk of paths (docs/venue.md).

:func:`simulate_venue` validates its inputs in Python, then runs one jitted program a chunk
(:func:`_run_chunk`) composed of the rooms beside this file:

- :mod:`._tables`: each side's accounts sorted once by liquidation price, prefix sums and the
  trigger-count lookup (a check costs O(1) gathers whatever the population size);
- :mod:`._state`: the per-path state, its packed form and the pool of per-account ADL rows;
- :mod:`._liquidation`: one check (trigger, engine batch, fund, ADL, impact), with the ADL
  policies in :mod:`._adl_queue`, :mod:`._adl_contract`, :mod:`._adl_pnl` and
  :mod:`._adl_settlement`;
- :mod:`._events` and :mod:`._scan`: the two schedules that walk the checks (the same numbers);
- :mod:`._settlement`: payoffs and outputs at the horizon.

Diagnostics are reduced as the paths go, so memory does not grow with the number of steps. The
plain per-account oracle is :mod:`tailrisk.venue.reference`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .._codemaps import relieve_code_maps
from .._program_store import call_stored
from ..config.venue import POLICIES, VenueConfig
from ._accounts import Accounts
from ._events import run_events
from ._mesh import mesh_call, mesh_size
from ._ops import on_device
from ._random import recourse_uniform, token_normals
from ._scan import run_scan
from ._settings import Params, Static, venue_params
from ._settlement import gini_of_rows, money_tolerance, settle_paths
from ._state import give_buffers, init_state, pool_shapes, pooled_fields, take_buffers
from ._tables import side_tables

OUTPUT_KEYS = (
    "fund_final", "fund_min", "shortfall", "capital_injected", "insolvent", "net_insolvent_debt",
    "liquidated_notional", "liquidated_count", "adl_notional", "adl_count", "adl_events",
    "backlog_max", "backlog_final", "converged", "fees", "pnl_rest", "token_revaluation",
    "winners", "winners_touched", "max_haircut_pct", "gini_haircut", "haircut_total", "overshoot",
    "covered",
)
#: how the kernel walks the grid: "events" jumps each path to its next check with something to
#: do, "scan" visits every check; "auto" takes "events" where it applies (no drawdown rule, fund
#: in USD). The numbers are the same.
SCHEDULES = ("auto", "events", "scan")


@partial(jax.jit, static_argnames=("static", "seed", "n_cohorts"), donate_argnames=("buffers",))
def _run_chunk(sides, prm: Params, log_prices, token_z, u_rec, path_index, probe_pos,
               log_s0, buffers=(None, None), *, static: Static, seed: int, n_cohorts: int):
    """One chunk of paths: (outputs, pool rows handed out, buffers). ``buffers`` are donated
    arrays, returned for the next chunk: the pooled rows of each side (see init_side) and, with
    ``static.gini_rows``, the rows of haircuts handed to the host (see settle_paths)."""
    n = log_prices.shape[0]
    dtype = log_prices.dtype
    tol = money_tolerance(sides, prm)
    init = init_state(sides, prm, static, n, dtype, buffers)
    pooled = pooled_fields(static.policy)

    def finish(state, snaps):
        final = jnp.exp(log_prices[:, -1]) * state.impact
        rows = tuple({f: getattr(ss, f) for f in pooled} for ss in (state.long, state.short))
        if static.gini_rows:
            out, gini_buf = settle_paths(state, sides, final, u_rec, prm, static, n_cohorts,
                                         probe_pos, tol, buffers[2]["gini"])
            rows = (*rows, {"gini": gini_buf})
        else:
            out = settle_paths(state, sides, final, u_rec, prm, static, n_cohorts, probe_pos, tol)
        if snaps is not None:
            # at the horizon the settlement's own payoffs (clawbacks and recourse included)
            at_end = jnp.asarray(static.probe_steps) == log_prices.shape[1]
            out["probe_damped_at"] = jnp.where(at_end[None, :, None],
                                               out["probe_damped"][:, None], snaps[0])
            out["probe_undamped_at"] = jnp.where(at_end[None, :, None],
                                                 out["probe_undamped"][:, None], snaps[1])
        return out, state.pool_next, rows

    if static.events:
        return finish(*run_events(init, sides, log_prices, path_index, prm, static, seed, tol,
                                  probe_pos))
    return finish(*run_scan(init, sides, log_prices, token_z, path_index, log_s0, prm, static,
                            seed, tol, probe_pos))


def device_knobs(device=None) -> dict[str, int]:
    """Defaults of the kernel's knobs for ``device`` (default: JAX's first device).

    A CPU runs a loop iteration for little, so ADL blocks are small (2 paths) and the event
    schedule shrinks its batches down to 1,024 paths; a GPU pays a launch or more per iteration
    whatever its width, so it takes 64 paths per ADL block, stops shrinking at 16,384 and gives
    the pool of private account rows an eighth of its memory (64 MiB on a CPU). The block is a
    constant of the device kind, so a GPU's numbers do not depend on the chunking either.
    """
    device = device or jax.devices()[0]
    if device.platform == "cpu":
        return {"block": 2, "compact": 1024, "rows_budget": 1 << 26}
    stats = device.memory_stats() or {}
    limit = int(stats.get("bytes_limit", 16 << 30))
    return {"block": 64, "compact": 16_384, "rows_budget": max(1 << 26, limit // 8)}


def rows_budget_for(accounts: Accounts, policy: str, dtype, paths: int,
                    device=None) -> int:
    """A ``rows_budget`` (bytes) whose pool holds the private account rows of ``paths`` paths
    with ADL, rounded up to a power of two of paths (so that few pool sizes get compiled), at
    least the device's default and at most 16 times it. For callers that know how many paths
    will need rows (a run of the same chunk just before); the numbers never depend on it, only
    whether a chunk runs twice."""
    default = device_knobs(device)["rows_budget"]
    per_path = len(pooled_fields(policy)) * (accounts.n + 2) * jnp.dtype(dtype).itemsize
    if per_path == 0 or paths <= 0:
        return default
    want = per_path * (1 << math.ceil(math.log2(paths)))
    return int(min(max(default, want), 16 * default))


def simulate_venue(accounts: Accounts, venue: VenueConfig, log_prices, *, s0: float, seed: int,
                   path_index, dt: float = 1 / 365, policy: str | None = None,
                   block: int | None = None, settle_window: int = 32,
                   exact_settlement: bool = False,
                   rows_budget: int | None = None, lanes: int = 64,
                   compact: int | None = None, workers: int | None = None,
                   schedule: str = "auto", mesh=None,
                   probe_steps: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Run the venue over a chunk of price paths.

    log_prices: log S_t for t = 1..T, shape (paths, T); ``s0`` is S_0 in USD. path_index: the
    global indices of the paths (for the venue's random numbers). ``policy`` overrides
    ``venue.policy`` (common random numbers across policies). Returns per-path numpy arrays named
    as in docs/venue.md, plus ``cohort_damped``/``cohort_undamped`` (paths, cohorts) and
    ``probe_damped``/``probe_undamped`` (paths, probes), USD. Policies that change positions give
    each path with ADL a private row of account state from a pool of at most ``rows_budget``
    bytes; a batch that needs more reruns in smaller batches (the numbers do not depend on it).

    Knobs that never change the numbers: ``compact``, the paths per batch of a check (with the
    event schedule, the smallest batch); ``schedule`` (see ``SCHEDULES``); ``rows_budget``;
    ``lanes``, the padding of batches; ``workers``, the parts of the chunk run side by side
    (default 1). ``block``, the paths per ADL block, is fixed per kind of device: XLA vectorises
    the per-account sums inside a block by its width, which can move their last bit. Defaults of
    all of these: ``device_knobs``. On a CPU the Gini of the haircuts is taken on the host
    (``_settlement.gini_of_rows``, float64), on other devices in the kernel: the two agree to
    rounding.

    ``mesh``: a ``jax.sharding.Mesh`` with a ``paths`` axis (``tailrisk.scale.paths_mesh``);
    each of its devices runs the kernel on its share of the chunk (``_mesh.py``; the same
    numbers as one device).
    ``probe_steps``: steps (1-based, ascending, at most the number of steps) at which each
    probe's payoff, had it closed there, is also returned: ``probe_damped_at`` and
    ``probe_undamped_at``, ``(paths, len(probe_steps), probes)``, USD (options on damped assets
    at several maturities from one run; see ``_probe_marks``).
    """
    relieve_code_maps()  # a long session of compiles must not exhaust the process's mappings
    policy = policy or venue.policy
    if policy not in POLICIES:
        raise ValueError(f"policy = {policy!r}: must be one of {', '.join(POLICIES)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule = {schedule!r}: must be one of {', '.join(SCHEDULES)}")
    # the event schedule needs a state that stays put between the checks that do something
    events_ok = venue.drawdown is None and not venue.fund_in_token
    if schedule == "events" and not events_ok:
        raise ValueError("schedule = 'events': needs no drawdown rule and a fund in USD "
                         "(the fund moves at every check otherwise); use 'auto' or 'scan'")
    events = schedule != "scan" and events_ok
    log_prices = jnp.asarray(log_prices)
    if log_prices.ndim != 2:
        raise ValueError(f"log_prices has shape {log_prices.shape}: expected (paths, steps)")
    dtype = log_prices.dtype
    n, steps = log_prices.shape
    probe_steps = tuple(int(t) for t in probe_steps)
    if list(probe_steps) != sorted(set(probe_steps)) or any(
            not 1 <= t <= steps for t in probe_steps):
        raise ValueError(f"probe_steps = {probe_steps}: must be distinct ascending steps in "
                         f"1..{steps}")
    if not (isinstance(path_index, jax.Array) and path_index.dtype == jnp.uint32):
        path_index = on_device(np.asarray(path_index), jnp.uint32)
    if path_index.shape != (n,):
        raise ValueError(f"path_index has shape {path_index.shape}: expected ({n},)")
    sides = side_tables(accounts, dtype)
    device = next(iter(log_prices.devices()))  # where the paths are
    knobs = device_knobs(device)
    block = block or knobs["block"]
    compact = compact or knobs["compact"]
    rows_budget = rows_budget or knobs["rows_budget"]
    # the checks within the window are the last floor(window / check_every) ones
    slots = 0 if venue.drawdown is None else max(1, venue.drawdown_window // venue.check_every)
    static = Static(policy=policy, max_rounds=venue.max_rounds, check_every=venue.check_every,
                    drawdown_slots=slots, fund_in_token=venue.fund_in_token,
                    has_capacity=math.isfinite(venue.capacity),
                    settle_window=settle_window,
                    block=block,
                    pool=0, compact=0, events=events, lanes=lanes, probe_steps=probe_steps)
    if venue.fund_in_token:
        token_z = token_normals(seed, path_index, steps).astype(dtype) * math.sqrt(dt)
    else:
        token_z = on_device(np.zeros((n, 0)), dtype)  # not read
    u_rec = recourse_uniform(seed, path_index).astype(dtype)
    # probes: position of each probe account in the (long-sorted, short-sorted) concatenation
    pos_of = np.empty(accounts.n, np.int64)
    pos_of[np.asarray(sides[0].index)] = np.arange(len(sides[0].q))
    pos_of[np.asarray(sides[1].index)] = len(sides[0].q) + np.arange(len(sides[1].q))
    probe_pos = on_device(pos_of[accounts.probe_index], jnp.int32)
    prm = venue_params(venue, dtype, exact_settlement)
    # Batches are padded to a multiple of `lanes` paths: XLA's vectorised loops may fuse a
    # multiply-add differently in a scalar remainder, so every path must run in full vectors
    # for the numbers not to depend on the chunk size.
    n_dev = mesh_size(mesh)  # each device's share is a whole number of lanes
    sub = -(-n // (lanes * n_dev)) * lanes * n_dev
    # A private account row costs one number per account for each pooled field (4 for contract
    # policies, 2 for PnL ones); `fit` paths' rows fit in rows_budget. The pool first gets that
    # many rows for the whole chunk (ADL is rare); a batch whose paths need more reruns (see
    # `part`; the numbers are the same either way).
    per_path = len(pooled_fields(policy)) * (accounts.n + 2) * jnp.dtype(dtype).itemsize
    fit = max(lanes, rows_budget // per_path // lanes * lanes) if per_path else sub
    # On a CPU the paths settled account by account hand their haircuts to the host for the
    # Gini (_settlement.gini_of_rows), one row each in a buffer of `gini_fit` rows (rows_budget
    # bytes); a batch with more such paths reruns like one whose pool runs out.
    row_bytes = max(1, accounts.n) * jnp.dtype(dtype).itemsize
    host_gini = device.platform == "cpu"
    gini_fit = max(lanes, rows_budget // row_bytes // lanes * lanes) if host_gini else 0

    def run(lo: int, size: int, pool: int, gini_rows: int, on_mesh: bool = True):
        hi = min(lo + size, n)
        grid = mesh if on_mesh else None
        n_dev = mesh_size(grid)  # pools and Gini rows are per device
        pad = size - (hi - lo)

        def cut(a):
            if lo == 0 and hi == a.shape[0] and pad == 0:
                return a  # the whole chunk: no slicing program to run
            a = a[lo:hi]
            return jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad > 0 else a

        st = static._replace(pool=pool, compact=min(size, compact), gini_rows=gini_rows)
        shapes = tuple({f: (n_dev * a, *b) for f, (a, *b) in d.items()}
                       for d in pool_shapes(sides, st))
        if gini_rows:
            shapes = (*shapes, {"gini": (n_dev * gini_rows, accounts.n)})
        args = (sides, prm, cut(log_prices), cut(token_z), cut(u_rec), cut(path_index), probe_pos,
                on_device(math.log(s0), dtype), take_buffers(shapes, dtype))
        kw = {"static": st, "seed": seed, "n_cohorts": len(accounts.cohort_names)}
        if grid is None:
            # through the program store: a repeat run neither traces nor lowers the kernel
            res, used, buffers = call_stored("venue_chunk", _run_chunk, args, kw, donate=(8,),
                                             packages=("tailrisk.venue",))
        else:
            res, used, buffers = mesh_call(grid, _run_chunk, args, kw)
        out = {k: np.asarray(v)[: hi - lo] for k, v in res.items()}
        slow = 0  # paths settled account by account (their Gini rows), the most on a device
        if gini_rows:
            rank = out.pop("gini_rank")  # ranks among the device's own paths
            share = size // n_dev
            g = out["gini_haircut"].copy()
            # each device's rows from its own shard (on a CPU a view, no copy of the buffer)
            shard = {0: buffers[2]["gini"]} if grid is None else {
                s.index[0].start or 0: s.data for s in buffers[2]["gini"].addressable_shards}
            for d in range(n_dev):
                part_d = slice(d * share, (d + 1) * share)
                mine = rank[part_d] >= 0
                count = int(np.sum(mine))
                slow = max(slow, count)
                if mine.any() and count <= gini_rows:
                    # sliced on the host: a slice on the device would compile a program per count
                    rows = np.asarray(shard[d * gini_rows])[:count]
                    g[part_d][mine] = gini_of_rows(rows)[rank[part_d][mine]]
            out["gini_haircut"] = g
        give_buffers(shapes, dtype, buffers, devices=n_dev)
        return out, int(np.max(np.asarray(used))), slow

    def part(lo: int) -> dict[str, np.ndarray]:
        share = sub // n_dev  # each device's paths
        pool = min(share, fit) if per_path else 0
        rows = min(share, gini_fit)
        res, used, slow = run(lo, sub, pool, rows)
        if used <= pool and slow <= rows:
            return res
        # more paths had ADL than the pool holds (or were settled one by one than the Gini's
        # buffer holds): rerun with room for all of them (powers of two, so few programs get
        # compiled) if that stays within 4x the budgets, else in batches of `fit` paths (and
        # at most `gini_fit`) with room for each
        pool_2 = pool if used <= pool else min(share, 1 << math.ceil(math.log2(used)))
        rows_2 = rows if slow <= rows else min(share, 1 << math.ceil(math.log2(slow)))
        if pool_2 * per_path <= 4 * rows_budget and rows_2 * row_bytes <= 4 * rows_budget:
            return run(lo, sub, pool_2, rows_2)[0]
        step = min(fit, gini_fit or fit)
        parts = [run(a, step, step if per_path else 0, min(step, gini_fit), on_mesh=False)[0]
                 for a in range(lo, min(lo + sub, n), step)]
        return {k: np.concatenate([p[k] for p in parts]) for k in res}

    # Parts of the chunk can run side by side, one thread each (paths are independent, so the
    # numbers do not change). Off by default: XLA already splits the large fusions of one
    # program over the CPU cores, and on the 2-core benchmark machine two programs side by side
    # were slower than one (206 against 244 ms for 32,768 paths of `none`).
    workers = 1 if mesh is not None else max(1, min(workers or 1, sub // lanes))
    if workers > 1:
        sub = -(-sub // workers // lanes) * lanes
    starts = list(range(0, n, sub))
    first = part(starts[0])  # compiles once, before the threads start
    if len(starts) > 1:
        with ThreadPoolExecutor(workers) as pool:
            outs = [first, *pool.map(part, starts[1:])]
    else:
        outs = [first]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
