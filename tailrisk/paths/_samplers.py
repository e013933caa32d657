"""Per-path samplers: ``(key, params, steps) -> (steps,)`` log increments, drift included.

Written for one path; the kernel in ``_increments`` vmaps them once. ``params`` holds traced
scalars and tables (built on the host by ``_params``), so a sweep over parameter values reuses
one compilation.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import _quantile
from ._bits import gaussian_from_uniform, open_uniform, uniform_index

#: hawkes: jump counts per step at or above this are merged into it (see _params)
HAWKES_MAX_JUMPS_PER_STEP = 12


def gbm(key, p, *, steps, mode, dtype):
    return p["drift"] + p["vol"] * jax.random.normal(key, (steps,), dtype)


def student_t(key, p, *, steps, mode, dtype):
    y = p["unit"] * _quantile.sample(jax.random.bits(key, (steps,), jnp.uint32), p["table"], dtype)
    y = jnp.clip(y, -p["clip"], p["clip"])
    return p["drift"] + p["step_scale"] * y


def _jump_diffusion(key, p, steps, dtype, jump_size):
    """Diffusion plus compound Poisson jumps drawn per path and scattered onto the step grid.

    One call to the bit generator per path: ``steps`` words for the Gaussian diffusion, one for
    the count N ~ Poisson(lam T) (inverse CDF from the survival table ``p["count_sf"]`` of
    length J_max; N is capped at J_max), and per jump slot one word for its step (uniform) and
    one for its size. Slots beyond N add zero.
    """
    j_max = p["count_sf"].shape[0]
    bits = jax.random.bits(key, (steps + 1 + 2 * j_max,), jnp.uint32)
    diffusion = gaussian_from_uniform(open_uniform(bits[:steps], dtype), dtype)
    count = jnp.sum(open_uniform(bits[steps], dtype) < p["count_sf"])
    step_of_jump = uniform_index(bits[steps + 1 : steps + 1 + j_max], steps)
    sizes = jump_size(bits[steps + 1 + j_max :])
    sizes = jnp.where(jnp.arange(j_max) < count, sizes, 0.0)
    jumps = jnp.zeros((steps,), dtype).at[step_of_jump].add(sizes, mode="promise_in_bounds")
    return p["drift"] + p["vol"] * diffusion + jumps


def merton(key, p, *, steps, mode, dtype):
    def size(bits):
        return p["mu_j"] + p["sigma_j"] * gaussian_from_uniform(open_uniform(bits, dtype), dtype)

    return _jump_diffusion(key, p, steps, dtype, size)


def kou(key, p, *, steps, mode, dtype):
    def size(bits):
        # one uniform: u < p chooses an up jump and u/p is again uniform; otherwise (1-u)/(1-p)
        # is, and 1-u is taken from the complemented bits so both tails keep 32-bit resolution
        u = open_uniform(bits, dtype)
        up = u < p["p"]
        w_up = jnp.clip(u / p["p"], 1e-38, 1.0)
        w_down = jnp.clip(open_uniform(~bits, dtype) / (1.0 - p["p"]), 1e-38, 1.0)
        return jnp.where(up, -jnp.log(w_up) / p["eta_up"], jnp.log(w_down) / p["eta_down"])

    return _jump_diffusion(key, p, steps, dtype, size)


def garch_t(key, p, *, steps, mode, dtype):
    z = p["unit"] * _quantile.sample(jax.random.bits(key, (steps,), jnp.uint32), p["table"], dtype)
    z = jnp.clip(z, -p["clip"], p["clip"])
    risk_neutral = mode == "risk_neutral"
    comp = p["compensator"]
    n_comp = comp.shape[0]

    def log_mgf(a):
        # g(a) = log M(a) / a^2 interpolated; beyond the table, slope clip (see _risk_neutral)
        x = a * p["comp_inv_h"]
        i = jnp.clip(jnp.floor(x).astype(jnp.int32), 0, n_comp - 2)
        f = jnp.minimum(x - i.astype(dtype), 1.0)
        g = comp[i] + f * (comp[i + 1] - comp[i])
        a_top = (n_comp - 1) / p["comp_inv_h"]
        return jnp.where(
            a <= a_top, a * a * g, a_top * a_top * comp[n_comp - 1] + p["clip"] * (a - a_top)
        )

    def step(h, z_t):
        a = jnp.sqrt(h)
        eps = a * z_t
        drift = p["drift"] - log_mgf(a) if risk_neutral else p["drift"]
        h_next = p["omega"] + p["alpha"] * eps * eps + p["beta"] * h
        return h_next, drift + eps

    _, x = jax.lax.scan(step, p["h0"], z)
    return x


def hawkes(key, p, *, steps, mode, dtype):
    """Euler scheme on the step grid: the step's jump count is Poisson(lam_t dt) with lam_t the
    intensity at the start of the step; its jumps excite the intensity from the next step on,
    ``lam_{t+1} = lam0 + e^{-beta dt} (lam_t - lam0 + alpha N_t)``. One uniform per step gives
    both ``N_t`` (inverse CDF) and, rescaled within N_t's interval, the Gaussian of the whole
    step: given ``N_t = k`` the increment is ``N(k mu_j, sigma^2 dt + k sigma_j^2)``."""
    u_all = open_uniform(jax.random.bits(key, (steps,), jnp.uint32), dtype)

    def step(lam, u):
        m = lam * p["dt"]
        pmf = jnp.exp(-m)
        tail = -jnp.expm1(-m)  # P(N >= 1)
        count = jnp.zeros((), dtype)
        lo, width = tail, pmf  # N = 0 occupies [P(N >= 1), 1)
        for j in range(1, HAWKES_MAX_JUMPS_PER_STEP + 1):
            pmf = pmf * m / j
            next_tail = jnp.maximum(tail - pmf, 0.0)
            hit = u < tail
            last = j == HAWKES_MAX_JUMPS_PER_STEP
            count = jnp.where(hit, dtype(j), count)
            lo = jnp.where(hit, 0.0 if last else next_tail, lo)
            width = jnp.where(hit, tail if last else pmf, width)
            tail = next_tail
        w = (u - lo) / jnp.maximum(width, jnp.finfo(dtype).tiny)
        z = gaussian_from_uniform(w, dtype)
        sd = jnp.sqrt(p["var_diffusion"] + count * p["sigma_j"] ** 2)
        x = p["drift"] + p["drift_per_intensity"] * lam + count * p["mu_j"] + sd * z
        lam_next = p["lam0"] + p["decay"] * (lam - p["lam0"] + p["alpha"] * count)
        return lam_next, x

    _, x = jax.lax.scan(step, p["lam0"], u_all)
    return x


def _cms(v, w, alpha, beta, dtype, cos_v):
    """Chambers, Mallows & Stuck (1976), S1 parameterisation (Weron 1996 form), alpha != 1."""
    tan_term = beta * jnp.tan(dtype(math.pi / 2) * alpha)
    b = jnp.arctan(tan_term) / alpha
    s = (1.0 + tan_term * tan_term) ** (0.5 / alpha)
    log_part = (
        jnp.log(jnp.abs(jnp.cos(v - alpha * (v + b))) / w) * ((1.0 - alpha) / alpha)
        - jnp.log(cos_v) / alpha
    )
    return s * jnp.sin(alpha * (v + b)) * jnp.exp(log_part)


def _cms_one(v, w, beta, dtype, cos_v):
    """The alpha = 1 branch of CMS (S1)."""
    half_pi = dtype(math.pi / 2)
    shifted = half_pi + beta * v
    return (shifted * jnp.sin(v) / cos_v - beta * jnp.log(half_pi * w * cos_v / shifted)) / half_pi


def _stable_cms(key, p, steps, dtype):
    """Standard S1(alpha, beta) by Chambers-Mallows-Stuck: two uint32 words per draw."""
    bits = jax.random.bits(key, (2, steps), jnp.uint32)
    # V = +-(pi/2 - pi t) with t in (0, 1/2) from 31 bits, so cos V = sin(pi t) keeps the
    # heavy tail (V near +-pi/2) resolved to probability 2**-32
    b_v = bits[0]
    t = ((b_v & jnp.uint32(0x7FFFFFFF)).astype(dtype) + 0.5) * dtype(2.0**-32)
    sign_v = jnp.where((b_v >> 31) == 1, dtype(1.0), dtype(-1.0))
    v = sign_v * (dtype(math.pi / 2) - dtype(math.pi) * t)
    cos_v = jnp.sin(dtype(math.pi) * t)
    # exponential W with both ends resolved: -log t or -log1p(-t) by a side bit
    b_w = bits[1]
    t_w = ((b_w & jnp.uint32(0x7FFFFFFF)).astype(dtype) + 0.5) * dtype(2.0**-32)
    w = jnp.where((b_w >> 31) == 1, -jnp.log(t_w), -jnp.log1p(-t_w))
    alpha, beta = p["alpha"], p["beta"]
    return jax.lax.cond(
        alpha == 1.0,
        lambda: _cms_one(v, w, beta, dtype, cos_v),
        lambda: _cms(v, w, alpha, beta, dtype, cos_v),
    )


def stable(key, p, *, steps, mode, dtype):
    """``drift + step_scale * clip(Y + shift, -clip, clip)``, ``Y`` standard S1(alpha, beta).

    ``Y`` is read off the quantile table ``p["table"]`` with one uint32 per draw (built on the
    host by ``_stable_table`` for alpha >= TABLE_ALPHA_MIN); params without a table (smaller
    alpha) select Chambers-Mallows-Stuck instead, a separate trace.
    """
    if "table" in p:
        y = _quantile.sample(jax.random.bits(key, (steps,), jnp.uint32), p["table"], dtype)
    else:
        y = _stable_cms(key, p, steps, dtype)
    y = jnp.clip(y + p["shift"], -p["clip"], p["clip"])
    return p["drift"] + p["step_scale"] * y


SAMPLERS = {
    "gbm": gbm,
    "student_t": student_t,
    "merton": merton,
    "kou": kou,
    "garch_t": garch_t,
    "hawkes": hawkes,
    "stable": stable,
}
