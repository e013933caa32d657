"""Host side: a validated model config -> traced kernel parameters (scalars and tables).

Everything numeric becomes an array argument of the kernel; only the model name, mode, step
count, dtype and table *sizes* are static. Table sizes are fixed or bucketed so that a sweep
over parameter values keeps one compilation.
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np

from ..config import (
    GarchTModel,
    GbmModel,
    HawkesModel,
    KouModel,
    MertonModel,
    StableModel,
    StudentTModel,
)
from . import _quantile
from . import _risk_neutral as rn
from ._stable_table import TABLE_ALPHA_MIN, stable_table

#: jump count tables cover Poisson(lam T) up to a tail probability below this
COUNT_TAIL = 1e-12
#: jump slots per path are a power of two, at least this (few recompilations when lam or T change)
COUNT_BUCKET = 8

_MODEL_NAMES = {
    GbmModel: "gbm",
    StudentTModel: "student_t",
    MertonModel: "merton",
    KouModel: "kou",
    GarchTModel: "garch_t",
    HawkesModel: "hawkes",
    StableModel: "stable",
}


def model_name(model) -> str:
    try:
        return _MODEL_NAMES[type(model)]
    except KeyError:
        raise TypeError(
            f"model must be a validated config from tailrisk.config, got {type(model).__name__}"
        ) from None


@functools.lru_cache(maxsize=32)
def student_t_table(nu: float, n: int = _quantile.TABLE_SIZE) -> _quantile.QuantileTable:
    """Inverse CDF table of the standard Student-t with ``nu`` degrees of freedom.

    ``scipy.special`` directly (what ``scipy.stats.t`` calls: the same numbers), since importing
    ``scipy.stats`` costs most of a second of a small run.
    """
    import scipy.special as sc

    def ppf(u):
        return sc.stdtrit(nu, u)

    def isf(u):
        return -sc.stdtrit(nu, u)

    density_at_0 = float(np.exp(np.log(sc.poch(0.5 * nu, 0.5))
                                - 0.5 * (np.log(nu) + np.log(np.pi))))
    return _quantile.build_table(ppf, isf, 0.0, density_at_0, n)


def jump_count_survival(mean_count: float) -> np.ndarray:
    """``P(N > k)`` for ``k = 0 .. J_max - 1``, ``N ~ Poisson(mean_count)``, where ``J_max`` is the
    smallest power of two >= COUNT_BUCKET with ``P(N > J_max) < COUNT_TAIL``; counts above
    ``J_max`` are merged into ``J_max``."""
    import scipy.special as sc  # pdtrc(k, m) = P(N > k): scipy.stats.poisson.sf's own function

    j_max = COUNT_BUCKET
    while sc.pdtrc(j_max, mean_count) >= COUNT_TAIL:
        j_max *= 2
    return sc.pdtrc(np.arange(j_max), mean_count)


def _log_drift(model, dt: float) -> float:
    if model.mode == "risk_neutral":
        return rn.risk_neutral_drift(model, dt)
    return model.mu * dt


def kernel_params(model, steps: int, dt: float) -> dict:
    """Float64 numpy parameters of the kernel for ``model`` (cast to the dtype by the caller)."""
    name = model_name(model)
    risk_neutral = model.mode == "risk_neutral"
    inf = math.inf
    if name == "gbm":
        return {"drift": _log_drift(model, dt), "vol": model.sigma * math.sqrt(dt)}
    if name == "student_t":
        step_scale, unit = rn.student_t_scale(model, dt)
        return {
            "drift": _log_drift(model, dt),
            "step_scale": step_scale,
            "unit": unit,
            "clip": model.clip if risk_neutral else inf,
            "table": student_t_table(model.nu),
        }
    if name in ("merton", "kou"):
        p = {
            "drift": _log_drift(model, dt),
            "vol": model.sigma * math.sqrt(dt),
            "count_sf": jump_count_survival(model.lam * steps * dt),
        }
        if name == "merton":
            p.update(mu_j=model.mu_j, sigma_j=model.sigma_j)
        else:
            p.update(p=model.p, eta_up=model.eta_up, eta_down=model.eta_down)
        return p
    if name == "garch_t":
        return {
            "drift": _log_drift(model, dt) if not risk_neutral else model.r * dt,
            "omega": model.omega,
            "alpha": model.alpha,
            "beta": model.beta,
            "h0": model.omega / (1.0 - model.alpha - model.beta),
            "unit": math.sqrt((model.nu - 2.0) / model.nu),
            "clip": model.clip if risk_neutral else inf,
            "table": student_t_table(model.nu),
            "compensator": (
                rn.garch_compensator_table(model.nu, model.clip)
                if risk_neutral
                else np.zeros(rn.COMPENSATOR_SIZE)
            ),
            "comp_inv_h": (rn.COMPENSATOR_SIZE - 1) / rn.A_MAX,
        }
    if name == "hawkes":
        if risk_neutral:
            drift = model.r * dt - 0.5 * model.sigma**2 * dt
            per_intensity = -dt * rn.merton_jump_mgf(model.mu_j, model.sigma_j)
        else:
            drift, per_intensity = model.mu * dt, 0.0
        return {
            "drift": drift,
            "drift_per_intensity": per_intensity,
            "var_diffusion": model.sigma**2 * dt,
            "dt": dt,
            "lam0": model.lam0,
            "alpha": model.alpha,
            "decay": math.exp(-model.beta * dt),
            "mu_j": model.mu_j,
            "sigma_j": model.sigma_j,
        }
    if name == "stable":
        p = {
            "drift": _log_drift(model, dt),
            "step_scale": rn.stable_step_scale(model, dt),
            "shift": rn.stable_unit_shift(model, dt),
            "clip": model.clip if risk_neutral else inf,
        }
        # the table (one uint32 per draw) covers alpha >= TABLE_ALPHA_MIN; below it the
        # sampler draws by Chambers-Mallows-Stuck (another kernel trace, see _stable_table)
        if model.alpha >= TABLE_ALPHA_MIN:
            p["table"] = stable_table(model.alpha, model.beta)
        else:
            p.update(alpha=model.alpha, beta=model.beta)
        return p
    raise AssertionError(name)


def to_arrays(params: dict, dtype) -> dict:
    """Cast every leaf (scalars, arrays, quantile tables) to a jax array of ``dtype``."""
    out = {}
    for k, v in params.items():
        if isinstance(v, _quantile.QuantileTable):
            out[k] = _quantile.table_arrays(v, dtype)
        else:
            out[k] = jnp.asarray(v, dtype)
    return out
