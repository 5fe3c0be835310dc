"""Speed levers chosen by measurement: autocast precision, memory format and, on CUDA, cudnn.benchmark.

"auto" does not guess from a table. The first time a job (a model family at a size and batch) runs on a
machine (its CPU model and flags, or its GPU, its thread count, torch's version), a probe times a few calls of
the job's actual networks in fp32 and under each lever the device has, checks that every lever's results agree
with fp32's, keeps the fastest that agrees and is clearly faster (fp32 where none is), and caches that decision
with its figures in the user cache (`levers.json`). Later runs read the decision; explicit settings win and are
not measured. The probes themselves live beside what they run: `translate.trainers.probe` (training steps) and
`translate.inference.probe` (a generator's forward). `translate benchmark --levers` measures afresh and prints
the table.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from translate.device import device_kind
from translate.errors import ConfigError
from translate.files import home, write_json

log = logging.getLogger("translate")

CACHE_FILE = "levers.json"
MIN_GAIN = 1.05  # a lever must beat fp32 by this much: smaller gains are within the noise of a shared machine
GIVE_UP = 2.0  # a lever whose first timed call is this much slower than fp32's median is not timed further
NUDGE = 1e-3  # how far a probe's nudged start is from the baseline's: each weight times 1 + NUDGE * N(0, 1)
NOISE_MARGIN = 2.0  # a lever's results may differ from fp32's up to this many times fp32's own from a nudged start
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Lever:
    """One way to run the networks: autocast dtype ("fp32" for none), memory format, cudnn autotuning."""

    precision: str = "fp32"
    channels_last: bool = False
    cudnn_benchmark: bool = False

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: plain fp32)."""
        return PRECISIONS[self.precision]

    @property
    def name(self) -> str:
        """'fp32', 'bf16 + channels-last', 'fp16 + channels-last + cudnn.benchmark'."""
        return " + ".join([self.precision] + ["channels-last"] * self.channels_last
                          + ["cudnn.benchmark"] * self.cudnn_benchmark)

    def apply(self) -> None:
        """Set the process-wide part of the lever (cudnn's autotuner)."""
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = self.cudnn_benchmark


FP32 = Lever()


@dataclass
class Trial:
    """A lever's measurement: median seconds per call, how far its results were from fp32's, and the verdict."""

    lever: Lever
    seconds: float
    calls: int
    difference: float  # inference: mean |output - fp32's| in 0-255 levels; training: largest relative loss gap
    accepted: bool
    note: str = ""


@dataclass
class Choice:
    """The lever a job runs with and why, with the trials it was chosen from (none when it was set)."""

    lever: Lever
    why: str
    trials: list[Trial] = field(default_factory=list)

    def line(self) -> str:
        """'bf16 + channels-last (measured ...: 2.31x fp32)' for logs and config.toml."""
        return f"{self.lever.name} ({self.why})"


# ------------------------------------------------------------------------------------------ candidates


def candidates(device: torch.device, precision: str, channels_last: str) -> list[Lever]:
    """The levers to try for the settings, fp32 (or the one set precision) first.

    auto precision tries bf16 on every CPU (measured, not assumed: emulated bf16 loses and is dropped after one
    call), and fp16 and bf16 autocast on CUDA; auto channels-last tries both memory formats; CUDA also tries
    cudnn.benchmark. An explicit setting fixes its dimension.
    """
    if precision == "auto":
        precisions = ["fp32", "bf16"]
        if device.type == "cuda":
            precisions = ["fp32", "fp16"] + ["bf16"] * (device_kind(device) == "cuda-bf16")
        elif device.type == "mps":
            precisions = ["fp32"]
    else:
        precisions = [checked_precision(precision, device)]
    formats = {"auto": [False, True], "off": [False], "on": [True]}.get(channels_last)
    if formats is None:
        raise ConfigError(f"channels_last '{channels_last}': use auto, on or off")
    tunings = [False, True] if device.type == "cuda" else [False]
    return [Lever(p, f, t) for p in precisions for f in formats for t in tunings]


def checked_precision(precision: str, device: torch.device) -> str:
    """An explicit precision setting, checked against the device (a warning where it is emulated and slow)."""
    kind = device_kind(device)
    if precision == "bf16":
        if device.type == "cuda" and kind != "cuda-bf16":
            raise ConfigError("precision 'bf16': this GPU has no bf16 support; use fp16, fp32 or auto")
        if kind == "cpu":
            log.warning("bf16 autocast on a CPU without AMX or AVX512-BF16 is emulated and slow; auto measures it")
    elif precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision 'fp16' needs a CUDA GPU; on the CPU use bf16, fp32 or auto")
    elif precision not in PRECISIONS:
        raise ConfigError(f"precision '{precision}': use auto, fp32, bf16 or fp16")
    return precision


# ---------------------------------------------------------------------------------------- measurement


Probe = Callable[[Lever], Callable[[], Any]]
Compare = Callable[[Any, Any], float]
Check = Callable[[Any, Any], str]
Nudged = Callable[[], Callable[[], Any]]  # the baseline's probe from a nudged start


def measure(levers: list[Lever], probe: Probe, compare: Compare, tolerance: float, calls: int = 3,
            clock: Callable[[], float] = time.perf_counter, skip: dict[str, str] | None = None,
            check: Check | None = None, nudged: Nudged | None = None) -> list[Trial]:
    """Time `calls` calls (after one warm-up) of `probe(lever)()` for each lever, the first being the baseline.

    `probe(lever)` sets a job up under the lever and returns the call to time, which returns its results;
    `compare(baseline results, results)` is their difference, accepted up to `tolerance`. A lever whose warm-up
    or first timed call is GIVE_UP times slower than the baseline's is not timed further, nor are the other
    memory formats of its precision when that happens in the first format tried. `skip`: precisions not to
    try at all, with the reason (the screen found them far slower).

    `check(baseline results, results)`: why a lever's results cannot be right whatever their difference ("" when
    they can). `nudged()`: the baseline set up again from a start nudged by a rounding's worth, for jobs whose
    results drift apart by themselves (a GAN's losses after a few steps): a faster lever whose difference is over
    `tolerance` is still accepted within NOISE_MARGIN times the nudged baseline's own difference, which is
    measured (untimed, as many calls as the baseline's) the first time it is needed.
    """
    trials: list[Trial] = []
    baseline_s, baseline_warmup, baseline_out = 0.0, 0.0, None
    given_up: set[str] = set()
    drift: list[float] = []  # the nudged baseline's difference, once measured
    for lever in levers:
        if trials and lever.precision in (skip or {}):
            trials.append(Trial(lever, math.nan, 0, math.nan, False, f"not tried: {(skip or {})[lever.precision]}"))
            continue
        if lever.precision in given_up:
            trials.append(Trial(lever, math.nan, 0, math.nan, False, f"not tried: {lever.precision} was too slow"))
            continue
        run = probe(lever)
        warmup, out = timed(run, clock)  # the warm-up: one-time set-up (kernels, caches) is not the lever's speed...
        # ...but one GIVE_UP times slower than the baseline's says enough (emulated bf16), as does a first call
        slow = bool(trials) and warmup > GIVE_UP * baseline_warmup
        times = [warmup] if slow else []
        while not slow and len(times) < calls:
            seconds, out = timed(run, clock)
            times.append(seconds)
            slow = bool(trials) and times[0] > GIVE_UP * baseline_s
        seconds = statistics.median(times)
        if not trials:
            baseline_s, baseline_warmup, baseline_out = seconds, warmup, out
            trials.append(Trial(lever, seconds, len(times), 0.0, True, "baseline"))
            continue
        if slow:
            given_up.add(lever.precision)
            trials.append(Trial(lever, seconds, len(times), math.nan, False,
                                f"{baseline_s / seconds:.2f}x: stopped after {len(times)} call{'s' * (len(times) > 1)}"))
            continue
        difference = compare(baseline_out, out)
        note = check(baseline_out, out) if check is not None else ""
        agrees = not note and difference <= tolerance
        if not note and not agrees:
            note = f"results differ from {levers[0].name}'s ({difference:.3g} > {tolerance})"
            if nudged is not None and baseline_s / seconds >= MIN_GAIN:  # only a lever that could win is worth it
                if not drift:
                    run = nudged()
                    for _ in range(trials[0].calls + 1):  # the warm-up and the timed calls, as the baseline ran
                        nudged_out = run()
                    drift.append(compare(baseline_out, nudged_out))
                agrees = difference <= NOISE_MARGIN * drift[0]
                relation = "<=" if agrees else ">"
                note = (f"{'within' if agrees else 'beyond'} {levers[0].name}'s own drift: {difference:.3g} {relation} "
                        f"{NOISE_MARGIN:g} x {drift[0]:.3g}, its difference from a start nudged by {NUDGE:g}")
        trials.append(Trial(lever, seconds, len(times), difference, agrees, note))
    return trials


def timed(call: Callable[[], Any], clock: Callable[[], float]) -> tuple[float, Any]:
    tic = clock()
    out = call()
    return clock() - tic, out


def choose(trials: list[Trial]) -> tuple[Lever, str]:
    """The fastest accepted lever that beats the baseline by MIN_GAIN, else the baseline; and a reason."""
    baseline = trials[0]
    best = min((t for t in trials[1:] if t.accepted), key=lambda t: t.seconds, default=None)
    if best is not None and baseline.seconds / best.seconds >= MIN_GAIN:
        return best.lever, f"{baseline.seconds / best.seconds:.2f}x {baseline.lever.name}"
    return baseline.lever, "nothing measured faster"


def screen(device: torch.device, precisions: list[str], clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """How many times slower than fp32 a 3x3 convolution (64 channels, 64 px, forward and backward) runs under each
    autocast precision here. Milliseconds that spare a probe of minutes where a precision is only emulated (bf16
    on an AVX2 CPU: a 256 px CycleGAN step goes from seconds to minutes)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 64, 64, 64, generator=generator).to(device)
    weight = torch.randn(64, 64, 3, 3, generator=generator).to(device).requires_grad_()

    def seconds(dtype: torch.dtype | None) -> float:
        def call() -> None:
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                y = torch.nn.functional.conv2d(x, weight, padding=1)
            y.float().sum().backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        call()
        return statistics.median(timed(call, clock)[0] for _ in range(3))

    base = seconds(None)
    return {p: seconds(PRECISIONS[p]) / max(base, 1e-9) for p in precisions if p != "fp32"}


_MALLOC_TUNED = False
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit machines


def keep_freed_memory() -> bool:
    """Have glibc keep freed blocks of up to 32 MB for reuse instead of handing them back to the system.

    By default it returns large freed blocks (an activation, a weight gradient) with munmap, and the next step
    faults the same memory back in page by page: a sixth of a 256 px pix2pix step's CPU time on 2 cores went to
    the kernel. Once per process, glibc only (elsewhere nothing is done); returns whether it was set.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1
    except (OSError, AttributeError):
        return False
    _MALLOC_TUNED = ok
    return ok


# ------------------------------------------------------------------------------------ machine and cache


def machine(device: torch.device) -> str:
    """What a decision depends on besides the job: CPU model and flags (or the GPU), threads, torch's version."""
    if device.type == "cuda":
        where = f"{torch.cuda.get_device_name(device)} (sm {'.'.join(map(str, torch.cuda.get_device_capability(device)))})"
    else:
        model, flags = cpu_model_and_flags()
        where = f"{model} [{' '.join(f for f in CPU_FLAGS if f in flags) or 'no avx2'}] {torch.get_num_threads()} threads"
    return f"{where}; torch {torch.__version__}"


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags from /proc/cpuinfo (elsewhere: platform's name, torch's capability)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), {torch.backends.cpu.get_cpu_capability().lower()}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name", platform.machine()), set(fields.get("flags", "").split())


def compact(obj: Any) -> str:
    """A config table as one canonical line, for the job part of a cache key."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def cache_path() -> Path:
    return home() / CACHE_FILE


def cached(key: str) -> Choice | None:
    """The decision stored under `key`, if any (a damaged cache is ignored, with a warning)."""
    path = cache_path()
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8")).get(key)
        if record is None:
            return None
        return Choice(Lever(**record["lever"]), record["why"],
                      [Trial(Lever(**t.pop("lever")), **t) for t in record.get("trials", [])])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        log.warning("ignoring the damaged lever cache %s (%s); it is rewritten on the next measurement", path, e)
        return None


def store(key: str, choice: Choice) -> None:
    """Keep a decision under `key` (other keys' decisions stay)."""
    path = cache_path()
    try:
        records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        if not isinstance(records, dict):
            records = {}
    except (OSError, ValueError):
        records = {}
    records[key] = {"lever": asdict(choice.lever), "why": choice.why,
                    "trials": [{**asdict(t), "lever": asdict(t.lever)} for t in choice.trials]}
    try:
        os.makedirs(path.parent, exist_ok=True)
        write_json(path, records)
    except OSError as e:
        log.warning("could not cache the lever decision in %s (%s); it will be measured again", path, e)


# ------------------------------------------------------------------------------------------ the chooser


def resolve(device: torch.device, precision: str, channels_last: str, job: str, probe: Probe | None = None,
            compare: Compare | None = None, tolerance: float = 0.0, *, measure_now: bool = False,
            remeasure: bool = False, check: Check | None = None,
            nudged: Nudged | None = None) -> Choice:
    """The lever for a job: the one set, the cached decision, or one measured now with `probe` (and cached).

    `job` names what is measured (model family, size, batch); `measure_now` False (a job too short to pay for a
    measurement) falls back to fp32 when nothing is cached. `remeasure` ignores the cache. `check` and `nudged`:
    see `measure`.
    """
    levers = candidates(device, precision, channels_last)
    if len(levers) == 1:
        return Choice(levers[0], "as set")
    key = f"{machine(device)} | {job} | precision {precision}, channels_last {channels_last}"
    found = None if remeasure else cached(key)
    if found is not None:
        return Choice(found.lever, f"{found.why}; cached in {cache_path()}", found.trials)
    if not measure_now or probe is None or compare is None:
        return Choice(levers[0], "not measured yet on this machine; too short a job to pay for measuring; "
                                 "`translate benchmark --levers` measures it")
    started = datetime.now(timezone.utc)
    slowdowns = screen(device, sorted({lever.precision for lever in levers}))
    skip = {p: f"a {p} convolution ran {ratio:.1f}x slower than fp32's here" for p, ratio in slowdowns.items()
            if ratio > GIVE_UP}
    trials = measure(levers, probe, compare, tolerance, skip=skip, check=check, nudged=nudged)
    lever, why = choose(trials)
    choice = Choice(lever, f"measured {started:%Y-%m-%d %H:%M} UTC: {why}", trials)
    store(key, choice)
    return choice


def table(trials: list[Trial]) -> str:
    """A markdown table of trials: lever, ms per call, speed against the first (the baseline), how far its results
    were from the baseline's (inference: mean 0-255 levels; training: largest relative loss gap), verdict."""
    rows = ["| lever | ms/call | vs first | difference | verdict |", "|---|---:|---:|---:|---|"]
    base = trials[0].seconds if trials else 0.0
    for t in trials:
        ms = "-" if t.seconds != t.seconds else f"{t.seconds * 1000:.1f}"
        ratio = "-" if t.seconds != t.seconds else f"{base / t.seconds:.2f}x"
        diff = "-" if t.difference != t.difference else f"{t.difference:.3g}"
        verdict = ("ok" if t.accepted else "rejected") + (f": {t.note}" if t.note else "")
        rows.append(f"| {t.lever.name} | {ms} | {ratio} | {diff} | {verdict} |")
    return "\n".join(rows)
