"""Traced programs kept on disk, so that a repeat run neither traces nor lowers the venue kernel.

JAX's persistent compilation cache (:mod:`tailrisk._compile_cache`) skips compiling, but finding
a program in it means tracing the Python function and lowering it to StableHLO first: for the
venue kernel that is 2-3 s of every run. ``jax.export`` serialises the lowered program; the next
process deserialises it (milliseconds), wraps it in a small ``jax.jit`` whose lowering is an
inline call, and finds the compiled code in the persistent cache.

A stored program is keyed by everything that shapes it: the source of the packages it is traced
from, the jax/jaxlib versions, the backend, 64-bit mode, the tree structure, shapes and dtypes of
the arguments and the static arguments. The store is the ``programs`` folder of tailrisk's cache
folder and is on when JAX's compilation cache is. Anything that goes wrong (no ``flatbuffers``, a
damaged file, an argument the serialiser cannot describe) falls back to calling the function as
it is: the store can cost a trace, never a result. Both ways run the same
StableHLO through the same compiler, so the numbers are the same (tested).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["call_stored", "program_dir"]

#: wrapped programs kept in memory (each holds a compiled executable once called)
_MEMORY_MAX = 16
_MEMORY: OrderedDict[str, Callable[..., Any]] = OrderedDict()
_LOCK = threading.Lock()


def program_dir() -> Path | None:
    """The folder of stored programs, ``programs`` in tailrisk's cache folder (None: the store
    is off, as it is whenever JAX's compilation cache is)."""
    import jax

    from ._compile_cache import cache_root

    root = cache_root()
    if root is None or not jax.config.jax_compilation_cache_dir:
        return None
    return root / "programs"


@cache
def _source_digest(packages: tuple[str, ...]) -> str:
    """Digest of the Python files of ``packages`` (module names), read once a process."""
    import importlib

    h = hashlib.sha256()
    for name in packages:
        folder = Path(importlib.import_module(name).__file__).parent
        for path in sorted(folder.glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _key(name: str, leaves: list, treedef, static: dict, packages: tuple[str, ...]) -> str:
    import jax
    import jaxlib

    parts = [
        name, _source_digest(packages), jax.__version__, jaxlib.__version__,
        jax.default_backend(), str(jax.config.jax_enable_x64), str(treedef),
        repr(sorted(static.items())),
        *(f"{a.shape}:{a.dtype}:{getattr(a, 'weak_type', False)}" for a in leaves),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def _load_or_export(path: Path | None, fn, static: dict, treedef, leaves: list):
    import jax
    from jax import export

    if path is not None and path.is_file():
        try:
            return export.deserialize(bytearray(path.read_bytes()))
        except Exception:  # a damaged or foreign file: export again below
            pass

    def flat(*flat_args):
        return fn(*jax.tree.unflatten(treedef, flat_args), **static)

    exported = export.export(jax.jit(flat))(*leaves)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(exported.serialize())
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable store: this process still runs the exported program
    return exported


def call_stored(name: str, fn: Callable[..., Any], args: tuple, static: dict[str, Any], *,
                donate: Iterable[int] = (), packages: tuple[str, ...] = ()) -> Any:
    """``fn(*args, **static)``, through a stored program when the store is on.

    ``fn`` is a jitted function whose keyword arguments ``static`` are static; ``args`` are
    pytrees of arrays. ``donate``: positions in ``args`` whose arrays are donated. ``packages``:
    the packages whose source the program is traced from (their edits make a new key).
    """
    import jax

    folder = program_dir()
    if folder is None:
        return fn(*args, **static)
    leaves, treedef = jax.tree.flatten(args)
    try:
        key = _key(name, leaves, treedef, static, packages)
    except Exception:
        return fn(*args, **static)
    with _LOCK:
        call = _MEMORY.get(key)
        if call is not None:
            _MEMORY.move_to_end(key)
    if call is None:
        try:
            exported = _load_or_export(folder / f"{name}-{key}.jaxexport", fn, static, treedef,
                                       leaves)
        except Exception:  # the serialiser or exporter cannot take this program
            return fn(*args, **static)
        # the donated arguments' leaves, in the flat order
        starts = [0]
        for a in args:
            starts.append(starts[-1] + len(jax.tree.leaves(a)))
        flat_donate = tuple(i for d in donate for i in range(starts[d], starts[d + 1]))
        call = jax.jit(exported.call, donate_argnums=flat_donate)
        with _LOCK:
            _MEMORY[key] = call
            while len(_MEMORY) > _MEMORY_MAX:
                _MEMORY.popitem(last=False)
    # every argument committed to its device: the wrapper's lowering (and so its compiled code)
    # would otherwise differ between a first call with fresh arrays and later ones with returned
    # buffers, and load twice from the compilation cache
    device = next(iter(leaves[0].devices()))
    return call(*jax.device_put(leaves, device))
