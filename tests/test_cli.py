"""The tailrisk command line: exit codes, messages on stderr, nothing written for a bad config."""

from __future__ import annotations

import json
from pathlib import Path

import _standins
import numpy as np
import pytest
from click.testing import CliRunner

from tailrisk import cli, report, runner

REPO = Path(__file__).resolve().parents[1]
BAD = """\
[run]
paths = 100
chunk_size = 10
steps = -5
[model]
name = "student_t"
nu = 3.0
sigma = 0.6
colour = "red"
"""


@pytest.fixture
def standin_layers(monkeypatch):
    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner, "_venue_backend", lambda: (_standins.build_population, _standins.simulate_venue)
    )
    rng = np.random.default_rng(0)
    draws = {name: rng.standard_t(3, 2_000) * 0.03 for name in report.MODEL_DEFAULTS}
    monkeypatch.setattr(
        report.models, "model_tails", lambda *a, **k: report.models.model_tails_from(draws)
    )


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def small_config(tmp_path, **run):
    text = (REPO / "experiments" / "quickstart.toml").read_text()
    text = text.replace("paths = 20000", f"paths = {run.get('paths', 300)}")
    text = text.replace("chunk_size = 5000", f"chunk_size = {run.get('chunk', 100)}")
    text = text.replace("steps = 90", "steps = 12")
    path = tmp_path / "small.toml"
    path.write_text(text)
    return path


def test_help_lists_every_subcommand():
    res = invoke("--help")
    assert res.exit_code == 0
    for name in ("run", "validate-config", "calibrate", "bench", "report"):
        assert name in res.output
    for name in ("run", "validate-config", "calibrate", "bench", "report"):
        sub = invoke(name, "--help")
        assert sub.exit_code == 0 and "Usage:" in sub.output


def test_validate_config_ok_and_bad(tmp_path):
    good = REPO / "experiments" / "quickstart.toml"
    res = invoke("validate-config", good)
    assert res.exit_code == 0
    ok, memory = res.output.strip().splitlines()
    assert ok.endswith(": ok") and memory.strip().startswith("memory: about ")

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    before = sorted(tmp_path.rglob("*"))
    res = invoke("validate-config", good, bad)
    assert res.exit_code == 2
    assert "bad.toml" in res.stderr
    assert "run.steps = -5" in res.stderr and "greater than or equal to 1" in res.stderr
    assert "model.colour = 'red': unknown key" in res.stderr
    assert "problem" not in res.stdout
    assert sorted(tmp_path.rglob("*")) == before, "validate-config writes nothing"


def test_shipped_bad_example_fails_and_others_pass():
    res = invoke("validate-config", REPO / "experiments" / "examples" / "bad.toml")
    assert res.exit_code == 2
    for key in ("run.dt", "run.dtype", "model.nu", "venue.policy", "venue.fund"):
        assert key in res.stderr
    examples = sorted((REPO / "experiments").glob("*.toml"))
    assert len(examples) >= 3
    assert invoke("validate-config", *examples).exit_code == 0


def test_run_with_bad_config_writes_nothing(tmp_path, standin_layers):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    out = tmp_path / "runs"
    res = invoke("run", bad, "--out", out, "--quiet")
    assert res.exit_code == 2
    assert "run.steps = -5" in res.stderr
    assert not out.exists()


def test_run_needs_exactly_one_config(tmp_path):
    assert invoke("run", "--out", tmp_path).exit_code == 2
    res = invoke("run", REPO / "experiments" / "quickstart.toml", "--quickstart")
    assert res.exit_code == 2


def test_run_report_and_rebuild(tmp_path, standin_layers):
    cfg = small_config(tmp_path)
    out = tmp_path / "runs"
    res = invoke("run", cfg, "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    (run_dir,) = out.iterdir()
    assert "run complete" in res.output and str(run_dir) in res.output
    pdf = run_dir / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and f"report: {pdf}" in res.output
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"

    pdf.unlink()
    res = invoke("report", run_dir)
    assert res.exit_code == 0 and pdf.exists()

    # a rerun finds every chunk on disk and computes nothing
    res = invoke("run", cfg, "--out", out, "--quiet", "--no-report")
    assert res.exit_code == 0
    m2 = json.loads((run_dir / "manifest.json").read_text())
    assert m2["attempts"][-1]["chunks_before"] == manifest["n_chunks"]


def test_report_of_unfinished_run_is_an_error(tmp_path, standin_layers, monkeypatch):
    cfg = small_config(tmp_path)

    def stop(c):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_after_chunk", stop)
    out = tmp_path / "runs"
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(out), "--quiet"])
    assert res.exit_code != 0
    (run_dir,) = out.iterdir()
    res = invoke("report", run_dir)
    assert res.exit_code == 1 and "not complete" in res.stderr
    assert not (run_dir / "report.pdf").exists()


def test_quickstart_files_identical():
    shipped = cli.quickstart_path()
    assert shipped.is_file()
    assert shipped.read_bytes() == (REPO / "experiments" / "quickstart.toml").read_bytes()
    assert (REPO / "tailrisk" / "experiments" / "quickstart.toml").read_bytes() == (
        REPO / "experiments" / "quickstart.toml"
    ).read_bytes()


def test_quickstart_has_a_venue():
    from tailrisk.config import load_config

    exp = load_config(cli.quickstart_path())
    assert exp.model.name == "student_t"
    assert exp.venue is not None and exp.venue.policy == "queue_bitmex"
    assert 1_000 <= exp.venue.population.n_accounts <= 5_000


def test_format_table_has_units():
    text = cli.format_table([{"sampler": "gbm", "draws_per_s": 1.5e9, "median_s": 0.012}])
    head = text.splitlines()[0]
    assert "draws/s" in head and "s, median" in head
    assert "1.500e+09" in text


def test_population_error_is_a_config_error(tmp_path, monkeypatch):
    from tailrisk.venue import build_population

    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner, "_venue_backend", lambda: (build_population, _standins.simulate_venue)
    )
    text = small_config(tmp_path).read_text()
    text = text.replace("[venue.population]", '[venue.population]\ncsv = "no_such_accounts.csv"')
    cfg = tmp_path / "csv.toml"
    cfg.write_text(text)
    out = tmp_path / "runs"
    res = invoke("run", cfg, "--out", out, "--quiet")
    assert res.exit_code == 2, res.output
    assert "no_such_accounts.csv" in res.stderr
    assert not out.exists()


def test_bench_prints_a_table_and_json(tmp_path, monkeypatch):
    import tailrisk.paths
    import tailrisk.venue.bench

    calls = {}

    def fake_samplers(n_paths, steps):
        calls["paths"] = (n_paths, steps)
        return [{"sampler": "gbm", "draws_per_s": 2.0e8, "median_s": 0.01}]

    def fake_venue(n_paths, steps, on_row=None, **kw):
        calls["venue"] = (n_paths, steps)
        calls["venue_options"] = kw
        on_row({"case": "policy", "policy": "queue_bitmex", "accounts": 10, "seconds": 0.5})
        return [{"policy": "queue_bitmex", "paths_per_s": 1234.5, "median_s": 0.5}]

    monkeypatch.setattr(tailrisk.paths, "bench_samplers", fake_samplers)
    monkeypatch.setattr(tailrisk.venue.bench, "bench_venue", fake_venue)
    out = tmp_path / "bench.json"
    res = invoke("bench", "--paths", 64, "--steps", 8, "--json", out)
    assert res.exit_code == 0, res.output
    assert calls["paths"] == (64, 8) and calls["venue"] == (64, 8)
    from tailrisk.venue.kernel import device_knobs

    dev = {**device_knobs(), "schedule": "auto"}  # the defaults of the device the test runs on
    assert calls["venue_options"] == {"n_accounts": 10_000, "chunk": 32_768, "repeats": 3,
                                      "knobs": dev, "warmup": "full"}
    assert "policy queue_bitmex 10 accounts: 0.500 s" in res.output  # progress, as rows finish
    if dev["block"] == 2:  # a CPU
        assert "block 2, compact 1,024, rows_budget 64 MiB, schedule auto" in res.output
    assert "draws/s" in res.output and "paths/s" in res.output and "queue_bitmex" in res.output
    data = json.loads(out.read_text())
    assert data["paths_rows"][0]["sampler"] == "gbm" and data["venue_rows"][0]["median_s"] == 0.5
    res = invoke("bench", "--what", "venue", "--accounts", 500, "--chunk", 16, "--repeats", 1,
                 "--policy", "none", "--policy", "random", "--no-curve", "--block", 8,
                 "--rows-budget", 3, "--schedule", "scan", "--warmup", "chunk")
    assert res.exit_code == 0, res.output
    assert calls["venue_options"] == {"n_accounts": 500, "chunk": 16, "repeats": 1,
                                      "policies": ("none", "random"), "accounts_curve": (),
                                      "reference_paths": 0, "warmup": "chunk",
                                      "knobs": {**dev, "block": 8, "rows_budget": 3 << 20,
                                                "schedule": "scan"}}
    res = invoke("bench", "--what", "venue", "--policy", "fifo")
    assert res.exit_code == 2 and "fifo" in res.output
    res = invoke("bench", "--what", "venue", "--chunk", 0)
    assert res.exit_code == 2 and "--chunk" in res.output


def test_calibrate_passes_options_through(tmp_path, monkeypatch):
    import tailrisk.calibrate

    seen = {}

    class Result:
        def to_text(self):
            return "fitted"

        def to_dict(self):
            return {"models": list(seen["models"])}

    def fake(data_path, models, date_col, price_col, seed):
        seen.update(data=data_path, models=models, cols=(date_col, price_col), seed=seed)
        return Result()

    monkeypatch.setattr(tailrisk.calibrate, "calibrate_report", fake)
    out = tmp_path / "cal.json"
    res = invoke("calibrate", "--model", "gbm", "--model", "kou", "--seed", 3, "--json", out)
    assert res.exit_code == 0, res.output
    assert "fitted" in res.output
    assert seen["models"] == ("gbm", "kou") and seen["seed"] == 3
    assert seen["cols"] == ("date", "price")
    assert Path(seen["data"]) == tailrisk.calibrate.default_data_path()
    assert json.loads(out.read_text()) == {"models": ["gbm", "kou"]}
    res = invoke("calibrate", "--model", "vasicek")
    assert res.exit_code == 2 and "vasicek" in res.stderr


# ----------------------------------------------------------------------------- population CSV


def _csv_config(tmp_path, rows: str, name: str = "accounts.csv") -> Path:
    csv = tmp_path / name
    csv.write_text(rows)
    text = small_config(tmp_path).read_text()
    text = text.replace("[venue.population]", f'[venue.population]\ncsv = "{csv}"')
    cfg = tmp_path / f"{csv.stem}.toml"
    cfg.write_text(text)
    return cfg


def test_validate_config_reads_the_population_csv(tmp_path, monkeypatch):
    from tailrisk.venue import build_population

    nolev = _csv_config(tmp_path, "side,quantity,entry\nlong,1,100000\n", "nolev.csv")
    res = invoke("validate-config", nolev)
    assert res.exit_code == 2 and ": ok" not in res.stdout
    (line,) = [ln for ln in res.stderr.splitlines() if "missing column" in ln]
    assert line.startswith(f"{nolev}: {tmp_path / 'nolev.csv'}: missing column(s) leverage ")

    # the message is the one the run gives (the run stops before simulating anything)
    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner, "_venue_backend", lambda: (build_population, _standins.simulate_venue)
    )
    run = invoke("run", nolev, "--out", tmp_path / "runs", "--quiet")
    assert run.exit_code == 2 and line in run.stderr.splitlines()

    values = _csv_config(tmp_path, "side,quantity,entry,leverage\nlong,1,100000,10\n"
                         "sideways,x,100000,10\n", "values.csv")
    good = _csv_config(tmp_path, "side,quantity,entry,leverage\nlong,1,100000,10\n"
                       "short,2,99000,5\n", "good.csv")
    res = invoke("validate-config", values, good)
    assert res.exit_code == 2
    assert f"{values}: {tmp_path / 'values.csv'}: 2 bad field(s):" in res.stderr
    assert "row 2 (line 3): side = 'sideways' is not long or short" in res.stderr
    assert "row 2 (line 3): quantity = 'x' is not a number" in res.stderr
    assert res.stdout.splitlines()[0] == f"{good}: ok"
    assert invoke("validate-config", good).exit_code == 0


# ----------------------------------------------------------------------------- compile cache


@pytest.fixture
def session_cache():
    """Put JAX's compile cache back as the test session had it (conftest) after the test."""
    import jax

    from tailrisk import _compile_cache

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes", "jax_persistent_cache_enable_xla_caches")
    saved = {n: getattr(jax.config, n) for n in names}
    state = dict(_compile_cache._STATE)
    yield _compile_cache
    from jax.experimental.compilation_cache import compilation_cache

    for n, v in saved.items():
        jax.config.update(n, v)
    _compile_cache._STATE.update(state)
    compilation_cache.reset_cache()


def test_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    from tailrisk._compile_cache import cache_dir, cache_root

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root({}) == tmp_path / "home" / ".cache" / "tailrisk"
    assert cache_dir({}) == tmp_path / "home" / ".cache" / "tailrisk" / "jax"
    assert cache_dir({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/tailrisk/jax")
    assert cache_dir({"XDG_CACHE_HOME": "relative"}) == tmp_path / "home/.cache/tailrisk/jax"
    mine = {"TAILRISK_CACHE_DIR": str(tmp_path / "c"), "XDG_CACHE_HOME": "/x/cache"}
    assert cache_root(mine) == tmp_path / "c" and cache_dir(mine) == tmp_path / "c" / "jax"
    for off in ("off", "", "  ", "OFF"):
        assert cache_dir({"TAILRISK_CACHE_DIR": off, "XDG_CACHE_HOME": "/x"}) is None
        assert cache_root({"TAILRISK_CACHE_DIR": off}) is None


def test_cli_points_jax_at_the_cache_and_a_rerun_loads_it(tmp_path, monkeypatch, session_cache):
    import jax
    import jax.monitoring
    import jax.numpy as jnp

    folder = tmp_path / "cache"
    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(folder))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    assert invoke("validate-config", REPO / "experiments" / "quickstart.toml").exit_code == 0
    assert not folder.exists(), "validate-config compiles nothing and writes nothing"
    assert invoke("calibrate", "--help").exit_code == 0  # the group callback runs first
    assert jax.config.jax_compilation_cache_dir == str(folder / "jax")
    assert session_cache.enable_compile_cache() == folder / "jax"  # idempotent

    f = jax.jit(lambda x: jnp.cumsum(x * 1.2345) - 6.789)  # a program no other test compiles
    f(jnp.arange(11.0)).block_until_ready()
    assert [p for p in (folder / "jax").iterdir() if p.name.startswith("jit_")], "entry written"
    hits = []

    def listen(event, **kw):
        if event == "/jax/compilation_cache/cache_hits":
            hits.append(event)

    jax.clear_caches()  # as if a new process: the program is loaded, not compiled
    jax.monitoring.register_event_listener(listen)
    try:
        jax.jit(lambda x: jnp.cumsum(x * 1.2345) - 6.789)(jnp.arange(11.0)).block_until_ready()
    finally:
        jax.monitoring.unregister_event_listener(listen)
    assert hits


def test_unusable_cache_folder_never_breaks_a_command(tmp_path, monkeypatch, session_cache):
    import jax

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(blocker / "tailrisk"))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    res = invoke("calibrate", "--help")
    assert res.exit_code == 0 and "Traceback" not in res.output
    (line,) = [ln for ln in res.stderr.splitlines() if "compile cache" in ln]
    assert line.startswith("tailrisk: compile cache off (") and str(blocker) in line
    assert jax.config.jax_compilation_cache_dir is None
    monkeypatch.setenv("TAILRISK_CACHE_DIR", "off")
    assert session_cache.enable_compile_cache() is None
    assert jax.config.jax_compilation_cache_dir is None


def test_a_fresh_process_gets_the_cache_from_its_environment(tmp_path):
    # the command line sets JAX's variables before jax is imported (tailrisk --help stays fast)
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tailrisk._compile_cache import enable_compile_cache\n"
        "folder = enable_compile_cache()\n"
        "assert 'jax' not in sys.modules\n"
        "import jax, jax.numpy as jnp\n"
        "assert jax.config.jax_compilation_cache_dir == str(folder)\n"
        "assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0\n"
        "jax.jit(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3)).block_until_ready()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["TAILRISK_CACHE_DIR"] = str(tmp_path / "c")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert [p for p in (tmp_path / "c" / "jax").iterdir() if p.name.startswith("jit_")]


# ----------------------------------------------------------------------------- errors and signals


def _nonfinite_layers(monkeypatch, bad_paths):
    monkeypatch.setattr(runner, "_venue_backend", lambda: (
        _standins.build_population, _standins.nonfinite_venue(bad_paths)))


def test_non_finite_paths_are_said_last_and_strict_makes_them_exit_3(tmp_path, standin_layers,
                                                                     monkeypatch):
    _nonfinite_layers(monkeypatch, {4, 150, 151})
    cfg = small_config(tmp_path)
    out = tmp_path / "runs"
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(out), "-q", "--no-report"])
    assert res.exit_code == 0, res.output
    assert "run complete (" in res.stdout and "3 of 300 paths with non-finite outputs" in res.stdout
    assert res.stderr.splitlines()[-1] == (
        "warning: 3 of 300 paths have non-finite outputs (cohort_damped, fund_final); "
        "the report leaves them out of its statistics"
    )
    (run_dir,) = out.iterdir()
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["nonfinite"] == {"paths": 3, "outputs": {"cohort_damped": 3, "fund_final": 3}}
    assert [m["chunks"][c]["nonfinite_paths"] for c in "012"] == [1, 2, 0]

    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(out), "-q", "--no-report",
                                        "--strict"])
    assert res.exit_code == 3
    assert res.stderr.splitlines()[-1] == (
        "error: --strict: 3 of 300 paths have non-finite outputs (cohort_damped, fund_final)")
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"

    _nonfinite_layers(monkeypatch, set())  # a finite run: --strict is quiet
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(tmp_path / "ok"), "-q",
                                        "--no-report", "--strict"])
    assert res.exit_code == 0 and ": 0 non-finite paths: " in res.stdout and not res.stderr


def _explode(*args, **kwargs):
    raise RuntimeError("page exploded")


def test_an_internal_error_is_one_line_and_its_traceback_is_kept(tmp_path, standin_layers,
                                                                 monkeypatch):
    cfg = small_config(tmp_path)
    out = tmp_path / "runs"
    assert invoke("run", cfg, "--out", out, "-q", "--no-report").exit_code == 0
    (run_dir,) = out.iterdir()
    monkeypatch.setattr(report, "build_report", _explode)

    res = CliRunner().invoke(cli.main, ["report", str(run_dir)])
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert "\n" not in line and "Traceback" not in res.output
    assert line.startswith("tailrisk report: internal error (RuntimeError: page exploded); "
                           f"the full traceback is in {run_dir}")
    assert line.endswith("`tailrisk --debug ...` prints it")
    (saved,) = run_dir.glob("traceback-*.txt")
    assert str(saved) in line
    text = saved.read_text()
    assert text.startswith("Traceback (most recent call last)") and "page exploded" in text

    res = CliRunner().invoke(cli.main, ["--debug", "report", str(run_dir)])
    assert res.exit_code == 1
    assert "Traceback (most recent call last)" in res.stderr and "in _explode" in res.stderr
    assert len(list(run_dir.glob("traceback-*.txt"))) == 1, "--debug prints, saves nothing"


def test_without_a_run_folder_the_traceback_goes_to_the_cache_folder(tmp_path, monkeypatch):
    from tailrisk import run_store

    monkeypatch.setenv("TAILRISK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(run_store, "verify_run", _explode)
    res = CliRunner().invoke(cli.main, ["verify", str(tmp_path)])
    assert res.exit_code == 1 and "internal error (RuntimeError: page exploded)" in res.stderr
    (saved,) = (tmp_path / "cache" / "errors").glob("traceback-*.txt")
    assert str(saved) in res.stderr


def test_errors_a_user_can_cause_are_one_line(tmp_path, standin_layers):
    cfg = small_config(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(blocker / "x"), "-q"])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith(f"error: {blocker / 'x'}")
    assert "Not a directory" in res.stderr
    assert "\n" not in res.stderr.strip() and "Traceback" not in res.output

    out = tmp_path / "runs"
    assert invoke("run", cfg, "--out", out, "-q", "--no-report").exit_code == 0
    (run_dir,) = out.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["config_hash"] = "0123456789abcdef"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(out), "-q"])
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        f"error: {run_dir} holds a run of config hash 0123456789abcdef, not "
        f"{run_dir.name.rsplit('-', 1)[1]}; use another --out folder or delete it"
    )


def test_ctrl_c_says_how_to_resume(tmp_path, standin_layers, monkeypatch):
    cfg = small_config(tmp_path)

    def stop(c):
        if c == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_after_chunk", stop)
    res = CliRunner().invoke(cli.main, ["run", str(cfg), "--out", str(tmp_path), "-q"])
    assert res.exit_code == 130
    assert res.stderr.strip() == "interrupted after 2 of 3 chunks; run the same command to resume"
    assert "Aborted" not in res.output


def test_validate_config_checks_a_network_file(tmp_path):
    cascade = REPO / "experiments" / "seed_cascade.toml"
    res = invoke("validate-config", cascade)
    assert res.exit_code == 0 and res.output.startswith(f"{cascade}: ok")
    bad = tmp_path / "bad_network.toml"
    bad.write_text(cascade.read_text().replace('long_venue = "bravo"', 'long_venue = "nowhere"'))
    res = invoke("validate-config", bad)
    assert res.exit_code == 2
    assert "nowhere" in res.stderr and "long_venue" in res.stderr
