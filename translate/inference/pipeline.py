"""Background reading and writing for `translate predict`, so decoding and encoding overlap with the network.

Both helpers keep results in input order and bound how much work is held at once. They know nothing of images.
On leaving their `with` block they stop their threads: work not yet started is cancelled (the writer finishes it
first unless the block ends in Ctrl-C), and the one item a thread may be busy with is waited for, so a write is
never cut off half-way and no thread outlives the call.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from translate.data.prefetch import spare_cores

Item = TypeVar("Item")
Result = TypeVar("Result")


def reader_threads() -> int:
    """Threads for decoding: as many as the cores torch's threads leave spare (the training loop's rule,
    `spare_cores`), at least one and at most 4; decoding mostly releases the GIL, so one thread overlaps the
    network even with no spare core."""
    return max(1, min(4, spare_cores()))


class ReadAhead(Generic[Item, Result]):
    """`read(item)` for each item on background threads, handed back in input order.

    At most `ahead` items are read (or being read) beyond those already taken, so memory stays bounded however
    many items there are. An exception `read` raises comes out of the iteration at that item.
    """

    def __init__(self, items: Iterable[Item], read: Callable[[Item], Result], ahead: int, threads: int = 1) -> None:
        self._items = iter(items)
        self._read = read
        self._ahead = max(1, ahead)
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="translate-read")
        self._queue: deque[Future[Result]] = deque()

    def __enter__(self) -> ReadAhead[Item, Result]:
        for _ in range(self._ahead):
            self._read_next()
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read_next(self) -> None:
        for item in self._items:
            self._queue.append(self._pool.submit(self._read, item))
            return

    def __iter__(self) -> Iterator[Result]:
        while self._queue:
            future = self._queue.popleft()
            self._read_next()  # the slot just taken is refilled at once, so `ahead` stay in flight
            yield future.result()


class OrderedWriter(Generic[Result]):
    """Background threads running write jobs (one thread: in turn); their results, and results known up front
    (`add`), come back in the order they were handed in.

    `submit` blocks while more than `waiting` jobs are unfinished, so a fast producer cannot pile up outputs in
    memory. An exception a job raises (beyond what it returns as a result) comes out of `submit` or `results`.
    Jobs that must run in order (frames into one video) need `threads` 1.
    """

    def __init__(self, waiting: int = 2, threads: int = 1) -> None:
        self._waiting = max(1, waiting)
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="translate-write")
        self._queue: deque[Future[Result]] = deque()

    def __enter__(self) -> OrderedWriter[Result]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # After an ordinary error the outputs computed before it are still written, as one-by-one work would have
        # left them; Ctrl-C means stop now.
        interrupted = exc_type is not None and not issubclass(exc_type, Exception)
        self._pool.shutdown(wait=True, cancel_futures=interrupted)

    def submit(self, job: Callable[..., Result], *args: object) -> None:
        """Queue `job(*args)`; wait first while the writer is more than `waiting` jobs behind."""
        self._queue.append(self._pool.submit(job, *args))
        unfinished = [future for future in self._queue if not future.done()]
        if len(unfinished) > self._waiting:
            unfinished[0].result()

    def add(self, result: Result) -> None:
        """A result known now, handed back in its place among the jobs' results."""
        future: Future[Result] = Future()
        future.set_result(result)
        self._queue.append(future)

    def results(self, wait: bool = False) -> Iterator[Result]:
        """The results ready so far, in order (stopping at the first unfinished job), or with `wait` all of them."""
        while self._queue and (wait or self._queue[0].done()):
            yield self._queue.popleft().result()
