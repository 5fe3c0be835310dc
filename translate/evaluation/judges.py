"""The judges: small networks that score translations, trained once on the scenes world and cached.

- the segmenter (photo -> the world's 9 classes) gives the pix2pix paper's FCN-score of labels2photo models:
  how well the label map can be read back from a generated photo;
- the style classifier (photo or Shinkai rendering?) gives the style score of photo2shinkai models;
- Inception-v3 pool features give FID and KID, only when torchvision's ImageNet weights are on this
  machine (nothing is ever downloaded).

A judge is trained from its `Recipe` (a minute or so of CPU at the default) on scenes of its own world
(`Recipe.world`, the train split; held out: that world's val split), so it never sees any test scene.
It is cached under `$TRANSLATE_HOME/judges/` (default `~/.cache/translate/judges/`) as
`<kind>-<key>.safetensors` beside a JSON card with the recipe, held-out accuracy and training time; the key
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

from translate.data import scenes
from translate.errors import CheckpointError
from translate.evaluation.metrics import confusion, segmentation_scores
from translate.files import home, load_weights, read_json, save_weights, write_json

log = logging.getLogger("translate")

VERSION = 2  # bump when a network or the training code changes: every cached judge is retrained
SEGMENTER, STYLE = "segmenter", "style"
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

    kind: str  # "segmenter" or "style"
    size: int = 64  # the judge sees size x size images; others are resized to it
    n_train: int = 400  # training scenes (the style classifier sees each as photo and as Shinkai)
    n_heldout: int = 100  # held-out scenes (the val split) for the card's accuracy
    steps: int = 150
    batch_size: int = 16
    lr: float = 2e-3
    width: int = 16
    world: int = 7  # base seed of the judges' own scenes world
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in (SEGMENTER, STYLE) or self.size < 8 or self.size % 4:
            raise ValueError(f"judge recipe: kind must be {SEGMENTER!r} or {STYLE!r} and size a multiple of 4, >= 8")

    def key(self) -> str:
        """A short hash of the recipe and VERSION: the cache key."""
        text = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# The default recipes; tests swap in tiny ones.
RECIPES: dict[str, Recipe] = {
    SEGMENTER: Recipe(SEGMENTER, steps=300, lr=3e-3),
    STYLE: Recipe(STYLE, steps=120),
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
    """Four stride-2 conv layers, global average pool, one logit: > 0 means 'a Shinkai rendering'."""

    def __init__(self, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i in range(4):
            c_out = width * min(2**i, 4)
            layers += [nn.Conv2d(c, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            c = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))[:, 0]


def _network(recipe: Recipe) -> nn.Module:
    return SegmenterNet(width=recipe.width) if recipe.kind == SEGMENTER else StyleNet(width=recipe.width)


# --------------------------------------------------------------------------------------------- judges


@dataclass
class Judge:
    """A trained judge: its network (eval mode), recipe and card (recipe, held-out accuracy, training time)."""

    net: nn.Module
    recipe: Recipe
    card: dict[str, Any]

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """NCHW in [-1, 1], RGB or grey, any size -> RGB at the judge's size on its device."""
        device = next(self.net.parameters()).device
        x = images.float().to(device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.recipe.size, self.recipe.size):
            x = F.interpolate(x, size=(self.recipe.size, self.recipe.size), mode="bilinear", antialias=True,
                              align_corners=False)
        return x.clamp(-1, 1)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Segmenter: class ids N x size x size. Style classifier: probability of 'Shinkai', shape (N,)."""
        out = self.net(self.prepare(images))
        return out.argmax(1).cpu() if self.recipe.kind == SEGMENTER else torch.sigmoid(out).cpu()

    def to(self, device: torch.device | str) -> Judge:
        self.net.to(device)
        return self


def get_judge(kind: str, recipe: Recipe | None = None, device: torch.device | str = "cpu") -> Judge:
    """The judge of `kind` ("segmenter" or "style"): from memory, from the cache, or trained now and cached."""
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


def _render(recipe: Recipe, split: str, n: int) -> dict[str, torch.Tensor]:
    """Scenes of the judges' world at the recipe's size: photo, shinkai (NCHW in [-1, 1]) and labels (N x H x W)."""
    photos, shinkai, labels = [], [], []
    for i in range(n):
        scene = scenes.render(scenes.scene_seed(recipe.world, split, i), recipe.size)
        photos.append(scene.photo)
        shinkai.append(scene.shinkai)
        labels.append(scene.labels)

    def tensor(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)

    return {"photo": tensor(photos), "shinkai": tensor(shinkai), "labels": torch.from_numpy(np.stack(labels)).long()}


def _batch(recipe: Recipe, data: dict[str, torch.Tensor], gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch: images and targets, randomly flipped (and, for the style judge, softened)."""
    n = len(data["labels"])
    if recipe.kind == SEGMENTER:
        index = torch.randint(n, (recipe.batch_size,), generator=gen)
        x, y = data["photo"][index], data["labels"][index]
    else:  # half photos (0), half Shinkai renderings (1), of the same scenes: style, not content, differs
        index = torch.randint(n, (recipe.batch_size,), generator=gen)
        is_shinkai = torch.arange(recipe.batch_size) % 2
        x = torch.where(is_shinkai.view(-1, 1, 1, 1).bool(), data["shinkai"][index], data["photo"][index])
        y = is_shinkai.float()
        # Anything that is not a Shinkai rendering counts as "not Shinkai": some photo slots hold noise, fine or
        # blotchy, so garbage outputs are not taken for the style the classifier has seen least of.
        junk = (torch.rand(recipe.batch_size, generator=gen) < 0.25) & ~is_shinkai.bool()
        if junk.any():
            x = x.clone()
            cells = int(torch.randint(2, recipe.size + 1, (), generator=gen))
            noise = torch.rand(int(junk.sum()), 3, cells, cells, generator=gen) * 2 - 1
            x[junk] = F.interpolate(noise, size=(recipe.size, recipe.size), mode="bilinear", align_corners=False)
        # Generated images are often softer than renderings; blur some of both kinds so softness is no cue.
        soft = torch.rand(recipe.batch_size, generator=gen) < 0.3
        if soft.any():
            x = x.clone()
            x[soft] = F.avg_pool2d(F.pad(x[soft], (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    flip = torch.rand(recipe.batch_size, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if recipe.kind == SEGMENTER:
        y = torch.where(flip.view(-1, 1, 1), y.flip(-1), y)
    return x, y


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
    train_data = _render(recipe, "train", recipe.n_train)
    heldout = _render(recipe, "val", recipe.n_heldout)
    with torch.random.fork_rng(devices=[]), _threads(TRAIN_THREADS):
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
            loss = F.cross_entropy(out, y) if recipe.kind == SEGMENTER else F.binary_cross_entropy_with_logits(out, y)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            schedule.step()
    net.eval()
    TRAINED[recipe.kind] += 1
    judge = Judge(net, recipe, {})
    seconds = time.perf_counter() - start
    judge.card = {
        "kind": recipe.kind,
        "key": recipe.key(),
        "version": VERSION,
        "recipe": asdict(recipe),
        "what": ("per-pixel scene classes from a photo (FCN-score)" if recipe.kind == SEGMENTER
                 else "probability that an image is a Shinkai rendering rather than a photo (style score)"),
        "input": f"RGB, {recipe.size}x{recipe.size}, values in [-1, 1]",
        "data": f"scenes world {recipe.world}: train split scenes 0-{recipe.n_train - 1}; held out: val split "
                f"scenes 0-{recipe.n_heldout - 1}",
        "heldout": judge_accuracy(judge, heldout),
        "final_loss": round(float(loss.detach()), 4),
        "train_seconds": round(seconds, 1),
        "torch": torch.__version__,
    }
    return judge


def judge_accuracy(judge: Judge, data: dict[str, torch.Tensor], batch_size: int = 50) -> dict[str, float]:
    """A judge's accuracy on rendered scenes: segmentation scores of the photos, or accuracy on photo + Shinkai."""
    if judge.recipe.kind == SEGMENTER:
        matrix = np.zeros((N_CLASSES, N_CLASSES), np.int64)
        for i in range(0, len(data["photo"]), batch_size):
            labels = F.interpolate(data["labels"][i:i + batch_size, None].float(), size=(judge.recipe.size,) * 2,
                                   mode="nearest")[:, 0].long()
            matrix += confusion(judge(data["photo"][i:i + batch_size]).numpy(), labels.numpy(), N_CLASSES)
        return segmentation_scores(matrix)
    photo = torch.cat([judge(data["photo"][i:i + batch_size]) for i in range(0, len(data["photo"]), batch_size)])
    shinkai = torch.cat([judge(data["shinkai"][i:i + batch_size]) for i in range(0, len(data["shinkai"]), batch_size)])
    photo_acc, shinkai_acc = float((photo < 0.5).float().mean()), float((shinkai >= 0.5).float().mean())
    return {"accuracy": (photo_acc + shinkai_acc) / 2, "photo_acc": photo_acc, "shinkai_acc": shinkai_acc}
