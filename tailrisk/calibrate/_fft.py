"""Densities by inverting a characteristic function with one FFT on a uniform grid.

For a real density ``f`` with characteristic function ``phi``, on the grid ``x_j = x0 + j dx``
(``j < N``) and frequencies ``u_k = 2 pi k / (N dx)``,

    f(x_j) ~= (1 / (N dx)) sum_{|k| <= N/2} phi(u_k) exp(-i u_k x_j),

which ``numpy.fft.irfft`` evaluates using ``phi(-u) = conj(phi(u))``. The error has two parts:
aliasing (the mass of ``f`` outside ``[x0, x0 + N dx)`` folds back onto the grid) and truncation
of ``phi`` beyond ``pi / dx``; callers choose the grid so both are negligible for their law.
Values between grid points are linearly interpolated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FftGrid", "cf_density", "density_from_cf", "interpolate"]


class FftGrid:
    """A grid ``x0 + dx * arange(n)`` and its non-negative FFT frequencies."""

    def __init__(self, half_width: float, n: int):
        self.n = n
        self.dx = 2.0 * half_width / n
        self.x = -half_width + self.dx * np.arange(n)
        self.u = 2.0 * np.pi * np.arange(n // 2 + 1) / (n * self.dx)
        # log|u| with u[0] = 0 mapped to -inf so that |u|**alpha = exp(alpha * log|u|) = 0 there
        with np.errstate(divide="ignore"):
            self.log_u = np.log(self.u)
        self._shift = np.exp(-1j * self.u * self.x[0])


def cf_density(grid: FftGrid, phi: np.ndarray) -> np.ndarray:
    """Density values on ``grid.x`` from ``phi`` evaluated at ``grid.u`` (shape ``(n//2+1,)``)."""
    coef = phi * grid._shift
    return np.fft.irfft(np.conj(coef), n=grid.n) / grid.dx


def interpolate(grid: FftGrid, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of grid values at ``x``; zero outside the grid."""
    return np.interp(x, grid.x, values, left=0.0, right=0.0)


def density_from_cf(
    log_cf: Callable[[np.ndarray], np.ndarray], grid: FftGrid, x: np.ndarray
) -> np.ndarray:
    """Convenience: ``f(x)`` for a log-characteristic function of ``u``."""
    return interpolate(grid, cf_density(grid, np.exp(log_cf(grid.u))), x)
