"""The chunked joblib loop of the per-image stages (alignment, parsing).

Each worker task takes a chunk of items, so that joblib's per-task overhead
(or a cluster scheduler's, under ``joblib.parallel_config(backend="dask")``)
is paid once per chunk; chunks are dispatched a block at a time, so that the
results in flight stay bounded while the caller writes them into an output
that may be a memmap far larger than RAM.
"""

from joblib import delayed

# Items handed to one worker task: large enough to amortise joblib's overhead.
CHUNK = 32
# Chunks dispatched together: enough to keep a few dozen workers busy, few enough
# that their results fit in memory.
BLOCK = CHUNK * 16


def chunked_results(parallel, func, n, chunk_args, chunk=None, block=None):
    """Run ``func`` over ``n`` items in chunks; yield ``(start, rows)`` a block at a time, in order.

    Parameters
    ----------
    parallel : joblib.Parallel
        An open ``Parallel`` (reused across blocks, so that a pool of
        workers starts once).
    func : callable
        Called as ``func(*chunk_args(start, stop))`` in a worker; returns one
        row per item of ``[start, stop)``. Module-level, so that it pickles
        by reference.
    n : int
        Number of items.
    chunk_args : callable
        ``chunk_args(start, stop)`` -> the positional arguments of one task.
        It runs in the caller: what it returns is what travels to a worker,
        so it should slice paths or small arrays, not copy a whole input.
    chunk, block : int, optional
        Items per task and items per dispatched block; default :data:`CHUNK`
        and :data:`BLOCK`, read at each call.

    Yields
    ------
    start : int
        Index of the block's first item.
    rows : list
        The rows of items ``start`` ... ``start + len(rows) - 1``.
    """
    chunk = CHUNK if chunk is None else chunk
    block = BLOCK if block is None else block
    for block_start in range(0, n, block):
        block_stop = min(block_start + block, n)
        parts = parallel(
            delayed(func)(*chunk_args(s, min(s + chunk, block_stop))) for s in range(block_start, block_stop, chunk)
        )
        yield block_start, [row for part in parts for row in part]
