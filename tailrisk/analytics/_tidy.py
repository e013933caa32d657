"""Tidy result rows to an Arrow table and to Parquet, written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .._atomic import atomic_write

__all__ = ["ROW_COLUMNS", "to_table", "write_tidy"]

#: the columns every row has; rows may add context columns (``sample``, ``policy``, ...)
ROW_COLUMNS = ("quantity", "statistic", "value", "mcse_or_ci_low", "ci_high", "unit")


def to_table(rows: Iterable[Mapping]):
    """A ``pyarrow.Table`` from tidy rows.

    Every row needs :data:`ROW_COLUMNS`; ``value``, ``mcse_or_ci_low`` and ``ci_high`` are
    float64 (NaN where absent). Context columns come first, in order of first appearance, and are
    null in rows that lack them.
    """
    import pyarrow as pa

    rows = list(rows)
    extra: list[str] = []
    for i, row in enumerate(rows):
        missing = [c for c in ROW_COLUMNS if c not in row]
        if missing:
            raise ValueError(f"row {i}: missing column(s) {missing}")
        extra.extend(c for c in row if c not in ROW_COLUMNS and c not in extra)
    after = [c for c in extra if c == "error_kind"]
    before = [c for c in extra if c != "error_kind"]
    columns = [*before, *ROW_COLUMNS, *after]
    floats = {"value", "mcse_or_ci_low", "ci_high"}
    arrays = {}
    for c in columns:
        values = [row.get(c) for row in rows]
        if c in floats:
            arrays[c] = pa.array(
                [float("nan") if v is None else float(v) for v in values], pa.float64()
            )
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


def write_tidy(rows: Iterable[Mapping], path: str | os.PathLike) -> None:
    """Write tidy rows as a Parquet file at ``path``, atomically.

    The table goes to a temporary file in the same folder, then ``os.replace`` puts it in place,
    so a reader never sees a half-written file and a crash leaves the old file intact.
    """
    import pyarrow.parquet as pq

    table = to_table(rows)
    atomic_write(path, lambda fh: pq.write_table(table, fh), suffix=".parquet")
