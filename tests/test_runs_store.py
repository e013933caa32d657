"""The run store's columnar table and index: paths.parquet reads back with pyarrow alone and
equals the chunk files; `tailrisk runs list` lists the runs; `tailrisk runs compare` of a run
with itself shows zero differences, of two seeds flags nothing at 3 sigma on a null metric, and
flags a planted shift."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tailrisk.cli import main

TINY = Path(__file__).with_name("test_experiments_suite.py")


def _config(tmp: Path, name: str, seed: int) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_suite_configs", TINY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = tmp / f"{name}.toml"
    csv = mod.write_population(tmp)
    path.write_text(mod.TINY.format(name=name, seed=seed, csv=csv))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    out = root / "runs"
    dirs = []
    for name, seed in (("seed_one", 11), ("seed_two", 12)):
        result = CliRunner().invoke(main, ["run", str(_config(root, name, seed)), "--out",
                                           str(out), "--no-report", "-q"])
        assert result.exit_code == 0, result.output
        [run_dir] = [p for p in out.iterdir() if p.name.startswith(name + "-")]
        dirs.append(run_dir)
    return out, dirs


def test_parquet_reads_back_with_pyarrow_alone_and_equals_the_chunks(runs):
    import pyarrow.parquet as pq

    _, (run_dir, _) = runs
    table = pq.read_table(run_dir / "paths.parquet")
    chunks = sorted((run_dir / "chunks").glob("chunk_*.npz"))
    assert chunks
    arrays: dict[str, list[np.ndarray]] = {}
    for c in chunks:
        with np.load(c) as z:
            for k in z.files:
                arrays.setdefault(k, []).append(z[k])
    merged = {k: np.concatenate(v) for k, v in arrays.items() if k != "sample_log_prices"}
    assert table.num_rows == merged["path_index"].shape[0] == 256
    np.testing.assert_array_equal(table.column("path_index").to_numpy(), merged["path_index"])
    checked = 0
    for key, values in merged.items():
        name = key.removeprefix("venue__")
        if values.ndim == 1:
            np.testing.assert_array_equal(table.column(name).to_numpy(), values, err_msg=name)
            checked += 1
        else:
            cols = [c for c in table.column_names if c.startswith(name + "[")]
            assert len(cols) == values.shape[1], name
            for j, col in enumerate(cols):
                np.testing.assert_array_equal(table.column(col).to_numpy(), values[:, j])
                checked += 1
    assert checked == table.num_columns
    field = table.schema.field("fund_final")
    assert field.metadata[b"unit"] == b"USD"
    assert table.schema.field("terminal_log_return").metadata[b"unit"] == b"log units"
    assert table.schema.metadata[b"tailrisk.run"] == b"seed_one"


def test_runs_list_shows_name_hash_date_size_status(runs):
    out, dirs = runs
    result = CliRunner().invoke(main, ["runs", "list", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for d in dirs:
        name, digest = d.name.rsplit("-", 1)
        line = next(line for line in result.output.splitlines() if line.startswith(name))
        assert digest in line and "complete" in line


def test_compare_a_run_with_itself_shows_zero_differences(runs):
    from tailrisk.run_index import compare_runs

    _, (a, _) = runs
    rows = compare_runs(a, a)
    assert rows and all(r.diff == 0 and not r.flagged for r in rows)


def test_compare_two_seeds_flags_no_null_metric_but_a_planted_shift(runs, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tailrisk.run_index import compare_runs

    _, (a, b) = runs
    rows = {r.metric: r for r in compare_runs(a, b, sigma=3.0)}
    null = rows["terminal_log_return"]  # same model, another seed: no true difference
    assert not null.flagged and abs(null.z) < 3 and null.se > 0
    planted = tmp_path / b.name
    shutil.copytree(b, planted)
    table = pq.read_table(planted / "paths.parquet")
    i = table.column_names.index("terminal_log_return")
    col = table.column(i).to_numpy()
    shift = 6 * col.std() / np.sqrt(col.size) * np.sqrt(2)  # 6 standard errors of the difference
    table = table.set_column(i, table.schema.field(i), pa.array(col + shift))
    pq.write_table(table, planted / "paths.parquet")
    rows = {r.metric: r for r in compare_runs(a, planted, sigma=3.0)}
    assert rows["terminal_log_return"].flagged
    result = CliRunner().invoke(main, ["runs", "compare", str(a), str(planted)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "mean terminal_log_return" in x)
    assert line.rstrip().endswith("*")


def test_runs_on_the_same_paths_are_compared_path_by_path(runs, tmp_path):
    """A shift far below the independent-runs error is found when the runs share their paths
    (variants of a study): the per-path differences have no price noise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tailrisk.run_index import compare_runs

    _, (a, _) = runs
    twin = tmp_path / a.name
    shutil.copytree(a, twin)
    table = pq.read_table(twin / "paths.parquet")
    i = table.column_names.index("max_log_return")
    col = table.column(i).to_numpy()
    noise = np.random.default_rng(0).normal(0.0, 1e-6, col.size)
    shifted = col + 0.1 * col.std() / np.sqrt(col.size) + noise  # a tenth of one error
    table = table.set_column(i, table.schema.field(i), pa.array(shifted))
    pq.write_table(table, twin / "paths.parquet")
    row = {r.metric: r for r in compare_runs(a, twin)}["max_log_return"]
    assert row.flagged and row.se < 1e-6
    independent = np.sqrt(2) * col.std() / np.sqrt(col.size)
    assert abs(row.diff) < 3 * independent  # what independent runs could not have told


def test_runs_list_shows_a_sweep_folder_without_a_manifest(runs, tmp_path):
    """`tailrisk sweep` writes sweep.parquet into a folder of its own, without a run manifest:
    the list names it with its kind, its hash and its file."""
    out = tmp_path / "runs"
    config = _config(tmp_path, "swept", 13)
    result = CliRunner().invoke(main, ["sweep", str(config), "--set", "venue.fund=1e4,1e6",
                                       "--paths", "64", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [folder] = [p for p in out.iterdir() if (p / "sweep.parquet").exists()]
    listed = CliRunner().invoke(main, ["runs", "list", "--out", str(out)])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.endswith(folder.name))
    name, digest = folder.name.rsplit("-", 1)
    assert line.startswith(name) and digest in line and "sweep (sweep.parquet)" in line
