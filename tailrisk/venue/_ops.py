"""Array building blocks of the venue kernel: prefix sums, compaction of the paths that have
something to do, per-path blocks over a pool of rows, and small numeric helpers.

Nothing here knows about venues. Each helper exists because the obvious XLA operation is slow on
a CPU (``cumsum`` lowers to a reduce-window, ``pow`` is several times dearer than ``exp(b log
x)``, a sort costs far more than a rank-and-scatter) or because the kernel must touch only the
few paths that need work (:func:`compact_indices`, :func:`blocks_map`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def on_device(x, dtype=None) -> jax.Array:
    """``x`` as a device array of ``dtype``, converted on the host and transferred: no XLA
    program, where ``jnp.asarray(x, dtype)`` runs (and first compiles, or loads from the cache)
    a conversion or staging program per shape and dtype."""
    return jax.device_put(np.asarray(x, dtype=None if dtype is None else jnp.dtype(dtype)))


def int_type(dtype):
    """The integer type as wide as a float dtype (for moving or ordering float bit patterns)."""
    return jnp.int64 if dtype == jnp.float64 else jnp.int32


def power(x, b):
    """x ** b for x >= 0, b > 0, as exp(b log x): several times cheaper than XLA's pow on a CPU."""
    return jnp.exp(b * jnp.log(x))  # log 0 = -inf gives 0


def prefix_sum(x: jax.Array) -> jax.Array:
    """Inclusive prefix sum along the last axis, as an associative scan: XLA lowers cumsum to
    a reduce-window, several times slower on a CPU."""
    return jax.lax.associative_scan(jnp.add, x, axis=-1)


def prefix_count(flags: jax.Array) -> jax.Array:
    """Inclusive running count of a boolean vector (int32)."""
    return prefix_sum(flags.astype(jnp.int32))


def compact_indices(mask: jax.Array, pad: int) -> tuple[jax.Array, jax.Array]:
    """The indices where ``mask`` holds, in order, then zeros (length ``len(mask) + pad``), and
    their count: each index's place is its rank among the set flags, then one scatter (a sort
    would cost far more on a CPU). Ranks come from the flags packed 32 to a word: a prefix sum
    of the words' population counts plus the population count of the bits below in the word."""
    n = mask.shape[0]
    words = -(-n // 32)
    flags = jnp.pad(mask, (0, words * 32 - n)).reshape(words, 32).astype(jnp.uint32)
    shifts = jnp.arange(32, dtype=jnp.uint32)
    packed = jnp.sum(flags << shifts, axis=1, dtype=jnp.uint32)
    per_word = jax.lax.population_count(packed).astype(jnp.int32)
    before = prefix_sum(per_word) - per_word
    below = (jnp.uint32(1) << shifts) - jnp.uint32(1)
    rank = before[:, None] + jax.lax.population_count(packed[:, None] & below).astype(jnp.int32)
    place = jnp.where(mask, rank.reshape(-1)[:n], n + pad)
    order = jnp.zeros((n + pad,), jnp.int32).at[place].set(jnp.arange(n, dtype=jnp.int32),
                                                           mode="drop")
    return order, jnp.sum(per_word)


def row_segments(table, start, width: int):
    """table[i, start[i]: start[i] + width] for every row i: one contiguous slice each."""
    rows = jnp.arange(table.shape[0], dtype=jnp.int32)
    return jax.vmap(lambda r, c: jax.lax.dynamic_slice(table, (r, c), (1, width))[0])(rows, start)


def blocks_map(fn, mask, inputs, outputs, block: int, pool=None, slot=None, write=True,
               read_slot=None, ranked=None):
    """outputs[i] = fn(inputs[i]) for the paths where mask holds, in blocks of ``block`` paths.

    With a ``pool`` (a tree of arrays with a leading axis of pool rows) path i's row is
    ``pool[slot[i]]``: then ``fn(row_i, inputs_i)`` returns ``(new_row_i, output_i)`` and the new
    rows are written back (``write``; rows past the pool are dropped). ``read_slot``, when given,
    is the row path i reads instead of its own (a path's first ADL starts from the static row
    0). With ``ranked`` (a tree of arrays with a leading axis R), ``output_i`` is a pair
    ``(output_i, ranked_i)`` and ``ranked_i`` is written at row r of ``ranked``, r the rank of
    path i among the paths where mask holds (ranks past R are dropped). Returns the outputs (a
    pair ``(outputs, ranked)`` with ``ranked``), and the pool when one is given.
    """
    n = mask.shape[0]
    order, count = compact_indices(mask, block)
    leaves = jax.tree.leaves(pool)
    size = leaves[0].shape[0] if leaves else 1  # an empty pool: every path reads row 0

    if ranked is not None:
        outputs = (outputs, ranked)
    size_r = jax.tree.leaves(ranked)[0].shape[0] if ranked is not None else 0

    def body(carry):
        k, outputs, pool = carry
        idx = jax.lax.dynamic_slice_in_dim(order, k * block, block)
        valid = (k * block + jnp.arange(block)) < count
        ins = jax.tree.map(lambda a: a[idx], inputs)
        if pool is None:
            res = jax.vmap(fn)(ins)
        else:
            sl = slot[idx]
            rd = sl if read_slot is None else read_slot[idx]
            new_rows, res = jax.vmap(fn)(jax.tree.map(lambda a: a[rd], pool), ins)
            if write:
                # slot 0 is the shared static row: never written (fn leaves it unchanged anyway)
                at = jnp.where(valid & (sl > 0) & (sl < size), sl, size)
                pool = jax.tree.map(lambda o, r: o.at[at].set(r.astype(o.dtype), mode="drop"),
                                    pool, new_rows)
        dest = jnp.where(valid, idx, n)  # rows past the end are dropped
        if ranked is None:
            outputs = jax.tree.map(lambda o, r: o.at[dest].set(r.astype(o.dtype), mode="drop"),
                                   outputs, res)
        else:
            rank = k * block + jnp.arange(block)
            at = jnp.where(valid & (rank < size_r), rank, size_r)
            outputs = (
                jax.tree.map(lambda o, r: o.at[dest].set(r.astype(o.dtype), mode="drop"),
                             outputs[0], res[0]),
                jax.tree.map(lambda o, r: o.at[at].set(r.astype(o.dtype), mode="drop"),
                             outputs[1], res[1]),
            )
        return k + 1, outputs, pool

    n_blocks = (count + block - 1) // block
    _, outputs, pool = jax.lax.while_loop(lambda c: c[0] < n_blocks, body,
                                          (jnp.zeros((), jnp.int32), outputs, pool))
    return outputs if pool is None else (outputs, pool)
