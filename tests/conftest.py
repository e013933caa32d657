"""Shared test set-up."""

from __future__ import annotations

import gc

import pytest

#: what JAX warns when a cache entry cannot be read or written (another process writing the same
#: entry, the folder deleted meanwhile): it recompiles, so the test must not fail for it
_CACHE_WARNINGS = (
    "Error reading persistent compilation cache entry",
    "Error writing persistent compilation cache entry",
)


def pytest_configure(config):
    """JAX's persistent compilation cache (jax/ in $TAILRISK_CACHE_DIR, else in ~/.cache/tailrisk;
    "off": none): a module loads the programs an earlier module (or session) compiled, although the
    fixture below drops the in-memory ones after each module."""
    from tailrisk._compile_cache import enable_compile_cache

    enable_compile_cache()
    for message in _CACHE_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:UserWarning")


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs():
    """Each test module compiles its own kernels; dropping them after the module keeps the
    suite's memory flat (hundreds of compiled venue programs otherwise stay cached). The next
    module that needs one loads it from the persistent compilation cache."""
    yield
    import jax

    jax.clear_caches()
    gc.collect()


@pytest.fixture(autouse=True)
def _keep_code_mappings_in_bounds():
    """Within a long module too: XLA's CPU code mappings must stay below the process cap."""
    from tailrisk._codemaps import relieve_code_maps

    relieve_code_maps()
