"""What the style judge learns from and is checked on: clean Shinkai renderings against everything that is not.

The judge answers "is this a clean Shinkai rendering?". Positives are the scenes world's Shinkai renderings,
a quarter of them softened a little by a resize round trip (a resized output is still the style). Negatives:

- photos, and garish photos (over-saturated, contrasty, posterised): loud colour alone is not the style;
- Shinkai renderings damaged the ways generators damage them: blurred (Gaussian, sigma 0.8-3 px), speckled
  with fine per-pixel noise, overlaid with a 2-px-period checkerboard (what stride-2 transposed convolutions
  leave), or colour-shifted (hue turned, saturation drained);
- the outputs of the registry's own generators at random init (`UNTRAINED`): what an untrained run shows;
- featureless frames: one flat colour, or a smooth vertical blend, taken from the rendering's own pixels, and
  renderings blurred past recognition: what a generator paints when a smoothness prior wins (judges version 3
  scored a flat sky-blue frame 0.57 and a run's flat blue output 0.90).

Positives are crops that show the scene's structure: at least two of its classes, each on a few percent of
the crop. A 64 px crop of a 256 px rendering can be all sky, as flat as a featureless negative; taught as
both, it made the judge call any flat frame half Shinkai. Taught only structured crops, it learns to weigh
the windows that hold outlines and shading (see `judges.StyleNet`), and a frame with none is not the style.

The judge looks at native pixels (see `judges.StyleNet`), so strengths are per native pixel: blur sigma in
pixels, noise and checkerboard amplitudes in the [-1, 1] units of a model's output. `CASES` are the fixed
damages the judge's card reports on the held-out split; training draws strengths around them.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from translate.data import scenes
from translate.registry import create

# image size -> {"photo", "shinkai", "untrained"}: NCHW in [-1, 1]; "labels": N x H x W class ids
Pool = dict[int, dict[str, torch.Tensor]]
Damage = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

# Small generators of every trainable family in the registry (timm_unet left out: it may need timm's weights),
# each at the reference's init and at two louder ones, so untrained output ranges from flat grey to loud noise.
UNTRAINED: tuple[tuple[str, dict[str, int]], ...] = (
    ("resnet", {"width": 8, "n_blocks": 2}),
    ("unet", {"width": 8, "depth": 5}),
    ("cartoon", {"width": 8, "n_blocks": 2}),
)
UNTRAINED_INITS = (("normal", 0.02), ("xavier", 1.0), ("kaiming", 1.0))


# -------------------------------------------------------------------------------------------- damages


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """NCHW blurred by a separable Gaussian of `sigma` pixels (edges replicated)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-t**2 / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius,) * 4, mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def resize_round_trip(x: torch.Tensor, factor: float) -> torch.Tensor:
    """NCHW shrunk by `factor` (< 1) and enlarged back (bilinear, antialiased): the softness of a resized image."""
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(max(1, round(h * factor)), max(1, round(w * factor))), mode="bilinear",
                          antialias=True, align_corners=False)
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def fine_noise(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    """NCHW with independent Gaussian noise of `std` on every pixel and channel: speckle."""
    return x + std * torch.randn(x.shape, generator=gen)


def checkerboard(x: torch.Tensor, amplitude: float, gen: torch.Generator) -> torch.Tensor:
    """NCHW plus a 2-px-period pattern (a random zero-mean 2x2 tile per image and channel, peak `amplitude`)."""
    n, c, h, w = x.shape
    tile = torch.rand(n, c, 2, 2, generator=gen) * 2 - 1
    tile = tile - tile.mean((2, 3), keepdim=True)
    tile = tile / tile.abs().amax((1, 2, 3), keepdim=True).clamp_min(1e-6)
    return x + amplitude * tile.repeat(1, 1, (h + 1) // 2, (w + 1) // 2)[..., :h, :w]


def flat_colour(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """NCHW with each image filled with the colour of one of its own pixels, picked at random."""
    n, _, h, w = x.shape
    pick = x[torch.arange(n), :, torch.randint(h, (n,), generator=gen), torch.randint(w, (n,), generator=gen)]
    return pick[..., None, None].expand_as(x).clone()


def smooth_blend(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """NCHW with each image a vertical blend from a colour of its top row to a colour of its middle row: a sky."""
    n, _, h, w = x.shape
    rows = torch.arange(n)
    top = x[rows, :, 0, torch.randint(w, (n,), generator=gen)]
    middle = x[rows, :, h // 2, torch.randint(w, (n,), generator=gen)]
    t = torch.linspace(0, 1, h).view(1, 1, h, 1)
    return (top[..., None, None] * (1 - t) + middle[..., None, None] * t).expand_as(x).clone()


def garish(x: torch.Tensor, saturation: float, contrast: float, levels: int = 0) -> torch.Tensor:
    """NCHW with its colour pushed away from grey, its contrast raised and (levels > 1) posterised."""
    grey = x.mean(1, keepdim=True)
    x = ((grey + saturation * (x - grey)) * contrast).clamp(-1, 1)
    if levels > 1:
        x = torch.round((x + 1) / 2 * (levels - 1)) / (levels - 1) * 2 - 1
    return x


def colour_shift(x: torch.Tensor, degrees: float, saturation: float = 1.0) -> torch.Tensor:
    """NCHW with its hue turned by `degrees` about the grey axis and its colour scaled by `saturation`."""
    a = math.radians(degrees)
    k = torch.full((3, 3), 1 / 3)
    cross = torch.tensor([[0.0, -1, 1], [1, 0, -1], [-1, 1, 0]]) / math.sqrt(3)
    turn = math.cos(a) * torch.eye(3) + (1 - math.cos(a)) * k + math.sin(a) * cross
    x = torch.einsum("ij,njhw->nihw", turn, x)
    grey = x.mean(1, keepdim=True)
    return grey + saturation * (x - grey)


# Held-out cases: (which images of the pool, what is done to them). "clean" is the only positive; "clean resized"
# checks that mild softness is still taken for the style.
CASES: dict[str, tuple[str, Damage]] = {
    "clean": ("shinkai", lambda x, g: x),
    "clean resized 0.8x": ("shinkai", lambda x, g: resize_round_trip(x, 0.8)),
    "photo": ("photo", lambda x, g: x),
    "garish photo": ("photo", lambda x, g: garish(x, 2.5, 1.3, 5)),
    "blur 1px": ("shinkai", lambda x, g: gaussian_blur(x, 1.0)),
    "blur 2px": ("shinkai", lambda x, g: gaussian_blur(x, 2.0)),
    "noise 0.05": ("shinkai", lambda x, g: fine_noise(x, 0.05, g)),
    "noise 0.1": ("shinkai", lambda x, g: fine_noise(x, 0.1, g)),
    "noise 0.2": ("shinkai", lambda x, g: fine_noise(x, 0.2, g)),
    "checkerboard 0.05": ("shinkai", lambda x, g: checkerboard(x, 0.05, g)),
    "checkerboard 0.1": ("shinkai", lambda x, g: checkerboard(x, 0.1, g)),
    "checkerboard 0.2": ("shinkai", lambda x, g: checkerboard(x, 0.2, g)),
    "hue 120": ("shinkai", lambda x, g: colour_shift(x, 120)),
    "untrained": ("untrained", lambda x, g: x),
    "flat colour": ("shinkai", flat_colour),
    "sky blend": ("shinkai", smooth_blend),
    "blur 6px": ("shinkai", lambda x, g: gaussian_blur(x, 6.0)),
}
POSITIVE_CASES = ("clean", "clean resized 0.8x")


def _uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen))


def _log_uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo * (hi / lo) ** float(torch.rand((), generator=gen))


def _randint(gen: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (), generator=gen))


def _blotches(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    cells = 2 + _randint(gen, x.shape[-1] - 1)  # from a few big blotches down to pixel noise
    noise = torch.rand(x.shape[0], 3, cells, cells, generator=gen) * 2 - 1
    return F.interpolate(noise, size=x.shape[-2:], mode="bilinear", align_corners=False)


def _random_colour_shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if float(torch.rand((), generator=gen)) < 0.5:
        return colour_shift(x, _uniform(gen, 60, 300))
    return colour_shift(x, 0, _uniform(gen, 0, 0.35))  # drained toward grey


# Training negatives: (weight, pool images, damage at a random strength). The weakest strengths sit a little
# below the held-out cases', so the cases test what the judge was taught rather than its edge.
NEGATIVES: tuple[tuple[float, str, Damage], ...] = (
    (0.13, "photo", lambda x, g: x),
    (0.08, "photo", lambda x, g: garish(x, _uniform(g, 1.6, 3.5), _uniform(g, 1.0, 1.6),
                                        0 if float(torch.rand((), generator=g)) < 0.4 else 3 + _randint(g, 5))),
    (0.13, "shinkai", lambda x, g: gaussian_blur(x, _uniform(g, 0.8, 3.0))),
    (0.15, "shinkai", lambda x, g: fine_noise(x, _log_uniform(g, 0.03, 0.4), g)),
    (0.15, "shinkai", lambda x, g: checkerboard(x, _log_uniform(g, 0.03, 0.4), g)),
    (0.08, "shinkai", _random_colour_shift),
    (0.13, "untrained", lambda x, g: x),
    (0.05, "shinkai", lambda x, g: _blotches(x, g)),
    (0.03, "shinkai", lambda x, g: gaussian_blur(x, _uniform(g, 3.0, 12.0))),
    (0.04, "shinkai", flat_colour),
    (0.03, "shinkai", smooth_blend),
)
SOFTENED_SHARE = 0.25  # of positives: resized down to 0.75-1x and back
STRUCTURE_SHARE = 0.04  # a positive crop shows at least two classes, each on this share of it
STRUCTURE_TRIES = 20  # crops drawn to find one; then the last is taken


# ----------------------------------------------------------------------------------------------- data


def scene_counts(n: int, sizes: tuple[int, ...]) -> dict[int, int]:
    """How many scenes each size gets: `n` at the smallest, fewer at larger ones (about the same crops' worth)."""
    return {size: max(1, n * min(sizes) // size) for size in sizes}


def untrained_outputs(photos: torch.Tensor, seed: int) -> torch.Tensor:
    """Each photo through one of the `UNTRAINED` generators at random init (seeded), in eval mode as `translate
    eval` runs a model; the global random state is left as it was."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        nets = [create("generator", name, init=init, init_gain=gain, **kwargs).eval()
                for name, kwargs in UNTRAINED for init, gain in UNTRAINED_INITS]
        outputs = [nets[i % len(nets)](photos[i:i + 1]) for i in range(len(photos))]
    return torch.cat(outputs).clamp(-1, 1)


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def render_pool(world: int, split: str, n: int, sizes: tuple[int, ...], seed: int) -> Pool:
    """Photos, Shinkai renderings, untrained-generator outputs and label maps of the world's `split` at every size
    (`scene_counts` scenes each, consecutive scene numbers from 0 across the sizes)."""
    pool: Pool = {}
    first = 0
    for size, count in scene_counts(n, sizes).items():
        rendered = [scenes.render(scenes.scene_seed(world, split, first + i), size) for i in range(count)]
        photos = _tensor([s.photo for s in rendered])
        generators_seed = scenes.scene_seed(world, split, first) + seed  # other generators for every split and size
        pool[size] = {"photo": photos, "shinkai": _tensor([s.shinkai for s in rendered]),
                      "untrained": untrained_outputs(photos, generators_seed),
                      "labels": torch.from_numpy(np.stack([s.labels for s in rendered])).long()}
        first += count
    return pool


def training_batch(pool: Pool, crop: int, batch_size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops at native resolution: half clean Shinkai that show structure (label 1, some softened), half
    negatives (label 0)."""
    sizes = sorted(pool)
    weights = torch.tensor([w for w, _, _ in NEGATIVES])
    x = torch.empty(batch_size, 3, crop, crop)
    for i in range(batch_size):
        size = sizes[_randint(gen, len(sizes))]
        if i % 2 == 0:
            source, damage = "shinkai", None
        else:
            _, source, damage = NEGATIVES[int(torch.multinomial(weights, 1, generator=gen))]
        images = pool[size][source]
        for _ in range(STRUCTURE_TRIES if damage is None else 1):
            j, top, left = _randint(gen, len(images)), _randint(gen, size - crop + 1), _randint(gen, size - crop + 1)
            if damage is not None or _structured(pool[size]["labels"][j, top:top + crop, left:left + crop]):
                break
        patch = images[j:j + 1, :, top:top + crop, left:left + crop]
        if damage is not None:
            patch = damage(patch, gen)
        elif float(torch.rand((), generator=gen)) < SOFTENED_SHARE:
            patch = resize_round_trip(patch, _uniform(gen, 0.75, 1.0))
        x[i] = patch[0].clamp(-1, 1)
    y = (torch.arange(batch_size) % 2 == 0).float()
    flip = torch.rand(batch_size, generator=gen) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x), y


def _structured(labels: torch.Tensor) -> bool:
    shares = torch.bincount(labels.flatten()).float() / labels.numel()
    return int((shares >= STRUCTURE_SHARE).sum()) >= 2


def case_images(pool: Pool, size: int, case: str, seed: int = 0) -> torch.Tensor:
    """The held-out images of one case at one size (whole images, the judge's real input)."""
    source, damage = CASES[case]
    return damage(pool[size][source], torch.Generator().manual_seed(seed)).clamp(-1, 1)
