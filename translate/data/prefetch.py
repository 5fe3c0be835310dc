"""Batches made ahead on a background thread, so decoding, resizing and augmenting overlap the training step.

A thread, not a worker process: PIL's decoding and resizing, NumPy and torch release the GIL, a thread costs
nothing to start each epoch, and the batches come in exactly the order one thread makes them. Every item's
randomness comes from (seed, epoch, index) (translate.data.folders), never from the global generators the
training step draws from, so making batches on another thread changes nothing of what is trained.

Only where a core is left over: when torch's threads take every core, the batch-making thread takes turns with
them and their OpenMP barriers wait on it (pix2pix at 256 px on 2 cores: 1.5 s a step made in turn, 1.7 s made
ahead; benchmarks/results/levers.md).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Iterator, TypeVar

import torch

T = TypeVar("T")
_DONE = object()


class Prefetcher(Iterator[T]):
    """Iterate `source` on a daemon thread, at most `depth` items ahead; its exceptions reach the consumer.

    `close()` stops the thread (also when the consumer stops early, e.g. on Ctrl-C).
    """

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(source,), name="translate-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self, source: Iterator[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, who raises it
            self._put(_Failure(e))

    def __next__(self) -> T:
        item = self._queue.get()
        if item is _DONE:
            self._queue.put(_DONE)  # stays exhausted
            raise StopIteration
        if isinstance(item, _Failure):
            raise item.error
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Prefetcher[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spare_cores() -> int:
    """Cores this process may use beyond torch's compute threads."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, cores - torch.get_num_threads())


class InTurn(Iterator[T]):
    """The same face as Prefetcher, making each item when it is asked for (no spare core to make it ahead)."""

    def __init__(self, source: Iterator[T]) -> None:
        self._source = source

    def __next__(self) -> T:
        return next(self._source)

    def close(self) -> None:
        pass

    def __enter__(self) -> "InTurn[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def batches_ahead(source: Iterator[T], depth: int = 2) -> Prefetcher[T] | InTurn[T]:
    """`source` made ahead on a thread where a core is spare, else in turn on the calling thread."""
    return Prefetcher(source, depth) if spare_cores() > 0 else InTurn(source)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
