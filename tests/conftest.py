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
