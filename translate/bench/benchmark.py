"""`translate benchmark`: speed and quality tables over model / style / generator / discriminator combinations.

    benchmark("bench/out", models=["pix2pix", "cyclegan"], sizes=[128, 256], assignments=["generator.width=16"])

Speed (translate.bench.speed): per combination and image size, parameters, MACs, training steps/s and
images/s, inference images/s, peak memory and the share of the machine's matmul peak reached, all measured
in one process so that the ratios between rows mean something. Quality (translate.bench.quality): each
combination trained for the same number of steps on the same style with the one training loop, then scored
with translate.evaluation.evaluate; a comparison grid and a plot of held-out L1 against training time.

Writes OUT/report.md, OUT/report.json, OUT/grid_<style>.png, OUT/quality.png and OUT/runs/. A benchmark
TOML file (benchmarks/*.toml) holds a [benchmark] table of `Options` and any config tables ([generator],
[data], ...), which are layered over every combination's config like `translate train --config`.

Variants (translate.bench.variants): named rows that differ by config assignments, listed in the file as
`[[benchmark.variants]]` tables with `name`, `set = ["KEY=VALUE", ...]` (applied after --set) and optionally
`test_size` (scored on held-out images of that size, e.g. twice the training crop). Every combination is run
once per variant and its row labelled by the variant's name (prefixed by the combination's label when there are
several); variants whose configs come out the same share one training run and differ only in how they are scored.
The FCN-score columns (per-pixel accuracy, per-class accuracy, class IoU) appear wherever the style has them
(labels2photo on the scenes world), with the judge's score of the true photos under the table.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import platform
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import torch

from translate.bench.quality import quality_markdown, quality_table
from translate.bench.speed import machine_peaks, measure_speed, memory_method, speed_markdown
from translate.bench.variants import Variant, read_variants
from translate.config import (
    assignments_to_table,
    check_layer,
    check_parts,
    check_values,
    merge,
    preset_names,
    read_preset,
    read_toml,
    resolve,
    translating_models,
)
from translate.device import choose_device, describe, device_kind
from translate.errors import ConfigError, TranslateError, did_you_mean, unknown_message
from translate.files import write_json, write_text
from translate.registry import DISCRIMINATORS, GENERATORS, registry

log = logging.getLogger("translate")

TABLES = ("speed", "quality")


@dataclass
class Options:
    """What a benchmark measures; the [benchmark] table of a benchmark TOML file holds the same keys."""

    tables: list[str] = field(default_factory=lambda: list(TABLES))  # speed, quality or both
    models: list[str] = field(default_factory=list)  # model presets; empty: all of configs/models/
    styles: list[str] = field(default_factory=list)  # speed: empty = noise images; quality: empty = natural style
    generators: list[str] = field(default_factory=list)  # swapped in; empty: each model's own
    discriminators: list[str] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)  # named rows ([[benchmark.variants]]); empty: none
    device: str = "auto"
    seed: int = 0
    # speed
    sizes: list[int] = field(default_factory=lambda: [128, 256])
    batch_size: int = 1  # images per training step and per inference call
    warmup: int = 2  # untimed calls before timing
    repeats: int = 5  # timed calls; the median is reported
    matmul_size: int = 2048  # n of the n x n fp32 matmul that measures the machine's peak
    # quality
    steps: int = 300  # training steps per combination
    quality_size: int = 0  # training and test crop size; 0: each style's own
    evals: int = 10  # held-out L1 evaluations along each run (the curves of the plot)
    limit: int = 50  # test images scored at the end
    grid_images: int = 4  # rows of the comparison grid
    fid: bool = False  # FID/KID too (needs Inception weights on this machine; slow on a CPU)


@dataclass(frozen=True)
class Combo:
    """One row: a model preset, a style (None: none), and the generator and discriminator it trains."""

    model: str
    style: str | None
    generator: str
    discriminator: str
    swapped: tuple[bool, bool] = (False, False)  # whether G, D differ from the model's own
    name: str = ""  # a variant's row label ("" when the benchmark has no variants)
    test_size: int = 0  # the size it is scored at; 0: its run's own held-out size

    @property
    def label(self) -> str:
        """'pix2pix', or 'pix2pix G=resnet' when a part was swapped in; a variant's name when it is one."""
        if self.name:
            return self.name
        parts = [self.model]
        parts += [f"G={self.generator}"] if self.swapped[0] else []
        parts += [f"D={self.discriminator}"] if self.swapped[1] else []
        return " ".join(parts)

    @property
    def slug(self) -> str:
        """A folder name: model-style-generator-discriminator[-variant]."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join([self.model, self.style or "noise", self.generator,
                                                         self.discriminator, *[self.name][:bool(self.name)]]))


# ------------------------------------------------------------------------------------------- options


def read_bench_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A benchmark TOML file: its [benchmark] table (checked against Options) and the config layer (the rest)."""
    table = read_toml(path, "benchmark config")
    options = table.pop("benchmark", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{path}: 'benchmark' must be a table ([benchmark])")
    known = [f.name for f in fields(Options)]
    for key in options:
        if key not in known:
            raise ConfigError(f"unknown key 'benchmark.{key}' in {path}{did_you_mean(key, known)} "
                              f"known: {', '.join(known)}")
    return options, table


def make_options(file_options: dict[str, Any], given: dict[str, Any]) -> Options:
    """Options: defaults < the file's [benchmark] table < what the caller gave (None and empty lists skipped)."""
    merged = {**file_options, **{k: v for k, v in given.items() if v is not None and v != [] and v != ()}}
    options = Options()
    for f in fields(Options):
        if f.name in merged:
            value, default = merged[f.name], getattr(options, f.name)
            if f.name == "variants":
                value = read_variants(value)
            elif isinstance(default, list):
                value = split_list(value)
                value = [int(v) for v in value] if f.name == "sizes" else [str(v) for v in value]
            elif type(default) is not type(value) and not (isinstance(default, float) and isinstance(value, int)):
                raise ConfigError(f"benchmark.{f.name} must be {type(default).__name__}, got {value!r}")
            setattr(options, f.name, value)
    check_options(options)
    return options


def split_list(value: Any) -> list[Any]:
    """'a,b' or ['a,b', 'c'] or ('a',) -> ['a', 'b', 'c']; a list of numbers stays as it is."""
    items = [value] if isinstance(value, (str, int)) else list(value)
    out: list[Any] = []
    for item in items:
        out += [s.strip() for s in item.split(",") if s.strip()] if isinstance(item, str) else [item]
    return out


def check_options(options: Options) -> None:
    """Refuse unknown names (with the closest known one) and impossible numbers, before any work."""
    for table in options.tables:
        if table not in TABLES:
            raise ConfigError(unknown_message("benchmark table", table, list(TABLES)))
    for name in options.models:
        if name in preset_names("models") and name not in translating_models():
            raise ConfigError(f"model '{name}' draws images for labels rather than translating them; benchmark measures "
                              f"the translation models: {', '.join(translating_models())}")
    for what, names, known in (
        ("model", options.models, translating_models()),
        ("style", options.styles, preset_names("styles")),
        ("generator", options.generators, GENERATORS.names()),
        ("discriminator", options.discriminators, DISCRIMINATORS.names()),
    ):
        for name in names:
            if name not in known:
                raise ConfigError(unknown_message(what, name, known))
    for name in options.generators:
        if not GENERATORS.entry(name).trainable:
            raise ConfigError(f"generator '{name}' is a baseline with nothing to train; score it with "
                              f"'translate eval {name} --style STYLE' instead")
    try:
        sizes_ok = all(int(s) >= 8 for s in options.sizes)
    except (TypeError, ValueError):
        sizes_ok = False
    if not sizes_ok:
        raise ConfigError(f"sizes {options.sizes}: image sizes are whole numbers of pixels, 8 or more")
    for key in ("batch_size", "repeats", "matmul_size", "steps", "evals", "limit", "grid_images"):
        if getattr(options, key) < 1:
            raise ConfigError(f"benchmark.{key} = {getattr(options, key)}: use 1 or more")
    if options.warmup < 0 or options.quality_size < 0:
        raise ConfigError("benchmark.warmup and benchmark.quality_size must be 0 or more")


# ------------------------------------------------------------------------------------- combinations


def natural_style(model: str) -> str:
    """The style a model is benchmarked on when none is given: coloring for paired models, shinkai for unpaired."""
    return "shinkai" if read_preset("models", model).get("data", {}).get("layout") == "unpaired" else "coloring"


def combo_config(model: str, style: str | None, generator: str | None, discriminator: str | None,
                 layer: dict[str, Any], assignments: Iterable[str] = ()) -> dict[str, Any]:
    """The resolved config of one combination: model < style < layer < --set, with the parts swapped in.

    A swapped-in part keeps the keywords of the model's part that it also takes (width, norm, dropout), as the
    reference's --netG does. Part keywords from the layer or --set go to every part that takes them (n_blocks
    to a ResNet, not to a U-Net); one that no registered part of the kind takes is an error.
    """
    assignments = list(assignments)
    parts = ("generator", "discriminator")
    own = [a for a in assignments if a.split("=", 1)[0].split(".")[0] not in parts]
    part_layer = merge({k: v for k, v in layer.items() if k in parts},
                       assignments_to_table([a for a in assignments if a not in own]))
    check_layer(part_layer, "the benchmark's part settings")
    base = {k: v for k, v in layer.items() if k not in parts}
    config = resolve(model, style, overrides=copy.deepcopy(base), assignments=own)
    for part, swap in zip(parts, (generator, discriminator)):
        settings = dict(part_layer.get(part, {}))
        name = swap or settings.pop("name", None) or config[part]["name"]
        settings.pop("name", None)
        reg = registry(part)
        takes = reg.entry(name).keywords(settable_only=True)
        table = config[part] if name == config[part]["name"] else {"name": name, **{
            k: v for k, v in config[part].items() if k != "name" and (takes is None or k in takes)}}
        for key, value in settings.items():
            anywhere = {k for e in reg for k in (e.keywords(settable_only=True) or [key])}
            if key not in anywhere:
                raise ConfigError(f"no {part} takes '{part}.{key}'{did_you_mean(key, sorted(anywhere), f'{part}.')}")
            if takes is None or key in takes:
                table[key] = value
        config[part] = table
    check_parts(config)
    check_values(config)
    return config


def combinations(options: Options, table: str, layer: dict[str, Any],
                 assignments: Iterable[str] = ()) -> list[tuple[Combo, dict[str, Any]]]:
    """Every (combination, config) a table measures, in order, without duplicates; the first is the reference.

    With variants, each combination once per variant, its `set` after `assignments`.
    """
    assignments = list(assignments)
    bases = [(model, style, g, d) for model in options.models or translating_models()
             for style in (list(options.styles) or [None if table == "speed" else natural_style(model)])
             for g, d in itertools.product(options.generators or [None], options.discriminators or [None])]
    seen, out = set(), []
    for (model, style, g, d), variant in itertools.product(bases, options.variants or [Variant("")]):
        try:
            config = combo_config(model, style, g, d, layer, [*assignments, *variant.set])
            own = combo_config(model, style, None, None, layer, [*assignments, *variant.set]) if g or d else config
        except TranslateError as e:
            if not variant.name:
                raise
            raise ConfigError(f"variant '{variant.name}': {e}") from None
        gname, dname = config["generator"]["name"], config["discriminator"]["name"]
        combo = Combo(model, style, gname, dname, (gname != own["generator"]["name"],
                                                   dname != own["discriminator"]["name"]))
        if variant.name:
            combo = replace(combo, name=f"{combo.label} {variant.name}" if len(bases) > 1 else variant.name,
                            test_size=variant.test_size)
        key = (model, style, gname, dname, combo.name)
        if key not in seen:
            seen.add(key)
            out.append((combo, config))
    return out


# -------------------------------------------------------------------------------------------- the run


def machine(device: Any) -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "device": describe(device, None, False).rsplit(", ", 2)[0],
        "device_kind": device_kind(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def benchmark(
    out: str | Path,
    *,
    config_file: str | Path | None = None,
    assignments: Iterable[str] = (),
    overwrite: bool = False,
    **given: Any,
) -> dict[str, Any]:
    """Run the benchmark and write its report into `out`; returns the report (also OUT/report.json).

    `given` holds any `Options` field (models, styles, generators, discriminators, sizes, tables, steps, ...)
    over the file's [benchmark] table; `assignments` are --set KEY=VALUE overrides for every combination.
    """
    unknown = set(given) - {f.name for f in fields(Options)}
    if unknown:
        raise TypeError(f"benchmark() got unknown options {sorted(unknown)}")
    file_options, layer = read_bench_file(config_file) if config_file else ({}, {})
    options = make_options(file_options, given)
    assignments = list(assignments)
    out = Path(out)
    runs = out / "runs"
    if "quality" in options.tables and runs.is_dir() and any(runs.iterdir()) and not overwrite:
        raise ConfigError(f"{out} already holds benchmark runs; pass another --out, or --overwrite to replace them")
    plans = {table: combinations(options, table, layer, assignments) for table in options.tables}
    device = choose_device(options.device)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "options": asdict(options),
        "config_file": str(config_file) if config_file else None,
        "set": assignments,
        "machine": machine(device),
    }
    started = time.perf_counter()
    if "speed" in plans:
        log.info("measuring this machine's matmul peak (%d x %d fp32)", options.matmul_size, options.matmul_size)
        report["peak"] = machine_peaks(device, options.matmul_size, options.warmup, options.repeats)
        report["memory_method"] = memory_method(device)
        report["speed"] = speed_rows(plans["speed"], options, device)
        # The peak again at the end: on a shared machine either may be depressed; the larger is the ceiling.
        again = machine_peaks(device, options.matmul_size, options.warmup, options.repeats)
        peak = report["peak"]
        peak["fp32_flops_start"], peak["fp32_flops_end"] = peak["fp32_flops"], again["fp32_flops"]
        peak["fp32_flops"] = max(peak["fp32_flops"], again["fp32_flops"])
        for row in report["speed"]:
            if "step_s" in row:
                row["train_peak_fraction"] = row["train_flops_per_s"] / peak["fp32_flops"]
                row["infer_peak_fraction"] = row["infer_flops_per_s"] / peak["fp32_flops"]
    if "quality" in plans:
        if overwrite and runs.is_dir():
            shutil.rmtree(runs)
        report["quality"] = quality_table(plans["quality"], options, out, device)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_end"] = machine(device)["load_average"]
    write_report(report, out)
    return report


def speed_rows(plan: list[tuple[Combo, dict[str, Any]]], options: Options, device: Any) -> list[dict[str, Any]]:
    """The speed table: a row per combination and size; ratios are to the first row of the same size."""
    rows: list[dict[str, Any]] = []
    todo = [(combo, config, size) for size in options.sizes for combo, config in plan]
    # An unreported first step primes the libraries' one-time set-up (thread pools, kernel caches, lazy
    # imports), which would otherwise count in the first row's time and memory.
    for _, config, size in todo[:1]:
        config = copy.deepcopy(config)
        config["data"].update(crop_size=min(options.sizes), load_size=min(options.sizes))
        try:
            measure_speed(config, min(options.sizes), device, warmup=0, repeats=1, seed=options.seed)
        except ConfigError:
            pass
    for i, (combo, config, size) in enumerate(todo, 1):
        row: dict[str, Any] = {"label": combo.label, **asdict(combo)}
        log.info("speed %d/%d: %s%s at %d px", i, len(todo), combo.label, f" on {combo.style}" if combo.style else "",
                 size)
        config = copy.deepcopy(config)
        config["data"].update(crop_size=size, load_size=size)
        try:
            row.update(measure_speed(config, size, device, batch_size=options.batch_size, warmup=options.warmup,
                                     repeats=options.repeats, seed=options.seed))
        except ConfigError as e:  # a combination that cannot train (pix2pix on unpaired data)
            log.warning("skipped %s: %s", combo.label, e)
            rows.append({**row, "size": size, "skipped": str(e)})
            continue
        reference = next((r for r in rows if r["size"] == size and "step_s" in r), None)
        row["step_ratio"] = row["step_s"] / reference["step_s"] if reference else 1.0
        row["infer_ratio"] = row["infer_s"] / reference["infer_s"] if reference else 1.0
        rows.append(row)
        log.info("  %.3g steps/s (%.3g GFLOP/s), %.3g inference images/s", row["steps_per_s"],
                 row["train_flops_per_s"] / 1e9, row["infer_images_per_s"])
    return rows


def write_report(report: dict[str, Any], out: Path) -> None:
    """OUT/report.json (everything) and OUT/report.md (the tables, the grid and the plot)."""
    m, options = report["machine"], report["options"]
    lines = ["# Benchmark", "",
             f"{m['device']} (device kind {m['device_kind']}; {m['cpu_count']} CPUs), torch {m['torch']}, "
             f"OMP_WAIT_POLICY={m['omp_wait_policy']}; load average {m['load_average']} at the start, "
             f"{m['load_average_end']} at the end; {m['date']}; {report['seconds']:.0f} s in all.",
             f"Config file: {report['config_file'] or '(none)'}; --set: {' '.join(report['set']) or '(none)'}.",
             "Absolute times on a shared machine are noise; compare rows by the ratios, measured in the same run.", ""]
    if "speed" in report:
        lines += ["## Speed", "",
                  f"Batch {options['batch_size']}; medians of {options['repeats']} timed calls after "
                  f"{options['warmup']} warm-up calls. Peak memory: {report['memory_method']}.", ""]
        lines += speed_markdown(report["speed"], report["peak"]) + [""]
    if "quality" in report:
        lines += ["## Quality at a fixed budget", "",
                  "Each model trained for the same number of steps with the one training loop, then scored by "
                  "translate.evaluation.evaluate; 'time x' is training wall time relative to the first row of the style.", ""]
        lines += quality_markdown(report["quality"])
    write_json(out / "report.json", report)
    write_text(out / "report.md", "\n".join(lines).rstrip() + "\n")
