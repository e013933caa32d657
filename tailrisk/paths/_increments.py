"""The public samplers: validate in Python, then one jitted kernel per model, mode, steps, dtype."""

from __future__ import annotations

import collections
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._rng import path_keys
from . import _params
from ._samplers import SAMPLERS

#: how many times each kernel was traced (tests assert parameter sweeps do not retrace)
TRACE_COUNT: collections.Counter = collections.Counter()


@functools.partial(jax.jit, static_argnames=("name", "mode", "steps", "dtype"))
def _kernel(key, path_index, params, *, name, mode, steps, dtype):
    TRACE_COUNT[name] += 1
    dt_ = jnp.dtype(dtype).type
    sampler = SAMPLERS[name]
    keys = path_keys(key, path_index)
    return jax.vmap(lambda k: sampler(k, params, steps=steps, mode=mode, dtype=dt_))(keys)


def _check(key, path_index, steps, dt, dtype):
    if not (isinstance(steps, int | np.integer) and steps >= 1):
        raise ValueError(f"steps = {steps!r}: must be a positive integer")
    if not (isinstance(dt, int | float | np.floating) and dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt = {dt!r}: must be a positive number of years")
    dtype = jnp.dtype(dtype)
    if dtype not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise ValueError(f"dtype = {dtype}: must be float32 or float64")
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype = float64 needs jax x64 mode (jax.enable_x64(True))")
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        raise TypeError("key must be a typed jax PRNG key (tailrisk._rng.stream_key)")
    path_index = jnp.asarray(path_index)
    if path_index.ndim != 1 or not jnp.issubdtype(path_index.dtype, jnp.integer):
        raise ValueError("path_index must be a 1-d array of integer global path indices")
    return path_index, int(steps), float(dt), dtype


def log_increments(key, model, path_index, steps: int, dt: float, dtype=jnp.float32) -> jax.Array:
    """Log-price increments ``x_{t+1} - x_t`` (drift included), shape ``(len(path_index), steps)``.

    ``key`` is the price-stream key (``tailrisk._rng.stream_key(seed, STREAM_PRICE)``); path ``i``
    draws from ``fold_in(key, i)`` for its global index ``i``, so its increments are
    bit-identical whatever the chunking. ``model`` is a validated config from
    ``tailrisk.config``; ``dt`` is the step in years. In physical mode the drift is ``mu dt``
    per step (``mu`` is the log-price drift per year); in risk-neutral mode see
    :func:`risk_neutral_drift`.
    """
    path_index, steps, dt, dtype = _check(key, path_index, steps, dt, dtype)
    name = _params.model_name(model)
    params = _params.to_arrays(_params.kernel_params(model, steps, dt), dtype)
    return _kernel(
        key, path_index, params, name=name, mode=model.mode, steps=steps, dtype=dtype.name
    )


def log_prices(key, model, path_index, steps: int, dt: float, dtype=jnp.float32) -> jax.Array:
    """``log S_t`` (``S`` in USD) for ``t = 1 .. steps``, shape ``(len(path_index), steps)``:
    ``log(s0) + cumsum(log_increments)``."""
    x = log_increments(key, model, path_index, steps, dt, dtype)
    return jnp.log(jnp.asarray(model.s0, x.dtype)) + jnp.cumsum(x, axis=1)
