"""Writing a run's partitions with several processes (the foreground `export_run` command).

On workers, a Celery group spreads the partitions over the pool. The foreground command gets the
same from forked child processes, each with its own database connection, going through the
same `export_partition_write` (its partition lease decides who writes what). Only the parent
finalizes.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from contextlib import contextmanager

from django.db import connections

# Set in each child: where it reports progress (patients written) for the parent's bar.
_progress_queue = None

# While a partition is written (bulk_gc): how many container objects may be allocated between
# two young-generation collections. A partition makes millions of short-lived tuples and dicts
# that reference counting frees at once; with the default (700) the collector ran every few
# hundred rows and, each tenth time, walked every object alive: about a third of the read's CPU.
BULK_GC_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage seldom while writing a partition: the objects alive before are frozen
    (never walked again until the end) and the young generation is collected every
    BULK_GC_THRESHOLD allocations instead of 700. Cycles are still collected, only less often,
    so memory stays bounded. Nested and concurrent uses (threads of one worker) share one
    setting, restored when the last one ends."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(BULK_GC_THRESHOLD, _gc_saved[1], _gc_saved[2])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()


def _child_start(progress_queue) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def _child_write(write: Callable[..., bool], run_id: int, attempt: int, index: int) -> bool:
    report = _progress_queue.put if _progress_queue is not None else None
    try:
        return write(
            run_id=run_id, attempt=attempt, index=index, on_progress=report, enqueue_finalize=False
        )
    finally:
        connections.close_all()


def _drain(progress_queue, on_progress: Callable[[int], None] | None) -> None:
    while True:
        try:
            done = progress_queue.get_nowait()
        except queue.Empty:
            return
        if on_progress:
            on_progress(done)


def write_partitions(
    *,
    run_id: int,
    attempt: int,
    indexes: list[int],
    workers: int,
    write: Callable[..., bool],
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Write the given partitions with up to `workers` processes, each calling `write` (the
    service export_partition_write, passed in so that this module never imports the services
    that call it); raises the first failure after the other children have stopped (so no
    half-written folder is left behind)."""
    # A forked child must never use the parent's socket: close it here, each side reconnects.
    connections.close_all()
    # Keep the collector off the objects the children inherit: each collection would touch
    # them all and copy every page of the parent into every child (Python's gc.freeze docs).
    gc.freeze()
    context = multiprocessing.get_context("fork")
    progress = context.Queue()
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(indexes)),
        mp_context=context,
        initializer=_child_start,
        initargs=(progress,),
    )
    try:
        pending = {pool.submit(_child_write, write, run_id, attempt, i) for i in indexes}
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            _drain(progress, on_progress)
            for future in finished:
                future.result()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        gc.unfreeze()
    pool.shutdown(wait=True)
    _drain(progress, on_progress)
    progress.close()
