"""The Gini coefficient of nonnegative amounts (e.g. the haircuts of one ADL episode)."""

from __future__ import annotations

import numpy as np

__all__ = ["gini"]


def gini(x: np.typing.ArrayLike, axis: int = -1) -> np.ndarray:
    """Gini coefficient of nonnegative amounts along ``axis``.

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``, computed from the ascending order
    statistics as ``2 sum_i i x_(i) / (n sum x) - (n + 1) / n``. Equal amounts give 0; one holder
    of everything among ``n`` gives ``(n - 1) / n``; ``(1, 2, 3)`` gives ``2/9``. All-zero amounts
    (nobody haircut) give 0.

    Args:
        x: amounts (USD or any unit), shape ``(..., n)`` with the holders along ``axis``.

    Returns:
        Shape of ``x`` without ``axis`` (a 0-d array for a 1-D input).
    """
    arr = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    if arr.shape[-1] == 0:
        raise ValueError("x: no amounts given")
    if np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError("x: amounts must be nonnegative and not NaN")
    n = arr.shape[-1]
    srt = np.sort(arr, axis=-1)
    total = srt.sum(axis=-1)
    rank = np.arange(1, n + 1, dtype=np.float64)
    weighted = (srt * rank).sum(axis=-1)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, 2.0 * weighted / (n * safe) - (n + 1.0) / n, 0.0)
