"""One random-number scheme for the whole package.

Every consumer of randomness gets its own *stream* key folded from the run seed, and every path
gets ``fold_in(stream_key, global_path_index)``. A path therefore sees the same numbers whatever the
chunk size, the chunk it falls in, or the number of devices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

STREAM_PRICE = 0  # price increments
STREAM_VENUE = 1  # random ADL start points, recourse defaults
STREAM_TOKEN = 2  # the venue token that an insurance fund may be held in
STREAM_POPULATION = 3  # generated account populations
STREAM_ANALYSIS = 4  # bootstrap resampling


def stream_key(seed: int, stream: int) -> jax.Array:
    """The key of one stream of a run."""
    return jax.random.fold_in(jax.random.key(seed), stream)


def path_keys(key: jax.Array, path_index: jax.Array) -> jax.Array:
    """Per-path keys, shape ``path_index.shape``: ``fold_in(key, i)`` for each global index i."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.asarray(path_index, jnp.uint32))
