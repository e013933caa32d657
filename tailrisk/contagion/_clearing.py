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
few steps of the clearing map from full payment (each guess is a subset of the final set, so the
answer is the same; usually one solve then finishes).

Most paths of a Monte Carlo run have nobody in default at full payment. The first pass (cheap,
one matrix-vector product a path) finds them; only the other paths are gathered (on the host,
padded to a power of two so a handful of compiled shapes serve every batch) and run through the
batched solves.
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
WARM_START = 32


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


def _relative(l, pbar):
    """Pi[p, i, j] = L_ij / pbar_i (0 where i owes nothing)."""
    safe = jnp.where(pbar > 0, pbar, 1)
    return jnp.where(pbar[..., None] > 0, l / safe[..., None], 0)


def _short(e, inflow, pbar, tol):
    """Who cannot pay in full with ``inflow`` from the network: e + inflow < pbar (tolerant)."""
    scale = jnp.maximum(pbar, jnp.max(pbar, axis=-1, keepdims=True) * 1e-3)
    return e + inflow < pbar - tol * scale


@partial(jax.jit, static_argnames=("tol",))
def _anyone_short(l, e, o, *, tol):
    pbar = jnp.sum(l, axis=-1) + o
    inflow = jnp.sum(l, axis=-2)  # everyone pays in full
    return jnp.any(_short(e, inflow, pbar, tol), axis=-1)


@partial(jax.jit, static_argnames=("tol", "warm"))
def _fictitious_default(l, e, o, alpha, beta, *, tol, warm=WARM_START):
    """The greatest clearing vector of each path by the fictitious default algorithm."""
    n = l.shape[-1]
    pbar = jnp.sum(l, axis=-1) + o
    pi = _relative(l, pbar)
    pit = jnp.swapaxes(pi, -1, -2)  # pit[p, i, j] = Pi_ji
    eye = jnp.eye(n, dtype=l.dtype)

    def inflow_at(p):
        return jnp.einsum("pij,pj->pi", pit, p)

    def payments_given(d):
        # defaulters: p_i - beta sum_{j in D} Pi_ji p_j
        #               = alpha e_i + beta sum_{j not in D} Pi_ji pbar_j
        df = d.astype(l.dtype)
        coupling = beta[..., None] * df[..., :, None] * pit * df[..., None, :]
        full = (1 - df) * pbar
        rhs = df * (alpha * e + beta * inflow_at(full)) + full
        # no defaulter owed by another defaulter on any path of the batch: the system is the
        # identity and rhs is the answer (a network of debtors whose creditors cannot default,
        # such as hedgers that owe venues); else a dense solve a path
        p = jax.lax.cond(jnp.any(coupling != 0),
                         lambda: jnp.linalg.solve(eye - coupling, rhs[..., None])[..., 0],
                         lambda: rhs)
        # a defaulter never pays more than it owes nor less than nothing (round-off)
        return jnp.where(d, jnp.clip(p, 0, pbar), pbar)

    # Warm start: a few steps of the clearing map from full payment. They decrease towards the
    # greatest clearing vector p*, so whoever is short at one of them is short at p* as well:
    # the set is a subset of p*'s defaulters, and the algorithm below may start from it (its
    # sets grow towards p*'s and never past them). Usually it is the whole set, and one linear
    # solve finishes the path.
    def picard(_, p):
        inflow = inflow_at(p)
        return jnp.where(pbar <= e + inflow, pbar, alpha * e + beta * inflow)

    p_warm = jax.lax.fori_loop(0, warm, picard, pbar)
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
    return p, pbar, d, rounds, ~changed


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
    l_raw = np.asarray(liabilities, dtype=np.float64)
    if l_raw.ndim == 2:
        l_raw = l_raw[None]
    if l_raw.ndim != 3 or l_raw.shape[1] != l_raw.shape[2]:
        raise ValueError(f"liabilities has shape {np.shape(liabilities)}: must be (paths, n, n), "
                         "a square matrix per path")
    npaths, n = l_raw.shape[0], l_raw.shape[1]
    if not np.all(np.isfinite(l_raw)):
        raise ValueError("liabilities: every entry must be finite")
    if np.any(l_raw < 0):
        raise ValueError(f"liabilities: every entry must be >= 0 (smallest {l_raw.min():g})")
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

    l_dev = jnp.asarray(l_raw.astype(dtype))
    e_dev, o_dev = jnp.asarray(e.astype(dtype)), jnp.asarray(o.astype(dtype))
    pbar = np.asarray(jnp.sum(l_dev, axis=-1) + o_dev)
    paid = pbar.copy()
    defaulted = np.zeros((npaths, n), bool)
    rounds = np.zeros(npaths, np.int32)
    converged = np.ones(npaths, bool)
    hit = np.flatnonzero(np.asarray(_anyone_short(l_dev, e_dev, o_dev, tol=tol)))
    if len(hit):
        size = _bucket(len(hit))
        take = np.concatenate([hit, np.full(size - len(hit), hit[0])])
        p, _, d, r, c = _fictitious_default(
            l_dev[take], e_dev[take], o_dev[take], jnp.asarray(a[take].astype(dtype)),
            jnp.asarray(b[take].astype(dtype)), tol=tol)
        m = len(hit)
        paid[hit] = np.asarray(p)[:m]
        defaulted[hit] = np.asarray(d)[:m]
        rounds[hit] = np.asarray(r)[:m]
        converged[hit] = np.asarray(c)[:m]
    share = np.divide(paid, pbar, out=np.ones_like(paid), where=pbar > 0)
    payments = np.asarray(l_dev) * share[..., None]
    return Clearing(payments=payments, paid=paid, owed=pbar, defaulted=defaulted,
                    rounds=rounds, converged=converged)
