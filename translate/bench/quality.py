"""The quality half of `translate benchmark`: each combination trained for the same budget, scored, compared.

Every combination is trained with the one loop (`translate.trainers.loop.train`) for `steps` steps on its
style, into OUT/runs/<slug>/, with `evals` held-out L1 evaluations on the way (the loop time-stamps them);
then scored with `translate.evaluation.evaluate.evaluate_run`. Drawn: a comparison grid per style (one row per test
image: input | each model's output | target) and a plot of held-out L1 against training time.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch.utils.data import default_collate

from translate.config import check_values, from_run
from translate.data.datasets import build_dataset
from translate.errors import ConfigError
from translate.evaluation.evaluate import evaluate_run
from translate.evaluation.report import fmt
from translate.inference.translator import load
from translate.rundir import LOG_FILE, read_config
from translate.trainers.loop import train
from translate.trainers.samples import read_log, sample_grid

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
    for i, (combo, config) in enumerate(plan, 1):
        run = out / "runs" / combo.slug
        row: dict[str, Any] = {"label": combo.label, "model": combo.model, "style": combo.style,
                               "generator": combo.generator, "discriminator": combo.discriminator,
                               "run": str(run.relative_to(out))}
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
        tic = time.perf_counter()
        report = evaluate_run(run, device=device, limit=options.limit, inception=None if options.fid else False)
        row["eval_s"] = time.perf_counter() - tic
        curve = heldout_curve(run)
        row.update(steps=options.steps, size=config["data"]["crop_size"], batch_size=config["train"]["batch_size"],
                   curve=curve, evaluation=report,
                   heldout_start=curve[0]["heldout_l1"] if curve else None,
                   heldout_end=curve[-1]["heldout_l1"] if curve else None)
        done = [r for r in rows if "train_s" in r and r["style"] == combo.style]
        row["time_ratio"] = row["train_s"] / done[0]["train_s"] if done else 1.0
        rows.append(row)
        log.info("  %.0f s; test L1 %.4f, PSNR %.2f", row["train_s"], report["l1"], report["psnr"])
    trained = [r for r in rows if "train_s" in r]
    grids = {}
    for style in dict.fromkeys(r["style"] for r in trained):
        name = f"grid_{style}.png"
        comparison_grid([r for r in trained if r["style"] == style], out, options.grid_images, device).save(out / name)
        grids[style] = name
    if trained:
        plot_quality(trained, out / PLOT)
    return {"rows": rows, "grids": grids, "plot": PLOT if trained else None}


def comparison_grid(rows: list[dict[str, Any]], out: Path, n: int, device: torch.device) -> Any:
    """One row per test image of the rows' style: input | each model's output | target, columns titled."""
    data = from_run(read_config(out / rows[0]["run"]))["data"]
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


def extra_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The style's own measures beside L1/PSNR/SSIM: artefact ratio, line F-score, FCN pixel accuracy, style score,
    FID."""
    extra = {}
    if (report.get("artefacts") or {}).get("ratio") is not None:
        extra["artefacts"] = report["artefacts"]["ratio"]
    if "lines" in report:
        extra["line F"] = report["lines"].get("f_score")
    if "fcn" in report:
        extra["FCN pixel acc"] = report["fcn"]["generated"].get("pixel_acc")
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
                         f"scored on the first {first['evaluation']['n_images']} test images")
        lines.append("")
        head = ["model", "G", "D", "train s", "time x", "held-out L1 start -> end", "test L1", "PSNR", "SSIM",
                *extra_names]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in these:
            if "skipped" in r:
                lines.append(f"| {r['label']} | {r['generator']} | {r['discriminator']} | skipped: {r['skipped']} |")
                continue
            e = r["evaluation"]
            extra = extra_metrics(e)
            cells = [r["label"], r["generator"], r["discriminator"], f"{r['train_s']:.0f}", f"{r['time_ratio']:.2f}",
                     f"{fmt(r['heldout_start'])} -> {fmt(r['heldout_end'])}", fmt(e["l1"]), fmt(e["psnr"], 2),
                     fmt(e["ssim"]), *[fmt(extra.get(k)) for k in extra_names]]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if style in quality["grids"]:
            lines += [f"![{style} comparison]({quality['grids'][style]})", ""]
    if quality.get("plot"):
        lines += [f"![held-out L1 against training time]({quality['plot']})", ""]
    return lines
