"""Chunked, resumable runs of one experiment: config in, per-path arrays on disk out.

A run lives in ``out_dir/<run.name>-<config_hash>/``::

    manifest.json            config, hash, seed, versions, device, timings, status
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
across chunks (quantiles do not combine), so they too do not depend on the chunk size. Peak memory
is one chunk of ``(chunk_size, steps)`` log prices plus O(paths) scalars.

Every file is written atomically: to a temporary file in the same folder, then ``os.replace``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .config import ConfigError, Experiment, config_hash, parse_config

__all__ = [
    "QUANTILE_LEVELS",
    "RunError",
    "RunResult",
    "VenueSkippedWarning",
    "load_run",
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

MANIFEST = "manifest.json"
CHUNK_DIR = "chunks"
_VENUE_PREFIX = "venue__"
PER_PATH_KEYS = ("terminal_log_return", "min_log_return", "max_log_return", "first_step_return")


class RunError(RuntimeError):
    """A run folder that cannot be used (other config, unfinished, damaged)."""


class VenueSkippedWarning(UserWarning):
    """The config has a [venue] but the venue kernel could not be imported; prices only."""


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
    """``out_dir/<run.name>-<config_hash>``."""
    return Path(out_dir) / f"{exp.run.name}-{config_hash(exp)}"


# ----------------------------------------------------------------------------- atomic files


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` so that readers see the old file or the whole new one."""
    blob = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    atomic_write(path, lambda fh: fh.write(blob))


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to a temporary file in the same folder, then rename into place."""
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


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


# ----------------------------------------------------------------------------- the run


def _chunk_path(run_dir: Path, c: int) -> Path:
    return run_dir / CHUNK_DIR / f"chunk_{c:05d}.npz"


def _chunk_bounds(exp: Experiment, c: int) -> tuple[int, int]:
    run = exp.run
    return c * run.chunk_size, min((c + 1) * run.chunk_size, run.paths)


def _chunk_ok(path: Path, n_expected: int) -> bool:
    try:
        with np.load(path) as z:
            return "path_index" in z.files and z["path_index"].shape == (n_expected,)
    except (OSError, ValueError, EOFError):
        return False


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


def _read_manifest(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RunError(f"{path}: damaged manifest ({err}); delete the folder or rerun") from None


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
    devices: int | None = None,
    group: Any = None,
) -> RunResult:
    """Simulate ``exp`` chunk by chunk into ``out_dir/<run.name>-<hash>/`` and load the result.

    ``exp`` is a validated :class:`Experiment` or a TOML path (validated before anything is
    written). ``policy`` overrides ``venue.policy`` (it becomes part of the config and its hash).
    With ``resume``, chunks already on disk from the same config are kept; without it the folder's
    chunks are recomputed. Raises :class:`RunError` when the folder holds a different config.

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
    if exp.run.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)

    digest = config_hash(exp)
    run_dir = run_dir_for(exp, out_dir)
    chunk_dir = run_dir / CHUNK_DIR
    old = _read_manifest(run_dir)
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
    done = set()
    chunk_wall: dict[str, float] = {}
    if resume and old is not None:
        chunk_wall = {str(k): float(v) for k, v in old.get("chunk_wall_s", {}).items()}
        for c in range(n_chunks):
            start, stop = _chunk_bounds(exp, c)
            if _chunk_path(run_dir, c).exists() and _chunk_ok(
                _chunk_path(run_dir, c), stop - start
            ):
                done.add(c)
        chunk_wall = {k: v for k, v in chunk_wall.items() if int(k) in done}

    t_start = time.perf_counter()
    attempts = list(old.get("attempts", [])) if (resume and old) else []
    attempts.append({"started": _now(), "chunks_before": len(done)})
    manifest: dict[str, Any] = {
        "format": 1,
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
    if group.count > 1 or mesh is not None:
        manifest["processes"] = group.count
        manifest["devices_per_process"] = 1 if mesh is None else mesh.size
    if group.writer:
        atomic_write_json(run_dir / MANIFEST, manifest)

    bar = _progress(n_chunks, len(done), progress)
    try:
        for c in group.share(n_chunks):
            if c in done:
                continue
            t0 = time.perf_counter()
            arrays = _simulate_chunk(exp, c, n_sample, venue, mesh)
            atomic_savez(_chunk_path(run_dir, c), arrays)
            dt_chunk = time.perf_counter() - t0
            done.add(c)
            manifest["chunk_wall_s"][str(c)] = round(dt_chunk, 4)
            manifest["chunks_done"] = len(done)
            manifest["wall_time_s"] = round(base_wall + time.perf_counter() - t_start, 4)
            if group.writer:
                atomic_write_json(run_dir / MANIFEST, manifest)
            bar.update(1)
            bar.set_postfix_str(f"{len(arrays['path_index']) / dt_chunk:,.0f} paths/s")
            _after_chunk(c)
    finally:
        bar.close()

    if group.count > 1:  # every process's chunks on disk, then one complete manifest

        def chunk_ready(c: int) -> bool:
            start, stop = _chunk_bounds(exp, c)
            return _chunk_ok(_chunk_path(run_dir, c), stop - start)

        from .scale import finish_distributed_run

        finish_distributed_run(group, digest, manifest, n_chunks, chunk_ready)
    manifest["status"] = "complete"
    manifest["ended"] = _now()
    manifest["wall_time_s"] = round(base_wall + time.perf_counter() - t_start, 4)
    attempts[-1]["ended"] = manifest["ended"]
    if group.writer:
        atomic_write_json(run_dir / MANIFEST, manifest)
    group.barrier(f"run/{digest}/complete")
    return load_run(run_dir)


def _iter_chunks(run_dir: Path, n_chunks: int) -> Iterator[dict[str, np.ndarray]]:
    for c in range(n_chunks):
        with np.load(_chunk_path(run_dir, c)) as z:
            yield {k: z[k] for k in z.files}


def load_run(run_dir: str | Path, *, allow_partial: bool = False) -> RunResult:
    """Load a run folder written by :func:`run_experiment`.

    Raises :class:`RunError` if the run is not complete (unless ``allow_partial``: then the chunks
    on disk are loaded, in order, up to the first missing one).
    """
    run_dir = Path(run_dir)
    manifest = _read_manifest(run_dir)
    if manifest is None:
        raise RunError(f"{run_dir}: no {MANIFEST}; not a run folder")
    if manifest.get("status") != "complete" and not allow_partial:
        raise RunError(
            f"{run_dir}: run is not complete ({manifest.get('chunks_done')} of "
            f"{manifest.get('n_chunks')} chunks); run it again to resume"
        )
    exp = parse_config(manifest["config"], str(run_dir / MANIFEST))
    n_chunks = exp.run.n_chunks
    if allow_partial:
        n_chunks = 0
        while n_chunks < exp.run.n_chunks and _chunk_path(run_dir, n_chunks).exists():
            n_chunks += 1
    parts: dict[str, list[np.ndarray]] = {}
    for arrays in _iter_chunks(run_dir, n_chunks):
        for k, v in arrays.items():
            parts.setdefault(k, []).append(v)
    steps = exp.run.steps
    merged = {k: np.concatenate(v, axis=0) for k, v in parts.items()}
    sample = merged.pop("sample_log_prices", np.zeros((0, steps), np.float32))
    per_path = {k: merged.pop(k) for k in ("path_index", *PER_PATH_KEYS) if k in merged}
    venue = {
        k.removeprefix(_VENUE_PREFIX): v for k, v in merged.items() if k.startswith(_VENUE_PREFIX)
    }
    if len(sample):
        quantiles = np.quantile(np.asarray(sample, np.float64), QUANTILE_LEVELS, axis=0)
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
        chunks_done=n_chunks,
    )
