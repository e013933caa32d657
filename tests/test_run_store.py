"""The run folder checks itself: chunk checksums in the manifest, damaged, truncated and missing
chunks named and recomputed bit for bit, a damaged manifest in one line, `tailrisk verify`, and a
real `tailrisk run` killed (SIGKILL) or interrupted (SIGINT, SIGTERM) at many points of a run and
then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import _standins
import numpy as np
import pytest
from click.testing import CliRunner

import tailrisk
from tailrisk import cli, runner
from tailrisk._atomic import FAULT_ENV
from tailrisk.config import parse_config
from tailrisk.run_store import (
    MANIFEST,
    ManifestError,
    RunError,
    read_manifest,
    verify_run,
    write_manifest,
)

REPO = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = Path(tailrisk.__file__).resolve().parents[1]


@pytest.fixture
def standins(monkeypatch):
    monkeypatch.setattr(runner, "_price_backend", lambda: _standins.gbm_log_prices)
    monkeypatch.setattr(
        runner, "_venue_backend", lambda: (_standins.build_population, _standins.simulate_venue)
    )


def make(paths=400, chunk=100):
    return parse_config(
        {
            "run": {"name": "s", "seed": 3, "paths": paths, "chunk_size": chunk, "steps": 12,
                    "keep_paths": 10},
            "model": {"name": "gbm", "sigma": 0.6},
            "venue": {"fund": 1e5, "population": {"n_accounts": 20}},
        },
        "<test>",
    )


def chunk_bytes(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "chunks").iterdir())}


def cli_run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# ----------------------------------------------------------------------------- checksums


def test_manifest_records_each_chunks_checksum(tmp_path, standins):
    import hashlib

    res = runner.run_experiment(make(), tmp_path, progress=False)
    m = json.loads((res.run_dir / MANIFEST).read_text())
    assert m["format"] == 2 and sorted(m["chunks"]) == ["0", "1", "2", "3"]
    for c, blob in enumerate(chunk_bytes(res.run_dir).values()):
        rec = m["chunks"][str(c)]
        assert rec["sha256"] == hashlib.sha256(blob).hexdigest()
        assert rec["bytes"] == len(blob) and rec["paths"] == 100
    found = verify_run(res.run_dir)
    assert found.sound and found.notes == ["4 of 4 chunks match their SHA-256 checksums"]


def _flip(path: Path, rng: np.random.Generator) -> None:
    blob = bytearray(path.read_bytes())
    at = int(rng.integers(len(blob)))
    blob[at] ^= 0xFF
    path.write_bytes(bytes(blob))


def _truncate(path: Path, rng: np.random.Generator) -> None:
    blob = path.read_bytes()
    path.write_bytes(blob[: int(rng.integers(1, len(blob)))])


def _delete(path: Path, rng: np.random.Generator) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "status"),
    [(_flip, "damaged (checksum mismatch)"), (_truncate, "truncated"), (_delete, "missing")],
)
def test_a_damaged_chunk_is_found_named_and_recomputed(tmp_path, standins, damage, status):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    run_dir = res.run_dir
    clean = chunk_bytes(run_dir)
    rng = np.random.default_rng(zlib.crc32(status.encode()))
    c = int(rng.integers(4))
    name = f"chunks/chunk_{c:05d}.npz"
    damage(run_dir / name, rng)

    # verify lists it (exit 1); report and load_run refuse it in one line
    out = cli_run("verify", run_dir)
    assert out.exit_code == 1, out.output
    assert f"chunk {c} of 4 ({name}) is {status}" in out.output
    assert "Traceback" not in out.output
    with pytest.raises(RunError, match=rf"chunk {c} of 4 \({name}\) is {status.split()[0]}"):
        runner.load_run(run_dir)
    out = cli_run("report", run_dir)
    assert out.exit_code == 1
    line = one_line(out.stderr)
    assert name in line and "run the same `tailrisk run` command" in line

    # the same run names it once and recomputes it; the chunks are the clean ones, byte for byte
    said: list[str] = []
    runner.run_experiment(exp, tmp_path, progress=False, notify=said.append)
    (message,) = said
    assert message.startswith(f"chunk {c} of 4 ({name}) is {status}")
    assert message.endswith(": recomputing")
    assert chunk_bytes(run_dir) == clean
    m = json.loads((run_dir / MANIFEST).read_text())
    assert m["attempts"][-1]["recomputed"] == {str(c): status.split()[0]}
    assert verify_run(run_dir).sound


def test_an_unfinished_run_resumes_without_naming_chunks_never_written(tmp_path, standins,
                                                                      monkeypatch):
    exp = make()

    def stop(c):
        if c == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_after_chunk", stop)
    with pytest.raises(runner.RunInterrupted) as info:
        runner.run_experiment(exp, tmp_path, progress=False)
    assert (info.value.chunks_done, info.value.n_chunks) == (2, 4)
    run_dir = runner.run_dir_for(exp, tmp_path)
    m = read_manifest(run_dir)
    assert m["status"] == "running" and sorted(m["chunks"]) == ["0", "1"]
    assert m["attempts"][-1]["interrupted"] == "SIGINT"
    found = verify_run(run_dir)
    assert found.problems == [
        "run not complete: 2 of 4 chunks on disk; run the same `tailrisk run` command to finish it"
    ]
    monkeypatch.setattr(runner, "_after_chunk", lambda c: None)
    said: list[str] = []
    runner.run_experiment(exp, tmp_path, progress=False, notify=said.append)
    assert said == [] and verify_run(run_dir).sound


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{\"config\": {", "not readable JSON"),
        (b"\xff\xfe garbage", "not readable JSON"),
        (b"[1, 2]", "a JSON list where an object belongs"),
        (b"{}", "config (missing), config_hash (missing), n_chunks (missing), status (missing)"),
        (None, "n_chunks (7, but the config makes 4)"),
    ],
)
def test_a_damaged_manifest_is_one_line(tmp_path, standins, content, says):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    path = res.run_dir / MANIFEST
    if content is None:
        m = json.loads(path.read_text())
        m["n_chunks"] = 7
        content = json.dumps(m).encode()
    path.write_bytes(content)
    with pytest.raises(ManifestError, match="damaged manifest"):
        read_manifest(res.run_dir)
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[run]\nname = 's'\nseed = 3\npaths = 400\nchunk_size = 100\nsteps = 12\n"
        "keep_paths = 10\n[model]\nname = 'gbm'\nsigma = 0.6\n[venue]\nfund = 1e5\n"
        "[venue.population]\nn_accounts = 20\n"
    )
    for args in (("verify", res.run_dir), ("report", res.run_dir),
                 ("run", cfg, "--out", tmp_path, "-q", "--no-report")):
        out = cli_run(*args)
        assert out.exit_code == 1, (args, out.output)
        line = one_line(out.stderr)
        assert line.startswith(f"error: {path}: damaged manifest") and says in line
        assert f"delete {path}" in line


def test_a_folder_from_before_checksums_is_checked_as_far_as_it_can_be(tmp_path, standins):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    clean = chunk_bytes(res.run_dir)
    m = read_manifest(res.run_dir)
    del m["chunks"], m["nonfinite"]
    m["format"] = 1
    write_manifest(res.run_dir, m)
    found = verify_run(res.run_dir)
    assert found.sound
    assert "4 chunk(s) have no recorded checksum" in found.notes[0]
    runner.load_run(res.run_dir)
    # damage inside one array's data: its zip CRC-32 catches it
    path = res.run_dir / "chunks" / "chunk_00002.npz"
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 3] ^= 0x01
    path.write_bytes(bytes(blob))
    assert not verify_run(res.run_dir).sound
    said: list[str] = []
    runner.run_experiment(exp, tmp_path, progress=False, notify=said.append)
    assert len(said) == 1 and said[0].startswith("chunk 2 of 4 (chunks/chunk_00002.npz) is damaged")
    assert chunk_bytes(res.run_dir) == clean
    m = read_manifest(res.run_dir)
    assert sorted(m["chunks"]) == ["0", "1", "2", "3"] and m["nonfinite"]["paths"] == 0


def test_verify_of_a_folder_that_is_not_a_run(tmp_path):
    out = cli_run("verify", tmp_path)
    assert out.exit_code == 1
    assert "no manifest.json; not a run folder" in one_line(out.stderr)
    out = cli_run("verify", tmp_path / "nowhere")
    assert out.exit_code == 2 and "does not exist" in out.stderr and "Traceback" not in out.output


def test_temporary_files_of_killed_writers_are_removed(tmp_path, standins):
    exp = make()
    res = runner.run_experiment(exp, tmp_path, progress=False)
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    stale = res.run_dir / "chunks" / f".chunk_00001.npz.tmp{dead}.abc123.tmp"
    stale.write_bytes(b"half a chunk")
    live = res.run_dir / f".manifest.json.tmp{os.getpid()}.xyz789.tmp"
    live.write_bytes(b"a writer at work")
    assert any("temporary file(s)" in n for n in verify_run(res.run_dir).notes)
    runner.run_experiment(exp, tmp_path, progress=False)
    assert not stale.exists() and live.exists()


# ----------------------------------------------------------------------------- real processes

TINY = {
    "paths = 20000": "paths = 288",
    "chunk_size = 5000": "chunk_size = 48",
    "steps = 90": "steps = 8",
    "keep_paths = 200": "keep_paths = 8",
    "n_accounts = 2000": "n_accounts = 60",
}
N_CHUNKS = 6
#: where a run is killed, in order; each run resumes what the one before left, and a chunk on
#: disk counts as done even where the manifest does not list it yet, so each point comes later
KILL_POINTS = (
    "start",  # manifest written, no chunk
    "chunk-write:0",  # half of chunk 0's temporary file written
    "chunk-written:0",  # chunk 0 on disk, the manifest does not list it
    "manifest-write:1",  # half of the manifest that lists chunk 1 written
    "manifest:2",  # chunk 2 on disk and listed
    "chunk-write:3",
    "chunk-written:3",
    "manifest-write:4",
    "chunk-write:5",
    "manifest:5",  # every chunk on disk, status still running
    "complete",  # status complete, report not started
    "rename:report.pdf",  # the report's temporary file whole, not renamed into place
)


def _tiny_config(folder: Path) -> Path:
    text = (REPO / "experiments" / "quickstart.toml").read_text()
    for old, new in TINY.items():
        assert old in text
        text = text.replace(old, new)
    path = folder / "tiny.toml"
    path.write_text(text)
    return path


def _env(fault: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                       env.get("PYTHONPATH")]))
    if fault:
        env[FAULT_ENV] = fault
    return env


def _tailrisk(*args, fault: str | None = None, **kw):
    cmd = [sys.executable, "-m", "tailrisk.cli", *map(str, args)]
    return subprocess.Popen(cmd, env=_env(fault), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _finish(proc, timeout=120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny config and the chunks of its uninterrupted run (a real `tailrisk run`)."""
    folder = tmp_path_factory.mktemp("tiny")
    cfg = _tiny_config(folder)
    code, _, err = _finish(_tailrisk("run", cfg, "--out", folder / "clean", "-q",
                                       "--no-report"))
    assert code == 0, err
    (run_dir,) = (folder / "clean").iterdir()
    return cfg, chunk_bytes(run_dir)


def _no_temp_files(run_dir: Path) -> None:
    hidden = [p.name for p in (*run_dir.iterdir(), *(run_dir / "chunks").iterdir())
              if p.name.startswith(".")]
    assert hidden == []


def test_killed_at_every_point_then_resumed_gives_the_same_chunks(tiny, tmp_path):
    cfg, clean = tiny
    out = tmp_path / "runs"
    survived = []
    for point in KILL_POINTS:
        report = ["--report"] if point == "rename:report.pdf" else ["--no-report"]
        code, _, err = _finish(_tailrisk("run", cfg, "--out", out, "-q", *report,
                                         fault=f"kill@{point}"))
        assert code == -signal.SIGKILL, (point, code, err)
        (run_dir,) = out.iterdir()
        read_manifest(run_dir)  # always a whole manifest
        survived.append(point)
    assert len(survived) >= 10
    assert not (run_dir / "report.pdf").exists()
    assert any(p.name.startswith(".report.pdf.") for p in run_dir.iterdir())
    code, stdout, err = _finish(_tailrisk("run", cfg, "--out", out, "-q", "--no-report"))
    assert code == 0, err
    assert "run complete" in stdout and "recomputing" not in err
    assert chunk_bytes(run_dir) == clean
    _no_temp_files(run_dir)
    m = read_manifest(run_dir)
    assert m["status"] == "complete" and len(m["chunks"]) == N_CHUNKS
    assert len(m["attempts"]) == len(KILL_POINTS) + 1
    assert verify_run(run_dir).sound


def _interrupt(cfg: Path, out: Path, point: str, signum: int) -> tuple[int, str]:
    proc = _tailrisk("run", cfg, "--out", out, "-q", "--no-report", fault=f"pause@{point}")
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if not line or "test hook: paused" in line:
            break
    assert seen and "test hook: paused" in seen[-1], "".join(seen)
    proc.send_signal(signum)
    code, _, err = _finish(proc)
    return code, "".join(seen) + err


def test_sigint_and_sigterm_stop_cleanly_and_the_same_command_resumes(tiny, tmp_path):
    cfg, clean = tiny
    out = tmp_path / "runs"
    for signum, point, done in (
        (signal.SIGINT, "manifest:0", 1),  # between two chunks: stops at once
        (signal.SIGTERM, "chunk-written:2", 3),  # chunk 2 on disk: its manifest entry first
    ):
        code, err = _interrupt(cfg, out, point, signum)
        assert code == 128 + signum, err
        said = f"interrupted after {done} of {N_CHUNKS} chunks; run the same command to resume"
        assert said in err
        assert "Traceback" not in err and "Aborted" not in err
        (run_dir,) = out.iterdir()
        m = read_manifest(run_dir)
        assert sorted(m["chunks"]) == [str(c) for c in range(done)]
        assert m["attempts"][-1]["interrupted"] == signal.Signals(signum).name
        _no_temp_files(run_dir)
    code, _, err = _finish(_tailrisk("run", cfg, "--out", out, "-q", "--no-report"))
    assert code == 0, err
    assert chunk_bytes(run_dir) == clean
