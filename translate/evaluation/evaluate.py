"""Evaluation: what to measure for a style, measured over a test split, returned as a dict and drawn as a table.

What each style gets (every report also has a FID/KID entry, "not computed: ..." without Inception weights):

    labels2photo   L1, PSNR, SSIM, artefacts + FCN-score (the segmenter judge reads the labels back from the photo)
    sketch2photo   L1, PSNR, SSIM, artefacts
    coloring       L1, PSNR, SSIM, artefacts + line precision, recall and F-score against the true line art
    shinkai        L1, PSNR, SSIM, artefacts to the true Shinkai rendering + style score: the style judge's mean
                   probability that an output is a clean Shinkai rendering (not blurred, speckled, checkerboarded,
                   garish, photo-like), judged at the output's native pixels; 0-1, higher is better
    --data DIR     L1, PSNR, SSIM (line scores too when the style's target is line art); no artefacts

Artefacts: the outputs' high-frequency energy (mean |Laplacian| of luma) where the scene is flat, over the true
rendering's there (`metrics.artefact_sums`): 1.0 is as smooth as the truth, speckle and checkerboard raise it,
the goal is <= 1.5. Flat means away from every region boundary of the scene, which only the world knows (its
held-out items carry their region maps), so a folder's report has the entry with a note and no numbers.

Judges are trained on the embedded scenes world, so FCN-score and style score apply only to it. Anything that
maps an NCHW batch in [-1, 1] to a batch can be evaluated (`evaluate`); `evaluate_run` does it for a run
directory, a catalogue name or a registered baseline (`canny`, `dodge`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from translate import config as cfg
from translate.data import scenes
from translate.data.datasets import build_dataset
from translate.data.scenes import decode_labels
from translate.errors import CheckpointError, TranslateError, did_you_mean
from translate.evaluation import inception as fid_features
from translate.evaluation import judges
from translate.evaluation import metrics as quality
from translate.evaluation.judges import N_CLASSES
from translate.inference.translator import load
from translate.models.baselines import to_grey
from translate.registry import GENERATORS, create
from translate.zoo.cards import load_catalogue
from translate.zoo.pull import Found, open_run

Translate = Callable[[torch.Tensor], torch.Tensor]

BASELINE_STYLE = "coloring"  # the style a baseline is scored on when none is given


# ------------------------------------------------------------------------------------------------ data


def data_config(
    style_or_config: str | dict[str, Any] | None = None,
    data: str | Path | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """The full config whose [data] table says what to evaluate on.

    `style_or_config`: a style name (configs/styles/), a whole config (a run's), a bare [data] table, or None
    (then `data` must name a folder). `data` replaces the data root; `size` the image size.
    """
    if isinstance(style_or_config, str):
        style_data = cfg.read_preset("styles", style_or_config).get("data", {})
        config = cfg.merge(cfg.DEFAULTS, {"style": style_or_config, "data": style_data})
    elif isinstance(style_or_config, dict) and "data" in style_or_config:
        config = cfg.merge(cfg.DEFAULTS, style_or_config)
    elif isinstance(style_or_config, dict):
        config = cfg.merge(cfg.DEFAULTS, {"data": style_or_config})
    elif data:
        config = cfg.merge(cfg.DEFAULTS, {})
    else:
        raise TranslateError("nothing to evaluate on: give a style (--style coloring) or a data folder (--data DIR)")
    if data:
        config["data"]["root"] = str(data)
    if size is not None:
        config["data"]["crop_size"] = config["data"]["test_size"] = int(size)
        config["data"]["load_size"] = max(int(size), config["data"]["load_size"])
    cfg.check_values(config)
    return config


def kinds(data: dict[str, Any]) -> tuple[str, str]:
    """(source, target) renderings of a scenes-world task after its direction ("labels", "photo", ...); ("", "")
    when the data has no task."""
    task = scenes.TASKS.get(data["task"])
    if task is None:
        return "", ""
    return (task.target, task.source) if data["direction"] == "BtoA" else (task.source, task.target)


def plan(data: dict[str, Any]) -> dict[str, bool]:
    """Which measurements apply to the data a [data] table describes."""
    source, target = kinds(data)
    world = not data["root"]
    return {
        "lines": target == "sketch",
        "fcn": world and (source, target) == ("labels", "photo"),
        "style": world and {source, target} == {"photo", "shinkai"},
    }


# ----------------------------------------------------------------------------------------- evaluation


def evaluate(
    fn: Translate,
    style_or_config: str | dict[str, Any] | None = None,
    *,
    data: str | Path | None = None,
    split: str = "test",
    limit: int = 100,
    size: int | None = None,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    inception: str | Path | bool | None = None,
    line_threshold: int = 128,
    line_tolerance: float | None = None,
    progress: bool = False,
    name: str = "",
    on_batch: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, np.ndarray]], None] | None = None,
) -> dict[str, Any]:
    """Score `fn` (NCHW source batch in [-1, 1] -> output batch) on the first `limit` images of a split.

    The scenes world's split grows to `limit` scenes when it is shorter. `line_tolerance` defaults to one
    pixel per 64 of image width. `inception`: the Inception-v3 weights for FID and KID (None: look for them;
    False: skip). `on_batch(sources, outputs, targets, scores)` sees every batch (CPU tensors in [-1, 1], the
    outputs conformed to the targets) with each image's own L1, PSNR and SSIM (`translate eval --html` draws its
    page from them). Returns the report: a JSON-ready dict (see `format_table`).
    """
    if limit < 1:
        raise TranslateError(f"--limit {limit}: evaluate at least 1 image")
    start = time.perf_counter()
    config = data_config(style_or_config, data, size)
    table = config["data"]
    if not table["root"]:
        table["n_test"] = max(table["n_test"], limit)
    dataset = build_dataset(table, split=split, train=False)
    n = min(len(dataset), limit)  # type: ignore[arg-type]
    if n == 0:
        raise TranslateError(f"split '{split}' of {table['root'] or 'the scenes world'} holds no images")
    todo = plan(table)
    device = torch.device(device)
    tally = Tally(
        segmenter=judges.get_judge(judges.SEGMENTER, device=device) if todo["fcn"] else None,
        styler=judges.get_judge(judges.STYLE, device=device) if todo["style"] else None,
        features=None if inception is False else fid_features.features(inception or None, device),
        lines=todo["lines"],
        line_threshold=line_threshold,
        line_tolerance=line_tolerance,
    )

    loader = DataLoader(Subset(dataset, range(n)), batch_size=batch_size, shuffle=False)
    for batch in tqdm(loader, desc=f"eval {name}".strip(), unit="batch", disable=not progress, leave=False):
        with torch.no_grad():
            output = conform(fn(batch["A"].to(device)).detach().float().cpu(), batch["B"])
        scores = tally.add(batch["A"], output, batch["B"], batch.get("regions"))
        if on_batch is not None:
            on_batch(batch["A"], output, batch["B"], scores)

    report: dict[str, Any] = {
        "name": name,
        "style": config["style"] or None,
        "data": table["root"] or f"scenes world (seed {table['seed']})",
        "task": table["task"] or None,
        "direction": table["direction"],
        "split": split,
        "n_images": n,
        **tally.report(target_style=kinds(table)[1], fid_skipped=inception is False),
    }
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


class Tally:
    """Running sums of every measurement over the batches of a split; `report()` turns them into numbers."""

    def __init__(self, segmenter: Any = None, styler: Any = None, features: Any = None, lines: bool = False,
                 line_threshold: int = 128, line_tolerance: float | None = None) -> None:
        self.segmenter, self.styler, self.features = segmenter, styler, features
        self.lines = quality.LineCounts() if lines else None
        self.line_threshold, self.line_tolerance = line_threshold, line_tolerance
        self.image_size: list[int] = []
        self.paired: dict[str, list[np.ndarray]] = {"l1": [], "psnr": [], "ssim": []}
        self.seg_generated = np.zeros((N_CLASSES, N_CLASSES), np.int64)
        self.seg_real = np.zeros_like(self.seg_generated)
        self.style: dict[str, list[torch.Tensor]] = {"generated": [], "source": [], "target": []}
        self.feats: dict[str, list[torch.Tensor]] = {"real": [], "fake": []}
        self.artefacts: quality.ArtefactSums | None = None  # None until a batch brings region maps

    def add(self, source: torch.Tensor, output: torch.Tensor, target: torch.Tensor,
            regions: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """One batch: the sources, the model's outputs (conformed to the targets), the true targets and, from the
        scenes world, the targets' region maps (N x H x W ids) that the artefact measure needs. Returns each
        image's L1, PSNR and SSIM."""
        self.image_size = self.image_size or [int(target.shape[-2]), int(target.shape[-1])]
        if regions is not None:
            self.artefacts = (self.artefacts or quality.ArtefactSums()) + quality.artefact_sums(output, target, regions)
        scores = {"l1": quality.l1(output, target).numpy(), "psnr": quality.psnr(output, target),
                  "ssim": quality.ssim(output, target)}
        for key, values in scores.items():
            self.paired[key].append(values)
        if self.lines is not None:
            if self.line_tolerance is None:
                self.line_tolerance = target.shape[-1] / 64  # one pixel at 64 px
            self.lines += quality.line_counts(output, target, self.line_threshold, self.line_tolerance)
        if self.segmenter is not None:
            true = true_labels(source, self.segmenter.recipe.size)
            self.seg_generated += quality.confusion(self.segmenter(output).numpy(), true, N_CLASSES)
            self.seg_real += quality.confusion(self.segmenter(target).numpy(), true, N_CLASSES)
        if self.styler is not None:
            for key, images in (("generated", output), ("source", source), ("target", target)):
                self.style[key].append(self.styler(images))
        if self.features is not None:
            self.feats["real"].append(self.features(target))
            self.feats["fake"].append(self.features(output))
        return scores

    def report(self, target_style: str = "", fid_skipped: bool = False) -> dict[str, Any]:
        """The measurements as a JSON-ready dict (no inf, no nan)."""
        out: dict[str, Any] = {
            "image_size": self.image_size,
            "l1": _mean(self.paired["l1"]),
            "psnr": _mean(self.paired["psnr"]),
            "ssim": _mean(self.paired["ssim"]),
            "psnr_cap": quality.PSNR_CAP,
        }
        if self.lines is not None:
            out["lines"] = {**self.lines.scores(), "threshold": self.line_threshold,
                            "tolerance_px": self.line_tolerance}
        if self.segmenter is not None:
            out["fcn"] = {
                "generated": quality.segmentation_scores(self.seg_generated),
                "real": quality.segmentation_scores(self.seg_real),  # the judge on true photos: the upper bound
                "judge_size": self.segmenter.recipe.size,
                "judge": _judge_summary(self.segmenter),
            }
        if self.styler is not None:
            out["style_score"] = style_summary(self.styler, target_style, **self.style)
        out["artefacts"] = artefact_summary(self.artefacts, self.image_size)
        out["fid"] = fid_summary(self.feats["real"], self.feats["fake"], self.features, skipped=fid_skipped)
        return out


def conform(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`output` with the channels and size of `target` (grey by luma, grey to RGB by copying, bilinear resize)."""
    if output.shape[1] != target.shape[1]:
        if target.shape[1] == 1:
            output = to_grey(output) * 2 - 1
        elif output.shape[1] == 1:
            output = output.expand(-1, target.shape[1], -1, -1)
        else:
            raise TranslateError(f"the model gives {output.shape[1]} channels but the targets have {target.shape[1]}")
    if output.shape[-2:] != target.shape[-2:]:
        output = F.interpolate(output, size=target.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
    return output.clamp(-1, 1)


def true_labels(label_images: torch.Tensor, size: int) -> np.ndarray:
    """The class maps of colour label images (NCHW in [-1, 1], palette colours), N x size x size (nearest)."""
    rgb = ((label_images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    labels = torch.from_numpy(np.stack([decode_labels(image) for image in rgb]).astype(np.int64))
    if labels.shape[-2:] != (size, size):
        labels = F.interpolate(labels[:, None].float(), size=(size, size), mode="nearest")[:, 0].long()
    return labels.numpy()


def style_summary(judge: Any, target_kind: str, generated: list[torch.Tensor], source: list[torch.Tensor],
                  target: list[torch.Tensor]) -> dict[str, Any]:
    """The style score: the mean probability the style judge gives the outputs of being the target style, a
    graded number that ranks models (for a Shinkai target: of being a clean Shinkai rendering; for a photo target
    only of not being one, which garbage also earns). Beside it: the share of outputs called the target style
    (`share`, the score before judges version 3) and the judge on the true images of the same scenes, whose
    `real_target_score` is the ceiling of the score."""
    want_shinkai = target_kind == "shinkai"

    def target_probs(probs: list[torch.Tensor]) -> torch.Tensor:
        p = torch.cat(probs)
        return p if want_shinkai else 1 - p

    p_generated, p_target, p_source = target_probs(generated), target_probs(target), target_probs(source)
    real_target, real_source = float((p_target >= 0.5).float().mean()), float((p_source < 0.5).float().mean())
    return {
        "score": float(p_generated.mean()),
        "mean_prob": float(p_generated.mean()),  # what the score is since judges version 3; kept for old readers
        "share": float((p_generated >= 0.5).float().mean()),
        "target_style": target_kind,
        "real_target_score": float(p_target.mean()),  # the score of the true renderings: the ceiling
        "real_target_acc": real_target,  # true renderings of the target style called so
        "real_source_acc": real_source,  # true source images called source
        "real_acc": (real_target + real_source) / 2,
        "judge_size": judge.recipe.size,
        "judge": _judge_summary(judge),
    }


def artefact_summary(sums: quality.ArtefactSums | None, image_size: list[int]) -> dict[str, Any]:
    """The artefact ratio with both energies and what they were measured over, or why it was not measured."""
    window = 2 * quality.flat_radius(min(image_size)) + 1 if image_size else None
    settings = {"floor": quality.ARTEFACT_FLOOR, "goal": quality.ARTEFACT_GOAL, "window_px": window}
    if sums is None:
        return {"ratio": None, "output_energy": None, "target_energy": None, **settings,
                "note": "not measured: flat regions come from the scenes world's region maps, which a folder lacks"}
    return {**sums.scores(quality.ARTEFACT_FLOOR), **settings,
            "note": "the outputs' mean |Laplacian| of luma where the scene is flat, over the truth's "
                    "(or the floor, where the truth is flatter)"}


def fid_summary(real: list[torch.Tensor], fake: list[torch.Tensor], features: Any,
                skipped: bool = False) -> dict[str, Any]:
    """FID and KID of the outputs against the true targets, or why they were not computed."""
    if skipped:
        return {"fid": None, "kid": None, "kid_std": None, "note": "not computed: skipped"}
    if features is None:
        return {"fid": None, "kid": None, "kid_std": None, "note": "not computed: no Inception weights "
                "(give --inception PATH or TRANSLATE_INCEPTION, or put torchvision's inception_v3_google-*.pth "
                "in torch's hub checkpoints)"}
    r, f = torch.cat(real).double().numpy(), torch.cat(fake).double().numpy()
    if len(r) < 2:
        return {"fid": None, "kid": None, "kid_std": None, "note": "not computed: needs at least 2 images"}
    kid, kid_std = quality.kid_from_features(r, f)
    return {"fid": quality.fid_from_features(r, f), "kid": kid, "kid_std": kid_std, "n": len(r),
            "note": "torchvision Inception-v3 pool features (not comparable with TF-Inception figures); "
                    "FID from few images is biased upwards"}


def _judge_summary(judge: Any) -> dict[str, Any]:
    card = judge.card
    return {"key": card.get("key"), "heldout": card.get("heldout"), "train_seconds": card.get("train_seconds"),
            "recipe": card.get("recipe")}


def _mean(chunks: list[np.ndarray]) -> float | None:
    values = np.concatenate(chunks) if chunks else np.array([])
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


# ------------------------------------------------------------------------------------------------ runs


def resolve_model(name_or_path: str | Path) -> tuple[str, Found | None]:
    """("baseline", None) for a baseline's name; ("run", found) for anything `open_run` finds (a run
    directory, a checkpoint file in one, a catalogue name). Anything else is a one-line error naming both."""
    name = str(name_or_path)
    baselines = GENERATORS.untrainable()
    if not Path(name_or_path).exists():
        if name in baselines:
            return "baseline", None
        if name in GENERATORS:
            raise TranslateError(f"'{name}' is an untrained generator; evaluate a run directory (translate train ... "
                                 f"--out DIR), a catalogue model, or a baseline: {', '.join(baselines)}")
    try:
        return "run", open_run(name_or_path)
    except CheckpointError:
        known = list(load_catalogue())
        if Path(name_or_path).exists() or name in known:  # a catalogue model that failed to load says why
            raise
    raise TranslateError(f"'{name}' is not a run directory, a catalogue model or a baseline"
                         f"{did_you_mean(name, [*baselines, *known])} "
                         f"(baselines: {', '.join(baselines)}; catalogue: translate models)")


def evaluate_run(
    run_or_baseline: str | Path,
    style: str | None = None,
    data: str | Path | None = None,
    *,
    device: torch.device | str = "cpu",
    test_mode: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate a run directory, a catalogue model or a baseline on a style or a data folder.

    `test_mode` ("eval" or "reference") is `load`'s: default a catalogue model's card's, else eval.

    A run is scored on its own data (its config's [data] table) unless `style` or `data` say otherwise;
    a baseline on `style`, `data`, or else the coloring style. `options` are `evaluate`'s.
    """
    kind, run = resolve_model(run_or_baseline)
    if kind == "baseline":
        config = data_config(style or (None if data else BASELINE_STYLE), data, options.get("size"))
        table = config["data"]

        net = create("generator", str(run_or_baseline), in_channels=table["in_channels"],
                     out_channels=table["out_channels"]).to(device)
        fn: Translate = net
    else:
        assert run is not None
        config = run_data_config(run.config, style)
        translator = load(run_or_baseline, direction="AtoB", device=device, test_mode=test_mode)
        fn = translator.translate_tensor
    report = evaluate(fn, config, data=data, device=device, name=str(run_or_baseline), **options)
    report["kind"] = kind
    if kind == "run":
        report["test_mode"] = translator.test_mode  # eval, or reference (batch statistics, dropout on)
    return report


def run_data_config(raw: dict[str, Any], style: str | None) -> dict[str, Any]:
    """A run's config (as its config.toml holds it), with a style's [data] table over its own (keeping the
    network's channels) when given."""
    config = cfg.from_run(raw)
    if style:
        channels = {k: config["data"][k] for k in ("in_channels", "out_channels")}
        style_data = cfg.read_preset("styles", style).get("data", {})
        config["data"] = cfg.merge(cfg.DEFAULTS["data"], {**style_data, **channels})
        config["style"] = style
    return config
