"""How much memory a chunk needs, and whether the machine that runs it has that much.

A run holds one chunk at a time, so its peak is one chunk's working set plus what the process
holds anyway. The estimate adds up, for a chunk of ``P`` paths of ``T`` steps and ``A`` accounts
in numbers of ``b`` bytes (4 or 8):

* the process itself: Python, NumPy, SciPy, JAX and the compiled programs (``PROCESS_BYTES``),
  and on a first run the compiler's working memory on top (``COMPILE_BYTES``);
* the price paths and everything sized like them: the sampler's draws and temporaries, the log
  prices, the venue's token shocks, the runner's per-path reductions
  (``P * T * PATH_STEP_NUMBERS * b``);
* per-path scalars: the venue's state and outputs (``P * PATH_BYTES``);
* the venue's per-account work, done ``compact`` paths at a time (``min(P, compact) * A *
  ACCOUNT_NUMBERS * b``) and its tables (``A * TABLE_BYTES``);
* the pool of private account rows for paths with ADL and the host Gini's buffer, each at most
  four times ``rows_budget`` bytes (a chunk whose paths outgrow one budget reruns with up to four,
  then in batches);
* the whole paths kept for the fan charts (``keep * T * 8``).

Where the constants come from: XLA's own memory analysis of the compiled sampler gives 12 bytes
of temporaries and 4 of output per float32 path-step (``PATH_STEP_NUMBERS`` adds the log prices
the venue reads and the host's view of them); the process, compiler and buffer terms were
fitted to the peak resident memory of 19 runs on a CPU (500 to 80,000 paths, 90 to 8,760
steps, 2,000 to 20,000 accounts, both dtypes, first and repeat runs), which they meet within
about 30% (``tailrisk bench --what memory`` measures them again). Peaks below 2 GiB are mostly
the process and the kernel's bounded buffers; the path-step term decides for large chunks. A GPU
holds the chunk in device memory; the process part then stays on the host and is left out.

What the machine has: on a CPU, the host's available memory (``MemAvailable`` on Linux, else
the physical memory); on a GPU, the device's ``bytes_limit`` (what JAX's allocator may use).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

__all__ = [
    "ChunkMemory",
    "MemoryBudget",
    "chunk_memory",
    "fitting_chunk_size",
    "format_bytes",
    "machine_memory",
]

MB = 1 << 20
#: the Python process with its libraries and the venue's compiled programs, bytes
PROCESS_BYTES = 500 * MB
#: what compiling the programs adds on a first run (no compile cache yet), bytes
COMPILE_BYTES = 550 * MB
#: numbers held per path and step at the peak (sampler temporaries, log prices, reductions)
PATH_STEP_NUMBERS = 8
#: bytes per path that do not grow with the steps (venue state and outputs, path indices)
PATH_BYTES = 1_024
#: numbers per path and account in one batch of the venue's checks
ACCOUNT_NUMBERS = 1
#: bytes per account of the venue's static tables
TABLE_BYTES = 512
#: the kernel's knobs on a CPU (see tailrisk.venue.kernel.device_knobs)
CPU_COMPACT = 1_024
CPU_ROWS_BUDGET = 1 << 26
#: the share of the available memory a chunk may plan to use
HEADROOM = 0.9


def format_bytes(n: float) -> str:
    """``1536 * 2**20`` -> ``"1.5 GiB"``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class ChunkMemory:
    """The estimated peak of one chunk, bytes, by part (see the module's docstring)."""

    chunk_size: int
    steps: int
    accounts: int
    itemsize: int
    process: int
    compile: int
    paths: int
    accounts_work: int
    buffers: int
    kept_paths: int
    policy_pools: bool = True

    @property
    def chunk(self) -> int:
        """What the chunk itself needs (without the process and the compiler)."""
        return self.paths + self.accounts_work + self.buffers + self.kept_paths

    @property
    def warm(self) -> int:
        """The process's peak on a repeat run (programs from the cache)."""
        return self.process + self.chunk

    @property
    def first_run(self) -> int:
        """The process's peak on a first run (the programs are compiled)."""
        return self.warm + self.compile


def chunk_memory(chunk_size: int, steps: int, accounts: int, itemsize: int, *,
                 keep_paths: int = 0, policy_pools: bool = True,
                 compact: int = CPU_COMPACT, rows_budget: int = CPU_ROWS_BUDGET) -> ChunkMemory:
    """Estimate one chunk's peak memory (see the module's docstring for the parts).

    ``accounts`` is 0 for a run of prices only; ``policy_pools`` is False for policies that
    change no account's position or PnL (no pool of private rows).
    """
    p, t, a, b = int(chunk_size), int(steps), int(accounts), int(itemsize)
    paths = p * t * PATH_STEP_NUMBERS * b + p * PATH_BYTES
    if a:
        work = min(p, compact) * a * ACCOUNT_NUMBERS * b + a * TABLE_BYTES
        row = (a + 2) * b
        # the pool (policies with private rows: up to 4 numbers an account) and the Gini's
        # rows (one), each at most a row per path and four budgets (a chunk whose paths outgrow
        # one budget reruns with up to four, then in batches), and a quarter more for the
        # copies handed between chunks
        pool = min(p * row * 4, 4 * rows_budget) if policy_pools else 0
        buffers = (pool + min(p * row, 4 * rows_budget)) * 5 // 4
    else:
        work = buffers = 0
    return ChunkMemory(chunk_size=p, steps=t, accounts=a, itemsize=b, process=PROCESS_BYTES,
                       compile=COMPILE_BYTES, paths=paths, accounts_work=work, buffers=buffers,
                       kept_paths=int(keep_paths) * t * 8, policy_pools=policy_pools)


@dataclass(frozen=True)
class MemoryBudget:
    """What a chunk may use on the machine that runs it: ``bytes`` and where it was read."""

    bytes: int
    platform: str  # "cpu" or the accelerator's platform ("gpu", "tpu")
    source: str  # e.g. "available host memory", "device bytes_limit"

    def needed(self, est: ChunkMemory) -> int:
        """What the chunk needs from this budget: on a CPU the process's first-run peak, on
        an accelerator the chunk itself (the process lives in host memory)."""
        return est.first_run if self.platform == "cpu" else est.chunk


def _host_available() -> tuple[int, str]:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available host memory"
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return int(pages) * int(size), "physical host memory"
    except (OSError, ValueError, AttributeError):
        return 0, "unknown"


def machine_memory(device=None) -> MemoryBudget:
    """What the device that will run the chunks has: host memory for a CPU, ``bytes_limit``
    for an accelerator. ``device`` is a JAX device; None: the host (no JAX imported)."""
    if device is not None and device.platform != "cpu":
        stats = device.memory_stats() or {}
        limit = stats.get("bytes_limit")
        if limit:
            return MemoryBudget(int(limit), device.platform, f"{device.platform} bytes_limit")
    n, source = _host_available()
    return MemoryBudget(n, "cpu", source)


def fitting_chunk_size(budget: MemoryBudget, steps: int, accounts: int, itemsize: int, *,
                       keep_paths: int = 0, policy_pools: bool = True, lanes: int = 64) -> int:
    """The largest chunk size (a multiple of ``lanes``; 0 if none) whose estimate fits in
    ``HEADROOM`` of the budget."""
    limit = int(budget.bytes * HEADROOM)

    def fits(p: int) -> bool:
        est = chunk_memory(p, steps, accounts, itemsize, keep_paths=keep_paths,
                           policy_pools=policy_pools)
        return budget.needed(est) <= limit

    if not fits(lanes):
        return 0
    lo = 1  # fits(lo * lanes), not fits(hi * lanes)
    while fits(lo * 2 * lanes) and lo < 1 << 40:
        lo *= 2
    hi = lo * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid * lanes) else (lo, mid)
    return lo * lanes


def experiment_accounts(exp) -> int:
    """Accounts of an experiment's venue (0 for prices only): the generated ones or the CSV's
    rows (counted, not parsed), plus the probes."""
    if exp.venue is None:
        return 0
    pop = exp.venue.population
    n = pop.n_accounts
    if pop.csv:
        try:
            with open(pop.csv, "rb") as fh:
                n = max(0, sum(1 for line in fh if line.strip()) - 1)  # less the header
        except OSError:
            n = 0  # the CSV's own check names the problem
    return n + len(pop.probes)


def experiment_memory(exp, chunk_size: int | None = None) -> ChunkMemory:
    """The estimate for a chunk of ``exp`` (default: its ``run.chunk_size``)."""
    from .config.venue import CONTRACT_POLICIES, PNL_POLICIES

    run = exp.run
    pools = exp.venue is not None and exp.venue.policy in (*CONTRACT_POLICIES, *PNL_POLICIES)
    return chunk_memory(chunk_size or run.chunk_size, run.steps, experiment_accounts(exp),
                        8 if run.dtype == "float64" else 4, keep_paths=run.keep_paths,
                        policy_pools=pools)


def describe(exp, est: ChunkMemory, budget: MemoryBudget | None = None) -> str:
    """One line: memory per chunk, chunks, and the run's size."""
    run = exp.run
    chunks = math.ceil(run.paths / run.chunk_size)
    size = f"{run.paths:,} paths x {run.steps:,} steps"
    if est.accounts:
        size += f" x {est.accounts:,} accounts"
    line = (f"memory: about {format_bytes(est.first_run)} per chunk of {run.chunk_size:,} paths "
            f"({format_bytes(est.warm)} on a repeat run), {chunks:,} chunk"
            f"{'s' if chunks != 1 else ''}; {size} ({run.dtype})")
    if budget is not None and budget.bytes:
        line += f"; {format_bytes(budget.bytes)} {budget.source}"
    return line


def check_experiment(exp, budget: MemoryBudget, source: str = "<config>") -> ChunkMemory:
    """Raise :class:`ConfigError` (naming ``run.chunk_size`` and the largest size that fits)
    when a chunk of ``exp`` would not fit in ``budget``; return the estimate."""
    from .config import ConfigError

    est = experiment_memory(exp)
    if not budget.bytes or budget.needed(est) <= budget.bytes * HEADROOM:
        return est
    run = exp.run
    best = fitting_chunk_size(budget, run.steps, est.accounts, est.itemsize,
                              keep_paths=run.keep_paths, policy_pools=est.policy_pools)
    best = min(best, run.paths)
    need = format_bytes(budget.needed(est))
    have = f"{format_bytes(budget.bytes)} {budget.source}"
    if best:
        allowed = f"at most {best:,} paths a chunk fit (run.chunk_size = {best})"
    else:
        allowed = ("not even 64 paths a chunk fit: fewer steps or accounts, or a machine "
                   "with more memory")
    raise ConfigError(source, [
        f"run.chunk_size = {run.chunk_size}: a chunk would need about {need}, more than the "
        f"{have} allows ({HEADROOM:.0%} of it); {allowed}"])
