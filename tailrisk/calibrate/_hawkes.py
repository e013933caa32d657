"""Filtered quasi-likelihood of a discretised Hawkes jump-diffusion (jax, float64).

Model on steps of ``dt`` years: given the intensity ``lam_t`` (per year) at the start of step t,
the number of jumps is ``N_t ~ Poisson(lam_t dt)`` and

    r_t | N_t = n  ~  Normal(m + n mu_j, sigma**2 dt + n sigma_j**2),
    lam_{t+1} = lam0 + exp(-beta dt) (lam_t - lam0 + alpha N_t),

started at the stationary mean ``lam0 beta / (beta - alpha)``. ``N_t`` is hidden, so the exact
likelihood is a sum over all jump histories. We replace ``N_t`` in the intensity update by its
filtered mean ``E[N_t | r_t, lam_t]`` (a Poisson-mixture posterior), which makes ``lam_t`` a
deterministic function of past returns, and the likelihood a product of one-step Poisson-Gaussian
mixtures. This is an observation-driven (GARCH-like) quasi-likelihood, not the exact one: it
ignores the uncertainty in ``lam_t``, so the fitted excitation is somewhat smoothed. The mixture is
truncated at ``N_t <= 30`` jumps a step.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, logsumexp

__all__ = ["hawkes_negloglik_and_grad"]

_MAX_JUMPS = 30


def _negloglik(params: jax.Array, r: jax.Array, dt: float) -> jax.Array:
    m, sigma, lam0, alpha, beta, mu_j, sigma_j = (params[i] for i in range(7))
    decay = jnp.exp(-beta * dt)
    n = jnp.arange(_MAX_JUMPS + 1, dtype=r.dtype)
    log_fact = gammaln(n + 1.0)
    var = sigma**2 * dt + n * sigma_j**2

    def step(lam, x):
        lam_dt = lam * dt
        log_w = n * jnp.log(lam_dt) - lam_dt - log_fact
        log_w = log_w - 0.5 * jnp.log(2 * math.pi * var) - 0.5 * (x - m - n * mu_j) ** 2 / var
        ll = logsumexp(log_w)
        n_hat = jnp.sum(n * jnp.exp(log_w - ll))
        return lam0 + decay * (lam - lam0 + alpha * n_hat), ll

    lam_init = lam0 * beta / (beta - alpha)
    _, lls = jax.lax.scan(step, lam_init, r)
    return -jnp.sum(lls)


@functools.partial(jax.jit, static_argnums=2)
def _value_and_grad(params: jax.Array, r: jax.Array, dt: float):
    return jax.value_and_grad(_negloglik)(params, r, dt)


def hawkes_negloglik_and_grad(
    params: np.ndarray, r: np.ndarray, dt: float
) -> tuple[float, np.ndarray]:
    """Negative quasi-log-likelihood and its gradient in the natural parameters
    ``(m per step, sigma per sqrt-year, lam0, alpha, beta per year, mu_j, sigma_j)``."""
    with jax.enable_x64(True):
        val, grad = _value_and_grad(
            jnp.asarray(params, dtype=jnp.float64), jnp.asarray(r, dtype=jnp.float64), float(dt)
        )
        return float(val), np.asarray(grad, dtype=np.float64)
