"""The run folders of an ``--out`` folder: list them, and compare two runs metric by metric.

:func:`list_runs` reads each folder's ``manifest.json`` (a run) or ``study.json`` (a study of
several runs): name, config hash, date, size on disk and status. :func:`compare_runs` reads the
two runs' ``paths.parquet`` tables (:mod:`tailrisk.run_table`; written from the chunks when
missing) and compares the mean of every per-path column: the difference B - A with its Monte
Carlo standard error, flagged when ``|difference| > sigma * se``. Runs on independent paths
(another seed, another model) get ``sqrt(s_A^2 / n_A + s_B^2 / n_B)``; runs on the same price
paths (the same seed and model: two variants of a study, or a run with itself) are compared
path by path, ``sd(B - A) / sqrt(n)`` (:func:`shares_paths`). A probability is
the mean of a 0/1 column. Columns that are not finite on some path are compared over their
finite paths.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Comparison", "RunEntry", "compare_runs", "comparison_rows", "list_runs",
           "runs_table", "shares_paths"]


@dataclass(frozen=True)
class RunEntry:
    """One folder of ``--out``."""

    folder: Path
    name: str
    config_hash: str
    date: str
    size_bytes: int
    status: str
    kind: str  # "run", "study" or "result" (a folder of price, sweep, ... without a manifest)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


#: what the commands that write no run manifest leave in their folder (glob, kind)
RESULT_FILES = (("pricing.parquet", "price"), ("sweep.parquet", "sweep"),
                ("compare_policies.parquet", "policy comparison"),
                ("frontier.parquet", "frontier"), ("venue_risk_*.parquet", "venue risk"),
                ("hyperliquid.parquet", "Hyperliquid comparison"), ("replay.json", "replay"))


def _result_file(folder: Path) -> tuple[str, Path] | None:
    """The kind and newest result file of a folder written by price, sweep, compare-policies,
    frontier, venue-risk, hyperliquid or replay; None when it holds none."""
    for pattern, kind in RESULT_FILES:
        found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
        if found:
            return kind, found[-1]
    return None


def list_runs(out: str | Path) -> list[RunEntry]:
    """Every run or study folder directly in ``out``, sorted by name."""
    out = Path(out)
    entries = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else []:
        manifest, study = folder / "manifest.json", folder / "study.json"
        try:
            if manifest.exists():
                m = json.loads(manifest.read_text(encoding="utf-8"))
                status = m.get("status", "?")
                if "venues" in m:  # a network run (docs/contagion.md): written whole
                    links = m.get("config", {}).get("network", {}).get("links", True)
                    status = "network run" + ("" if links else ", links cut")
                elif status != "complete":
                    status = f"{status} ({m.get('chunks_done')} of {m.get('n_chunks')} chunks)"
                entries.append(RunEntry(folder, m.get("config", {}).get("run", {}).get(
                    "name", folder.name), str(m.get("config_hash", "")),
                    str(m.get("ended") or m.get("started") or ""), _size(folder), status, "run"))
            elif study.exists():
                s = json.loads(study.read_text(encoding="utf-8"))
                verdict = folder / "verdict.json"
                date = (json.loads(verdict.read_text(encoding="utf-8")).get("written", "")
                        if verdict.exists() else "")
                entries.append(RunEntry(folder, s["config"]["run"]["name"],
                                        str(s.get("config_hash", "")), date, _size(folder),
                                        f"study of {len(s.get('run_dirs', []))} runs",
                                        "study"))
            elif (folder / "verdict.json").exists():  # a network claim, or a replay
                v = json.loads((folder / "verdict.json").read_text(encoding="utf-8"))
                what = {"network": "network claim", "replay": "replay"}.get(
                    v.get("kind", ""), v.get("kind", "?"))
                status = (f"{what} of {len(v.get('run_dirs', []))} runs" if what !=
                          "replay" else what) if v.get("verdict") else "not run"
                entries.append(RunEntry(folder, v.get("run_name", folder.name),
                                        str(v.get("config_hash", "")), v.get("written", ""),
                                        _size(folder), status, "study"))
            elif (result := _result_file(folder)) is not None:
                kind, path = result
                name, _, digest = folder.name.rpartition("-")
                if not name or len(digest) != 16:
                    name, digest = folder.name, ""
                date = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                entries.append(RunEntry(folder, name, digest,
                                        date.isoformat(timespec="seconds"), _size(folder),
                                        f"{kind} ({path.name})", "result"))
        except (OSError, ValueError, KeyError):
            entries.append(RunEntry(folder, folder.name, "", "", 0, "unreadable", "?"))
    return entries


def runs_table(entries: list[RunEntry]) -> list[dict[str, Any]]:
    """Rows for printing: name, config hash, date, size (MB), status, folder."""
    return [{"name": e.name, "config hash": e.config_hash, "date (UTC)": e.date,
             "size [MB]": round(e.size_bytes / 1e6, 2), "status": e.status,
             "folder": e.folder.name} for e in entries]


@dataclass(frozen=True)
class Comparison:
    """One metric of two runs: the means, the difference B - A and its standard error."""

    metric: str
    unit: str
    a: float
    b: float
    diff: float
    se: float
    z: float
    flagged: bool


def _table(run_dir: Path):
    import pyarrow.parquet as pq

    from .run_table import TABLE, write_run_table

    path = run_dir / TABLE
    if not path.exists():
        from .runner import load_run

        write_run_table(load_run(run_dir))
    return pq.read_table(path)


def _mean_se(x: np.ndarray) -> tuple[float, float, int]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, 0
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return float(x.mean()), se, int(x.size)


def shares_paths(ta: Any, tb: Any) -> bool:
    """Whether two tables hold the same price paths (same path indices and identical terminal
    log returns on every path): then the runs are compared path by path."""
    try:
        same_index = np.array_equal(ta.column("path_index").to_numpy(),
                                    tb.column("path_index").to_numpy())
        return bool(same_index and np.array_equal(
            ta.column("terminal_log_return").to_numpy(),
            tb.column("terminal_log_return").to_numpy()))
    except KeyError:
        return False


def compare_runs(run_a: str | Path, run_b: str | Path, *, sigma: float = 3.0) -> list[Comparison]:
    """Compare the mean of every per-path column the two runs share (see the module docstring).

    The same run compared with itself gives zero differences and no flags.
    """
    ta, tb = _table(Path(run_a)), _table(Path(run_b))
    paired = shares_paths(ta, tb)
    rows = []
    for name in ta.column_names:
        if name == "path_index" or name not in tb.column_names:
            continue
        meta = ta.schema.field(name).metadata or {}
        unit = meta.get(b"unit", b"").decode()
        xa = np.asarray(ta.column(name).to_numpy(zero_copy_only=False), np.float64)
        xb = np.asarray(tb.column(name).to_numpy(zero_copy_only=False), np.float64)
        ma, sa, _ = _mean_se(xa)
        mb, sb, _ = _mean_se(xb)
        diff = mb - ma
        if paired:  # the same paths: the error of the mean of the per-path differences
            both = np.isfinite(xa) & np.isfinite(xb)
            _, se, _ = _mean_se(xb[both] - xa[both])
            se = 0.0 if math.isnan(se) else se
        else:
            se = math.sqrt(sa * sa + sb * sb)
        if diff == 0 or not math.isfinite(diff):
            z = 0.0 if diff == 0 else math.nan
        else:
            z = diff / se if se > 0 else math.copysign(math.inf, diff)
        flagged = bool(math.isfinite(diff) and abs(diff) > sigma * se and diff != 0)
        rows.append(Comparison(name, unit, ma, mb, diff, se, z, flagged))
    return rows


def comparison_rows(rows: list[Comparison]) -> list[dict[str, Any]]:
    """Rows for printing: metric (mean of the column), unit, A, B, B - A, se, z, flag."""
    return [{"metric": f"mean {r.metric}", "unit": r.unit, "A": r.a, "B": r.b,
             "B - A": r.diff, "se": r.se, "z": r.z, "flag": "*" if r.flagged else ""}
            for r in rows]
