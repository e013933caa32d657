"""The run folder on disk: where its files live, its manifest, and the checksums that prove its
chunks are the ones the run wrote.

A run folder holds ``manifest.json`` and ``chunks/chunk_NNNNN.npz``. The manifest records, per
finished chunk, the SHA-256 and the size in bytes of the file as written (``chunks`` table,
format 2). Checking a chunk against that record tells apart a chunk that is missing, truncated
(fewer bytes than written) or damaged (same size, other bytes). Folders written before checksums
(format 1) are checked by reading every array of every chunk (the zip CRC-32 of each array),
which catches most damage but not all; :func:`verify_run` says so.

Every file goes to disk atomically (:mod:`tailrisk._atomic`); a writer killed in the middle leaves
a hidden temporary file, which :func:`tailrisk._atomic.remove_stale_temp_files` clears on the next
run. numpy is imported inside the functions that read or write chunks.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._atomic import atomic_write, stale_temp_files

__all__ = [
    "CHUNK_DIR",
    "FORMAT",
    "MANIFEST",
    "ChunkCheck",
    "ManifestError",
    "RunError",
    "Verification",
    "check_chunk",
    "chunk_name",
    "chunk_path",
    "paths_in_chunk",
    "read_chunk",
    "read_manifest",
    "verify_run",
    "write_chunk",
    "write_manifest",
]

MANIFEST = "manifest.json"
CHUNK_DIR = "chunks"
#: manifest format: 1 without checksums, 2 with a ``chunks`` table of SHA-256 and sizes
FORMAT = 2
#: what a manifest must hold to be read at all: key -> (type, what it is)
_REQUIRED = {
    "config": (dict, "an object"),
    "config_hash": (str, "a string"),
    "n_chunks": (int, "an integer"),
    "status": (str, "a string"),
}
#: what reading a damaged .npz can raise
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


class RunError(RuntimeError):
    """A run folder that cannot be used as it is (other config, unfinished, damaged)."""


class ManifestError(RunError):
    """A manifest that cannot be read: not JSON, not an object, or fields missing or wrong."""


def chunk_name(c: int) -> str:
    """``chunks/chunk_NNNNN.npz``, relative to the run folder."""
    return f"{CHUNK_DIR}/chunk_{c:05d}.npz"


def chunk_path(run_dir: Path, c: int) -> Path:
    return Path(run_dir) / chunk_name(c)


# ----------------------------------------------------------------------------- manifest


def read_manifest(run_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of ``run_dir``, or None when the folder has none.

    Raises :class:`ManifestError` naming the file when it is not a JSON object with the fields
    every run writes (``config``, ``config_hash``, ``n_chunks``, ``status``).
    """
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return None
    fix = f"delete {path} (its chunks are then recomputed) or the whole folder"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ManifestError(f"{path}: damaged manifest, not readable JSON ({err}); {fix}") from None
    if not isinstance(data, dict):
        raise ManifestError(
            f"{path}: damaged manifest, a JSON {type(data).__name__} where an object belongs; "
            f"{fix}"
        )
    wrong = [
        f"{key} ({'missing' if key not in data else 'not ' + what})"
        for key, (kind, what) in _REQUIRED.items()
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool)
    ]
    config = data.get("config")
    run = config.get("run") if isinstance(config, dict) else None
    if isinstance(config, dict):
        sizes = {k: run.get(k) if isinstance(run, dict) else None for k in ("paths", "chunk_size")}
        bad = [k for k, v in sizes.items() if not _positive_int(v)]
        wrong += [f"config.run.{k} (not a positive integer)" for k in bad]
        if not bad and _positive_int(data.get("n_chunks")):
            expected = -(-sizes["paths"] // sizes["chunk_size"])
            if data["n_chunks"] != expected:
                wrong.append(f"n_chunks ({data['n_chunks']}, but the config makes {expected})")
    chunks = data.get("chunks", {})
    if not isinstance(chunks, dict) or not all(isinstance(r, dict) for r in chunks.values()):
        wrong.append("chunks (not an object of chunk records)")
    if wrong:
        raise ManifestError(f"{path}: damaged manifest, bad field(s): {', '.join(wrong)}; {fix}")
    return data


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def write_manifest(
    run_dir: Path, manifest: Mapping[str, Any], midway: Callable[[], None] | None = None
) -> None:
    """Write the manifest atomically (``midway`` is called with half of it written)."""
    blob = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    atomic_write(Path(run_dir) / MANIFEST, _in_two_halves(blob, midway))


def _in_two_halves(blob: bytes, midway: Callable[[], None] | None) -> Callable[[Any], None]:
    def write(fh) -> None:
        half = len(blob) // 2
        fh.write(blob[:half])
        if midway is not None:
            fh.flush()
            midway()
        fh.write(blob[half:])

    return write


# ----------------------------------------------------------------------------- chunks


def write_chunk(
    path: Path, arrays: Mapping[str, Any], midway: Callable[[], None] | None = None
) -> dict[str, Any]:
    """``np.savez`` the arrays to ``path`` atomically; returns ``{"sha256", "bytes"}`` of the file.

    ``midway`` is called once half of the temporary file is written (tests interrupt there).
    """
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    blob = buf.getvalue()
    atomic_write(path, _in_two_halves(blob, midway))
    return {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}


@dataclass(frozen=True)
class ChunkCheck:
    """What was found for one chunk: ``status`` is ``"ok"``, ``"missing"``, ``"truncated"`` or
    ``"damaged"``; ``detail`` says how it was told; ``checksummed`` whether a recorded SHA-256
    vouches for it (else every array was read and its zip CRC checked)."""

    c: int
    n_chunks: int
    status: str
    detail: str = ""
    checksummed: bool = False
    arrays: dict[str, Any] | None = field(default=None, repr=False)
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """``chunk 3 of 8 (chunks/chunk_00003.npz) is damaged (checksum mismatch)``."""
        where = f"chunk {self.c} of {self.n_chunks} ({chunk_name(self.c)})"
        return f"{where} is {self.status}" + (f" ({self.detail})" if self.detail else "")


def read_chunk(
    run_dir: Path,
    c: int,
    n_chunks: int,
    record: Mapping[str, Any] | None,
    n_paths: int,
    *,
    load: bool = True,
) -> ChunkCheck:
    """Check chunk ``c`` of a folder against its manifest ``record`` (None: none recorded).

    With a recorded SHA-256 the file's bytes decide; without one, every array is read (zip
    CRC-32). Either way a chunk whose ``path_index`` does not hold ``n_paths`` paths is
    damaged. With ``load`` the arrays come back in ``arrays`` (``{name: ndarray}``).
    """
    import numpy as np

    path = chunk_path(run_dir, c)

    def found(status: str, detail: str = "", **kw: Any) -> ChunkCheck:
        return ChunkCheck(c, n_chunks, status, detail, **kw)

    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return found("missing")
    except OSError as err:
        return found("damaged", f"unreadable: {err.strerror or err}")
    sha = record.get("sha256") if record else None
    size = record.get("bytes") if record else None
    if isinstance(size, int) and len(blob) < size:
        return found("truncated", f"{len(blob):,} of {size:,} bytes")
    if isinstance(sha, str):
        if hashlib.sha256(blob).hexdigest() != sha:
            return found("damaged", "checksum mismatch")
        if not load:
            return found("ok", checksummed=True, record=dict(record))
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            # reading every array checks its CRC-32 (the only check a folder without sums has)
            arrays = {k: z[k] for k in z.files}
    except _READ_ERRORS as err:
        return found("damaged", f"unreadable: {err}")
    index = arrays.get("path_index")
    if index is None or index.shape != (n_paths,):
        got = "no path_index" if index is None else f"path_index of shape {index.shape}"
        return found("damaged", f"{got}, expected {n_paths:,} paths")
    if record is None or not isinstance(sha, str):
        record = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    return found(
        "ok", checksummed=isinstance(sha, str), arrays=arrays if load else None, record=dict(record)
    )


def check_chunk(
    run_dir: Path, c: int, n_chunks: int, record: Mapping[str, Any] | None, n_paths: int
) -> ChunkCheck:
    """:func:`read_chunk` without keeping the arrays."""
    return read_chunk(run_dir, c, n_chunks, record, n_paths, load=False)


# ----------------------------------------------------------------------------- verification


@dataclass
class Verification:
    """The outcome of :func:`verify_run`: ``problems`` (one line each: what is damaged, missing
    or unfinished) and ``notes`` (what was checked and how). Sound when there is no problem."""

    run_dir: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: list[ChunkCheck] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not self.problems


def paths_in_chunk(manifest: Mapping[str, Any], c: int) -> int:
    """How many paths chunk ``c`` of the manifest's run holds (``run.paths`` and
    ``run.chunk_size`` of its config, checked by :func:`read_manifest`)."""
    run = manifest["config"]["run"]
    size = run["chunk_size"]
    return max(0, min((c + 1) * size, run["paths"]) - c * size)


def verify_run(run_dir: str | Path) -> Verification:
    """Check a run folder: its manifest, and each chunk against its checksum.

    Raises :class:`ManifestError` when the manifest cannot be read and :class:`RunError` when the
    folder has none; everything else is listed in the result.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise RunError(f"{run_dir}: no {MANIFEST}; not a run folder (or its manifest was deleted)")
    out = Verification(run_dir, manifest)
    n_chunks = manifest["n_chunks"]
    records = manifest.get("chunks", {})
    complete = manifest["status"] == "complete"
    unchecked = 0
    for c in range(n_chunks):
        record = records.get(str(c))
        if record is None and not complete:
            continue  # not computed yet
        check = check_chunk(run_dir, c, n_chunks, record, paths_in_chunk(manifest, c))
        out.chunks.append(check)
        if not check.ok:
            out.problems.append(check.describe())
        elif not check.checksummed:
            unchecked += 1
    if not complete:
        done = sum(1 for ch in out.chunks if ch.ok)
        out.problems.append(
            f"run not complete: {done} of {n_chunks} chunks on disk; run the same "
            "`tailrisk run` command to finish it"
        )
    checked = sum(1 for ch in out.chunks if ch.ok and ch.checksummed)
    if checked:
        out.notes.append(f"{checked} of {n_chunks} chunks match their SHA-256 checksums")
    if unchecked:
        out.notes.append(
            f"{unchecked} chunk(s) have no recorded checksum (a folder from an older tailrisk): "
            "each was read whole and its arrays' zip CRC-32 checked, which misses some damage"
        )
    stale = stale_temp_files(run_dir) + stale_temp_files(run_dir / CHUNK_DIR)
    if stale:
        out.notes.append(
            f"{len(stale)} temporary file(s) left by an interrupted write (not part of the run; "
            "the next run removes them): " + ", ".join(p.name for p in stale)
        )
    return out
