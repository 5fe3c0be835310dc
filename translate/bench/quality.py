"""The quality half of `translate benchmark`: each combination trained for the same budget, scored, compared.

Every combination is trained with the one loop (`translate.trainers.loop.train`) for `steps` steps on its
style, into OUT/runs/<slug>/, with `evals` held-out L1 evaluations on the way (the loop time-stamps them);
then scored with `translate.evaluation.evaluate.evaluate_run`, at its variant's test size if it has one. A
combination whose config is the same as an earlier one's is not trained again: it is scored from that run.
Drawn: a comparison grid per style and test size (one row per test image: input | each model's output | target)
and a plot of held-out L1 against training time.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch.utils.data import default_collate

from translate.config import check_values, from_run
from translate.data.options import held_out_size
from translate.data.datasets import build_dataset
from translate.errors import ConfigError
from translate.evaluation.evaluate import evaluate_run
from translate.evaluation.report import fmt
from translate.inference.translator import load
from translate.rundir import LOG_FILE, read_config
from translate.trainers.loop import train
from translate.trainers.samples import read_log, sample_grid
from translate.zoo.pull import open_run

log = logging.getLogger("translate")

PLOT = "quality.png"


def quality_config(config: dict[str, Any], run: Path, options: Any) -> dict[str, Any]:
    """The combination's config with the benchmark's budget: steps, size, evaluations, seed, device, quiet."""
    config = copy.deepcopy(config)
    steps = int(options.steps)
    if options.quality_size:
        config["data"].update(crop_size=options.quality_size, load_size=options.quality_size * 286 // 256)
    config["train"].update(
        steps=steps, epochs=0, out=str(run), quiet=True, seed=options.seed, device=options.device,
        log_every=max(1, steps // 50), sample_every=max(1, steps // options.evals), checkpoint_every=steps,
        keep_every=0,
    )
    check_values(config)
    return config


def heldout_curve(run: Path) -> list[dict[str, float]]:
    """The run's held-out L1 records as {step, seconds, heldout_l1}; seconds from the untrained model's record."""
    evals = [r for r in read_log(run / LOG_FILE) if r.get("kind") == "eval" and "time" in r]
    if not evals:
        return []
    start = evals[0]["time"]
    return [{"step": r["step"], "seconds": round(r["time"] - start, 3), "heldout_l1": r["heldout_l1"]} for r in evals]


def quality_table(plan: list[tuple[Any, dict[str, Any]]], options: Any, out: Path,
                  device: torch.device) -> dict[str, Any]:
    """Train and score every combination of `plan`; write the grids and the plot; return rows and file names."""
    rows: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}  # a config (as JSON) -> the row that trained it
    for i, (combo, config) in enumerate(plan, 1):
        run = out / "runs" / combo.slug
        row: dict[str, Any] = {"label": combo.label, "model": combo.model, "style": combo.style,
                               "generator": combo.generator, "discriminator": combo.discriminator,
                               "run": str(run.relative_to(out))}
        key = json.dumps(config, sort_keys=True, default=str)
        if key in runs:  # the same training as an earlier row: score that run (at this row's size)
            first = runs[key]
            log.info("quality %d/%d: %s shares the run of %s", i, len(plan), combo.label, first["label"])
            row.update({k: first[k] for k in ("run", "discriminator", "train_s", "steps", "size", "batch_size",
                                               "curve", "heldout_start", "heldout_end")}, shares_run=first["label"])
        else:
            log.info("quality %d/%d: training %s on %s for %d steps", i, len(plan), combo.label, combo.style,
                     options.steps)
            try:
                config = quality_config(config, run, options)
                tic = time.perf_counter()
                train(config)
            except ConfigError as e:  # a combination that cannot train (pix2pix on unpaired data)
                log.warning("skipped %s on %s: %s", combo.label, combo.style, e)
                rows.append({**row, "skipped": str(e)})
                continue
            row["train_s"] = time.perf_counter() - tic
            if not any(name.startswith("D") for name in open_run(run).network_names()):
                row["discriminator"] = "none"  # its trainer built none (pix2pix with trainer.gan_weight = 0)
            curve = heldout_curve(run)
            row.update(steps=options.steps, size=config["data"]["crop_size"],
                       batch_size=config["train"]["batch_size"], curve=curve,
                       heldout_start=curve[0]["heldout_l1"] if curve else None,
                       heldout_end=curve[-1]["heldout_l1"] if curve else None)
            runs[key] = row
        tic = time.perf_counter()
        report = evaluate_run(out / row["run"], device=device, limit=options.limit, size=combo.test_size or None,
                              inception=None if options.fid else False)
        row.update(eval_s=time.perf_counter() - tic, evaluation=report, test_size=report["image_size"][0])
        done = [r for r in rows if "train_s" in r and r["style"] == combo.style]
        row["time_ratio"] = row["train_s"] / done[0]["train_s"] if done else 1.0
        rows.append(row)
        log.info("  %.0f s; test L1 %.4f, PSNR %.2f at %d px", row["train_s"], report["l1"], report["psnr"],
                 row["test_size"])
    trained = [r for r in rows if "train_s" in r]
    grids: dict[str, list[dict[str, Any]]] = {}  # style -> a grid per test size, the first size's named plainly
    for style, size in dict.fromkeys((r["style"], r["test_size"]) for r in trained):
        these = [r for r in trained if (r["style"], r["test_size"]) == (style, size)]
        name = f"grid_{style}.png" if style not in grids else f"grid_{style}_{size}px.png"
        comparison_grid(these, out, options.grid_images, device, size).save(out / name)
        grids.setdefault(style, []).append({"test_size": size, "file": name})
    if trained:
        plot_quality([r for r in trained if "shares_run" not in r], out / PLOT)
    return {"rows": rows, "grids": grids, "plot": PLOT if trained else None}


def comparison_grid(rows: list[dict[str, Any]], out: Path, n: int, device: torch.device, size: int = 0) -> Any:
    """One row per test image of the rows' style: input | each model's output | target, columns titled; the test
    images rendered at `size` (0: the first row's held-out size)."""
    data = from_run(read_config(out / rows[0]["run"]))["data"]
    if size and size != held_out_size(data):
        data.update(test_size=size, load_size=max(size, data["load_size"]))
    test = build_dataset(data, "test", train=False)
    batch = default_collate([test[i] for i in range(min(n, len(test)))])  # type: ignore[arg-type]
    columns = {"input": batch["A"]}
    for row in rows:
        translator = load(out / row["run"], device=device)
        columns[row["label"]] = translator.translate_tensor(batch["A"].to(device)).cpu()
    columns["target"] = batch["B"]
    return sample_grid(columns, min_size=128)


def plot_quality(rows: list[dict[str, Any]], path: Path) -> None:
    """Held-out L1 against training wall time, a line per combination, a panel per style (matplotlib Agg)."""
    styles = list(dict.fromkeys(r["style"] for r in rows))
    fig = Figure(figsize=(5.5 * len(styles), 3.8))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(styles), squeeze=False)[0]
    for ax, style in zip(axes, styles):
        for row in (r for r in rows if r["style"] == style):
            points = row["curve"]
            ax.plot([p["seconds"] for p in points], [p["heldout_l1"] for p in points], marker="o", ms=3, lw=1.2,
                    label=f"{row['label']} ({row['steps']} steps)")
        ax.set_title(f"{style}: held-out L1 during training", fontsize=10)
        ax.set_xlabel("training wall time (s; includes the held-out evaluations)", fontsize=8)
        ax.set_ylabel("held-out L1 (lower is better)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.1 / len(styles) + 0.04, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
    fig.savefig(path, format="png", dpi=100)


# ---------------------------------------------------------------------------------------------- report


FCN_SCORES = {"pixel_acc": "FCN pixel acc", "class_acc": "FCN class acc", "class_iou": "FCN class IoU"}


def extra_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The style's own measures beside L1/PSNR/SSIM: artefact ratio, line F-score, the FCN-score (per-pixel
    accuracy, per-class accuracy, class IoU), style score, FID."""
    extra = {}
    if (report.get("artefacts") or {}).get("ratio") is not None:
        extra["artefacts"] = report["artefacts"]["ratio"]
    if "lines" in report:
        extra["line F"] = report["lines"].get("f_score")
    for key, title in FCN_SCORES.items() if "fcn" in report else ():
        extra[title] = report["fcn"]["generated"].get(key)
    if "style_score" in report:
        extra["style score"] = report["style_score"].get("score")
    if report.get("fid", {}).get("fid") is not None:
        extra["FID"] = report["fid"]["fid"]
    return extra


def quality_markdown(quality: dict[str, Any]) -> list[str]:
    """The quality tables (one per style) as markdown lines."""
    lines: list[str] = []
    rows = quality["rows"]
    for style in dict.fromkeys(r["style"] for r in rows):
        these = [r for r in rows if r["style"] == style]
        trained = [r for r in these if "train_s" in r]
        extra_names = list(dict.fromkeys(k for r in trained for k in extra_metrics(r["evaluation"])))
        first = trained[0] if trained else None
        if first:
            lines.append(f"**{style}**: {first['steps']} steps at {first['size']} px, batch {first['batch_size']}; "
                         f"scored on the first {first['evaluation']['n_images']} test images, at 'test px'")
        lines.append("")
        head = ["model", "G", "D", "test px", "train s", "time x", "held-out L1 start -> end", "test L1", "PSNR",
                "SSIM", *extra_names]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in these:
            if "skipped" in r:
                lines.append(f"| {r['label']} | {r['generator']} | {r['discriminator']} | skipped: {r['skipped']} |")
                continue
            e = r["evaluation"]
            extra = extra_metrics(e)
            trained_s = f"{r['shares_run']}'s run" if "shares_run" in r else f"{r['train_s']:.0f}"
            cells = [r["label"], r["generator"], r["discriminator"], str(r["test_size"]), trained_s,
                     f"{r['time_ratio']:.2f}", f"{fmt(r['heldout_start'])} -> {fmt(r['heldout_end'])}", fmt(e["l1"]),
                     fmt(e["psnr"], 2), fmt(e["ssim"]), *[fmt(extra.get(k)) for k in extra_names]]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        ceilings = {r["test_size"]: r["evaluation"]["fcn"]["real"] for r in trained if "fcn" in r["evaluation"]}
        for size, real in ceilings.items():
            lines.append(f"FCN-score of the true photos at {size} px (the judge's ceiling): "
                         + ", ".join(f"{title[4:]} {fmt(real[key])}" for key, title in FCN_SCORES.items()))
        lines += [""] if ceilings else []
        for grid in quality["grids"].get(style, []):
            lines += [f"![{style} comparison at {grid['test_size']} px]({grid['file']})", ""]
    if quality.get("plot"):
        lines += [f"![held-out L1 against training time]({quality['plot']})", ""]
    return lines
