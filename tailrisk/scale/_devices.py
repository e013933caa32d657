"""Every device of this process: a ``paths`` mesh over the local devices, and a chunk's price
paths drawn with the paths split over it.

A chunk's paths are split in equal, contiguous shares, one a device, in the mesh's order. The
sampler draws path ``i`` from ``fold_in(key, i)`` (``tailrisk._rng``) and the venue kernel's
numbers do not depend on how many paths it runs at once, so every per-path array is the same,
bit for bit, on one device or many; gathering a sharded result to the host (``np.asarray``)
puts the devices' shares back in path order.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ..venue._mesh import PATHS_AXIS, mesh_size

__all__ = [
    "PATHS_AXIS",
    "chunk_log_prices",
    "mesh_size",
    "padded_size",
    "paths_mesh",
    "place_paths",
]

#: the venue kernel runs paths in vectors of this many (``simulate_venue``'s ``lanes``): a
#: device's share is a whole number of them
LANES = 64


def paths_mesh(devices: int | None = None) -> Mesh | None:
    """A one-axis mesh (``paths``) over the first ``devices`` local devices (default: all of
    them); None when that is one device (the plain single-device programs run then).

    Raises ValueError naming the value when ``devices`` is not between 1 and the number of
    local devices.
    """
    local = jax.local_devices()
    n = len(local) if devices is None else devices
    if not (isinstance(n, int | np.integer) and 1 <= n <= len(local)):
        raise ValueError(
            f"devices = {devices!r}: must be an integer from 1 to {len(local)} (the local "
            f"{local[0].platform} devices of this process; on a CPU, more need "
            "XLA_FLAGS=--xla_force_host_platform_device_count=N set before jax is imported)"
        )
    if n == 1:
        return None
    return Mesh(np.array(local[:n]), (PATHS_AXIS,))


def padded_size(n: int, mesh: Mesh | None) -> int:
    """The smallest multiple of ``LANES x devices`` at or above ``n`` paths."""
    unit = LANES * mesh_size(mesh)
    return -(-n // unit) * unit


def place_paths(x, mesh: Mesh | None):
    """``x`` (first axis paths) split over ``mesh``'s devices; on the default device without
    one."""
    if mesh is None:
        return jax.device_put(x)
    return jax.device_put(x, NamedSharding(mesh, P(PATHS_AXIS)))


@lru_cache(maxsize=32)
def _sampler(mesh: Mesh, name: str, mode: str, steps: int, dtype: str):
    from ..paths._increments import _kernel

    def body(key, path_index, params, log_s0):
        x = _kernel(key, path_index, params, name=name, mode=mode, steps=steps, dtype=dtype)
        return log_s0 + jnp.cumsum(x, axis=1)

    sharded = jax.shard_map(body, mesh=mesh, in_specs=(P(), P(PATHS_AXIS), P(), P()),
                            out_specs=P(PATHS_AXIS), check_vma=False)
    return jax.jit(sharded)


def chunk_log_prices(mesh: Mesh | None, key, model, path_index, steps: int, dt: float, dtype):
    """``tailrisk.paths.log_prices`` with the paths split over ``mesh`` (the same numbers).

    ``path_index``: the chunk's global path indices, uint32, a multiple of the mesh size long.
    Returns ``(path_index, log_prices)`` as device arrays split over the mesh, log S_t for t =
    1..steps, shape ``(paths, steps)``. Without a mesh this is ``log_prices`` itself.
    """
    from ..paths import _increments, _params, log_prices

    if mesh is None:
        pi = jnp.asarray(path_index, dtype=jnp.uint32)
        return pi, log_prices(key, model, pi, steps, dt, dtype)
    pi_host = np.asarray(path_index)
    if pi_host.shape[0] % mesh_size(mesh):
        raise ValueError(f"{pi_host.shape[0]} paths do not split over {mesh_size(mesh)} devices")
    _, steps, dt, dt_ = _increments._check(key, pi_host, steps, dt, dtype)
    name = _params.model_name(model)
    params = _params.to_arrays(_params.kernel_params(model, steps, dt), dt_)
    # the start price's log taken as log_prices takes it (one op on the device), so the paths
    # are the same to the last bit
    log_s0 = jnp.log(jnp.asarray(model.s0, dt_))
    pi = place_paths(pi_host.astype(np.uint32), mesh)
    fn = _sampler(mesh, name, model.mode, steps, dt_.name)
    return pi, fn(key, pi, params, log_s0)
