"""Contract-space ADL: close winners' contracts at the liquidated batch's bankruptcy price.

The candidates are the opposite side's open, non-exempt accounts in profit (both at the mark and
at the close price, docs/venue.md). ``contract_pro_rata`` closes the same fraction of every
candidate; the queue policies (:mod:`._adl_queue`) close by rank. Closed contracts knock the
position out: the account keeps its proceeds and loses the rest of its exposure.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._adl_queue import queue_close, queue_keys
from ._ops import prefix_sum
from ._state import SideState
from ._tables import Side


def close_contracts(policy: str, opp: Side, os_: SideState, sign_o: int, mark, close_px, want,
                    least, u):
    """Close up to ``want`` contracts of the opposite side's (``opp``, sign ``sign_o``)
    candidates at ``close_px`` (USD) on one path; closes below ``least`` contracts are round-off
    and close nothing. ``u`` is the path's uniform for the random policy.

    Returns the updated side state, the contracts closed and the number of accounts touched.
    """
    # per-account quantities come from exact rows, not from differences of prefix sums
    r = jnp.maximum(opp.q - os_.closed, 0.0)
    n = r.shape[0]
    upnl_unit = sign_o * (mark - opp.entry)
    # a winner at the mark that would lose at the close price is no candidate (docs/venue.md)
    cand = ((jnp.arange(n) >= os_.n_trig) & ~opp.exempt & (r > 0) & (upnl_unit > 0)
            & (sign_o * (close_px - opp.entry) > 0))
    r_c = jnp.where(cand, r, 0.0)
    avail = jnp.sum(r_c)
    qa = jnp.minimum(want, avail)
    qa = jnp.where(qa > least, qa, 0.0)  # a close of round-off size closes nothing
    if policy == "contract_pro_rata":
        frac = jnp.where(avail > 0, qa / jnp.where(avail > 0, avail, 1.0), 0.0)
        c = r_c * frac
    else:
        c = queue_close(queue_keys(policy, opp, cand, r, mark, upnl_unit, sign_o, u), r_c, qa, opp)
    r_new = r - c
    g = os_.g + c * sign_o * (close_px - opp.entry)
    z = jnp.zeros((1,), r.dtype)
    os_ = os_._replace(
        cum_r=jnp.concatenate([z, prefix_sum(r_new)]),
        cum_rb=jnp.concatenate([z, prefix_sum(r_new * opp.bank)]),
        closed=os_.closed + c,
        g=g,
    )
    rel = 1e-9 if r.dtype == jnp.float64 else 1e-6
    return os_, qa, jnp.sum(c > rel * qa).astype(jnp.int32)  # residue is no touch
