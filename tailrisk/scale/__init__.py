"""Scale-out: every device of a process (a ``paths`` mesh) and many processes and hosts
(``jax.distributed``), with the same numbers as one device in one process."""

from ._devices import PATHS_AXIS as PATHS_AXIS
from ._devices import chunk_log_prices as chunk_log_prices
from ._devices import mesh_size as mesh_size
from ._devices import padded_size as padded_size
from ._devices import paths_mesh as paths_mesh
from ._devices import place_paths as place_paths
from ._processes import SINGLE as SINGLE
from ._processes import DistributedRunError as DistributedRunError
from ._processes import LaunchError as LaunchError
from ._processes import ProcessGroup as ProcessGroup
from ._processes import finish_distributed_run as finish_distributed_run
from ._processes import init_distributed as init_distributed
from ._processes import resolve_launch as resolve_launch
from ._processes import split_items as split_items
from ._studies import compare_policies_distributed as compare_policies_distributed
from ._studies import run_sweep_distributed as run_sweep_distributed

__all__ = [
    "PATHS_AXIS",
    "SINGLE",
    "DistributedRunError",
    "LaunchError",
    "ProcessGroup",
    "chunk_log_prices",
    "compare_policies_distributed",
    "finish_distributed_run",
    "init_distributed",
    "mesh_size",
    "padded_size",
    "paths_mesh",
    "place_paths",
    "resolve_launch",
    "run_sweep_distributed",
    "split_items",
]
