"""The judges: small networks that score translations, trained once on the scenes world and cached.

- the segmenter (photo -> the world's 9 classes) gives the pix2pix paper's FCN-score of labels2photo models:
  how well the label map can be read back from a generated photo;
- the style classifier (a clean Shinkai rendering, or anything else?) gives the style score of photo2shinkai
  models: it is taught that photos, garish photos, blurred, speckled, checkerboarded or colour-shifted
  renderings, featureless frames and untrained generators' outputs are not the style (`style_cases`), and it
  looks at native pixels, so a 2-px checkerboard or speckle counts at 64, 128 and 256 px alike;
- the digit classifier (which of 0-9?) gives the label accuracy of label-conditional GANs (`cgan`): does a
  model draw the digit it was asked for; it learns from the procedural digits (`translate.data.digits`);
- Inception-v3 pool features give FID and KID, only when torchvision's ImageNet weights are on this
  machine (nothing is ever downloaded).

A judge is trained from its `Recipe` (a minute or two of CPU at the default) on scenes (or digits) of its own
world (`Recipe.world`, the train split; held out: that world's val split), so it never sees any test scene.
It is cached under `$TRANSLATE_HOME/judges/` (default `~/.cache/translate/judges/`) as
`<kind>-<key>.safetensors` beside a JSON card with the recipe, held-out scores and training time; the key
hashes the recipe and `VERSION`, so a changed recipe (or network) trains a new judge instead of reusing one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from translate.data import digits, scenes
from translate.errors import CheckpointError
from translate.evaluation import style_cases
from translate.evaluation.metrics import confusion, segmentation_scores
from translate.files import home, load_weights, read_json, save_weights, write_json

log = logging.getLogger("translate")

VERSION = 4  # bump when a network or the training code changes: every cached judge is retrained
SEGMENTER, STYLE, DIGITS = "segmenter", "style", "digits"
KINDS = (SEGMENTER, STYLE, DIGITS)
N_CLASSES = 9  # translate.data.scenes.CLASSES

# Judges train in one CPU thread: on a small, shared CPU their small convolutions ran 2x faster (and used half the
# CPU time) in one thread than in two, which wait on each other whenever another process holds a core.
TRAIN_THREADS = 1

# How often each kind was trained in this process (tests check that a cached judge is reused).
TRAINED: Counter[str] = Counter()
_LOADED: dict[tuple[str, str], Judge] = {}


def judges_dir() -> Path:
    """Where trained judges live: $TRANSLATE_HOME/judges (default ~/.cache/translate/judges)."""
    return home() / "judges"


# --------------------------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """How one judge is trained: everything that changes its weights is here, and hashed into its cache key."""

    kind: str  # "segmenter", "style" or "digits"
    size: int = 64  # segmenter, digits: see size x size images, others resized to it; style: trains on crops
    n_train: int = 400  # training scenes or digits (style: at the smallest of scene_sizes, fewer at the larger ones)
    n_heldout: int = 100  # held-out scenes (the val split) for the card's scores
    steps: int = 150
    batch_size: int = 16
    lr: float = 2e-3
    width: int = 16
    world: int = 7  # base seed of the judges' own scenes world
    seed: int = 0
    # Style only: the sizes its scenes are rendered at; it learns from native-resolution crops of all of them.
    scene_sizes: tuple[int, ...] = (64, 128, 256)

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.size < 8 or self.size % 4:
            raise ValueError(f"judge recipe: kind must be one of {KINDS} and size a multiple of 4, >= 8")
        if self.kind == STYLE and (not self.scene_sizes or min(self.scene_sizes) < self.size):
            raise ValueError(f"style judge recipe: scene_sizes {self.scene_sizes} must all hold a {self.size} px crop")

    def key(self) -> str:
        """A short hash of the recipe and VERSION: the cache key."""
        text = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# The default recipes; tests swap in tiny ones.
RECIPES: dict[str, Recipe] = {
    SEGMENTER: Recipe(SEGMENTER, steps=300, lr=3e-3),
    STYLE: Recipe(STYLE, n_train=240, steps=500, batch_size=32),
    DIGITS: Recipe(DIGITS, size=digits.SIZE, n_train=2000, n_heldout=500, steps=300, batch_size=64, lr=3e-3),
}


# -------------------------------------------------------------------------------------------- networks


def _convs(c_in: int, c_out: int, n: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        conv = nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False)
        layers += [conv, nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*layers)


class SegmenterNet(nn.Module):
    """A three-level U-Net for per-pixel class logits (N x n_classes x H x W); H and W multiples of 4.

    Lean where pixels are many (one conv at full resolution each way), two convs per level below.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = N_CLASSES, width: int = 16) -> None:
        super().__init__()
        w = width
        self.down1, self.down2, self.down3 = _convs(in_channels, w), _convs(w, 2 * w, 2), _convs(2 * w, 4 * w, 2)
        self.up2, self.up1 = _convs(6 * w, 2 * w), _convs(3 * w, w)
        self.head = nn.Conv2d(w, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(F.max_pool2d(d1, 2))
        d3 = self.down3(F.max_pool2d(d2, 2))
        u2 = self.up2(torch.cat([d2, F.interpolate(d3, scale_factor=2.0)], 1))
        u1 = self.up1(torch.cat([d1, F.interpolate(u2, scale_factor=2.0)], 1))
        return self.head(u1)


class StyleNet(nn.Module):
    """One stride-1 conv that sees single pixels (speckle, a 2-px checkerboard), four stride-2 convs, and per
    window of ~33 px a logit and a weight: > 0 means 'a clean Shinkai rendering'.

    Fully convolutional, so it judges an image of any size at its native pixels. The image's logit is the mean of
    its windows' logits weighted by a softmax of their weights: the network learns to listen to the windows that
    hold evidence (edges, texture), so a blurred outline still counts when a 256 px image is mostly flat sky.
    One more, learnt window (`null`) stands for "no evidence": where no window outweighs it, as in a featureless
    frame, its logit decides.
    """

    def __init__(self, in_channels: int = 3, width: int = 16, fine_width: int = 8) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        if fine_width:
            layers += [nn.Conv2d(c, fine_width, 3, padding=1, bias=False, padding_mode="replicate"),
                       nn.BatchNorm2d(fine_width), nn.ReLU()]
            c = fine_width
        for i in range(4):
            c_out = width * min(2**i, 4)
            layers += [nn.Conv2d(c, c_out, 3, stride=2, padding=1, bias=False, padding_mode="replicate"),
                       nn.BatchNorm2d(c_out), nn.ReLU()]
            c = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, 2, 1)  # per window: logit, weight
        self.null = nn.Parameter(torch.zeros(2))  # the logit and weight of a window that holds no evidence

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logit, weight = self.head(self.features(x)).flatten(2).unbind(1)
        null_logit, null_weight = self.null.expand(len(x), 2).unbind(1)
        logit, weight = torch.cat([logit, null_logit[:, None]], 1), torch.cat([weight, null_weight[:, None]], 1)
        return (logit * weight.softmax(-1)).sum(-1)


class DigitNet(nn.Module):
    """Two conv levels with max pooling and a linear head: logits of the ten digits from a grey image."""

    def __init__(self, width: int = 16, size: int = digits.SIZE) -> None:
        super().__init__()
        self.features = nn.Sequential(_convs(1, width), nn.MaxPool2d(2), _convs(width, 2 * width), nn.MaxPool2d(2))
        self.head = nn.Linear(2 * width * (size // 4) ** 2, digits.N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _network(recipe: Recipe) -> nn.Module:
    if recipe.kind == DIGITS:
        return DigitNet(recipe.width, recipe.size)
    return SegmenterNet(width=recipe.width) if recipe.kind == SEGMENTER else StyleNet(width=recipe.width)


# --------------------------------------------------------------------------------------------- judges


@dataclass
class Judge:
    """A trained judge: its network (eval mode), recipe and card (recipe, held-out accuracy, training time)."""

    net: nn.Module
    recipe: Recipe
    card: dict[str, Any]

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """NCHW in [-1, 1], RGB or grey, any size -> RGB (digits: grey) on the judge's device: at the segmenter's
        and digit judge's size, or as it is for the style judge (resizing would smear a 64 px output, and a 2x
        downsample cancels a 2-px checkerboard and averages speckle away: both are what it must see)."""
        device = next(self.net.parameters()).device
        x = images.float().to(device)
        if self.recipe.kind == DIGITS:
            x = x.mean(1, keepdim=True)
        elif x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.recipe.kind != STYLE and x.shape[-2:] != (self.recipe.size, self.recipe.size):
            x = F.interpolate(x, size=(self.recipe.size, self.recipe.size), mode="bilinear", antialias=True,
                              align_corners=False)
        return x.clamp(-1, 1)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Segmenter: class ids N x size x size. Style classifier: probability of 'a clean Shinkai rendering', (N,).
        Digits: the digit read, (N,)."""
        out = self.net(self.prepare(images))
        return torch.sigmoid(out).cpu() if self.recipe.kind == STYLE else out.argmax(1).cpu()

    def to(self, device: torch.device | str) -> Judge:
        self.net.to(device)
        return self


def get_judge(kind: str, recipe: Recipe | None = None, device: torch.device | str = "cpu") -> Judge:
    """The judge of `kind` ("segmenter", "style" or "digits"): from memory, from the cache, or trained now and cached."""
    recipe = recipe or RECIPES[kind]
    if recipe.kind != kind:
        raise ValueError(f"a {recipe.kind} recipe cannot make a {kind}")
    folder, key = judges_dir(), recipe.key()
    memo = (str(folder), key)
    if memo in _LOADED:
        return _LOADED[memo].to(device)
    weights, card_path = folder / f"{kind}-{key}.safetensors", folder / f"{kind}-{key}.json"
    judge = _load(recipe, weights, card_path) if weights.is_file() and card_path.is_file() else None
    if judge is None:
        log.info(f"training the {kind} judge once ({recipe.steps} steps at {recipe.size} px); cached in {folder}")
        judge = train_judge(recipe)
        _save(judge, weights, card_path)
    _LOADED[memo] = judge
    return judge.to(device)


def _load(recipe: Recipe, weights: Path, card_path: Path) -> Judge | None:
    try:
        card = read_json(card_path)
        net = _network(recipe)
        net.load_state_dict(load_weights(weights))
    except (CheckpointError, RuntimeError, ValueError) as e:
        log.warning(f"cached judge {weights.name} is unusable ({e}); training it again")
        return None
    if card.get("key") != recipe.key():
        return None
    return Judge(net.eval(), recipe, card)


def _save(judge: Judge, weights: Path, card_path: Path) -> None:
    try:  # weights first: a card is only ever written beside complete weights
        save_weights(weights, judge.net.state_dict(), metadata={"key": judge.recipe.key()})
        write_json(card_path, judge.card)
    except OSError as e:
        log.warning(f"could not cache the {judge.recipe.kind} judge in {weights.parent} ({e}); "
                    "it will be trained again next time")


# ------------------------------------------------------------------------------------------- training


def _render(recipe: Recipe, split: str, n: int) -> dict[str, torch.Tensor] | style_cases.Pool:
    """Scenes of the judges' world: the segmenter's photos and labels (N x H x W) at its size, or the style
    judge's pool (photos, Shinkai renderings, untrained outputs at every scene size); the digit judge's digits and
    their labels (N,); images NCHW in [-1, 1]."""
    if recipe.kind == STYLE:
        return style_cases.render_pool(recipe.world, split, n, recipe.scene_sizes, recipe.seed)
    if recipe.kind == DIGITS:
        images, labels = digits.render_split(recipe.world, split, n, recipe.size)
        return {"photo": images, "labels": labels}
    photos, labels = [], []
    for i in range(n):
        scene = scenes.render(scenes.scene_seed(recipe.world, split, i), recipe.size)
        photos.append(scene.photo)
        labels.append(scene.labels)
    photo = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    return {"photo": photo, "labels": torch.from_numpy(np.stack(labels)).long()}


def _batch(recipe: Recipe, data: Any, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch: images and targets, randomly flipped (the style judge's: see `style_cases`; digits are
    not flipped but given noise, so that a generator's grain does not change what it reads)."""
    if recipe.kind == STYLE:
        return style_cases.training_batch(data, recipe.size, recipe.batch_size, gen)
    index = torch.randint(len(data["labels"]), (recipe.batch_size,), generator=gen)
    x, y = data["photo"][index], data["labels"][index]
    if recipe.kind == DIGITS:
        level = torch.rand(recipe.batch_size, 1, 1, 1, generator=gen) * 0.3
        return (x + torch.randn(x.shape, generator=gen) * level).clamp(-1, 1), y
    flip = torch.rand(recipe.batch_size, generator=gen) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x), torch.where(flip.view(-1, 1, 1), y.flip(-1), y)


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_judge(recipe: Recipe) -> Judge:
    """Train one judge from its recipe (deterministic on CPU; the global RNG is left as it was)."""
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _threads(TRAIN_THREADS):
        train_data = _render(recipe, "train", recipe.n_train)
        heldout = _render(recipe, "val", recipe.n_heldout)
        torch.manual_seed(recipe.seed)
        gen = torch.Generator().manual_seed(recipe.seed)
        net = _network(recipe)
        optim = torch.optim.Adam(net.parameters(), lr=recipe.lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=recipe.lr, total_steps=max(recipe.steps, 1))
        net.train()
        loss = torch.zeros(())
        for _ in range(recipe.steps):
            x, y = _batch(recipe, train_data, gen)
            out = net(x)
            loss = F.binary_cross_entropy_with_logits(out, y) if recipe.kind == STYLE else F.cross_entropy(out, y)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            schedule.step()
    net.eval()
    TRAINED[recipe.kind] += 1
    judge = Judge(net, recipe, {})
    seconds = time.perf_counter() - start  # rendering and training; not the held-out scoring below
    with _threads(TRAIN_THREADS):
        heldout_scores = judge_accuracy(judge, heldout)
    judge.card = {
        "kind": recipe.kind,
        "key": recipe.key(),
        "version": VERSION,
        "recipe": asdict(recipe),
        "what": {SEGMENTER: "per-pixel scene classes from a photo (FCN-score)",
                 STYLE: "probability that an image is a clean Shinkai rendering: not a photo, not blurred, speckled, "
                        "checkerboarded, colour-shifted or featureless, not an untrained generator's output "
                        "(style score)",
                 DIGITS: "which digit 0-9 a grey image shows (label accuracy of label-conditional GANs)"}[recipe.kind],
        "input": {SEGMENTER: f"RGB, {recipe.size}x{recipe.size}, values in [-1, 1]",
                  STYLE: f"RGB at native resolution (any size), values in [-1, 1]; trained on {recipe.size} px crops",
                  DIGITS: f"grey, {recipe.size}x{recipe.size}, white digit on black, values in [-1, 1]"}[recipe.kind],
        "data": _data_note(recipe),
        "heldout": heldout_scores,
        "final_loss": round(float(loss.detach()), 4),
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
    }
    return judge


def _data_note(recipe: Recipe) -> str:
    if recipe.kind == DIGITS:
        return (f"procedural digits of seed {recipe.world}: train split items 0-{recipe.n_train - 1}; held out: "
                f"val split items 0-{recipe.n_heldout - 1}")
    if recipe.kind == SEGMENTER:
        return (f"scenes world {recipe.world}: train split scenes 0-{recipe.n_train - 1}; held out: val split "
                f"scenes 0-{recipe.n_heldout - 1}")

    def counts(n: int) -> str:
        return ", ".join(f"{c} at {s} px" for s, c in style_cases.scene_counts(n, recipe.scene_sizes).items())
    return (f"scenes world {recipe.world}, numbered from 0 across the sizes: train split {counts(recipe.n_train)}; "
            f"held out: val split {counts(recipe.n_heldout)}")


def judge_accuracy(judge: Judge, data: Any, batch_size: int = 25) -> dict[str, Any]:
    """A judge's held-out scores: segmentation scores of the photos; or, for the style judge, its accuracy and
    its mean probability of 'clean Shinkai' for every case of `style_cases.CASES`, over the sizes and at each.

    Style: shinkai_acc is the share of clean renderings called clean, photo_acc of photos called not, accuracy the
    balance of shinkai_acc and the share of every negative case's images called not clean. Digits: the accuracy,
    overall and per digit."""
    if judge.recipe.kind == DIGITS:
        read = torch.cat([judge(data["photo"][i:i + batch_size]) for i in range(0, len(data["photo"]), batch_size)])
        return digit_accuracy(read, data["labels"])
    if judge.recipe.kind == SEGMENTER:
        matrix = np.zeros((N_CLASSES, N_CLASSES), np.int64)
        for i in range(0, len(data["photo"]), batch_size):
            labels = F.interpolate(data["labels"][i:i + batch_size, None].float(), size=(judge.recipe.size,) * 2,
                                   mode="nearest")[:, 0].long()
            matrix += confusion(judge(data["photo"][i:i + batch_size]).numpy(), labels.numpy(), N_CLASSES)
        return segmentation_scores(matrix)
    probs: dict[str, dict[int, torch.Tensor]] = {case: {} for case in style_cases.CASES}
    for size in data:
        for case in style_cases.CASES:
            images = style_cases.case_images(data, size, case, seed=size)
            probs[case][size] = torch.cat([judge(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])

    def called_clean(case: str) -> float:  # each size weighs the same
        return float(np.mean([float((p >= 0.5).float().mean()) for p in probs[case].values()]))

    negatives = [case for case in style_cases.CASES if case not in style_cases.POSITIVE_CASES]
    shinkai_acc, photo_acc = called_clean("clean"), 1 - called_clean("photo")
    negative_acc = 1 - float(np.mean([called_clean(case) for case in negatives]))
    return {
        "accuracy": round((shinkai_acc + negative_acc) / 2, 4),
        "photo_acc": round(photo_acc, 4),
        "shinkai_acc": round(shinkai_acc, 4),
        "scores": {case: round(float(np.mean([float(p.mean()) for p in by_size.values()])), 4)
                   for case, by_size in probs.items()},
        "scores_by_size": {str(size): {case: round(float(probs[case][size].mean()), 4) for case in probs}
                           for size in data},
    }


def digit_accuracy(read: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """{"accuracy": share of digits read as their label, "by_label": that share for each digit 0-9}."""
    right = (read.cpu() == labels.cpu()).float()
    by_label = [round(float(right[labels.cpu() == d].mean()), 4) if (labels == d).any() else None
                for d in range(digits.N_CLASSES)]
    return {"accuracy": round(float(right.mean()), 4), "by_label": by_label}
