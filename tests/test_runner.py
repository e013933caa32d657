"""Chunked runs: resume, chunk-size invariance, atomic files, manifest contents."""

from __future__ import annotations

import json

import _standins
import numpy as np
import pytest

from tailrisk import runner
from tailrisk._atomic import atomic_write
from tailrisk.config import config_hash, parse_config

REAL_PRICE_BACKEND = runner._price_backend


@pytest.fixture(autouse=True)
def standin_layers(monkeypatch):
    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner,
        "_venue_backend",
        lambda: (_standins.build_population, _standins.simulate_venue),
    )
    _standins.BUILDS.clear()


def make(paths=400, chunk=100, steps=16, venue=True, **run):
    data = {
        "run": {
            "name": "t",
            "seed": 7,
            "paths": paths,
            "chunk_size": chunk,
            "steps": steps,
            "keep_paths": 30,
            **run,
        },
        "model": {"name": "gbm", "sigma": 0.6},
    }
    if venue:
        data["venue"] = {"fund": 1e5, "population": {"n_accounts": 50}}
    return parse_config(data, "<test>")


def arrays(res):
    out = {f"p/{k}": v for k, v in res.per_path.items()}
    out.update({f"v/{k}": v for k, v in (res.venue or {}).items()})
    out["sample"] = res.sample_log_prices
    out["quantiles"] = res.step_quantiles
    return out


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_folder_manifest_and_shapes(tmp_path):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    assert res.run_dir == tmp_path / f"t-{config_hash(exp)}"
    assert sorted(p.name for p in (res.run_dir / "chunks").iterdir()) == [
        f"chunk_{c:05d}.npz" for c in range(4)
    ]
    m = json.loads((res.run_dir / "manifest.json").read_text())
    assert m["status"] == "complete" and m["chunks_done"] == 4 and m["seed"] == 7
    assert m["config_hash"] == config_hash(exp)
    assert m["config"] == exp.to_dict()
    for key in ("python", "numpy", "jax", "jaxlib", "jax_backend", "jax_devices", "tailrisk"):
        assert key in m["environment"]
    assert set(m["chunk_wall_s"]) == {"0", "1", "2", "3"} and m["wall_time_s"] > 0
    assert m["started"] and m["ended"]
    np.testing.assert_array_equal(res.per_path["path_index"], np.arange(400))
    for k in runner.PER_PATH_KEYS:
        assert res.per_path[k].shape == (400,) and res.per_path[k].dtype == np.float64
    assert res.venue["cohort_damped"].shape == (400, 2)
    np.testing.assert_array_equal(res.venue["path_index_seen"], np.arange(400))
    assert res.kept_log_prices.shape == (30, 16)
    assert res.step_quantiles.shape == (7, 16)
    assert np.all(np.diff(res.step_quantiles, axis=0) >= 0)
    r = res.per_path
    assert np.all(r["min_log_return"] <= r["terminal_log_return"])
    assert np.all(r["terminal_log_return"] <= r["max_log_return"])
    assert len(_standins.BUILDS) == 1, "the population is built once per run"


def test_chunk_size_invariance(tmp_path):
    a = runner.run_experiment(make(chunk=50), tmp_path / "a", progress=False)
    b = runner.run_experiment(make(chunk=200), tmp_path / "b", progress=False)
    c = runner.run_experiment(make(chunk=150), tmp_path / "c", progress=False)  # ragged last
    assert_identical(arrays(a), arrays(b))
    assert_identical(arrays(a), arrays(c))


def test_seed_changes_numbers(tmp_path):
    a = runner.run_experiment(make(), tmp_path, progress=False)
    b = runner.run_experiment(make(seed=8), tmp_path, progress=False)
    assert not np.array_equal(a.per_path["terminal_log_return"], b.per_path["terminal_log_return"])


class Interrupt(Exception):
    pass


def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch):
    exp = make(paths=500, chunk=100)
    full = runner.run_experiment(exp, tmp_path / "full", progress=False)

    def stop_after_two(c):
        if c == 1:
            raise Interrupt

    monkeypatch.setattr(runner, "_after_chunk", stop_after_two)
    with pytest.raises(Interrupt):
        runner.run_experiment(exp, tmp_path / "resumed", progress=False)
    run_dir = runner.run_dir_for(exp, tmp_path / "resumed")
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "running" and m["chunks_done"] == 2
    with pytest.raises(runner.RunError, match="not complete"):
        runner.load_run(run_dir)
    partial = runner.load_run(run_dir, allow_partial=True)
    assert partial.n_paths == 200

    computed = []
    real = runner._simulate_chunk
    monkeypatch.setattr(runner, "_after_chunk", lambda c: None)
    monkeypatch.setattr(
        runner, "_simulate_chunk", lambda e, c, *a: computed.append(c) or real(e, c, *a)
    )
    resumed = runner.run_experiment(exp, tmp_path / "resumed", progress=False)
    assert computed == [2, 3, 4], "chunks on disk are not recomputed"
    assert resumed.complete and len(resumed.manifest["attempts"]) == 2
    assert_identical(arrays(full), arrays(resumed))

    computed.clear()
    runner.run_experiment(exp, tmp_path / "resumed", progress=False, resume=False)
    assert computed == [0, 1, 2, 3, 4]


def test_damaged_chunk_is_recomputed(tmp_path, monkeypatch):
    exp = make()
    full = runner.run_experiment(exp, tmp_path, progress=False)
    (full.run_dir / "chunks" / "chunk_00002.npz").write_bytes(b"truncated")
    again = runner.run_experiment(exp, tmp_path, progress=False)
    assert_identical(arrays(full), arrays(again))


def test_no_temp_files_left(tmp_path, monkeypatch):
    res = runner.run_experiment(make(), tmp_path, progress=False)
    names = [p.name for p in res.run_dir.rglob("*")]
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")], names


def test_failed_write_leaves_no_temp_file(tmp_path):
    target = tmp_path / "x.npz"

    class Boom(Exception):
        pass

    def bad(fh):
        fh.write(b"partial")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(target, bad)
    assert list(tmp_path.iterdir()) == []
    runner.atomic_savez(target, {"a": np.arange(3)})
    runner.atomic_savez(target, {"a": np.arange(4)})
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
    with np.load(target) as z:
        np.testing.assert_array_equal(z["a"], np.arange(4))


def test_hash_mismatch_in_folder_is_an_error(tmp_path):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    m = json.loads((res.run_dir / "manifest.json").read_text())
    m["config_hash"] = "0123456789abcdef"
    (res.run_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(runner.RunError) as err:
        runner.run_experiment(exp, tmp_path, progress=False)
    assert "0123456789abcdef" in str(err.value) and config_hash(exp) in str(err.value)


def test_bad_config_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[run]\npaths = -3\n[model]\nname = "gbm"\n')
    out = tmp_path / "runs"
    with pytest.raises(runner.ConfigError, match=r"run\.paths"):
        runner.run_experiment(bad, out, progress=False)
    assert not out.exists()


def test_policy_override_is_part_of_the_hash(tmp_path):
    exp = make()
    a = runner.run_experiment(exp, tmp_path, progress=False, policy="pro_rata")
    assert a.experiment.venue.policy == "pro_rata"
    assert a.config_hash != config_hash(exp)


def test_prices_only_and_missing_kernel_warns(tmp_path, monkeypatch):
    res = runner.run_experiment(make(venue=False), tmp_path, progress=False)
    assert res.venue is None

    monkeypatch.setattr(runner, "_venue_backend", _missing_kernel)
    with pytest.warns(runner.VenueSkippedWarning, match="venue kernel"):
        res = runner.run_experiment(make(), tmp_path / "v", progress=False)
    assert res.venue is None and res.manifest["venue_simulated"] is False


def _missing_kernel():
    import warnings

    warnings.warn(
        "the venue kernel cannot be imported (stand-in)", runner.VenueSkippedWarning, stacklevel=2
    )
    return None


def test_memory_is_set_by_the_chunk(tmp_path, monkeypatch):
    seen = []
    real = _standins.gbm_log_prices

    def spy(key, model, path_index, steps, dt, dtype):
        seen.append(path_index.shape)
        return real(key, model, path_index, steps, dt, dtype)

    monkeypatch.setattr(runner, "_price_backend", lambda: spy)
    res = runner.run_experiment(
        make(paths=2500, chunk=500, keep_paths=10), tmp_path, progress=False
    )
    assert set(seen) == {(500,)}
    assert res.sample_log_prices.shape[0] == runner.sample_size(res.experiment) <= 2500
    for c in range(5):
        with np.load(res.run_dir / "chunks" / f"chunk_{c:05d}.npz") as z:
            assert all(z[k].ndim == 1 or z[k].shape[0] <= 500 for k in z.files)


@pytest.mark.parametrize("model", [{"name": "student_t", "nu": 3.0, "sigma": 0.8}, {"name": "kou"}])
def test_real_price_paths_do_not_depend_on_chunk_size(tmp_path, monkeypatch, model):
    pytest.importorskip("tailrisk.paths")
    monkeypatch.setattr(runner, "_price_backend", REAL_PRICE_BACKEND)
    runs = []
    for chunk in (60, 240):
        data = {
            "run": {"paths": 240, "chunk_size": chunk, "steps": 12, "keep_paths": 5},
            "model": model,
        }
        runs.append(
            runner.run_experiment(parse_config(data), tmp_path / str(chunk), progress=False)
        )
    assert_identical(arrays(runs[0]), arrays(runs[1]))
    assert np.all(np.isfinite(runs[0].per_path["terminal_log_return"]))
