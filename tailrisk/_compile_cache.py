"""JAX's persistent compilation cache in a per-user folder, so that a repeat run does not compile.

Compiling the venue kernel and the samplers takes most of a small run's time; JAX can keep the
compiled programs on disk and load them in the next process instead. ``enable_compile_cache``
points JAX at the ``jax`` folder of tailrisk's cache folder (:func:`cache_root`):

* ``$TAILRISK_CACHE_DIR`` if set (``off`` or empty: no cache),
* else ``$XDG_CACHE_HOME/tailrisk``,
* else ``~/.cache/tailrisk``.

Beside ``jax`` the cache folder holds ``programs`` (traced programs, :mod:`tailrisk._program_store`)
and ``report`` (the report's model tails).

The folder is only a cache: deleting it (at any time, even during a run) costs a compile, never a
result. JAX keys each entry by the program, its compile options, the device and the jax/jaxlib
versions, so an upgrade or another machine simply misses. A folder that cannot be created or
written turns the cache off with one line on stderr; a run never fails because of it. JAX writes
no entry for a program that calls back into Python (``jax.pure_callback``).

When jax is not imported yet (the command line), the settings go into JAX's environment variables,
which it reads on import, so that ``tailrisk --help`` stays free of jax; otherwise into
``jax.config`` directly.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = ["ENV_VAR", "cache_dir", "cache_root", "enable_compile_cache"]

ENV_VAR = "TAILRISK_CACHE_DIR"
#: cache a program that took at least this long to compile, seconds (JAX's default: 1.0)
MIN_COMPILE_TIME_S = 0.0
#: cache entries of any size (JAX: -1 means no minimum and no back-end override)
MIN_ENTRY_SIZE_BYTES = -1
_OFF = {"", "off", "0", "false", "no", "none"}
#: the folder JAX was last pointed at by this module (None: none, or the cache is off)
_STATE: dict[str, str | None] = {"dir": None}


def cache_root(environ: dict[str, str] | None = None) -> Path | None:
    """tailrisk's cache folder as the environment asks for it, or None where it switches the
    cache off."""
    env = os.environ if environ is None else environ
    if ENV_VAR in env:
        value = env[ENV_VAR].strip()
        return None if value.lower() in _OFF else Path(value).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # the XDG spec ignores a relative XDG_CACHE_HOME
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "tailrisk"


def cache_dir(environ: dict[str, str] | None = None) -> Path | None:
    """JAX's compilation cache folder: ``jax`` in :func:`cache_root` (None: off)."""
    root = cache_root(environ)
    return None if root is None else root / "jax"


def _writable(folder: Path) -> str | None:
    """None if ``folder`` exists (created if needed) and takes a new file, else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def _settings(folder: str | None) -> dict[str, object]:
    return {
        "jax_compilation_cache_dir": folder,
        "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_TIME_S,
        "jax_persistent_cache_min_entry_size_bytes": MIN_ENTRY_SIZE_BYTES,
        # XLA's own GPU caches would live inside the folder, and JAX puts their path into every
        # cache key: with them on, a moved or copied folder misses on every program
        "jax_persistent_cache_enable_xla_caches": "none",
    }


def _jax_folder() -> str | None:
    """The cache folder JAX is set to use now (its config, or its variable before import)."""
    if "jax" in sys.modules:
        import jax

        return jax.config.jax_compilation_cache_dir
    return os.environ.get("JAX_COMPILATION_CACHE_DIR") or None


def _apply(folder: str | None) -> None:
    if "jax" not in sys.modules:
        # jax reads its settings from the environment on import
        if folder is None:
            os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
        else:
            for name, value in _settings(folder).items():
                os.environ[name.upper()] = str(value)
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    if jax.config.jax_compilation_cache_dir == folder:
        return
    for name, value in _settings(folder).items():
        if value is not None or name == "jax_compilation_cache_dir":
            jax.config.update(name, value)
    # JAX opens its cache folder once, at the first compile: point it at the new one
    compilation_cache.reset_cache()


def enable_compile_cache(quiet: bool = False) -> Path | None:
    """Point JAX's persistent compilation cache at the per-user folder; return it (None: off).

    Idempotent. Never raises for the folder's sake: one that cannot be created or written turns
    the cache off with one line on stderr (none if ``quiet``). ``TAILRISK_CACHE_DIR=off`` turns
    it off (and undoes an earlier call). Without ``TAILRISK_CACHE_DIR``, a cache folder that JAX
    already has from its own settings (``JAX_COMPILATION_CACHE_DIR``) is kept as it is.
    """
    if ENV_VAR not in os.environ:
        theirs = _jax_folder()
        if theirs and theirs != _STATE["dir"]:
            return Path(theirs)  # JAX was given a cache folder by its own settings: keep them
    folder = cache_dir()
    why = None if folder is None else _writable(folder)
    if why is not None:
        if not quiet:
            print(f"tailrisk: compile cache off ({folder}: {why})", file=sys.stderr)
        folder = None
    target = None if folder is None else str(folder)
    if target is None and _STATE["dir"] is None and _jax_folder() is None:
        return None  # never switched on, here or by a parent process: nothing to switch off
    _apply(target)
    _STATE["dir"] = target
    # a folder deleted or made read-only during a run: JAX recompiles (and warns per program)
    warnings.filterwarnings(
        "ignore", message="Error (reading|writing) persistent compilation cache entry"
    )
    return folder
