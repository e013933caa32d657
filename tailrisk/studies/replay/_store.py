"""The replay's run folder: ``replay.json`` (settings, the comparison table, timings) and
``replay.npz`` (the Monte Carlo's per-path numbers and the model's per-account ADL).

Written atomically. The recorded data are not copied into it (they carry no licence): the
recorded column of the table is what the run compared with, and the pages read the files again.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..._atomic import atomic_write

__all__ = ["REPLAY_JSON", "REPLAY_NPZ", "replay_summary", "write_replay"]

REPLAY_JSON = "replay.json"
REPLAY_NPZ = "replay.npz"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def replay_summary(res) -> dict[str, Any]:
    """The JSON-able summary of a :class:`~tailrisk.studies.replay.ReplayResult`."""
    import jax

    from ... import __version__

    acc = res.accounts
    longs = acc.side > 0
    return _clean({
        "config": res.experiment.to_dict(),
        "config_hash": res.config_hash,
        "units": "money USD, times seconds (UTC clock times where named), counts plain",
        "window": {"start": res.experiment.replay.start, "end": res.experiment.replay.end,
                   "steps": res.path.steps, "step_s": res.path.dt_seconds},
        "impact_fit": {"side": res.fit.used, "eta": res.fit.eta, "beta_impact": res.fit.beta,
                       "depth_usd": res.fit.depth, "snapshots": res.fit.snapshots,
                       "band_notional_usd": {k: list(v) for k, v in res.fit.bands.items()},
                       "by_hour_utc": [
                           {"hour": int(h // 3_600_000 % 24), "side": str(sd), "eta": float(e),
                            "beta_impact": float(b), "bid_1pct_usd": float(b1),
                            "bid_5pct_usd": float(b5), "ask_1pct_usd": float(a1),
                            "ask_5pct_usd": float(a5)}
                           for h, sd, e, b, b1, b5, a1, a5 in zip(
                               *(res.depth_hours.get(k, ()) for k in (
                                   "hour_ms", "side", "eta", "beta", "bid_1pct", "bid_5pct",
                                   "ask_1pct", "ask_5pct")), strict=True)]},
        "population": {"longs": int(longs.sum()), "shorts": int((~longs).sum()),
                       "long_scale": res.scale,
                       "long_notional_usd": float(np.sum((acc.quantity * acc.entry)[longs])),
                       "short_notional_usd": float(np.sum((acc.quantity * acc.entry)[~longs]))},
        "paths": int(res.mc["liquidated_notional"].size),
        "reference_paths": int(res.mc_reference["cascade_to_adl_s"].size),
        "kernel_path0": res.kernel_path0,
        "comparison": res.comparison(),
        "timings_s": res.timings,
        "versions": {"tailrisk": __version__, "jax": jax.__version__},
    })


def write_replay(res, run_dir: str | Path) -> Path:
    """Write ``replay.json`` and ``replay.npz`` into ``run_dir``; returns the folder."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    blob = (json.dumps(replay_summary(res), indent=2, sort_keys=True) + "\n").encode()
    atomic_write(run_dir / REPLAY_JSON, lambda fh: fh.write(blob))
    arrays = {f"mc__{k}": v for k, v in res.mc.items()}
    arrays.update({f"reference__{k}": v for k, v in res.mc_reference.items()})
    arrays["model_adl_notional_per_account"] = res.model_adl_per_account
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(run_dir / REPLAY_NPZ, lambda fh: fh.write(buf.getvalue()))
    return run_dir
