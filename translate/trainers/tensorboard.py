"""TensorBoard, an extra: the loop's log records and sample grids mirrored into event files in RUN/tensorboard/.

Off by default; `translate train --tensorboard` or `train.tensorboard = true` turns it on (`pip install
"translate-zoo[tensorboard]"`). log.jsonl stays the source of truth: every scalar here is a number of one of its
records, at the record's step and time (losses and held-out scores: `train/...`, `heldout/...`), and the sample
grids are those of samples/. A run that turns it on when resumed gets its earlier records written first; a resumed
run writes into the same folder from its checkpoint's step on, and what an interrupted run logged past that step
is purged, as log.jsonl's records are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from translate.errors import ConfigError

FOLDER = "tensorboard"  # inside the run directory
NOT_SCALARS = {"kind", "step", "epoch", "time"}


def summary_writer() -> Any:
    """torch's SummaryWriter class; a one-line error when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError('train.tensorboard needs the tensorboard package: pip install "translate-zoo[tensorboard]" '
                          "(or train without --tensorboard)") from None
    return SummaryWriter


class TensorBoardLog:
    """Event files of one run: `record(record)` for each log.jsonl record, `image(grid, step)` for each sample grid.

    `step` is where training starts (a resumed run's checkpoint step); `earlier` the log records up to it, written
    first when the folder holds no events yet.
    """

    def __init__(self, run: Path, step: int = 0, earlier: list[dict[str, Any]] | None = None) -> None:
        folder = Path(run) / FOLDER
        fresh = not any(folder.glob("events.out.tfevents.*"))
        # a resumed run trains again the steps after its checkpoint: hide what an interrupted run logged for them
        purge = None if fresh else (step + 1 if step > 0 else 0)
        self.writer = summary_writer()(log_dir=str(folder), purge_step=purge)
        if fresh:
            for record in earlier or []:
                self.record(record)

    def record(self, record: dict[str, Any]) -> None:
        """The numbers of one log record as scalars at its step: train/<name> or heldout/<name>; a list of numbers
        (a cGAN's accuracy by label) as one scalar per position, heldout/<name>/<i>."""
        group = "heldout" if record.get("kind") == "eval" else "train"
        step, walltime = int(record["step"]), record.get("time")
        for key, value in record.items():
            if key in NOT_SCALARS:
                continue
            values = enumerate(value) if isinstance(value, list) else [(None, value)]
            for i, v in values:
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    tag = f"{group}/{key}" if i is None else f"{group}/{key}/{i}"
                    self.writer.add_scalar(tag, float(v), step, walltime=walltime)

    def image(self, grid: Image.Image, step: int) -> None:
        """A sample grid at `step`."""
        self.writer.add_image("samples", np.asarray(grid.convert("RGB")), step, dataformats="HWC")

    def flush(self) -> None:
        """Write what is pending to disk (at checkpoints: a killed run keeps what its log.jsonl holds)."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
