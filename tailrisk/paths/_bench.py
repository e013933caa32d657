"""Throughput of every sampler against jax.random's normal, t and gamma on the same shapes."""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp

from .. import config
from .._rng import path_keys
from . import _params
from ._increments import _kernel

#: one representative config per model (the config defaults)
BENCH_MODELS = {
    "gbm": config.GbmModel(name="gbm"),
    "student_t": config.StudentTModel(name="student_t", nu=3.0, scale=0.5),
    "merton": config.MertonModel(name="merton"),
    "kou": config.KouModel(name="kou"),
    "garch_t": config.GarchTModel(name="garch_t"),
    "hawkes": config.HawkesModel(name="hawkes"),
    "stable": config.StableModel(name="stable"),
}


def _median_seconds(cases: dict, repeats: int) -> dict:
    """Median wall time per case; the cases take turns so that load from other processes on a
    shared machine hits them all alike."""
    for fn in cases.values():
        jax.block_until_ready(fn())  # compile and warm up
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_samplers(n_paths=65536, steps=256, repeats=5, dtype="float32") -> list[dict]:
    """Median draws per second of every model's sampler and of ``jax.random.normal``, ``.t``
    (df 3) and ``.gamma`` (a = 2), all on ``(n_paths, steps)`` with per-path ``fold_in`` keys
    and reduced by a sum so that nothing is optimised away.

    Returns one dict per sampler: ``{"sampler", "draws_per_s", "ratio_to_normal", "median_s"}``.
    """
    dtype = jnp.dtype(dtype)
    key = jax.random.key(0)
    index = jnp.arange(n_paths, dtype=jnp.uint32)
    dt = 1.0 / 365.0

    def reference(draw):
        @jax.jit
        def run(key, index):
            return jax.vmap(draw)(path_keys(key, index)).sum()

        return lambda: run(key, index)

    cases = {
        "jax.random.normal": reference(lambda k: jax.random.normal(k, (steps,), dtype)),
        "jax.random.t": reference(lambda k: jax.random.t(k, 3.0, (steps,), dtype)),
        "jax.random.gamma": reference(lambda k: jax.random.gamma(k, 2.0, (steps,), dtype)),
    }
    summed = jax.jit(
        lambda key, index, params, name, mode: _kernel(
            key, index, params, name=name, mode=mode, steps=steps, dtype=dtype.name
        ).sum(),
        static_argnames=("name", "mode"),
    )
    for name, model in BENCH_MODELS.items():
        params = _params.to_arrays(_params.kernel_params(model, steps, dt), dtype)
        cases[name] = lambda name=name, params=params, mode=model.mode: summed(
            key, index, params, name, mode
        )
    rows = [{"sampler": k, "median_s": v} for k, v in _median_seconds(cases, repeats).items()]
    normal_rate = n_paths * steps / rows[0]["median_s"]
    for row in rows:
        row["draws_per_s"] = n_paths * steps / row["median_s"]
        row["ratio_to_normal"] = row["draws_per_s"] / normal_rate
    return [
        {k: row[k] for k in ("sampler", "draws_per_s", "ratio_to_normal", "median_s")}
        for row in rows
    ]


if __name__ == "__main__":
    for row in bench_samplers():
        print(
            f"{row['sampler']:20s} {row['draws_per_s'] / 1e6:9.2f} M/s  "
            f"{row['ratio_to_normal']:6.3f}  {row['median_s'] * 1e3:8.1f} ms"
        )
