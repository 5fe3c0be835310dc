"""Batches made ahead on a thread: same order, errors reach the loop, nothing left running."""

from __future__ import annotations

import threading
import time

import pytest

from translate.data.prefetch import Prefetcher


def test_items_come_in_order_and_the_end_stays_the_end():
    with Prefetcher(iter(range(50)), depth=3) as items:
        assert list(items) == list(range(50))
        with pytest.raises(StopIteration):
            next(items)


def test_an_error_while_making_a_batch_reaches_the_consumer():
    def source():
        yield 1
        raise OSError("truncated image")

    with Prefetcher(source()) as items:
        assert next(items) == 1
        with pytest.raises(OSError, match="truncated image"):
            next(items)


def test_it_reads_at_most_depth_ahead_and_close_stops_the_thread():
    made = []

    def source():
        for i in range(1000):
            made.append(i)
            yield i

    before = threading.active_count()
    items = Prefetcher(source(), depth=2)
    assert next(items) == 0
    time.sleep(0.2)
    assert len(made) <= 4  # the one taken, two queued, one waiting to be queued
    items.close()
    assert threading.active_count() == before


def test_batches_are_made_ahead_only_where_a_core_is_spare(monkeypatch):
    from translate.data import prefetch

    monkeypatch.setattr(prefetch, "spare_cores", lambda: 0)
    before = threading.active_count()
    with prefetch.batches_ahead(iter(range(5))) as items:
        assert threading.active_count() == before  # no thread: made in turn
        assert list(items) == list(range(5))
    monkeypatch.setattr(prefetch, "spare_cores", lambda: 1)
    with prefetch.batches_ahead(iter(range(5))) as items:
        assert isinstance(items, prefetch.Prefetcher) and list(items) == list(range(5))
