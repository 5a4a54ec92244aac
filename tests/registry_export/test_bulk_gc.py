"""registry_export.parallel.bulk_gc: the collector runs seldom while a partition is written,
and its settings come back afterwards, whatever happens inside and however many threads of one
worker write at once (issue 11, P2)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from registry_export.parallel import BULK_GC_THRESHOLD, bulk_gc


def test_bulk_gc_raises_the_threshold_and_restores_it_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_gc():
        assert gc.get_threshold()[0] == BULK_GC_THRESHOLD
        assert gc.get_freeze_count() > 0  # what was alive before is left alone
        raise RuntimeError("a partition failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_overlapping_uses_restore_the_settings_only_when_the_last_ends():
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def other_writer():
        with bulk_gc():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other_writer)
    with bulk_gc():
        thread.start()
        assert inside.wait(10)
    # This one ended first: the other is still writing, so the setting stays.
    assert gc.get_threshold()[0] == BULK_GC_THRESHOLD
    leave.set()
    thread.join(10)
    assert gc.get_threshold() == before


def test_cycles_are_still_collected_inside_without_asking():
    class Node:
        pass

    with bulk_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None  # a cycle: reference counting alone does not free it
        # Enough new containers for the young generation to be collected on its own.
        keep = [[] for _ in range(2 * BULK_GC_THRESHOLD)]
        assert ref() is None
        del keep
