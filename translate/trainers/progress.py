"""The console side of training: the progress bar, running loss means, log lines above the bar, Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
from typing import Any, Iterator

log = logging.getLogger("translate")


class Meter:
    """Running means of the losses, and images per second of training time.

    Losses are summed where they are (on the GPU, without waiting for it); `means` and `finite` read them back,
    which the loop does only when it logs or is about to save.
    """

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.images = 0
        self.seconds = 0.0

    def add(self, losses: dict[str, Any], images: int, seconds: float) -> None:
        """Count one step's losses (floats or 0-d tensors), images and seconds."""
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + (v.detach().float() if hasattr(v, "detach") else v)
            self.counts[k] = self.counts.get(k, 0) + 1
        self.images += images
        self.seconds += seconds

    def means(self) -> dict[str, float]:
        """Each loss's mean over the steps counted."""
        return {k: float(self.sums[k]) / self.counts[k] for k in self.sums}

    def nonfinite(self) -> list[str]:
        """The losses that were NaN or infinite at some step counted (their sums are then not finite)."""
        return [k for k, v in self.means().items() if not math.isfinite(v)]

    def rate(self) -> float:
        """Images per second of the steps counted."""
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def postfix(self) -> str:
        """'G_GAN 0.71 G_L1 12.3': the means, short."""
        return " ".join(f"{k} {v:.3g}" for k, v in self.means().items())


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...
    def close(self) -> None: ...


def make_bar(total: int, initial: int, quiet: bool) -> Any:
    """The progress bar (steps, losses, images/s), or a stand-in that shows nothing."""
    if quiet:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, mininterval=0.5, leave=True)


@contextlib.contextmanager
def redirect_logging(bar: Any) -> Iterator[None]:
    """Log lines printed above the bar instead of through it."""
    if isinstance(bar, _NoBar):
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[log]):
        yield


class _Stop:
    requested = False


@contextlib.contextmanager
def stop_on_signals() -> Iterator[_Stop]:
    """The first Ctrl-C (or SIGTERM) asks the loop to save and stop after this step; a second one stops now."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True
        log.warning("stopping after this step (saving a checkpoint); press Ctrl-C again to stop at once")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def format_seconds(seconds: float) -> str:
    """'4m07s', '1h02m' or '12.3s'."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"
