"""Clearing a network of obligations on every path: Eisenberg–Noe and Rogers–Veraart.

``liabilities[p, i, j]`` is what entity ``i`` owes entity ``j`` on path ``p`` (USD),
``outside_assets[p, i]`` what ``i`` holds outside the network and ``outside_liabilities[p, i]``
what it owes outside the network (same seniority as its network debts). Entity ``i`` owes
``pbar_i = sum_j L_ij + outside_i`` and pays every creditor the same share of what it pays.

Rogers and Veraart (2013, "Failure and rescue in an interbank network", Management Science
59(4), 882-898) add default costs: an entity that cannot pay in full realises only a share
``alpha`` of its outside assets and ``beta`` of what it receives, so a clearing vector solves

    p_i = pbar_i                                    if pbar_i <= e_i + sum_j Pi_ji p_j
    p_i = alpha e_i + beta sum_j Pi_ji p_j          otherwise,

with ``Pi_ji = L_ji / pbar_j``. ``alpha = beta = 1`` is Eisenberg and Noe (2001, "Systemic risk
in financial systems", Management Science 47(2), 236-249). Both papers' greatest clearing vector
comes from the fictitious default algorithm used here: start with nobody in default and
everybody paying in full; put into default everyone whose assets at the current payments fall
short; solve the linear system of the defaulters' payments with the others paying in full; repeat
until the set of defaulters stops growing (at most ``n`` rounds, and exact: each round is a
linear solve, not an iteration to a tolerance). The first set of defaulters is guessed by a
few steps of the clearing map from full payment (at most ``WARM_START``, stopping
early once nothing moves; each guess is a subset of the final set, so the
answer is the same; usually one solve then finishes).

Most paths of a Monte Carlo run have nobody in default at full payment. The first pass (two sums
of ``L`` a path, on the host) finds them; only the other paths are gathered (padded to a power
of two so a handful of compiled shapes serve every batch, into an aligned buffer the CPU device
shares) and run through the batched solves. Each solve is over the path's defaulters only,
gathered into an ``m x m`` system (``m`` a power of two, sized from who is short at full
payment with room to grow; a path whose defaulters outgrow it runs again with twice the room,
up to ``n``), and every matrix-vector step runs on ``L`` itself: ``sum_j Pi_ji p_j = sum_j
L_ji (p_j / pbar_j)``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["METHODS", "Clearing", "clear", "default_tolerance"]

METHODS = ("eisenberg_noe", "rogers_veraart")
#: steps of the clearing map that guess the defaulters before the first linear solve
WARM_START = 4


class Clearing(NamedTuple):
    """The clearing of a batch of networks (numpy arrays, leading axis: paths).

    payments ``(P, n, n)``: what ``i`` pays ``j``, USD. paid ``(P, n)``: each entity's total
    payment, outside creditors included, USD. owed ``(P, n)``: ``pbar``, what it owed in all.
    defaulted ``(P, n)``: paid less than it owed. rounds ``(P,)``: linear solves of the
    fictitious default algorithm (0 on paths where everybody pays in full). converged
    ``(P,)``: the set of defaulters stopped growing within ``n`` rounds (always true in exact
    arithmetic).
    """

    payments: np.ndarray
    paid: np.ndarray
    owed: np.ndarray
    defaulted: np.ndarray
    rounds: np.ndarray
    converged: np.ndarray


def default_tolerance(dtype) -> float:
    """Relative shortfall below which an entity counts as paying in full (float residue)."""
    return 1e-5 if jnp.dtype(dtype) == jnp.float32 else 1e-11


def _short(e, inflow, pbar, tol):
    """Who cannot pay in full with ``inflow`` from the network: e + inflow < pbar (tolerant)."""
    scale = jnp.maximum(pbar, jnp.max(pbar, axis=-1, keepdims=True) * 1e-3)
    return e + inflow < pbar - tol * scale


def _short_host(e, inflow, pbar, tol):
    """:func:`_short` in numpy (the first pass runs on the host)."""
    scale = np.maximum(pbar, np.max(pbar, axis=-1, keepdims=True) * 1e-3)
    return e + inflow < pbar - tol * scale


@partial(jax.jit, static_argnames=("tol", "warm", "size"))
def _fictitious_default(l, e, o, alpha, beta, *, tol, warm=WARM_START, size=None):
    """The greatest clearing vector of each path by the fictitious default algorithm.

    ``size``: the most defaulters a path may have (default ``n``); each linear solve runs over
    the defaulters only, gathered into a ``size x size`` system. A path with more defaulters
    is flagged (the last output) and its numbers are not to be used; ``clear`` runs it again
    with ``size = n``.
    """
    n = l.shape[-1]
    m = n if size is None else min(size, n)
    pbar = jnp.sum(l, axis=-1) + o
    inv = jnp.where(pbar > 0, 1 / jnp.where(pbar > 0, pbar, 1), 0)  # Pi_ji = L_ji / pbar_j
    eye = jnp.eye(m, dtype=l.dtype)
    rows = jnp.arange(pbar.shape[0])[:, None]

    def inflow_at(p):
        # sum_j Pi_ji p_j = sum_j L_ji (p_j / pbar_j): no (paths, n, n) matrix but l itself
        return jnp.einsum("pji,pj->pi", l, p * inv)

    def payments_given(d):
        # defaulters: p_i - beta sum_{j in D} Pi_ji p_j
        #               = alpha e_i + beta sum_{j not in D} Pi_ji pbar_j
        df = d.astype(l.dtype)
        full = (1 - df) * pbar
        rhs = df * (alpha * e + beta * inflow_at(full)) + full
        # the defaulters first (in order), then the others as padding: a size x size system
        idx = jnp.argsort(~d, axis=-1, stable=True)[:, :m]
        valid = jnp.take_along_axis(d, idx, axis=-1)
        vf = valid.astype(l.dtype)
        # sub[p, a, b] = Pi_{idx_b, idx_a} = L[idx_b, idx_a] / pbar[idx_b]
        sub = jnp.swapaxes(jnp.take_along_axis(jnp.take_along_axis(l, idx[:, :, None], axis=1),
                                               idx[:, None, :], axis=2), -1, -2) \
            * jnp.take_along_axis(inv, idx, axis=-1)[:, None, :]
        coupling = (jnp.take_along_axis(beta, idx, axis=-1) * vf)[:, :, None] * sub \
            * vf[:, None, :]
        rhs_d = jnp.take_along_axis(rhs, idx, axis=-1)
        # no defaulter owed by another defaulter on any path of the batch: the system is the
        # identity and rhs is the answer (a network of debtors whose creditors cannot default,
        # such as hedgers that owe venues); else a dense solve a path over its defaulters
        x = jax.lax.cond(jnp.any(coupling != 0),
                         lambda: jnp.linalg.solve(eye - coupling, rhs_d[..., None])[..., 0],
                         lambda: rhs_d)
        p = rhs.at[rows, idx].set(x)
        # a defaulter never pays more than it owes nor less than nothing (round-off)
        return jnp.where(d, jnp.clip(p, 0, pbar), pbar)

    # Warm start: steps of the clearing map from full payment (at most ``warm``; they stop
    # early once no payment moves by more than 1e-4 of the largest debt). They decrease
    # towards the greatest clearing vector p*, so whoever is short at one of them is short at
    # p* as well: the set is a subset of p*'s defaulters, and the algorithm below may start
    # from it (its sets grow towards p*'s and never past them). Usually it is the whole set,
    # and one linear solve finishes the path.
    def picard(p):
        inflow = inflow_at(p)
        return jnp.where(pbar <= e + inflow, pbar, alpha * e + beta * inflow)

    step_tol = 1e-4 * jnp.max(pbar, axis=-1, keepdims=True)

    def warm_cond(state):
        k, _, moved = state
        return (k < warm) & moved

    def warm_body(state):
        k, p, _ = state
        q = picard(p)
        return k + 1, q, jnp.any(p - q > step_tol)

    _, p_warm, _ = jax.lax.while_loop(warm_cond, warm_body, (0, pbar, jnp.asarray(warm > 0)))
    d0 = _short(e, inflow_at(p_warm), pbar, tol)

    def cond(state):
        _, _, changed, k, _ = state
        return jnp.any(changed) & (k < n + 1)

    def body(state):
        d, p, changed, k, rounds = state
        p = jnp.where(changed[:, None], payments_given(d), p)
        d_new = d | _short(e, inflow_at(p), pbar, tol)
        rounds = rounds + changed.astype(jnp.int32)
        return d_new, p, jnp.any(d_new != d, axis=-1), k + 1, rounds

    changed0 = jnp.ones(pbar.shape[:1], bool)
    rounds0 = jnp.zeros(pbar.shape[:1], jnp.int32)
    d, p, changed, _, rounds = jax.lax.while_loop(
        cond, body, (d0, pbar, changed0, jnp.int32(0), rounds0))
    # a path whose defaulters outgrew the system (checked on every set it solved: the sets
    # only grow, so the last one is the largest)
    overflow = jnp.sum(d, axis=-1) > m
    return p, pbar, d, rounds, ~changed, overflow


def _bucket(m: int) -> int:
    return max(8, 1 << (m - 1).bit_length())


def _as_array(name, value, shape, dtype):
    arr = np.asarray(value, dtype=np.float64)
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} has shape {np.shape(value)}: must broadcast to {shape}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: every entry must be finite")
    return arr.astype(dtype)


def clear(liabilities, outside_assets, outside_liabilities=None, method: str = "eisenberg_noe",
          alpha=1.0, beta=1.0, *, dtype=None, tol: float | None = None) -> Clearing:
    """Clear ``P`` networks of ``n`` entities at once (see the module docstring).

    liabilities ``(P, n, n)`` (a single ``(n, n)`` network is treated as ``P = 1``),
    outside_assets and outside_liabilities ``(P, n)`` or broadcastable, USD, all finite and
    non-negative, the diagonal of ``liabilities`` zero. ``alpha``, ``beta`` in [0, 1] (scalars or
    per entity ``(n,)``/``(P, n)``); ``method="eisenberg_noe"`` requires them to be 1. ``dtype``:
    float32 or float64 (default: float64 when JAX's x64 mode is on, else float32).
    """
    if method not in METHODS:
        raise ValueError(f"method = {method!r}: must be one of {', '.join(METHODS)}")
    if dtype is None:
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    dtype = np.dtype(jnp.dtype(dtype))
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype = {dtype}: must be float32 or float64")
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype = float64 needs JAX's x64 mode (jax.enable_x64(True))")
    l_raw = np.asarray(liabilities)
    if l_raw.dtype not in (np.float32, np.float64):
        l_raw = l_raw.astype(np.float64)
    if l_raw.ndim == 2:
        l_raw = l_raw[None]
    if l_raw.ndim != 3 or l_raw.shape[1] != l_raw.shape[2]:
        raise ValueError(f"liabilities has shape {np.shape(liabilities)}: must be (paths, n, n), "
                         "a square matrix per path")
    npaths, n = l_raw.shape[0], l_raw.shape[1]
    # no temporaries: min is NaN where an entry is NaN, -inf where one is -inf; with every entry
    # >= 0, an entry +inf makes its row sum +inf (a row sum that overflows is looked at again)
    lo = float(l_raw.min()) if l_raw.size else 0.0
    if not np.isfinite(lo):
        raise ValueError("liabilities: every entry must be finite")
    if lo < 0:
        raise ValueError(f"liabilities: every entry must be >= 0 (smallest {lo:g})")
    lh = l_raw.astype(dtype, copy=False)
    row_sums = lh.sum(axis=-1)
    if not np.all(np.isfinite(row_sums)) and not np.all(np.isfinite(l_raw)):
        raise ValueError("liabilities: every entry must be finite")
    if np.any(np.diagonal(l_raw, axis1=1, axis2=2) != 0):
        raise ValueError("liabilities: the diagonal (what an entity owes itself) must be 0")
    e = _as_array("outside_assets", outside_assets, (npaths, n), np.float64)
    o = _as_array("outside_liabilities", 0.0 if outside_liabilities is None
                  else outside_liabilities, (npaths, n), np.float64)
    for name, arr in (("outside_assets", e), ("outside_liabilities", o)):
        if np.any(arr < 0):
            raise ValueError(f"{name}: every entry must be >= 0 (smallest {arr.min():g})")
    a = _as_array("alpha", alpha, (npaths, n), np.float64)
    b = _as_array("beta", beta, (npaths, n), np.float64)
    for name, arr in (("alpha", a), ("beta", b)):
        if np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name}: must lie in [0, 1]")
    if method == "eisenberg_noe" and (np.any(a != 1) or np.any(b != 1)):
        raise ValueError("method = 'eisenberg_noe' has no default costs: alpha and beta must be 1 "
                         "(use method = 'rogers_veraart')")
    tol = default_tolerance(dtype) if tol is None else float(tol)

    # The first pass on the host: who is short when everybody pays in full (the test of
    # _short); only those paths go to the device.
    eh, oh = e.astype(dtype), o.astype(dtype)
    pbar = row_sums + oh
    short_full = _short_host(eh, lh.sum(axis=-2), pbar, tol)
    paid = pbar.copy()
    defaulted = np.zeros((npaths, n), bool)
    rounds = np.zeros(npaths, np.int32)
    converged = np.ones(npaths, bool)
    hit = np.flatnonzero(short_full.any(axis=-1))
    if len(hit):
        # the system a path solves is over its defaulters only: sized from those short at full
        # payment (a subset of them) with room to grow; paths that outgrow it run again
        # with twice the room, up to n
        size = _bucket(int(short_full[hit].sum(axis=-1).max()) * 5 // 4 + 1)
        while True:
            size = min(size, n)
            res = _clear_gathered(lh, eh, oh, a, b, hit, dtype, tol, size)
            ok = ~res[5] if size < n else np.ones(len(hit), bool)
            done = hit[ok]
            paid[done] = res[0][ok]
            defaulted[done] = res[2][ok]
            rounds[done] = res[3][ok]
            converged[done] = res[4][ok]
            hit = hit[~ok]
            if not len(hit):
                break
            size *= 2
    share = np.divide(paid, pbar, out=np.ones_like(paid), where=pbar > 0)
    payments = lh * share[..., None]
    return Clearing(payments=payments, paid=paid, owed=pbar, defaulted=defaulted,
                    rounds=rounds, converged=converged)


def _gather_to_device(x, take):
    """``x[take]`` as a JAX array, gathered straight into a 64-byte aligned host buffer that
    the CPU device then uses without copying it again (halves the cost of moving a large
    ``(paths, n, n)`` array; falls back to a plain copy where JAX will not share it)."""
    shape = (len(take), *x.shape[1:])
    nbytes = int(np.prod(shape)) * x.itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    off = (-buf.ctypes.data) % 64
    out = buf[off:off + nbytes].view(x.dtype).reshape(shape)
    np.take(x, take, axis=0, out=out)
    try:
        return jnp.from_dlpack(out)
    except Exception:  # any refusal: copy
        return jnp.asarray(out)


def _clear_gathered(l, e, o, alpha, beta, hit, dtype, tol, size):
    """Run the fictitious default algorithm on the paths ``hit`` (padded to a bucket)."""
    m = len(hit)
    bucket = _bucket(m)
    take = np.concatenate([hit, np.full(bucket - m, hit[0])])
    out = _fictitious_default(
        _gather_to_device(l, take), jnp.asarray(e[take]), jnp.asarray(o[take]),
        jnp.asarray(alpha[take].astype(dtype)), jnp.asarray(beta[take].astype(dtype)),
        tol=tol, size=size)
    return [np.asarray(x)[:m] for x in out]
