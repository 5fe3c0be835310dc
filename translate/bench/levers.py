"""`translate benchmark --levers`: measure afresh, for each model and size, the levers `translate train` and
`translate predict` would choose on this machine, cache the decisions, and print the tables they came from."""

from __future__ import annotations

import logging
from typing import Any, Iterable

import torch

from translate import levers
from translate.bench.benchmark import natural_style
from translate.config import resolve
from translate.data.datasets import build_split
from translate.device import choose_device, describe
from translate.inference.probe import choose_for_inference
from translate.inference.translator import Translator
from translate.trainers.base import build_trainer
from translate.trainers.probe import choose_for_training
from translate.trainers.rng import seed_everything

log = logging.getLogger("translate")


def lever_report(models: Iterable[str], styles: Iterable[str] = (), sizes: Iterable[int] = (),
                 preset: str | None = None, assignments: Iterable[str] = (), device: str = "auto") -> str:
    """Markdown: a section per model, size and job (a training step, a forward pass) with its trials and choice."""
    where = choose_device(device)
    lines = [f"Levers measured on {levers.machine(where)} ({describe(where, None, False).rsplit(', ', 2)[0]}); "
             f"cached in {levers.cache_path()}.", ""]
    for model in models:
        style = next(iter(styles), None) or natural_style(model)
        for size in list(sizes) or [None]:
            overrides = {"data": {"crop_size": size, "load_size": size * 286 // 256}} if size else None
            config = resolve(model, style, preset=preset, overrides=overrides, assignments=assignments)
            config["train"]["device"] = str(where)
            lines += measure_model(config, where)
    return "\n".join(lines)


def measure_model(config: dict[str, Any], device: torch.device) -> list[str]:
    """The two sections of one config: its training step and its generator's forward pass."""
    seed_everything(int(config["train"]["seed"]))
    batch = int(config["train"]["batch_size"])
    size = int(config["data"]["crop_size"])
    generator = config["generator"]
    title = (f"{config.get('model')} ({config.get('style')}, {generator['name']} width {generator.get('width')}), "
             f"{size} px")
    log.info("measuring the levers of %s", title)
    trainer = build_trainer(config, device)
    train_set = build_split(config["data"], "train")
    training = choose_for_training(config, trainer, train_set, batch, steps_left=0, remeasure=True)
    generator_net = trainer.networks.get("G", trainer.networks.get("G_A"))
    translator = Translator(generator_net, config, trainer.in_channels, trainer.out_channels, device=device)
    translator.lever_settings = (config["train"]["precision"], config["train"]["channels_last"])
    inference = choose_for_inference(translator, (size, size), 1, remeasure=True)
    out = []
    for job, choice in ((f"training step, batch {batch}", training), ("forward pass (predict), batch 1", inference)):
        out += [f"### {title}: {job}", "", levers.table(choice.trials), "", f"chosen: {choice.line()}", ""]
    return out
