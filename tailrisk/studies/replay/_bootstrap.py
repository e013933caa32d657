"""Price paths conditioned on the recorded day: a local block bootstrap of its returns.

Path 0 is the recorded path itself. Every other path is built from blocks of ``block``
consecutive recorded returns (step returns of the replay's grid, so a minute's three 20 s steps
stay together when ``block`` is a multiple of 3): the block that fills positions ``[b block,
(b+1) block)`` starts at a recorded position drawn uniformly within ``reach`` steps of ``b
block`` (clipped to the window). Returns thus stay near their time of day: the crash can come a
little earlier or later, twice or not at all, but the calm hours are not filled with crash
minutes far more often than the day had them. This is the local block bootstrap of Paparoditis
and Politis (2002, "Local block bootstrap", C. R. Acad. Sci. Paris, Ser. I 335, 959-962); with
``reach`` at least the window it is the moving block bootstrap (Kuensch 1989, Ann. Statist. 17,
1217-1241).

Path ``i`` draws from ``numpy.random.default_rng([seed, STREAM_REPLAY, i])``, so it is the same
whatever the chunk it falls in.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["STREAM_REPLAY", "block_starts", "bootstrap_log_prices"]

#: the replay's own random stream (tailrisk._rng numbers jax streams 0-4; this one is numpy's)
STREAM_REPLAY = 5


def block_starts(steps: int, block: int, reach: int, seed: int, path: int) -> np.ndarray:
    """Recorded start position of each block of path ``path``, shape (ceil(steps / block),)."""
    n_blocks = math.ceil(steps / block)
    if path == 0:
        return np.arange(n_blocks) * block  # the recorded path
    rng = np.random.default_rng([seed, STREAM_REPLAY, int(path)])
    at = np.arange(n_blocks) * block
    last = max(0, steps - block)
    lo = np.clip(at - reach, 0, last)
    hi = np.clip(at + reach, 0, last)
    return lo + np.floor(rng.random(n_blocks) * (hi - lo + 1)).astype(np.int64)


def bootstrap_log_prices(returns: np.ndarray, s0: float, path_index, *, block: int, reach: int,
                         seed: int) -> np.ndarray:
    """``log S_t`` (USD) for t = 1..steps of each path in ``path_index``, shape (paths, steps),
    float64; ``returns`` are the recorded path's (steps,) log returns, ``s0`` its start."""
    returns = np.asarray(returns, np.float64)
    steps = returns.size
    block = max(1, min(int(block), steps))
    starts = np.stack([block_starts(steps, block, reach, seed, int(i)) for i in path_index])
    idx = (starts[:, :, None] + np.arange(block)).reshape(len(starts), -1)[:, :steps]
    idx = np.minimum(idx, steps - 1)
    return math.log(s0) + np.cumsum(returns[idx], axis=1)
