"""Turning uint32 random bits into uniforms, integers and Gaussians without losing the tails."""

from __future__ import annotations

import jax
import jax.numpy as jnp

_TWO_M32 = 2.0**-32


def open_uniform(bits: jax.Array, dtype) -> jax.Array:
    """``(b + 1/2) 2**-32`` in ``(0, 1)``: exact near 0 (down to 1.2e-10); near 1 it is rounded
    to the dtype (float32 may give exactly 1.0, which callers must tolerate)."""
    return (bits.astype(dtype) + dtype(0.5)) * dtype(_TWO_M32)


def uniform_index(bits: jax.Array, n: int) -> jax.Array:
    """``floor(b n / 2**32)`` in ``[0, n)``: every index has ``2**32 / n`` bit patterns, up to
    one, so the bias is below ``n / 2**32``. int32 of the shape of ``bits``."""
    if n < 2**16:
        hi = bits >> 16
        lo = bits & jnp.uint32(0xFFFF)
        nn = jnp.uint32(n)
        return ((hi * nn + ((lo * nn) >> 16)) >> 16).astype(jnp.int32)
    # float64-free fallback for very fine grids: 24 bits of resolution are plenty here
    u = (bits >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)
    return jnp.minimum(jnp.floor(u * n).astype(jnp.int32), n - 1)


def gaussian_from_uniform(w: jax.Array, dtype) -> jax.Array:
    """Standard normal quantile of ``w`` in ``[0, 1]``, clamped like ``jax.random.normal``
    (float32: |z| <= 5.4, float64: |z| <= 8.3)."""
    eps = jnp.finfo(dtype).eps
    v = jnp.clip(2.0 * w - 1.0, -1.0 + eps, 1.0 - eps)
    return dtype(2.0**0.5) * jax.lax.erf_inv(v)
