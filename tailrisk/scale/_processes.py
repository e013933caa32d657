"""Many processes and hosts on JAX's distributed runtime: who this process is, which chunks it
runs, and how the processes meet.

``jax.distributed.initialize`` connects the processes to a coordinator (process 0's host and a
port). Where the values come from, first found wins:

1. explicit arguments (``--coordinator HOST:PORT --num-processes N --process-id I``);
2. ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID`` (a plain launcher, a
   shell loop, a Kubernetes pod spec; in an indexed Kubernetes Job the pod's
   ``JOB_COMPLETION_INDEX`` stands in for ``JAX_PROCESS_ID``);
3. SLURM (``SLURM_PROCID`` / ``SLURM_NTASKS`` set by ``srun``): JAX's own cluster detection
   finds the coordinator (the first node of the step, on a port it derives from the job id).

Work is split by a fixed rule, so every process knows every other's share without asking:
chunk ``c`` (or grid point, or policy) belongs to process ``c mod N``. The processes meet at
barriers and pass small results through the coordinator's key-value store; the numbers never
depend on which process computed them. Nothing here needs collectives between devices, so the
CPU back end needs no collectives library either.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SINGLE",
    "DistributedRunError",
    "LaunchError",
    "ProcessGroup",
    "finish_distributed_run",
    "init_distributed",
    "resolve_launch",
    "split_items",
]

#: how long a process waits for the others at a barrier (they may still be simulating), seconds
BARRIER_TIMEOUT_S = 7 * 24 * 3600
_PIECE = 1 << 20  # bytes a key-value entry carries at most


class LaunchError(ValueError):
    """Distributed settings that cannot start a run; the message names each bad value."""


class DistributedRunError(RuntimeError):
    """The processes of a distributed run did not leave every chunk on disk."""


_USES: dict[str, int] = {}  # how often each barrier or key name was used (the same everywhere)


def _fresh(name: str) -> str:
    """``name`` made unique within the process's session: every process calls the barriers and
    gathers in the same order, so the k-th use of a name gets the same key everywhere."""
    k = _USES.get(name, 0)
    _USES[name] = k + 1
    return f"{name}#{k}"


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place among ``count`` processes (index 0 writes the shared files)."""

    index: int = 0
    count: int = 1
    session: str = "tailrisk"  # prefix of barrier and key names, one a distributed run

    @property
    def writer(self) -> bool:
        """True on the process that writes the run folder's manifest and tables."""
        return self.index == 0

    def share(self, n: int) -> range:
        """The items (chunks, grid points, policies) ``0..n-1`` this process computes."""
        return range(self.index, n, self.count)

    def owner(self, item: int) -> int:
        return item % self.count

    def barrier(self, name: str, timeout_s: float = BARRIER_TIMEOUT_S) -> None:
        """Wait until every process has reached the barrier ``name`` (no-op for one process)."""
        if self.count > 1:
            _client().wait_at_barrier(f"{self.session}/{_fresh(name)}",
                                      int(min(timeout_s, 2**31 / 1000 - 1) * 1000))

    def gather(self, name: str, value: Any) -> list[Any]:
        """Every process's ``value`` (picklable), in process order, on every process.

        Passed through the coordinator's key-value store in pieces of at most 1 MiB. The values
        are the processes' own results; nothing from outside the job is unpickled.
        """
        if self.count == 1:
            return [value]
        client = _client()
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        base = f"{self.session}/{_fresh(name)}"
        pieces = [blob[i: i + _PIECE] for i in range(0, len(blob), _PIECE)] or [b""]
        for j, piece in enumerate(pieces):
            client.key_value_set_bytes(f"{base}/{self.index}/{j}", piece)
        client.key_value_set(f"{base}/{self.index}/n", str(len(pieces)))
        timeout = int(min(BARRIER_TIMEOUT_S, 2**31 / 1000 - 1) * 1000)
        out = []
        for i in range(self.count):
            n = int(client.blocking_key_value_get(f"{base}/{i}/n", timeout))
            parts = [client.blocking_key_value_get_bytes(f"{base}/{i}/{j}", timeout)
                     for j in range(n)]
            out.append(pickle.loads(b"".join(parts)))
        return out


#: one process: no coordinator, no barriers
SINGLE = ProcessGroup()


def _client():
    # JAX keeps the distributed runtime's client here; its key-value store and barriers have
    # no public wrapper in JAX 0.10 that works without device collectives
    from jax._src import distributed

    client = distributed.global_state.client
    if client is None:
        raise RuntimeError("jax.distributed is not initialised (call init_distributed first)")
    return client


def _int_setting(name: str, value: Any, low: int, high: int | None, problems: list[str]):
    try:
        v = int(str(value).strip())
    except ValueError:
        problems.append(f"{name} = {value!r}: must be an integer")
        return None
    if v < low or (high is not None and v > high):
        upper = f" and at most {high}" if high is not None else ""
        problems.append(f"{name} = {v}: must be at least {low}{upper}")
        return None
    return v


def resolve_launch(coordinator: str | None = None, num_processes: int | None = None,
                   process_id: int | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings ``jax.distributed.initialize`` gets, from the arguments or the environment.

    Returns ``{"coordinator_address", "num_processes", "process_id", "source"}``; on SLURM
    without explicit values the first three are None (JAX detects them). Raises
    :class:`LaunchError` listing every bad or missing value, naming its key.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    source = "arguments"
    coord, n, pid = coordinator, num_processes, process_id
    if coord is None and n is None and pid is None:
        if "JAX_COORDINATOR_ADDRESS" in env or "JAX_NUM_PROCESSES" in env:
            source = "environment"
            coord = env.get("JAX_COORDINATOR_ADDRESS")
            n = env.get("JAX_NUM_PROCESSES")
            pid = env.get("JAX_PROCESS_ID", env.get("JOB_COMPLETION_INDEX"))
        elif "SLURM_PROCID" in env and "SLURM_NTASKS" in env:
            return {"coordinator_address": None, "num_processes": None, "process_id": None,
                    "source": "slurm"}
        else:
            raise LaunchError(
                "distributed: no coordinator: give --coordinator HOST:PORT --num-processes N "
                "--process-id I, set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and "
                "JAX_PROCESS_ID, or launch with SLURM's srun")
    key = "coordinator" if source == "arguments" else "JAX_COORDINATOR_ADDRESS"
    if coord is None:
        problems.append(f"{key}: missing; expected HOST:PORT of process 0")
    else:
        host, sep, port = str(coord).rpartition(":")
        if not sep or not host:
            problems.append(f"{key} = {coord!r}: expected HOST:PORT (e.g. 10.0.0.1:7777)")
        else:
            _int_setting(f"{key} port", port, 1, 65535, problems)
    n_key = "num_processes" if source == "arguments" else "JAX_NUM_PROCESSES"
    p_key = "process_id" if source == "arguments" else "JAX_PROCESS_ID"
    n = None if n is None else _int_setting(n_key, n, 1, None, problems)
    if n is None and not any(p.startswith(n_key) for p in problems):
        problems.append(f"{n_key}: missing; expected the number of processes (>= 1)")
    if pid is None:
        problems.append(f"{p_key}: missing; expected this process's index, 0 to N-1")
    elif n is not None:
        pid = _int_setting(p_key, pid, 0, n - 1, problems)
    if problems:
        raise LaunchError("distributed settings: " + "; ".join(problems))
    return {"coordinator_address": str(coord), "num_processes": n, "process_id": int(pid),
            "source": source}


def init_distributed(coordinator: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None, *, timeout_s: int = 300,
                     environ: Mapping[str, str] | None = None) -> ProcessGroup:
    """Join the job's processes through ``jax.distributed`` (before any other JAX work) and
    return this process's :class:`ProcessGroup`. Settings: :func:`resolve_launch`. A process
    where the runtime is already up gets its group without connecting again."""
    import jax
    from jax._src import distributed

    if distributed.global_state.client is None:
        s = resolve_launch(coordinator, num_processes, process_id, environ)
        jax.distributed.initialize(s["coordinator_address"], s["num_processes"],
                                   s["process_id"], initialization_timeout=timeout_s)
    return ProcessGroup(index=jax.process_index(), count=jax.process_count())


def split_items(items: Sequence[Any], group: ProcessGroup) -> list[tuple[int, Any]]:
    """``[(i, items[i]) for the items this process computes]`` (item i to process i mod N)."""
    return [(i, items[i]) for i in group.share(len(items))]


def finish_distributed_run(group: ProcessGroup, digest: str, manifest: dict[str, Any],
                           n_chunks: int, records: dict[str, dict[str, Any]],
                           chunk_ready) -> dict[str, dict[str, Any]]:
    """After this process's chunks: wait for the others, gather every process's chunk records
    (checksum, size, non-finite counts) and timings, check that every chunk is on disk and
    matches its record (``chunk_ready(c, record)``: a shared folder) and merge the timings into
    ``manifest`` (which process 0 then writes once, complete). Returns the merged records.
    Raises :class:`DistributedRunError` naming the missing chunks."""
    walls = group.gather(f"run/{digest}/walls", dict(manifest.get("chunk_wall_s", {})))
    gathered = group.gather(f"run/{digest}/records", dict(records))
    merged_records: dict[str, dict[str, Any]] = {}
    for part in gathered:
        merged_records.update(part)
    missing = [c for c in range(n_chunks) if not chunk_ready(c, merged_records.get(str(c)))]
    if missing:
        shown = ", ".join(str(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise DistributedRunError(
            f"{len(missing)} of {n_chunks} chunks are not in the run folder after every process "
            f"finished (chunks {shown}): the processes need one shared folder (--out); run the "
            "same command again to compute the missing chunks")
    merged: dict[str, float] = {}
    for w in walls:
        merged.update(w)
    manifest["chunk_wall_s"] = {k: merged[k] for k in sorted(merged, key=int)}
    manifest["chunks_done"] = n_chunks
    manifest["chunk_owner"] = f"chunk c by process c mod {group.count}"
    return merged_records
