"""Likelihoods of the price models of docs/model.md, price paths for per-step log returns.

Every model is written for one step of ``dt`` years (``dt = 1/365`` for daily data) and
parameterised by an unconstrained vector ``theta``; ``natural(theta, dt)`` maps it to the reported
parameters in the units of :mod:`tailrisk.config` (volatilities per sqrt-year, intensities per year,
jump sizes in log-price, GARCH ``omega`` per-step variance) plus ``drift``: the location of the
per-step log return divided by ``dt`` (per year). How ``drift`` becomes ``config.mu`` is
:func:`tailrisk.calibrate.to_config`'s business.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter
from scipy.special import expit, gammaln, log_ndtr, logit, logsumexp

from ._fft import FftGrid, cf_density, interpolate
from ._hawkes import hawkes_negloglik_and_grad
from ._stable import stable_logpdf, stable_s0_to_s1_loc

__all__ = ["MODELS", "ModelSpec"]

_LOG_2PI = math.log(2.0 * math.pi)
#: jump intensities are bounded by this many jumps per step (logistic transform)
_MAX_JUMPS_PER_STEP = 2.0
#: Poisson mixtures are truncated at this many jumps per step; for an intensity of at most 2 jumps
#: a step the neglected probability is below 1e-13
_MERTON_TERMS = 20


@dataclass(frozen=True)
class ModelSpec:
    name: str
    #: reported parameters and their units
    params: tuple[str, ...]
    units: tuple[str, ...]
    start: Callable[[np.ndarray, float], np.ndarray]
    natural: Callable[[np.ndarray, float], np.ndarray]
    negloglik: Callable[[np.ndarray, np.ndarray, float], float]
    #: indices of theta that are locations in log-return units (finite-difference steps for them
    #: scale with the spread of the data, not with 1)
    loc_index: tuple[int, ...] = (0,)
    #: optional gradient of negloglik in theta
    grad: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None
    note: str = ""


def _norm_logpdf(x, mean, var):
    return -0.5 * (_LOG_2PI + np.log(var)) - 0.5 * (x - mean) ** 2 / var


def _robust_scale(r: np.ndarray) -> float:
    q75, q25 = np.percentile(r, [75, 25])
    return float((q75 - q25) / 1.349)


def _lam_step(t: float) -> float:
    return _MAX_JUMPS_PER_STEP * float(expit(t))


def _lam_theta(lam_step: float) -> float:
    return float(logit(lam_step / _MAX_JUMPS_PER_STEP))


# --- gbm ------------------------------------------------------------------------------------------
def _gbm_start(r, dt):
    return np.array([r.mean(), math.log(r.std())])


def _gbm_natural(t, dt):
    return np.array([t[0] / dt, math.exp(t[1]) / math.sqrt(dt)])


def _gbm_nll(t, r, dt):
    return -float(np.sum(_norm_logpdf(r, t[0], math.exp(2 * t[1]))))


# --- student_t ------------------------------------------------------------------------------------
def _t_start(r, dt):
    return np.array([np.median(r), math.log(_robust_scale(r)), math.log(3.0)])


def _t_natural(t, dt):
    return np.array([t[0] / dt, math.exp(t[1]) / math.sqrt(dt), math.exp(t[2])])


def _t_nll(t, r, dt):
    m, s, nu = t[0], math.exp(t[1]), math.exp(t[2])
    z2 = ((r - m) / s) ** 2
    const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(s)
    return -float(r.size * const - (nu + 1) / 2 * np.sum(np.log1p(z2 / nu)))


# --- merton ---------------------------------------------------------------------------------------
def _merton_start(r, dt):
    s = _robust_scale(r)
    return np.array([np.median(r), math.log(0.8 * s), _lam_theta(0.05), 0.0, math.log(4 * s)])


def _merton_natural(t, dt):
    return np.array(
        [
            t[0] / dt,
            math.exp(t[1]) / math.sqrt(dt),
            _lam_step(t[2]) / dt,
            t[3],
            math.exp(t[4]),
        ]
    )


def _merton_nll(t, r, dt):
    m, s, lam, mu_j, s_j = t[0], math.exp(t[1]), _lam_step(t[2]), t[3], math.exp(t[4])
    k = np.arange(_MERTON_TERMS + 1)[:, None]
    log_w = k * math.log(lam) - lam - gammaln(k + 1)
    return -float(np.sum(logsumexp(log_w + _norm_logpdf(r, m + k * mu_j, s**2 + k * s_j**2), 0)))


# --- kou ------------------------------------------------------------------------------------------
# Exact terms for 0 and 1 jumps; the remainder (2 or more jumps) by FFT inversion on a grid of
# log-returns in [-4, 4) with 2**15 points. Jumps have mean size 1/eta <= 1 (eta_up > 1), so the
# double-exponential tails alias by less than exp(-4 eta) at the grid edge.
_KOU_GRID = FftGrid(4.0, 2**15)


def _kou_start(r, dt):
    s = _robust_scale(r)
    return np.array(
        [np.median(r), math.log(0.8 * s), _lam_theta(0.05), 0.0, math.log(1 / (3 * s) - 1),
         math.log(1 / (3 * s))]
    )  # fmt: skip


def _kou_natural(t, dt):
    return np.array(
        [
            t[0] / dt,
            math.exp(t[1]) / math.sqrt(dt),
            _lam_step(t[2]) / dt,
            float(expit(t[3])),
            1.0 + math.exp(t[4]),
            math.exp(t[5]),
        ]
    )


def kou_logpdf(r, m, s, lam, p, eta_up, eta_down, *, max_jumps=None):
    """Log-density of one Kou (2002) step: ``m + s Z + sum_{i <= N} Y_i``, ``N ~ Poisson(lam)``.

    ``Y`` is ``+Exp(eta_up)`` with probability ``p``, else ``-Exp(eta_down)``. With one jump the
    density is a two-sided exponentially modified Gaussian. ``max_jumps=1`` drops the FFT
    remainder (used in tests to check the closed-form part).
    """
    r = np.asarray(r, dtype=np.float64)
    x = r - m
    log_n0 = -lam + _norm_logpdf(x, 0.0, s * s)
    log_up = (
        math.log(p * eta_up) - eta_up * x + 0.5 * (eta_up * s) ** 2 + log_ndtr(x / s - eta_up * s)
    )
    log_dn = (
        math.log((1 - p) * eta_down)
        + eta_down * x
        + 0.5 * (eta_down * s) ** 2
        + log_ndtr(-x / s - eta_down * s)
    )
    log_n1 = math.log(lam) - lam + np.logaddexp(log_up, log_dn)
    head = np.logaddexp(log_n0, log_n1)
    if max_jumps == 1:
        return head
    u = _KOU_GRID.u
    psi = p * eta_up / (eta_up - 1j * u) + (1 - p) * eta_down / (eta_down + 1j * u)
    lam_psi = lam * psi
    tail_cf = math.exp(-lam) * (np.expm1(lam_psi) - lam_psi) * np.exp(-0.5 * (s * u) ** 2)
    tail = np.maximum(interpolate(_KOU_GRID, cf_density(_KOU_GRID, tail_cf), x), 0.0)
    with np.errstate(divide="ignore"):
        return np.logaddexp(head, np.log(tail))


def _kou_nll(t, r, dt):
    n = _kou_natural(t, dt)
    s = n[1] * math.sqrt(dt)
    return -float(np.sum(kou_logpdf(r, t[0], s, n[2] * dt, n[3], n[4], n[5])))


# --- garch_t --------------------------------------------------------------------------------------
# r_t = m + sqrt(h_t) z_t with z_t standardised Student-t (unit variance, nu > 2) and
# h_t = omega + alpha (r_{t-1} - m)**2 + beta h_{t-1} (Bollerslev 1986, 1987). h_1 is the sample
# variance, the usual start of the recursion; its effect on 4,000 returns is negligible.
def _garch_start(r, dt):
    v = float(r.var())
    return np.array([np.median(r), math.log(0.05 * v), logit(0.95), logit(0.1 / 0.95), 0.0])


#: alpha + beta is kept below this so that the fit is a valid (stationary) config.GarchTModel
GARCH_MAX_PERSISTENCE = 0.9999


def _garch_parts(t):
    persistence = GARCH_MAX_PERSISTENCE * float(expit(t[2]))
    alpha = persistence * float(expit(t[3]))
    return t[0], math.exp(t[1]), alpha, persistence - alpha, 2.0 + math.exp(t[4])


def _garch_natural(t, dt):
    m, omega, alpha, beta, nu = _garch_parts(t)
    return np.array([m / dt, omega, alpha, beta, nu])


def garch_variance(r, m, omega, alpha, beta):
    """Conditional variances ``h_t`` (per step), shape ``r.shape``."""
    e2 = (r - m) ** 2
    h1 = float(e2.mean())
    h = np.empty_like(r)
    h[0] = h1
    h[1:] = lfilter([1.0], [1.0, -beta], omega + alpha * e2[:-1], zi=[beta * h1])[0]
    return h


def _garch_nll(t, r, dt):
    m, omega, alpha, beta, nu = _garch_parts(t)
    h = garch_variance(r, m, omega, alpha, beta)
    z2 = (r - m) ** 2 / (h * (nu - 2))
    const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * math.log(math.pi * (nu - 2))
    return -float(r.size * const - 0.5 * np.sum(np.log(h)) - (nu + 1) / 2 * np.sum(np.log1p(z2)))


# --- hawkes ---------------------------------------------------------------------------------------
def _hawkes_start(r, dt):
    s = _robust_scale(r)
    beta = 30.0
    return np.array(
        [np.median(r), math.log(0.8 * s / math.sqrt(dt)), math.log(10.0), logit(0.5),
         math.log(beta), 0.0, math.log(4 * s)]
    )  # fmt: skip


def _hawkes_natural(t, dt):
    beta = math.exp(t[4])
    return np.array(
        [
            t[0] / dt,
            math.exp(t[1]),
            math.exp(t[2]),
            beta * float(expit(t[3])),
            beta,
            t[5],
            math.exp(t[6]),
        ]
    )


def _hawkes_internal(t, dt):
    n = _hawkes_natural(t, dt)
    n[0] = t[0]  # the filter takes the per-step location
    return n


def _hawkes_jacobian(t, dt):
    beta = math.exp(t[4])
    share = float(expit(t[3]))
    jac = np.diag([1.0, math.exp(t[1]), math.exp(t[2]), beta * share * (1 - share), beta, 1.0,
                   math.exp(t[6])])  # fmt: skip
    jac[3, 4] = beta * share
    return jac


def _hawkes_nll(t, r, dt):
    return hawkes_negloglik_and_grad(_hawkes_internal(t, dt), r, dt)[0]


def _hawkes_grad(t, r, dt):
    g = hawkes_negloglik_and_grad(_hawkes_internal(t, dt), r, dt)[1]
    return _hawkes_jacobian(t, dt).T @ g


# --- stable ---------------------------------------------------------------------------------------
# theta = (delta0 per step [S0 location], alpha in (0.5, 2) by logistic, beta in (-1, 1) by tanh,
# log gamma per step). Reported: drift = S1 location / dt, alpha, beta,
# scale = gamma / dt**(1/alpha) (config.StableModel: per-step scale = scale * dt**(1/alpha)).
_STABLE_ALPHA_MIN = 0.5


def _stable_parts(t):
    alpha = _STABLE_ALPHA_MIN + (2.0 - _STABLE_ALPHA_MIN) * float(expit(t[1]))
    return t[0], alpha, math.tanh(t[2]), math.exp(t[3])


def _stable_start(r, dt):
    # quantile start in the spirit of McCulloch (1986): alpha 1.5, symmetric, gamma from the IQR
    # (the S0 standard law has IQR 2 at alpha = 1 and 1.91 at alpha = 2)
    q75, q25 = np.percentile(r, [75, 25])
    a = 1.5
    return np.array(
        [float(np.median(r)), float(logit((a - _STABLE_ALPHA_MIN) / (2 - _STABLE_ALPHA_MIN))), 0.0,
         math.log((q75 - q25) / 1.95)]
    )  # fmt: skip


def _stable_natural(t, dt):
    d0, alpha, beta, gamma = _stable_parts(t)
    d1 = stable_s0_to_s1_loc(alpha, beta, gamma, d0) if abs(alpha - 1) > 1e-9 else d0
    return np.array([d1 / dt, alpha, beta, gamma / dt ** (1.0 / alpha)])


def _stable_nll(t, r, dt):
    d0, alpha, beta, gamma = _stable_parts(t)
    return -float(np.sum(stable_logpdf(r, alpha, beta, gamma, d0)))


_DRIFT = "1/yr"
MODELS: dict[str, ModelSpec] = {
    "gbm": ModelSpec(
        "gbm", ("drift", "sigma"), (_DRIFT, "1/sqrt(yr)"), _gbm_start, _gbm_natural, _gbm_nll,
        note="closed form: mean and (1/n) variance of the log returns",
    ),
    "student_t": ModelSpec(
        "student_t", ("drift", "scale", "nu"), (_DRIFT, "1/sqrt(yr)", "-"), _t_start, _t_natural,
        _t_nll, note="location-scale t; no finite variance assumed (nu may be <= 2)",
    ),
    "merton": ModelSpec(
        "merton", ("drift", "sigma", "lam", "mu_j", "sigma_j"),
        (_DRIFT, "1/sqrt(yr)", "1/yr", "log", "log"), _merton_start, _merton_natural, _merton_nll,
        note=f"Poisson mixture truncated at {_MERTON_TERMS} jumps/step; lam <= 2/step",
    ),
    "kou": ModelSpec(
        "kou", ("drift", "sigma", "lam", "p", "eta_up", "eta_down"),
        (_DRIFT, "1/sqrt(yr)", "1/yr", "-", "1/log", "1/log"), _kou_start, _kou_natural, _kou_nll,
        note="0 and 1 jumps exact (EMG); >= 2 jumps by FFT inversion",
    ),
    "garch_t": ModelSpec(
        "garch_t", ("drift", "omega", "alpha", "beta", "nu"),
        (_DRIFT, "var/step", "-", "-", "-"), _garch_start, _garch_natural, _garch_nll,
        note="GARCH(1,1), standardised t; h_1 = sample variance; alpha + beta <= 0.9999",
    ),
    "hawkes": ModelSpec(
        "hawkes", ("drift", "sigma", "lam0", "alpha", "beta", "mu_j", "sigma_j"),
        (_DRIFT, "1/sqrt(yr)", "1/yr", "1/yr", "1/yr", "log", "log"), _hawkes_start,
        _hawkes_natural, _hawkes_nll, loc_index=(0, 5), grad=_hawkes_grad,
        note="filtered quasi-likelihood (jump count replaced by its posterior mean)",
    ),
    "stable": ModelSpec(
        "stable", ("drift", "alpha", "beta", "scale"),
        (_DRIFT + " (S1)", "-", "-", "yr^(-1/alpha)"),
        _stable_start, _stable_natural, _stable_nll,
        note="S0 density by FFT on a grid; drift is the S1 location",
    ),
}  # fmt: skip
