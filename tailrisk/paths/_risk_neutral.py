"""Risk-neutral drifts: ``drift = r dt - log E[exp(increment without drift)]``.

Closed forms (per step of ``dt`` years):

* gbm: ``log E = sigma^2 dt / 2``.
* merton (Merton 1976): ``sigma^2 dt / 2 + lam dt (exp(mu_j + sigma_j^2 / 2) - 1)``.
* kou (Kou 2002): ``sigma^2 dt / 2 + lam dt (p eta_up / (eta_up - 1)
  + (1 - p) eta_down / (eta_down + 1) - 1)``.
* hawkes: state dependent, ``sigma^2 dt / 2 + lam_t dt (E[e^J] - 1)`` with ``lam_t`` the
  intensity at the start of the step; given ``lam_t`` the step's jump count is Poisson
  (``lam_t dt``), so ``S_t e^{-r t}`` is a martingale step by step, not just on average.

Student-t, garch_t and stable increments have no exponential moment. In risk-neutral mode their
standardised variate ``Y`` (t, standardised t, S1-stable) is clipped at ``+-clip``, and the
compensator ``log M(a)``, ``M(a) = E[exp(a clip(Y, -c, c))]``, is computed on the host by
composite Gauss-Legendre quadrature of the density on ``[-c, c]`` plus the two atoms
``P(|Y| > c)`` at ``+-c``. garch_t's per-step scale ``a = sqrt(h_t)`` changes along the path, so
``g(a) = log M(a) / a^2`` (smooth, ``Var(clip Y) / 2`` at 0) is tabulated on ``[0, A_MAX]`` and
interpolated in the kernel; beyond ``A_MAX`` (a per-step standard deviation of 200 %) it is
extended with the asymptotic slope ``d log M / da -> c``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial.legendre import leggauss

from ..config import (
    GarchTModel,
    GbmModel,
    HawkesModel,
    KouModel,
    MertonModel,
    StableModel,
    StudentTModel,
)

#: garch_t compensator table: per-step standard deviations 0..A_MAX, COMPENSATOR_SIZE points
A_MAX = 2.0
COMPENSATOR_SIZE = 512


def merton_jump_mgf(mu_j: float, sigma_j: float) -> float:
    """``E[e^J] - 1`` for a Gaussian log-jump."""
    return math.expm1(mu_j + 0.5 * sigma_j**2)


def kou_jump_mgf(p: float, eta_up: float, eta_down: float) -> float:
    """``E[e^J] - 1`` for Kou's double-exponential log-jump (needs ``eta_up > 1``)."""
    return p * eta_up / (eta_up - 1.0) + (1.0 - p) * eta_down / (eta_down + 1.0) - 1.0


@functools.lru_cache(maxsize=64)
def _clipped_nodes(law: str, shape: tuple[float, ...], clip: float):
    """Quadrature nodes ``y``, weights ``w f(y)`` on ``[-c, c]`` and the atoms' masses."""
    import scipy.stats as st  # only risk-neutral fat-tailed models need it (a slow import)

    if law == "t":
        (nu, unit) = shape
        dist = st.t(nu, scale=unit)
    else:
        alpha, beta, loc = shape
        dist = st.levy_stable(alpha, beta, loc=loc)
    # the stable density is costly in scipy (one integral per point): fewer nodes there
    x, w = leggauss(24 if law == "t" else 12)
    edges = np.linspace(-clip, clip, 81 if law == "t" else 41)
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    half = 0.5 * np.diff(edges)[:, None]
    y = (mid + half * x).ravel()
    weights = (half * w).ravel() * dist.pdf(y)
    return y, weights, float(dist.cdf(-clip)), float(dist.sf(clip))


def clipped_log_mgf(law: str, shape: tuple[float, ...], clip: float, a: np.ndarray) -> np.ndarray:
    """``log E[exp(a clip(Y, -clip, clip))]`` for ``a >= 0`` (array), float64.

    ``law`` is ``"t"`` (shape ``(nu, unit)``: Student-t with scale ``unit``) or ``"stable"``
    (shape ``(alpha, beta, loc)``, S1 parameterisation, unit scale).
    """
    y, weights, p_lo, p_hi = _clipped_nodes(law, tuple(float(s) for s in shape), float(clip))
    a = np.asarray(a, np.float64)[..., None]
    # M - 1 with expm1 keeps the tiny compensators of short steps accurate
    m_minus_1 = np.sum(weights * np.expm1(a * y), axis=-1)
    m_minus_1 += p_hi * np.expm1(a[..., 0] * clip) + p_lo * np.expm1(-a[..., 0] * clip)
    # the quadrature mass misses 1 by ~1e-12 or less; renormalise so that a = 0 gives 0
    mass = np.sum(weights) + p_lo + p_hi
    return np.log1p(m_minus_1 / mass)


def clipped_variance(law: str, shape: tuple[float, ...], clip: float) -> float:
    y, weights, p_lo, p_hi = _clipped_nodes(law, tuple(float(s) for s in shape), float(clip))
    mass = np.sum(weights) + p_lo + p_hi
    mean = (np.sum(weights * y) + (p_hi - p_lo) * clip) / mass
    return float((np.sum(weights * y**2) + (p_hi + p_lo) * clip**2) / mass - mean**2)


def garch_compensator_table(nu: float, clip: float) -> np.ndarray:
    """``g(a) = log M(a) / a^2`` on ``linspace(0, A_MAX, COMPENSATOR_SIZE)`` for the
    standardised t innovation (unit variance before clipping), float64."""
    unit = math.sqrt((nu - 2.0) / nu)
    a = np.linspace(0.0, A_MAX, COMPENSATOR_SIZE)
    g = np.empty_like(a)
    y, weights, p_lo, p_hi = _clipped_nodes("t", (float(nu), unit), float(clip))
    mass = np.sum(weights) + p_lo + p_hi
    g[0] = 0.5 * (np.sum(weights * y**2) + (p_lo + p_hi) * clip**2) / mass
    g[1:] = clipped_log_mgf("t", (nu, unit), clip, a[1:]) / a[1:] ** 2
    return g


def student_t_scale(model: StudentTModel, dt: float) -> tuple[float, float]:
    """``(step_scale, unit)``: the increment is ``step_scale * Y`` with ``Y`` a Student-t of
    scale ``unit`` (``unit = sqrt((nu-2)/nu)`` under ``sigma``, so ``Y`` has unit variance)."""
    if model.sigma is not None:
        return model.sigma * math.sqrt(dt), math.sqrt((model.nu - 2.0) / model.nu)
    return model.scale * math.sqrt(dt), 1.0


def stable_step_scale(model: StableModel, dt: float) -> float:
    return model.scale * dt ** (1.0 / model.alpha)


def stable_unit_shift(model: StableModel, dt: float) -> float:
    """Location of the unit variate ``Y`` so that ``a Y ~ S1(alpha, beta, scale=a, loc=0)``.

    Zero unless ``alpha = 1``, where scaling an S1 variable by ``a`` also shifts it by
    ``-(2/pi) beta a log a`` (Samorodnitsky & Taqqu 1994, property 1.2.3).
    """
    if model.alpha != 1.0:
        return 0.0
    return 2.0 / math.pi * model.beta * math.log(stable_step_scale(model, dt))


def hawkes_mean_intensity(model: HawkesModel) -> float:
    """Stationary mean intensity ``lam0 beta / (beta - alpha)``, per year."""
    return model.lam0 * model.beta / (model.beta - model.alpha)


def risk_neutral_drift(model, dt: float) -> float:
    """Per-step log drift used in risk-neutral mode, in log-price units per step of ``dt`` years.

    ``E[exp(drift + increment without drift)] = exp(r dt)``. garch_t and hawkes have a
    state-dependent drift in the kernel (see the module docstring); for them this returns its
    value at the stationary variance ``omega / (1 - alpha - beta)`` / the stationary intensity.
    """
    if not (isinstance(dt, int | float) and dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt = {dt!r}: must be a positive number of years")
    dt = float(dt)
    rdt = model.r * dt
    if isinstance(model, GbmModel):
        return rdt - 0.5 * model.sigma**2 * dt
    if isinstance(model, MertonModel):
        k = merton_jump_mgf(model.mu_j, model.sigma_j)
        return rdt - 0.5 * model.sigma**2 * dt - model.lam * dt * k
    if isinstance(model, KouModel):
        k = kou_jump_mgf(model.p, model.eta_up, model.eta_down)
        return rdt - 0.5 * model.sigma**2 * dt - model.lam * dt * k
    if isinstance(model, HawkesModel):
        k = merton_jump_mgf(model.mu_j, model.sigma_j)
        return rdt - 0.5 * model.sigma**2 * dt - hawkes_mean_intensity(model) * dt * k
    if isinstance(model, StudentTModel):
        a, unit = student_t_scale(model, dt)
        return rdt - float(clipped_log_mgf("t", (model.nu, unit), model.clip, a))
    if isinstance(model, GarchTModel):
        a = math.sqrt(model.omega / (1.0 - model.alpha - model.beta))
        unit = math.sqrt((model.nu - 2.0) / model.nu)
        return rdt - float(clipped_log_mgf("t", (model.nu, unit), model.clip, a))
    if isinstance(model, StableModel):
        a = stable_step_scale(model, dt)
        shape = (model.alpha, model.beta, stable_unit_shift(model, dt))
        return rdt - float(clipped_log_mgf("stable", shape, model.clip, a))
    raise TypeError(f"unknown model config {type(model).__name__}")
