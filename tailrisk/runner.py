"""Chunked, resumable runs of one experiment: config in, per-path arrays on disk out.

A run lives in ``out_dir/<run.name>-<config_hash>/``::

    manifest.json            config, hash, seed, versions, device, timings, status, and per
                             chunk its SHA-256, size and non-finite outputs
    chunks/chunk_00000.npz   per-path results of paths [0, chunk_size)
    chunks/chunk_00001.npz   ...

Chunk ``c`` holds paths ``[c * chunk_size, min((c + 1) * chunk_size, paths))``. Every path draws
its numbers from ``fold_in(stream_key(seed, STREAM_PRICE), global_path_index)``, so a path is the
same whatever the chunk size, and a resumed run equals an uninterrupted one bit for bit.

What is kept per path (``RunResult.per_path``), all float64 log returns relative to ``s0``:
``terminal_log_return`` = log(S_T / S_0), ``min_log_return`` and ``max_log_return`` = the lowest and
highest log(S_t / S_0) over t = 1..T, ``first_step_return`` = log(S_1 / S_0). With a venue, every
output of ``simulate_venue`` for the path is kept as well (``RunResult.venue``).

Whole paths are kept only for a fixed sample: the first ``sample_size(run)`` paths by global index
(at least ``run.keep_paths``). Per-step quantiles are computed from that sample, never combined
across chunks (quantiles do not combine), so they too do not depend on the chunk size (sample
paths with a non-finite log price are left out of them). Peak memory
is one chunk of ``(chunk_size, steps)`` log prices plus O(paths) scalars.

Every file is written atomically: to a temporary file in the same folder, then ``os.replace``.
The folder's files, checksums and checks are :mod:`tailrisk.run_store`'s. A resumed run checks
each finished chunk against its checksum and recomputes one that is missing, truncated or damaged
(the same bytes come back: chunks are deterministic). Each chunk counts the paths whose per-path
outputs are not finite (:func:`nonfinite_outputs`); the manifest keeps the counts.

SIGINT and SIGTERM stop a run between two files: a signal that arrives while a chunk and its
manifest entry are being written waits until both are on disk, one that arrives while a chunk is
computed discards it. :class:`RunInterrupted` then says how many chunks are done.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write, fault_point, remove_stale_temp_files
from .config import ConfigError, Experiment, config_hash, parse_config
from .run_store import (
    CHUNK_DIR,
    FORMAT,
    MANIFEST,
    ManifestError,
    RunError,
    check_chunk,
    chunk_path,
    read_chunk,
    read_manifest,
    write_chunk,
    write_manifest,
)

__all__ = [
    "QUANTILE_LEVELS",
    "ManifestError",
    "RunError",
    "RunInterrupted",
    "RunResult",
    "VenueSkippedWarning",
    "load_run",
    "nonfinite_outputs",
    "run_dir_for",
    "run_experiment",
    "sample_size",
]

#: per-step quantile levels of the fan chart, as probabilities
QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)
#: the quantile sample holds at most this many log prices (paths x steps), 16 MB in float32
_SAMPLE_CELLS = 2**22
_SAMPLE_MAX_PATHS = 10_000
_SAMPLE_MIN_PATHS = 1_000

_VENUE_PREFIX = "venue__"
PER_PATH_KEYS = ("terminal_log_return", "min_log_return", "max_log_return", "first_step_return")
#: chunk arrays that are not per-path outputs
_NOT_OUTPUTS = ("path_index", "sample_log_prices")


class VenueSkippedWarning(UserWarning):
    """The config has a [venue] but the venue kernel could not be imported; prices only."""


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run between two files; the chunks done are on disk and the
    manifest lists them, so the same call resumes."""

    def __init__(self, signum: int, chunks_done: int, n_chunks: int):
        self.signum = int(signum)
        self.chunks_done = chunks_done
        self.n_chunks = n_chunks
        super().__init__(
            f"interrupted after {chunks_done} of {n_chunks} chunks "
            f"({signal.Signals(self.signum).name}); run the same command to resume"
        )


@dataclass(frozen=True, eq=False)
class RunResult:
    """A run loaded from disk.

    per_path: ``{name: (paths,)}`` float64 log returns (see module docstring) plus ``path_index``.
    venue: ``{output: (paths, ...)}`` per-path venue outputs (USD, counts, flags), or None.
    sample_log_prices: ``(sample, steps)`` log S_1..S_T of the first ``sample`` paths.
    step_quantiles: ``(len(QUANTILE_LEVELS), steps)`` per-step quantiles of log S_t over that
    sample.
    """

    run_dir: Path
    experiment: Experiment
    config_hash: str
    manifest: dict[str, Any]
    per_path: dict[str, np.ndarray]
    venue: dict[str, np.ndarray] | None
    sample_log_prices: np.ndarray
    step_quantiles: np.ndarray
    quantile_levels: tuple[float, ...] = QUANTILE_LEVELS
    chunks_done: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    @property
    def kept_log_prices(self) -> np.ndarray:
        """``(keep_paths, steps)`` whole log-price paths for fan charts."""
        return self.sample_log_prices[: self.experiment.run.keep_paths]

    @property
    def times_days(self) -> np.ndarray:
        """Times of S_1..S_T in days."""
        run = self.experiment.run
        return np.arange(1, run.steps + 1) * run.dt * 365.0

    @property
    def n_paths(self) -> int:
        return int(self.per_path["path_index"].shape[0])


def sample_size(exp: Experiment) -> int:
    """Paths kept whole (the first ones by global index): for quantiles and fan charts."""
    run = exp.run
    by_cells = max(_SAMPLE_MIN_PATHS, _SAMPLE_CELLS // run.steps)
    return min(run.paths, max(run.keep_paths, min(_SAMPLE_MAX_PATHS, by_cells)))


def run_dir_for(exp: Experiment, out_dir: str | Path) -> Path:
    """``out_dir/<run.name>-<config_hash>``.

    Raises :class:`ConfigError` when that folder would not be a folder of ``out_dir`` (a second
    guard behind the config's rule that ``run.name`` is a plain name; a link counts where it
    points).
    """
    run_dir = Path(out_dir) / f"{exp.run.name}-{config_hash(exp)}"
    inside = Path(out_dir).resolve()
    if run_dir.resolve().parent != inside:
        raise ConfigError("<run>", [
            f"run.name = {exp.run.name!r}: the run folder {run_dir} would not be a folder of "
            f"--out ({out_dir})"
        ])
    return run_dir


# ----------------------------------------------------------------------------- atomic files


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` so that readers see the old file or the whole new one."""
    blob = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    atomic_write(path, lambda fh: fh.write(blob))


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to a temporary file in the same folder, then rename into place."""
    write_chunk(path, arrays)


# ----------------------------------------------------------------------------- environment


def _environment() -> dict[str, Any]:
    import jax
    import jaxlib

    from . import __version__

    return {
        "tailrisk": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "platform": platform.platform(),
    }


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- back ends
# Lazy imports keep this module importable while a layer below is missing; tests replace these.


def _price_backend() -> Callable[..., Any]:
    from .paths import log_prices

    return log_prices


def _venue_backend() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """``(build_population, simulate_venue)``, or None when the kernel cannot be imported."""
    try:
        from .venue import build_population
        from .venue.kernel import simulate_venue
    except ImportError as err:
        warnings.warn(
            f"the config has a [venue] section but the venue kernel cannot be imported ({err}); "
            "simulating price paths only",
            VenueSkippedWarning,
            stacklevel=3,
        )
        return None
    return build_population, simulate_venue


def _after_chunk(chunk: int) -> None:
    """Called after each chunk is on disk (a hook for tests that interrupt a run)."""


def _test_fault(point: str) -> None:
    """A fault-injection point of a run (see :func:`tailrisk._atomic.fault_point`): ``start``,
    ``chunk-write:C`` (half of chunk C's temporary file written), ``chunk-written:C`` (chunk on
    disk, manifest not yet updated), ``manifest-write:C`` (half of that manifest written),
    ``manifest:C``, ``complete``."""
    fault_point(point)


# ----------------------------------------------------------------------------- signals


class _StopSignals:
    """SIGINT and SIGTERM raise :class:`RunInterrupted`, except inside :meth:`deferred`, where
    they wait until the block is done (a chunk and its manifest entry go to disk together).

    Installed only in the main thread (Python delivers signals there); elsewhere it does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, progress: Callable[[], tuple[int, int]]):
        self.progress = progress
        self.pending: int | None = None
        self.depth = 0
        self.saved: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.depth:
            self.pending = self.pending or signum
            return
        raise RunInterrupted(signum, *self.progress())

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)

    @contextmanager
    def deferred(self):
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if not self.depth and self.pending is not None:
            signum, self.pending = self.pending, None
            raise RunInterrupted(signum, *self.progress())


# ----------------------------------------------------------------------------- the run


def check_memory(exp: Experiment, source: str | None = None) -> None:
    """Raise :class:`ConfigError` (naming ``source``, default the run's name) before any work
    when a chunk of ``exp`` would not fit in the memory of the device that runs it (see
    :mod:`tailrisk._memory`)."""
    import jax

    from ._memory import check_experiment, machine_memory

    check_experiment(exp, machine_memory(jax.devices()[0]), source or f"<{exp.run.name}>")


def _chunk_path(run_dir: Path, c: int) -> Path:
    return chunk_path(run_dir, c)


def _chunk_bounds(exp: Experiment, c: int) -> tuple[int, int]:
    run = exp.run
    return c * run.chunk_size, min((c + 1) * run.chunk_size, run.paths)


def nonfinite_outputs(outputs: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, int]]:
    """Which paths have a non-finite per-path output.

    ``outputs`` maps names to per-path arrays (first axis: paths; ``path_index`` and
    ``sample_log_prices`` are skipped, as are integer and boolean arrays, which are always
    finite). Returns ``(bad, counts)``: ``bad`` is ``(paths,)`` True where any output of the path
    is NaN or infinite (a path counts once), ``counts`` the number of such paths per output
    (outputs without any left out), in the order given.
    """
    arrays = {k: np.asarray(v) for k, v in outputs.items() if k not in _NOT_OUTPUTS}
    index = outputs.get("path_index")
    sizes = [a.shape[0] for a in arrays.values() if a.ndim]
    n = len(index) if index is not None else (sizes[0] if sizes else 0)
    bad = np.zeros(n, bool)
    counts: dict[str, int] = {}
    for name, a in arrays.items():
        if a.dtype.kind not in "fc" or a.shape[:1] != (n,):
            continue
        here = ~np.isfinite(a.reshape(n, -1)).all(axis=1)
        if here.any():
            counts[name] = int(here.sum())
            bad |= here
    return bad, counts


def _chunk_outputs(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A chunk's per-path outputs under their own names (venue outputs without the prefix)."""
    return {k.removeprefix(_VENUE_PREFIX): v for k, v in arrays.items()}


def _nonfinite_record(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    bad, counts = nonfinite_outputs(_chunk_outputs(arrays))
    return {"nonfinite_paths": int(bad.sum()), "nonfinite": counts}


def _nonfinite_totals(records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Paths with a non-finite output over the chunks done, and per output."""
    outputs: dict[str, int] = {}
    for rec in records.values():
        for name, count in rec.get("nonfinite", {}).items():
            outputs[name] = outputs.get(name, 0) + int(count)
    paths = sum(int(rec.get("nonfinite_paths", 0)) for rec in records.values())
    return {"paths": paths, "outputs": dict(sorted(outputs.items()))}


def _reduce_chunk(log_s: np.ndarray, log_s0: float) -> dict[str, np.ndarray]:
    """Per-path log-return summaries of one chunk, float64, shape (n,).

    Reduced in the paths' own dtype, then widened: ``x -> float64(x) - log_s0`` is monotone, so
    the extremes are those of the float64 differences, without a float64 copy of the chunk.
    """
    x = np.asarray(log_s)

    def rel(v: np.ndarray) -> np.ndarray:
        return v.astype(np.float64) - log_s0

    return {
        "terminal_log_return": rel(x[:, -1]),
        "min_log_return": rel(x.min(axis=1)),
        "max_log_return": rel(x.max(axis=1)),
        "first_step_return": rel(x[:, 0]),
    }


def _simulate_chunk(
    exp: Experiment, c: int, n_sample: int, venue: tuple[Any, Callable[..., Any]] | None,
    mesh: Any = None,
) -> dict[str, np.ndarray]:
    import jax.numpy as jnp

    from ._rng import STREAM_PRICE, stream_key

    run, model = exp.run, exp.model
    start, stop = _chunk_bounds(exp, c)
    # the last chunk is padded to chunk_size so that every chunk reuses one compiled kernel;
    # paths are independent, so the padding changes nothing for the real ones
    index = np.arange(start, start + run.chunk_size, dtype=np.int64)
    key = stream_key(run.seed, STREAM_PRICE)
    if mesh is None:
        path_index = jnp.asarray(index, dtype=jnp.uint32)
        log_prices = _price_backend()
        log_s = log_prices(key, model, path_index, run.steps, run.dt, run.dtype)
    else:  # the paths split over the process's devices (tailrisk.scale): the same numbers
        from .scale import chunk_log_prices, padded_size

        index = np.arange(start, start + padded_size(run.chunk_size, mesh), dtype=np.int64)
        path_index, log_s = chunk_log_prices(mesh, key, model, index.astype(np.uint32),
                                             run.steps, run.dt, run.dtype)
    n = stop - start
    log_s_np = np.asarray(log_s)[:n]
    out: dict[str, np.ndarray] = {"path_index": index[:n]}
    out.update(_reduce_chunk(log_s_np, math.log(model.s0)))
    keep = max(0, min(n_sample, stop) - start)
    out["sample_log_prices"] = log_s_np[:keep].copy()
    if venue is not None:
        accounts, simulate_venue = venue
        outputs = simulate_venue(
            accounts,
            exp.venue,
            log_s,
            s0=model.s0,
            seed=run.seed,
            path_index=path_index,
            dt=run.dt,
            **({} if mesh is None else {"mesh": mesh}),
        )
        for name, arr in outputs.items():
            out[_VENUE_PREFIX + name] = np.asarray(arr)[:n]
    return out


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="chunk",
        desc="paths",
        disable=not enabled or not sys.stderr.isatty(),
        dynamic_ncols=True,
    )


def run_experiment(
    exp: Experiment | str | Path,
    out_dir: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    policy: str | None = None,
    notify: Callable[[str], None] | None = None,
    devices: int | None = None,
    group: Any = None,
) -> RunResult:
    """Simulate ``exp`` chunk by chunk into ``out_dir/<run.name>-<hash>/`` and load the result.

    ``exp`` is a validated :class:`Experiment` or a TOML path (validated before anything is
    written). ``policy`` overrides ``venue.policy`` (it becomes part of the config and its hash).
    With ``resume``, chunks already on disk from the same config are kept when they pass their
    check; a missing, truncated or damaged one is named through ``notify`` (default: a logged
    warning) and recomputed. Without ``resume`` the folder's chunks are recomputed. Raises
    :class:`RunError` when the folder holds a different config, :class:`ManifestError` when its
    manifest is damaged, and :class:`RunInterrupted` on SIGINT or SIGTERM.

    ``devices``: local devices each chunk's paths are split over (default: all of them);
    ``group``: this process's :class:`tailrisk.scale.ProcessGroup` in a distributed run (it
    computes chunks ``c`` with ``c mod count == index``; process 0 writes the manifest). Neither
    changes the numbers.
    """
    from .scale import SINGLE, paths_mesh

    group = SINGLE if group is None else group
    mesh = paths_mesh(devices)
    if not isinstance(exp, Experiment):
        from .config import load_config

        exp = load_config(exp)
    if policy is not None:
        if exp.venue is None:
            raise ConfigError(
                "<run_experiment>", [f"policy = {policy!r}: the config has no [venue]"]
            )
        data = exp.to_dict()
        data["venue"]["policy"] = policy
        exp = parse_config(data, f"<policy override {policy!r}>")
    if notify is None:
        import logging

        notify = logging.getLogger("tailrisk").warning
    if exp.run.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    check_memory(exp)

    digest = config_hash(exp)
    run_dir = run_dir_for(exp, out_dir)
    chunk_dir = run_dir / CHUNK_DIR
    old = read_manifest(run_dir)
    if old is not None and old.get("config_hash") != digest:
        raise RunError(
            f"{run_dir} holds a run of config hash {old.get('config_hash')}, not {digest}; "
            "use another --out folder or delete it"
        )

    venue_backend = _venue_backend() if exp.venue is not None else None
    venue_simulated = venue_backend is not None
    if resume and old is not None and old.get("venue_simulated", False) != venue_simulated:
        raise RunError(
            f"{run_dir}: its chunks were made "
            f"{'with' if old.get('venue_simulated') else 'without'} the venue kernel "
            "and this run would differ; rerun with --no-resume"
        )

    run = exp.run
    # the population is built once per run, and before anything is written: a bad CSV fails here
    venue = None
    if venue_backend is not None:
        build_population, simulate_venue = venue_backend
        accounts = build_population(exp.venue, exp.model.s0, run.seed)
        venue = (accounts, simulate_venue)

    n_chunks = run.n_chunks
    n_sample = sample_size(exp)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    for folder in (run_dir, chunk_dir):
        remove_stale_temp_files(folder)  # left by a writer killed outright
    done: set[int] = set()
    records: dict[str, dict[str, Any]] = {}
    chunk_wall: dict[str, float] = {}
    recomputed: dict[str, str] = {}
    if resume and old is not None:
        old_records = old.get("chunks", {})
        old_wall = {str(k): v for k, v in old.get("chunk_wall_s", {}).items()}
        for c in range(n_chunks):
            record = old_records.get(str(c))
            start, stop = _chunk_bounds(exp, c)
            check = read_chunk(run_dir, c, n_chunks, record, stop - start,
                               load=not (record and "nonfinite" in record))
            if check.ok:
                done.add(c)
                rec = {**check.record, "paths": stop - start}
                if check.arrays is not None:
                    rec.update(_nonfinite_record(check.arrays))
                records[str(c)] = rec
                if isinstance(old_wall.get(str(c)), int | float):
                    chunk_wall[str(c)] = float(old_wall[str(c)])
            elif check.status != "missing" or record is not None:
                notify(f"{check.describe()}: recomputing")
                recomputed[str(c)] = check.status

    t_start = time.perf_counter()
    attempts = list(old.get("attempts", [])) if (resume and old) else []
    attempts.append({"started": _now(), "chunks_before": len(done)})
    if recomputed:
        attempts[-1]["recomputed"] = recomputed
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "config": exp.to_dict(),
        "config_hash": digest,
        "seed": run.seed,
        "environment": _environment(),
        "status": "running",
        "started": attempts[0]["started"],
        "ended": None,
        "wall_time_s": float(old.get("wall_time_s") or 0.0) if (resume and old) else 0.0,
        "n_chunks": n_chunks,
        "chunks_done": len(done),
        "chunk_wall_s": chunk_wall,
        "chunks": records,
        "nonfinite": _nonfinite_totals(records),
        "attempts": attempts,
        "sample_paths": n_sample,
        "quantile_levels": list(QUANTILE_LEVELS),
        "per_path_units": "log returns log(S_t/S_0); venue outputs in USD, counts or flags",
        "venue_simulated": venue_simulated,
    }
    if venue is not None:
        accounts = venue[0]
        manifest["cohort_names"] = list(getattr(accounts, "cohort_names", ()))
        manifest["probe_names"] = list(getattr(accounts, "probe_names", ()))
        manifest["n_accounts"] = int(getattr(accounts, "n", 0))
    base_wall = manifest["wall_time_s"]

    def elapsed() -> float:
        return round(base_wall + time.perf_counter() - t_start, 4)

    if group.count > 1 or mesh is not None:
        manifest["processes"] = group.count
        manifest["devices_per_process"] = 1 if mesh is None else mesh.size

    bar = _progress(n_chunks, len(done), progress)
    stop = _StopSignals(lambda: (len(done), n_chunks))
    try:
        with stop:
            if group.writer:
                with stop.deferred():
                    write_manifest(run_dir, manifest)
            _test_fault("start")
            for c in group.share(n_chunks):
                if c in done:
                    continue
                t0 = time.perf_counter()
                arrays = _simulate_chunk(exp, c, n_sample, venue, mesh)
                nonfinite = _nonfinite_record(arrays)
                with stop.deferred():
                    written = write_chunk(
                        _chunk_path(run_dir, c), arrays, lambda c=c: _test_fault(f"chunk-write:{c}")
                    )
                    _test_fault(f"chunk-written:{c}")
                    dt_chunk = time.perf_counter() - t0
                    done.add(c)
                    records[str(c)] = {**written, "paths": len(arrays["path_index"]), **nonfinite}
                    manifest["chunks"] = dict(sorted(records.items(), key=lambda kv: int(kv[0])))
                    manifest["nonfinite"] = _nonfinite_totals(records)
                    manifest["chunk_wall_s"][str(c)] = round(dt_chunk, 4)
                    manifest["chunks_done"] = len(done)
                    manifest["wall_time_s"] = elapsed()
                    if group.writer:
                        write_manifest(
                            run_dir, manifest, lambda c=c: _test_fault(f"manifest-write:{c}")
                        )
                _test_fault(f"manifest:{c}")
                bar.update(1)
                bar.set_postfix_str(f"{len(arrays['path_index']) / dt_chunk:,.0f} paths/s")
                _after_chunk(c)

            if group.count > 1:  # every process's chunks on disk, then one complete manifest
                from .scale import finish_distributed_run

                def chunk_ready(c: int, record: Mapping[str, Any] | None) -> bool:
                    start, stop_ = _chunk_bounds(exp, c)
                    return check_chunk(run_dir, c, n_chunks, record, stop_ - start).ok

                records = finish_distributed_run(group, digest, manifest, n_chunks, records,
                                                 chunk_ready)
                manifest["chunks"] = dict(sorted(records.items(), key=lambda kv: int(kv[0])))
                manifest["nonfinite"] = _nonfinite_totals(records)
            manifest["status"] = "complete"
            manifest["ended"] = _now()
            manifest["wall_time_s"] = elapsed()
            attempts[-1]["ended"] = manifest["ended"]
            if group.writer:
                with stop.deferred():
                    write_manifest(run_dir, manifest)
            group.barrier(f"run/{digest}/complete")
            _test_fault("complete")
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", signal.SIGINT)
        if group.writer:
            _record_interruption(run_dir, manifest, attempts, signum, elapsed())
        if isinstance(err, RunInterrupted):
            raise
        raise RunInterrupted(signum, len(done), n_chunks) from err
    finally:
        bar.close()
    return load_run(run_dir)


def _record_interruption(
    run_dir: Path, manifest: dict[str, Any], attempts: list[dict[str, Any]], signum: int,
    wall: float,
) -> None:
    """Note the interruption in the manifest (best effort: the manifest on disk is already
    consistent with the chunks, so a failure here loses nothing)."""
    attempts[-1]["interrupted"] = signal.Signals(signum).name
    attempts[-1]["ended"] = _now()
    manifest["wall_time_s"] = wall
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _StopSignals.SIGNALS} if (
        threading.current_thread() is threading.main_thread()
    ) else {}
    try:
        write_manifest(run_dir, manifest)
    except OSError:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def load_run(run_dir: str | Path, *, allow_partial: bool = False) -> RunResult:
    """Load a run folder written by :func:`run_experiment`, checking every chunk first.

    Each chunk is checked against the SHA-256 its manifest records (a folder from before
    checksums: by reading every array). Raises :class:`RunError` naming the first chunk that is
    missing, truncated or damaged, :class:`ManifestError` when the manifest cannot be read, and
    :class:`RunError` if the run is not complete (unless ``allow_partial``: then the chunks on
    disk are loaded, in order, up to the first missing one).
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise RunError(f"{run_dir}: no {MANIFEST}; not a run folder")
    if manifest.get("status") != "complete" and not allow_partial:
        raise RunError(
            f"{run_dir}: run is not complete ({manifest.get('chunks_done')} of "
            f"{manifest.get('n_chunks')} chunks); run it again to resume"
        )
    try:
        exp = parse_config(manifest["config"], str(run_dir / MANIFEST))
    except ConfigError as err:
        raise ManifestError(
            f"{run_dir / MANIFEST}: its config does not validate with this version of tailrisk "
            f"({'; '.join(err.problems)}); rerun the experiment into a new folder"
        ) from None
    n_chunks = exp.run.n_chunks
    records = manifest.get("chunks", {})
    parts: dict[str, list[np.ndarray]] = {}
    loaded = 0
    for c in range(n_chunks):
        start, stop = _chunk_bounds(exp, c)
        check = read_chunk(run_dir, c, n_chunks, records.get(str(c)), stop - start)
        if allow_partial and check.status == "missing":
            break
        if not check.ok:
            raise RunError(
                f"{run_dir}: {check.describe()}; run the same `tailrisk run` command to "
                "recompute it"
            )
        for k, v in check.arrays.items():
            parts.setdefault(k, []).append(v)
        loaded += 1
    steps = exp.run.steps
    merged = {k: np.concatenate(v, axis=0) for k, v in parts.items()}
    sample = merged.pop("sample_log_prices", np.zeros((0, steps), np.float32))
    per_path = {k: merged.pop(k) for k in ("path_index", *PER_PATH_KEYS) if k in merged}
    venue = {
        k.removeprefix(_VENUE_PREFIX): v for k, v in merged.items() if k.startswith(_VENUE_PREFIX)
    }
    finite = sample[np.isfinite(sample).all(axis=1)] if len(sample) else sample
    if len(finite):
        quantiles = np.quantile(np.asarray(finite, np.float64), QUANTILE_LEVELS, axis=0)
    else:
        quantiles = np.full((len(QUANTILE_LEVELS), steps), np.nan)
    return RunResult(
        run_dir=run_dir,
        experiment=exp,
        config_hash=manifest["config_hash"],
        manifest=manifest,
        per_path=per_path,
        venue=venue or None,
        sample_log_prices=sample,
        step_quantiles=quantiles,
        chunks_done=loaded,
    )
