"""The plain clearing oracle: Picard iteration from full payment down to the greatest fixed point.

One network at a time, in float64 Python loops, with no linear solves and no default sets: the
clearing map ``Phi`` of Eisenberg–Noe / Rogers–Veraart (see :mod:`._clearing`) is monotone, so
``p_0 = pbar``, ``p_{k+1} = Phi(p_k)`` decreases to its greatest fixed point. It shares no code
with the JAX clearing and is what that clearing is tested against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clear_reference"]


def clear_reference(liabilities, outside_assets, outside_liabilities=None, alpha=1.0, beta=1.0,
                    *, rtol: float = 1e-13, max_iter: int = 200_000):
    """Greatest clearing vector of one network ``(n, n)``.

    Returns ``(paid, defaulted, iterations)``: total payment per entity (USD), who pays less than
    it owes (beyond ``1e-9`` of the largest debt), and the Picard iterations used. ``alpha`` and
    ``beta`` are scalars or per-entity sequences; 1 and 1 give Eisenberg–Noe.
    """
    l = [[float(x) for x in row] for row in np.asarray(liabilities, dtype=float)]
    n = len(l)
    e = [float(x) for x in np.broadcast_to(np.asarray(outside_assets, float), (n,))]
    o = [0.0] * n if outside_liabilities is None else [
        float(x) for x in np.broadcast_to(np.asarray(outside_liabilities, float), (n,))]
    al = [float(x) for x in np.broadcast_to(np.asarray(alpha, float), (n,))]
    be = [float(x) for x in np.broadcast_to(np.asarray(beta, float), (n,))]
    owed = [sum(l[i]) + o[i] for i in range(n)]
    p = list(owed)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        new = []
        for i in range(n):
            inflow = sum(l[j][i] / owed[j] * p[j] for j in range(n) if owed[j] > 0)
            if owed[i] <= e[i] + inflow:
                new.append(owed[i])
            else:
                new.append(al[i] * e[i] + be[i] * inflow)
        step = max((abs(a - b) for a, b in zip(new, p, strict=True)), default=0.0)
        p = new
        if step <= rtol * max(max(owed, default=0.0), 1.0):
            break
    scale = max(max(owed, default=0.0), 1.0)
    defaulted = [p[i] < owed[i] - 1e-9 * scale for i in range(n)]
    return np.array(p), np.array(defaulted), iterations
