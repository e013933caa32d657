"""Maximum likelihood with standard errors from the inverse numerical Hessian."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from ._data import DAILY_DT
from ._models import MODELS, ModelSpec

__all__ = ["Fit", "fit_model"]


@dataclass(frozen=True)
class Fit:
    """One fitted model.

    ``params`` and ``se`` are keyed by the names of ``MODELS[model].params`` in the units of
    ``units``; standard errors come from the inverse Hessian of the negative log-likelihood in the
    unconstrained parameters, carried to the reported ones by the delta method. ``se`` is NaN where
    the Hessian is not positive definite (a parameter at a bound, or not identified).
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    units: dict[str, str]
    loglik: float
    n_obs: int
    dt: float
    converged: bool
    message: str
    theta: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.loglik

    @property
    def bic(self) -> float:
        return self.n_params * math.log(self.n_obs) - 2 * self.loglik

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "params": dict(self.params),
            "se": {k: (None if not math.isfinite(v) else v) for k, v in self.se.items()},
            "units": dict(self.units),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "n_params": self.n_params,
            "n_obs": self.n_obs,
            "dt": self.dt,
            "converged": self.converged,
            "message": self.message,
        }


def fit_model(name: str, returns: np.ndarray, dt: float = DAILY_DT) -> Fit:
    """Fit one model of :data:`MODELS` to per-step log returns by maximum likelihood.

    ``returns`` has shape ``(n,)``; ``dt`` is the step in years (``1/365`` for daily data: crypto
    trades every calendar day).
    """
    if name not in MODELS:
        raise ValueError(f"model = {name!r}: unknown; allowed: {', '.join(MODELS)}")
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 20 or not np.all(np.isfinite(r)):
        raise ValueError("returns: need a one-dimensional finite array of at least 20 returns")
    spec = MODELS[name]

    def f(t):
        val = spec.negloglik(t, r, dt)
        return val if math.isfinite(val) else 1e300

    typical = np.ones_like(spec.start(r, dt))
    typical[list(spec.loc_index)] = max(float(np.std(r)), 1e-12)
    theta, message = _maximise(spec, f, r, dt, typical)
    nll = f(theta)
    hess = _hessian(spec, f, theta, r, dt, typical)
    # converged when the Newton step from theta would gain less than 0.01 in log-likelihood (the
    # optimiser's own flag is unreliable: BFGS with finite differences often stops on "precision
    # loss" at a good optimum)
    g = spec.grad(theta, r, dt) if spec.grad is not None else _gradient(f, theta, typical)
    try:
        gain = 0.5 * float(g @ np.linalg.solve(hess, g))
    except np.linalg.LinAlgError:
        gain = math.inf
    converged = bool(math.isfinite(nll) and 0 <= gain < 0.01)
    message = f"{message}; Newton gain {gain:.2g}"
    nat = spec.natural(theta, dt)
    jac = _jacobian(lambda t: spec.natural(t, dt), theta)
    cov = np.full((nat.size, nat.size), np.nan)
    try:
        chol = np.linalg.cholesky(hess)
        inv = np.linalg.inv(chol)
        cov = jac @ (inv.T @ inv) @ jac.T
    except np.linalg.LinAlgError:
        message += "; Hessian not positive definite (standard errors unavailable)"
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if np.all(np.isfinite(cov)) else np.diag(cov)
    return Fit(
        model=name,
        params=dict(zip(spec.params, map(float, nat), strict=True)),
        se=dict(zip(spec.params, map(float, se), strict=True)),
        units=dict(zip(spec.params, spec.units, strict=True)),
        loglik=-float(nll),
        n_obs=int(r.size),
        dt=float(dt),
        converged=converged,
        message=message,
        theta=theta,
        cov=cov,
    )


def _maximise(spec: ModelSpec, f_theta, r, dt, typical) -> tuple[np.ndarray, str]:
    # optimise in theta / typical so that locations (~1e-3) and log-parameters (~1) are on one
    # scale; otherwise BFGS's line search stalls on the badly conditioned Hessian
    def f(phi):
        return f_theta(phi * typical)

    def jac(phi):
        return spec.grad(phi * typical, r, dt) * typical

    t0 = np.asarray(spec.start(r, dt), dtype=np.float64) / typical
    k = t0.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if spec.grad is not None:
            res = minimize(
                f, t0, jac=jac, method="BFGS",
                options={"maxiter": 2000, "gtol": 1e-5},
            )  # fmt: skip
            best = res
        else:
            simplex = minimize(
                f, t0, method="Nelder-Mead",
                options={"maxfev": 250 * k, "xatol": 1e-6, "fatol": 1e-6, "adaptive": k > 3},
            )  # fmt: skip
            res = minimize(f, simplex.x, method="BFGS", options={"gtol": 1e-4, "maxiter": 500})
            best = res if res.fun <= simplex.fun else simplex
    return np.asarray(best.x, dtype=np.float64) * typical, str(best.message)


def _step(theta: np.ndarray, typical: np.ndarray, rel: float) -> np.ndarray:
    return rel * np.maximum(typical, np.abs(theta))


def _gradient(f, theta: np.ndarray, typical: np.ndarray, rel: float = 1e-4) -> np.ndarray:
    h = _step(theta, typical, rel)
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h[i]
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h[i])
    return g


def _hessian(spec: ModelSpec, f, theta, r, dt, typical, rel: float = 1e-3) -> np.ndarray:
    k = theta.size
    h = _step(theta, typical, rel)
    if spec.grad is not None:
        hess = np.empty((k, k))
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            hess[i] = (spec.grad(theta + e, r, dt) - spec.grad(theta - e, r, dt)) / (2 * h[i])
        return 0.5 * (hess + hess.T)
    f0 = f(theta)
    hess = np.empty((k, k))
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (f(theta + ei) - 2 * f0 + f(theta - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            hess[i, j] = hess[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    return hess


def _jacobian(g, theta: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    h = _step(theta, np.ones_like(theta), rel)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h[i]
        cols.append((g(theta + e) - g(theta - e)) / (2 * h[i]))
    return np.stack(cols, axis=1)
