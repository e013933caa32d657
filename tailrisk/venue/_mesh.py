"""The chunk program over a mesh of devices: every device runs the venue kernel on its share of
the chunk's paths.

``shard_map`` over one mesh axis, ``paths``: the per-path inputs (log prices, token moves,
recourse draws, path indices) and the reused buffers are split along their first axis, the
tables and settings are copied to every device. Paths are independent and the kernel's numbers
do not depend on how many paths it runs at once (the chunk size), so a path's outputs are the
same on one device or many, bit for bit. Each device keeps its own pool of ADL rows and its own
rows of haircuts for the host's Gini: ``pool_next`` comes back per device. Nothing in the body
talks to another device, so devices whose paths have more events simply run longer.
"""

from __future__ import annotations

from functools import lru_cache

import jax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

#: the name of the mesh axis the paths are split over
PATHS_AXIS = "paths"

# positions of _run_chunk's arguments split over the devices (the rest are copied)
_SPLIT = (2, 3, 4, 5, 8)
_N_ARGS = 9


def mesh_size(mesh: Mesh | None) -> int:
    """Devices along the paths axis (1 without a mesh)."""
    return 1 if mesh is None else int(mesh.shape[PATHS_AXIS])


@lru_cache(maxsize=16)
def _program(mesh: Mesh, fn, static_items: tuple):
    static = dict(static_items)
    specs = tuple(P(PATHS_AXIS) if i in _SPLIT else P() for i in range(_N_ARGS))

    def body(*args):
        out, used, buffers = fn(*args, **static)
        return out, used[None], buffers

    sharded = jax.shard_map(body, mesh=mesh, in_specs=specs,
                            out_specs=(P(PATHS_AXIS), P(PATHS_AXIS), P(PATHS_AXIS)),
                            check_vma=False)
    return jax.jit(sharded, donate_argnums=(8,))


def mesh_call(mesh: Mesh, fn, args: tuple, static: dict):
    """``fn(*args, **static)`` with the paths split over ``mesh`` (``fn`` is ``_run_chunk``).

    The first axis of every split argument must be a multiple of the mesh size. Returns
    ``(outputs, pool rows handed out per device (devices,), buffers)``; outputs and buffers are
    global arrays whose first axis is the devices' shares in mesh order.
    """
    if len(args) != _N_ARGS:
        raise ValueError(f"mesh_call: expected {_N_ARGS} arguments, got {len(args)}")
    split, copy = NamedSharding(mesh, P(PATHS_AXIS)), NamedSharding(mesh, P())
    placed = tuple(jax.device_put(a, split if i in _SPLIT else copy) for i, a in enumerate(args))
    return _program(mesh, fn, tuple(sorted(static.items())))(*placed)
