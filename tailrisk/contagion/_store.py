"""A network run on disk: ``<out>/<run.name>-<config hash>/`` with ``network.npz`` (every
per-path array), ``summary.json`` (the metrics, USD) and ``manifest.json`` (config, hash, link
names, versions, wall time), each written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_write
from ..config.network import network_config_hash, parse_network_config
from .api import NetworkResult

__all__ = ["load_network_run", "network_run_dir", "save_network_run"]


def network_run_dir(result_or_exp, out_dir: str | Path) -> Path:
    exp = getattr(result_or_exp, "experiment", result_or_exp)
    return Path(out_dir) / f"{exp.run.name}-{network_config_hash(exp)}"


def _json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda fh: fh.write(json.dumps(obj, indent=2, sort_keys=True).encode()))


def save_network_run(result: NetworkResult, out_dir: str | Path,
                     summary: dict[str, Any]) -> Path:
    """Write ``result`` into its run folder under ``out_dir``; returns the folder."""
    import jax

    run_dir = network_run_dir(result, out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / "network.npz", lambda fh: np.savez(fh, **result.paths),
                 suffix=".npz")
    _json(run_dir / "summary.json", summary)
    _json(run_dir / "manifest.json", {
        "config": result.experiment.to_dict(), "config_hash": result.config_hash,
        "venues": list(result.venues), "links": list(result.link_names),
        "link_kinds": list(result.link_kinds), "wall_s": result.wall_s,
        "jax": jax.__version__, "device": str(jax.devices()[0]), "units": "USD"})
    return run_dir


def load_network_run(run_dir: str | Path) -> NetworkResult:
    """Read a run folder written by :func:`save_network_run`."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    exp = parse_network_config(manifest["config"], str(run_dir / "manifest.json"))
    with np.load(run_dir / "network.npz") as z:
        paths = {k: z[k] for k in z.files}
    return NetworkResult(experiment=exp, paths=paths, venues=tuple(manifest["venues"]),
                         link_names=tuple(manifest["links"]),
                         link_kinds=tuple(manifest["link_kinds"]), wall_s=manifest["wall_s"])
