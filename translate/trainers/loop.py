"""The one training loop: data, steps, learning-rate schedule, logs, samples, checkpoints, resume.

`train(config)` works for every trainer: it builds the data and the trainer from the resolved config,
then for each batch calls `trainer.step(batch)` and around it does everything else:

- a tqdm bar with the current losses and images/s, a line per epoch (`train.quiet` silences both);
- the run directory: config.toml, log.jsonl (one record per logged step, plus held-out evaluations),
  loss.png, samples/epoch_NNN.png (fixed held-out inputs), checkpoints/ (latest and every Nth);
- exact resume from the latest checkpoint (data order from (seed, epoch), each item's crop, flip and
  unpaired partner from (seed, epoch, index) whatever the number of workers, RNG states, image pools);
  a resume may train longer and change how it trains (`translate.resume.for_resume`), and config.toml records it;
- TensorBoard event files beside them when asked (`train.tensorboard`, an extra: `translate.trainers.tensorboard`);
- Ctrl-C saves a checkpoint and stops with TrainingInterrupted; a non-finite loss stops with a
  TrainingError and leaves the last good checkpoint as it was;
- DistributedDataParallel when launched by torchrun.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import logging
import math
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DataLoader

from translate import device as devices
from translate import levers
from translate.config import DEFAULTS, RESUMES, check_for_training, from_run
from translate.data.datasets import build_split, describe_data
from translate.data.options import held_out_size
from translate.data.prefetch import batches_ahead, spare_cores
from translate.errors import CheckpointError, ConfigError, TrainingError
from translate.files import write_text
from translate.resume import describe_changes, resume_changes
from translate.rundir import CONFIG_FILE, LOG_FILE, LOSS_PLOT, SAMPLES, new_run_dir, read_config, write_config
from translate.trainers import checkpoint, distributed
from translate.trainers.base import Trainer, batch_length, batch_to_device, build_trainer
from translate.trainers.probe import choose_for_training
from translate.trainers.progress import Meter, format_seconds, make_bar, redirect_logging, stop_on_signals
from translate.trainers.rng import isolated, rng_state, seed_everything, set_rng_state
from translate.trainers.samples import fixed_batch, plot_losses, read_log, sample_grid, save_image
from translate.trainers.schedule import Schedule, set_lr
from translate.trainers.tensorboard import TensorBoardLog, summary_writer

log = logging.getLogger("translate")

PLOT_EVERY = 30.0  # seconds between redraws of loss.png
Callback = Callable[[int, dict[str, float], Trainer], None]


class TrainingInterrupted(TrainingError):
    """Ctrl-C (or SIGTERM) stopped training after a checkpoint was saved; `--resume RUN` continues it."""

    exit_code = 130


def train(config: dict[str, Any], resume: str | Path | None = None, callback: Callback | None = None) -> Path:
    """Train the model a resolved config describes; returns the run directory.

    `resume`: a run directory to continue from its latest checkpoint. `callback(step, losses, trainer)`
    runs after every step (tests use it; it may raise or send a signal).
    """
    check_for_training(config)
    config = copy.deepcopy(config)
    world = distributed.join(config["train"]["device"])
    try:
        return Run(config, world, resume).train(callback)
    finally:
        distributed.leave(world)


class Run:
    """One training run: what `train` sets up, then the loop over steps."""

    def __init__(self, config: dict[str, Any], world: distributed.World, resume: str | Path | None) -> None:
        self.config, self.world = config, world
        train_cfg = config["train"]
        self.quiet = bool(train_cfg["quiet"]) or not world.main
        if train_cfg["tensorboard"] and world.main:
            summary_writer()  # a missing extra stops the run before any work
        # chosen now (a used --out fails before any work), created once everything is built
        base = "-".join(p for p in (config.get("model"), config.get("style")) if p) or "run"
        fresh = new_run_dir(train_cfg["out"], base) if world.main and not resume else None
        self.dir = Path(resume) if resume else distributed.broadcast(fresh, world)
        self.resuming = resume is not None and checkpoint.exists(self.dir)
        if resume is not None and not self.resuming:
            log.warning("%s holds no checkpoint yet; training starts from scratch there", self.dir)
        # the run's config before this resume, to record what the resume changed
        self.before = read_config(self.dir) if resume is not None and (self.dir / CONFIG_FILE).is_file() else None

        self.device = devices.choose_device(train_cfg["device"], world.local_rank)
        if int(train_cfg.get("threads", 0)) > 0:  # CPU threads; 0 leaves torch's default (one per core)
            torch.set_num_threads(int(train_cfg["threads"]))
        levers.keep_freed_memory()
        seed = int(train_cfg["seed"])
        seed_everything(seed)

        self.train_set = build_split(config["data"], "train")
        self.test_set = build_split(config["data"], "test")
        self.trainer = build_trainer(config, self.device)
        self.batch_size = int(train_cfg["batch_size"])
        self.sampler = distributed.ResumableSampler(self.train_set, world, seed)
        per_rank = math.ceil(len(self.train_set) / world.size)  # type: ignore[arg-type]
        self.steps_per_epoch = math.ceil(per_rank / self.batch_size)
        if train_cfg["steps"] > 0:
            self.total_steps = int(train_cfg["steps"])
        else:
            epochs = train_cfg["epochs"] or config["schedule"]["n_epochs"] + config["schedule"]["n_epochs_decay"]
            self.total_steps = int(epochs) * self.steps_per_epoch
        if self.total_steps <= 0:
            raise ConfigError("nothing to train: set train.steps or train.epochs (or the schedule's epochs) above 0")
        self.schedule = Schedule.from_config(
            config["schedule"], self.total_steps, self.steps_per_epoch, per_epoch=train_cfg["steps"] == 0
        )
        self.loader = DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=self.sampler,
            num_workers=int(config["data"]["workers"]),
            # its own generator: making an iterator must not draw from the global RNG (exact resume)
            generator=torch.Generator().manual_seed(seed),
            persistent_workers=False,
            pin_memory=self.device.type == "cuda",
        )

        self.fixed = fixed_batch(self.test_set, int(train_cfg["n_samples"]))
        self._plotted = time.monotonic()  # first drawn after PLOT_EVERY seconds, or at the end
        self._writing: concurrent.futures.Future[None] | None = None  # a checkpoint being written
        self.step = 0
        self.evals: list[dict[str, Any]] = []
        saved_rng = None
        if self.resuming:
            state, record = checkpoint.load(self.dir, "latest", self.device)
            self.step = int(record["step"])
            self.evals = list(record.get("evals", []))
            saved_rng = record["rng"]
            if self.step > self.total_steps:
                raise ConfigError(
                    f"{self.dir} is at step {self.step}, past the {self.total_steps} steps asked for; "
                    f"resume with --steps above {self.step} (or more --epochs)"
                )
        # rank 0 measures (or reads) the levers, every rank runs with them
        self.levers = distributed.broadcast(
            choose_for_training(config, self.trainer, self.train_set, self.batch_size, self.total_steps - self.step)
            if world.main else None, world)
        self.dtype, self.channels_last = self.levers.lever.dtype, self.levers.lever.channels_last
        self.levers.lever.apply()
        self.trainer.use_precision(self.dtype)
        self.trainer.use_channels_last(self.channels_last)
        if self.resuming:
            try:
                self.trainer.load_state_dict(state)
            except (RuntimeError, KeyError, ValueError) as e:
                raise CheckpointError(
                    f"{self.dir}: its checkpoint does not fit the model this config builds ({str(e).splitlines()[0]}); "
                    "resume with the run's own config.toml"
                ) from None
        self.bookkeeping = 0.0  # seconds of held-out evaluations, sample grids, plots and checkpoints
        if world.enabled:
            self.trainer.distribute(distributed.wrapper(self.device))
            # every rank its own noise (dropout, crops); rank 0 keeps the single-process stream
            if world.rank:
                seed_everything(seed + 1_000_003 * world.rank + self.step)
        if saved_rng is not None and world.main:
            set_rng_state(saved_rng)
        self.board: TensorBoardLog | None = None
        if world.main:
            self._write_config()
            if resume is not None:
                self._truncate_log()
            if train_cfg["tensorboard"]:
                self.board = TensorBoardLog(self.dir, self.step, read_log(self.dir / LOG_FILE))

    # --------------------------------------------------------------------------------------- the loop

    def train(self, callback: Callback | None = None) -> Path:
        """Run the steps from the current one to the last; returns the run directory."""
        train_cfg = self.config["train"]
        log_every = max(1, int(train_cfg["log_every"]))
        sample_every, checkpoint_every = int(train_cfg["sample_every"]), int(train_cfg["checkpoint_every"])
        keep_every = int(train_cfg["keep_every"])
        spe, total = self.steps_per_epoch, self.total_steps
        if self.world.main:
            log.info(
                "training %s (%s) on %s for %d steps (%.3g epochs of %d steps, batch %d x %d); %s; levers: %s; "
                "run directory %s",
                self.config["trainer"]["name"], self.config.get("style") or "custom data",
                devices.describe(self.device, self.dtype, self.channels_last), total, total / spe, spe,
                self.batch_size, self.world.size, self._data_line(), self.levers.line(), self.dir,
            )
        started = time.perf_counter()
        if self.step == 0 and self.world.main:
            self._timed(self._evaluate, 0)

        bar = make_bar(total, self.step, self.quiet)
        meter, epoch_meter, unchecked = Meter(), Meter(), Meter()
        batches = batches_ahead(self._batches())
        try:
            with batches, stop_on_signals() as stop, redirect_logging(bar):
                while self.step < total:
                    batch = next(batches)
                    self._timed(self._checkpoint_written)  # before the step changes what it is writing
                    tic = time.perf_counter()
                    losses, images = self._step(batch, callback)
                    for m in (meter, epoch_meter, unchecked):
                        m.add(losses, images, time.perf_counter() - tic)
                    bar.update()

                    epoch_done, last = self.step % spe == 0, self.step >= total
                    logs = self.step % log_every == 0 or last
                    samples = (sample_every > 0 and self.step % sample_every == 0) or (sample_every == 0 and epoch_done) or last
                    keep = keep_every > 0 and self.step % keep_every == 0
                    saves = (checkpoint_every > 0 and self.step % checkpoint_every == 0) or (
                        checkpoint_every == 0 and epoch_done) or last or keep
                    # the losses are read back (a GPU waited for) only when something is logged or saved
                    eventful = logs or samples or saves or epoch_done
                    interrupted = self._check(unchecked, stop.requested, eventful)
                    if eventful or interrupted:
                        unchecked = Meter()
                    lr = self.trainer.optimizers[next(iter(self.trainer.optimizers))].param_groups[0]["lr"]
                    if logs:
                        bar.set_postfix_str(f"{meter.postfix()} | {meter.rate():.1f} img/s", refresh=False)
                        if self.world.main:
                            self._log({"kind": "train", "step": self.step, "epoch": round(self.step / spe, 3),
                                       **meter.means(), "lr": lr, "images_per_s": meter.rate()})
                        meter = Meter()
                    if self.world.main and samples:
                        self._timed(self._evaluate, self.step // spe if epoch_done else None)
                    if saves or interrupted:
                        self._timed(self._checkpoint, keep)
                    if epoch_done and self.world.main:
                        log.info(self._epoch_line(epoch_meter, lr, time.perf_counter() - started))
                        epoch_meter = Meter()
                    if interrupted:
                        raise TrainingInterrupted(
                            f"interrupted at step {self.step}/{total}; checkpoint saved in {self.dir / 'checkpoints'}; "
                            f"continue with: translate train --resume {self.dir}"
                        )
        finally:
            bar.close()
            if self.world.main:
                self._timed(self._plot, True)  # while the last checkpoint is written
            self._timed(self._checkpoint_written)
            if self.board is not None:
                self.board.close()
        self._finish(time.perf_counter() - started)
        return self.dir

    def _batches(self) -> Iterator[dict[str, Any]]:
        """Training batches from the current step on, epoch after epoch; a resumed epoch skips what was already
        trained. The order of each epoch and every item's crop, flip and unpaired partner come from (seed, epoch,
        index) alone, so they are the same with any number of workers and after any resume."""
        seed = int(self.config["train"]["seed"])
        position = self.step  # the step whose batch comes next: may run ahead of the loop's own step (batches_ahead)
        while True:
            epoch = position // self.steps_per_epoch
            self.sampler.set_epoch(epoch)
            self.sampler.skip = (position - epoch * self.steps_per_epoch) * self.batch_size
            set_epoch = getattr(self.train_set, "set_epoch", None)
            if set_epoch is not None:
                set_epoch(epoch, seed)  # before the iterator is made: workers get the dataset as it is now
            # workers' own seeds (for a data set of the user's that draws from global generators) from (seed, epoch)
            self.loader.generator.manual_seed(seed * 1_000_003 + epoch)
            yield from self.loader
            position = (epoch + 1) * self.steps_per_epoch

    def _step(self, batch: dict[str, Any], callback: Callback | None) -> tuple[dict[str, float], int]:
        """One optimisation step at the scheduled rate; returns the losses and the images it used (all ranks)."""
        self.trainer.set_progress(self.step, self.total_steps, self.steps_per_epoch)
        set_lr(self.trainer.optimizers, self.schedule.factor(self.step))
        batch = batch_to_device(self.trainer.prepare(batch), self.device, self.channels_last)
        losses = self.trainer.step(batch)
        self.trainer.end_step()
        self.step += 1
        if callback is not None:
            callback(self.step, losses, self.trainer)
        return losses, batch_length(batch) * self.world.size

    def _check(self, unchecked: Meter, stop_requested: bool, eventful: bool) -> bool:
        """Raise if a loss counted in `unchecked` was not finite (on any rank); return whether any rank was asked to
        stop. Only at `eventful` steps (something is logged or saved), or at once for a stop in one process: reading
        the losses back, or asking the other ranks, makes the host wait for the device."""
        if not eventful and not (stop_requested and not self.world.enabled):
            return False
        bad = unchecked.nonfinite()
        interrupted, nonfinite = distributed.any_rank([stop_requested, bool(bad)], self.world, self.device)
        if nonfinite:
            raise self._nonfinite(bad, unchecked)
        return interrupted

    # ------------------------------------------------------------------------------------ the pieces

    def _nonfinite(self, bad: list[str], unchecked: Meter) -> TrainingError:
        latest = checkpoint.json_path(self.dir, "latest")
        kept = (
            f"the last good checkpoint (step {json.loads(latest.read_text())['step']}) is kept in {latest.parent}"
            if latest.is_file() else "no checkpoint was saved before it"
        )
        values = ", ".join(f"{k}={unchecked.means()[k]}" for k in bad) or "another rank's loss"
        steps = unchecked.counts[next(iter(unchecked.counts))] if unchecked.counts else 1
        where = f"at step {self.step}" if steps == 1 else f"in steps {self.step - steps + 1}-{self.step}"
        return TrainingError(
            f"non-finite loss {where}: {values}; {kept}. Lower optim.lr (now {self.config['optim']['lr']}), "
            f"use train.precision=fp32, or check the data"
        )

    def _timed(self, work: Callable[..., None], *args: Any) -> None:
        """Do bookkeeping (evaluate, save, plot), adding its time to what the run reports at the end."""
        tic = time.perf_counter()
        try:
            work(*args)
        finally:
            self.bookkeeping += time.perf_counter() - tic

    def _checkpoint(self, keep: bool) -> None:
        if self.world.enabled:
            distributed.sync_buffers(list(self.trainer.networks.values()), self.world)
        # every rank checks (their weights are the same), so all stop together
        for name, net in self.trainer.networks.items():
            for key, value in net.state_dict().items():
                if value.is_floating_point() and not torch.isfinite(value).all():
                    raise TrainingError(
                        f"network {name} has non-finite weights ({key}) at step {self.step}; not saved: the last good "
                        f"checkpoint in {self.dir / 'checkpoints'} is kept. Lower optim.lr (now {self.config['optim']['lr']})"
                    )
        if not self.world.main:
            return
        loop_state = {
            "step": self.step,
            "epoch": self.step / self.steps_per_epoch,
            "total_steps": self.total_steps,
            "evals": list(self.evals),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": self.config,
        }
        state, rng = self.trainer.state_dict(), rng_state()  # references: nothing changes them until it is written
        step, writing = self.step, concurrent.futures.Future[None]()

        def write() -> None:
            try:
                checkpoint.save(self.dir, "latest", state, loop_state, rng)
                if keep:
                    checkpoint.copy_tag(self.dir, "latest", f"step_{step:07d}")
                writing.set_result(None)
            except BaseException as e:  # handed to the loop's thread, which raises it
                writing.set_exception(e)

        # Written on a thread (safetensors lets go of the GIL), so that what comes next overlaps it: the last
        # checkpoint's second of writing and the loss plot's, say. The next step waits for it; the thread is not a
        # daemon, so the process never exits half-way through a write.
        self._checkpoint_written()
        self._writing = writing
        threading.Thread(target=write, name="translate-checkpoint").start()
        if self.board is not None:
            self.board.flush()

    def _checkpoint_written(self) -> None:
        """Wait for the checkpoint being written, if any; what went wrong writing it is raised here."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def _evaluate(self, epoch_done: int | None) -> None:
        """The trainer's held-out scores (by default the L1 of the test split's first 100), a sample grid, and the
        loss plot."""
        with isolated(self.trainer):
            scores = self.trainer.heldout(self.test_set, self.channels_last)
            columns = self.trainer.sample(batch_to_device(self.fixed, self.device, self.channels_last))
        key, words = self.trainer.heldout_metric
        record = {"kind": "eval", "step": self.step, "epoch": round(self.step / self.steps_per_epoch, 3), **scores}
        self.evals.append({"step": self.step, key: scores[key]})
        self._log(record)
        grid = sample_grid(columns)
        name = f"epoch_{epoch_done:03d}.png" if epoch_done is not None else f"step_{self.step:07d}.png"
        save_image(grid, self.dir / SAMPLES / name)
        save_image(grid, self.dir / SAMPLES / "latest.png")
        if self.board is not None:
            self.board.image(grid, self.step)
        self._plot()
        if self.step == 0:
            log.info("%s of the untrained model: %.4f", words, scores[key])

    def _plot(self, force: bool = False) -> None:
        """Redraw loss.png: at most every PLOT_EVERY seconds (a plot takes about a second), or when forced."""
        if force or time.monotonic() - self._plotted >= PLOT_EVERY:
            plot_losses(read_log(self.dir / LOG_FILE), self.dir / LOSS_PLOT, title=self.dir.name)
            self._plotted = time.monotonic()

    def _log(self, record: dict[str, Any]) -> None:
        record["time"] = round(time.time(), 3)
        with open(self.dir / LOG_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.board is not None:
            self.board.record(record)

    def _truncate_log(self) -> None:
        """Drop log records past the checkpoint: those steps are about to be trained again (from scratch, with
        no checkpoint, the held-out evaluation of step 0 too)."""
        path = self.dir / LOG_FILE
        if not path.exists():
            return
        records = [r for r in read_log(path) if 0 < self.step and r.get("step", 0) <= self.step]

        write_text(path, "".join(json.dumps(r) + "\n" for r in records))

    def _epoch_line(self, meter: Meter, lr: float, elapsed: float) -> str:
        epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        key, words = self.trainer.heldout_metric
        heldout = f" | {words} {self.evals[-1][key]:.4f}" if self.evals and self.evals[-1]["step"] == self.step else ""
        return (
            f"epoch {self.step // self.steps_per_epoch}/{epochs} (step {self.step}/{self.total_steps}): "
            f"{meter.postfix()}{heldout} | {meter.rate():.1f} img/s | lr {lr:.2e} | {format_seconds(elapsed)}"
        )

    def _finish(self, elapsed: float) -> None:
        if not self.world.main:
            return
        key, words = self.trainer.heldout_metric
        first = next((e[key] for e in self.evals if e["step"] == 0), None)
        last = self.evals[-1][key] if self.evals else None
        change = f"; {words} {first:.4f} -> {last:.4f}" if first is not None and last is not None else ""
        log.info("done: step %d in %s%s; held-out evaluations, sample grids and checkpoints took %s (%.1f%% of the "
                 "run); run directory %s", self.step, format_seconds(elapsed), change, format_seconds(self.bookkeeping),
                 100 * self.bookkeeping / max(elapsed, 1e-9), self.dir)

    def _data_line(self) -> str:
        data = self.config["data"]
        where = describe_data(data, self.train_set)
        ahead = "made ahead on a spare core" if spare_cores() else "made in turn (no spare core)"
        held_out = held_out_size(data)
        size = f"{data['crop_size']} px" if held_out == data["crop_size"] else \
            f"{data['crop_size']} px crops of {data['load_size']} px, held out at {held_out} px"
        return (f"data {where}: {len(self.train_set)} train, {len(self.test_set)} held-out, {size}, "  # type: ignore[arg-type]
                f"batches {ahead}")

    def _write_config(self) -> None:
        (self.dir / SAMPLES).mkdir(parents=True, exist_ok=True)
        (self.dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        config = copy.deepcopy(self.config)
        config["train"]["out"] = str(self.dir)
        header = [f"written by 'translate train' on {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
                  f"ran on: {devices.describe(self.device, self.dtype, self.channels_last)}"
                  + (f" x {self.world.size} processes" if self.world.enabled else ""),
                  f"levers: {self.levers.line()}",
                  f"data: {describe_data(self.config['data'], self.train_set)}"]
        for table, values in self.trainer.resolved.items():
            for key, value in values.items():
                if key in DEFAULTS.get(table, {}):
                    config[table][key] = value
                header.append(f"{table}.{key} resolved to: {value}")
        config.pop(RESUMES, None)
        if self.before is not None:
            # each resume is kept: the step it resumed at, when, and the keys it changed
            changes = resume_changes(from_run(self.before), config)
            changes.pop("train.out", None)
            config[RESUMES] = [*self.before.get(RESUMES, []), {
                "step": self.step,
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "changed": describe_changes(changes),
            }]
        write_config(self.dir, config, "\n".join(header))
