"""Shared test set-up."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_programs():
    """Each test module compiles its own kernels; dropping them after the module keeps the
    suite's memory flat (hundreds of compiled venue programs otherwise stay cached)."""
    yield
    import jax

    jax.clear_caches()
    gc.collect()


@pytest.fixture(autouse=True)
def _keep_code_mappings_in_bounds():
    """Within a long module too: XLA's CPU code mappings must stay below the process cap."""
    from tailrisk._codemaps import relieve_code_maps

    relieve_code_maps()
