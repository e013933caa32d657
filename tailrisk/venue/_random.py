"""The venue's random numbers, shared by the reference and the kernel (docs/venue.md).

Jitted, with the seed and sizes static: called eagerly (once a chunk, or by the reference), each
would otherwise dispatch its dozen operations one by one, a few milliseconds a chunk.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from .._rng import STREAM_TOKEN, STREAM_VENUE, path_keys, stream_key

RECOURSE_SLOT = 2**31 - 1  # fold-in slot of the per-path recourse default draw


@partial(jax.jit, static_argnums=0)
def adl_uniform(seed: int, path: jax.Array, step: jax.Array, round_: jax.Array) -> jax.Array:
    """Uniform in [0, 1) that places the `random` policy's start point; float32, broadcasts."""
    base = stream_key(seed, STREAM_VENUE)

    def one(p, t, r):
        k = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(base, p), t), r)
        return jax.random.uniform(k, (), jnp.float32)

    p, t, r = jnp.broadcast_arrays(jnp.asarray(path, jnp.uint32), jnp.asarray(step, jnp.uint32),
                                   jnp.asarray(round_, jnp.uint32))
    return jax.vmap(one)(p.ravel(), t.ravel(), r.ravel()).reshape(p.shape)


@partial(jax.jit, static_argnums=0)
def recourse_uniform(seed: int, path_index: jax.Array) -> jax.Array:
    """One uniform per path deciding whether recourse claims default; shape path_index.shape."""
    keys = path_keys(stream_key(seed, STREAM_VENUE), path_index)
    return jax.vmap(
        lambda k: jax.random.uniform(jax.random.fold_in(k, RECOURSE_SLOT), (), jnp.float32)
    )(keys)


@partial(jax.jit, static_argnums=(0, 2))
def token_normals(seed: int, path_index: jax.Array, steps: int) -> jax.Array:
    """Standard normals driving the venue token's own noise, shape (paths, steps), float32."""
    keys = path_keys(stream_key(seed, STREAM_TOKEN), path_index)
    return jax.vmap(lambda k: jax.random.normal(k, (steps,), jnp.float32))(keys)
