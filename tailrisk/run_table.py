"""A finished run's per-path outputs as one Parquet file, readable without tailrisk.

``<run folder>/paths.parquet`` holds one row per path (in path-index order) and one column per
per-path output: the price summaries (log returns) and, with a venue, every venue output; an
output with one value per cohort or probe becomes one column each, ``cohort_damped[<name>]``.
Each field carries its unit and a description in its Parquet metadata (``unit``,
``description``); the schema's metadata holds the run's name, config hash and config (JSON).
Read it with ``pyarrow.parquet.read_table`` or ``pandas.read_parquet``.

The chunk files stay the run's store (the runner resumes from them); this table is written
from them when the run is complete, atomically, and rewritten only when it is missing or was
written for another config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TABLE", "UNITS", "read_table_meta", "table_columns", "write_run_table"]

TABLE = "paths.parquet"

#: unit and description of each per-path output (docs/venue.md "Outputs per path")
UNITS: dict[str, tuple[str, str]] = {
    "path_index": ("1", "global path index (the path's random stream)"),
    "terminal_log_return": ("log units", "log(S_T / S_0)"),
    "min_log_return": ("log units", "lowest log(S_t / S_0), t = 1..T"),
    "max_log_return": ("log units", "highest log(S_t / S_0), t = 1..T"),
    "first_step_return": ("log units", "log(S_1 / S_0)"),
    "fund_final": ("USD", "insurance fund at the horizon"),
    "fund_min": ("USD", "smallest insurance fund over the path"),
    "shortfall": ("USD", "total shortfall below the fund floor"),
    "capital_injected": ("USD", "venue capital paid in"),
    "insolvent": ("1", "1 if capital injected exceeded the venue's capital"),
    "net_insolvent_debt": ("USD", "max(0, capital injected - capital)"),
    "winners": ("accounts", "accounts with a positive payoff (paths with ADL)"),
    "winners_touched": ("accounts", "winners whose payoff ADL reduced"),
    "max_haircut_pct": ("%", "largest haircut, percent of what the winner was owed"),
    "gini_haircut": ("1", "Gini coefficient of the haircuts"),
    "haircut_total": ("USD", "sum of haircuts (undamped - damped)"),
    "overshoot": ("USD", "losses beyond bankruptcy prices not covered"),
    "covered": ("USD", "losses covered by the fund and capital"),
    "liquidated_notional": ("USD", "notional of liquidation batches, sum Q P"),
    "liquidated_count": ("accounts", "accounts liquidated"),
    "adl_notional": ("USD", "ADL'd notional (contract space) or haircut (PnL space)"),
    "adl_count": ("accounts", "account-events touched by ADL"),
    "adl_events": ("batches", "liquidation batches that needed ADL"),
    "backlog_max": ("USD", "largest engine backlog notional at the end of a check"),
    "backlog_final": ("USD", "backlog notional at the horizon"),
    "converged": ("1", "1 if every check's cascade converged"),
    "fees": ("USD", "liquidation fees"),
    "pnl_rest": ("USD", "payoff of the rest of the market"),
    "token_revaluation": ("USD", "revaluation of a fund held in the venue's token"),
    "cohort_damped": ("USD", "payoff the cohort receives (damped)"),
    "cohort_undamped": ("USD", "payoff the cohort is owed (undamped)"),
    "probe_damped": ("USD", "payoff the probe receives (damped)"),
    "probe_undamped": ("USD", "payoff the probe is owed (undamped)"),
}


def table_columns(result: Any) -> dict[str, tuple[np.ndarray, str, str]]:
    """``{column: (values (paths,), unit, description)}`` of a :class:`RunResult`."""
    cols: dict[str, tuple[np.ndarray, str, str]] = {}
    for name, arr in result.per_path.items():
        unit, desc = UNITS.get(name, ("", ""))
        cols[name] = (np.asarray(arr), unit, desc)
    names = {"cohort": result.manifest.get("cohort_names", []),
             "probe": result.manifest.get("probe_names", [])}
    n = result.n_paths
    for name, arr in (result.venue or {}).items():
        a = np.asarray(arr)
        unit, desc = UNITS.get(name, ("", ""))
        if a.ndim == 1:
            cols[name] = (a, unit, desc)
            continue
        a = a.reshape(n, -1)
        labels = list(names.get(name.split("_")[0], []))
        for j in range(a.shape[1]):
            label = labels[j] if j < len(labels) else str(j)
            cols[f"{name}[{label}]"] = (a[:, j], unit, f"{desc}: {label}")
    return cols


def write_run_table(result: Any, *, force: bool = False) -> Path:
    """Write ``paths.parquet`` of a complete run into its folder (atomically); returns its path.

    Kept as it is when it already holds this config hash and every path (unless ``force``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ._atomic import atomic_write

    path = Path(result.run_dir) / TABLE
    if not force and path.exists():
        meta = read_table_meta(path)
        if meta.get("config_hash") == result.config_hash and meta.get("rows") == result.n_paths:
            return path
    fields, arrays = [], []
    for name, (values, unit, desc) in table_columns(result).items():
        arr = pa.array(values)
        fields.append(pa.field(name, arr.type,
                               metadata={"unit": unit, "description": desc}))
        arrays.append(arr)
    schema = pa.schema(fields, metadata={
        "tailrisk.run": result.experiment.run.name,
        "tailrisk.config_hash": result.config_hash,
        "tailrisk.config": json.dumps(result.manifest.get("config", {}), sort_keys=True),
        "tailrisk.rows": str(result.n_paths),
    })
    table = pa.Table.from_arrays(arrays, schema=schema)
    atomic_write(path, lambda fh: pq.write_table(table, fh), suffix=".parquet")
    return path


def read_table_meta(path: str | Path) -> dict[str, Any]:
    """The run name, config hash and row count a ``paths.parquet`` records ({} if unreadable)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return {}
    get = lambda k: meta.get(f"tailrisk.{k}".encode(), b"").decode()  # noqa: E731
    rows = get("rows")
    return {"run": get("run"), "config_hash": get("config_hash"),
            "rows": int(rows) if rows.isdigit() else None}
