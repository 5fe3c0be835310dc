"""Classical line-art baselines registered as generators: Canny edges and the colour-dodge pencil sketch.

They learn nothing (no parameters; registered with `trainable=False`), so `translate eval canny --style coloring` puts a
hand-made method in every table beside the trained models. Like every generator they take an NCHW batch in
[-1, 1] (RGB or grey, any size) and return N x out_channels x H x W in [-1, 1]: black lines on white paper.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from translate.errors import ConfigError
from translate.models.base import Generator
from translate.registry import GENERATORS

# ITU-R BT.601 luma, the weights PIL's convert("L") uses.
LUMA = (0.299, 0.587, 0.114)


def to_grey(x: torch.Tensor) -> torch.Tensor:
    """An NCHW batch in [-1, 1] as N x 1 x H x W grey in [0, 1] (RGB by luma; other channel counts averaged)."""
    x = (x.float().clamp(-1, 1) + 1) / 2
    if x.shape[1] == 3:
        weights = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * weights).sum(1, keepdim=True)
    return x.mean(1, keepdim=True)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an N x 1 x H x W batch; edges replicate, so any size (even 1x1) works."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))


def _check(in_channels: int, out_channels: int, name: str) -> None:
    for key, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value < 1:
            raise ConfigError(f"{name}: {key} must be at least 1, got {value}")


class LineBaseline(Generator):
    """What both baselines share: no parameters, grey in, paper (white, +1) and ink (black, -1) out.

    They take any size as it comes (the contract's `size_multiple` and `min_size` of 1), so `forward` never pads.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 1) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels

    def lightness(self, grey: torch.Tensor) -> torch.Tensor:
        """The sketch as N x 1 x H x W lightness in [0, 1] (0 ink, 1 paper)."""
        raise NotImplementedError

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Draw a batch (N, C, H, W) in [-1, 1] as line art, N x out_channels x H x W in [-1, 1]."""
        n, _, h, w = x.shape
        if x.device.type == "meta":  # shape-only passes (parameter and MAC tables)
            return torch.empty(n, self.out_channels, h, w, device=x.device)
        with torch.no_grad():
            out = self.lightness(to_grey(x)).clamp(0, 1) * 2 - 1
        return out.expand(n, self.out_channels, h, w).contiguous().to(x.dtype)


@GENERATORS.register(
    "canny", "baseline, no training: Canny edges of the grey image as black lines on white (sigma)", trainable=False
)
class CannyBaseline(LineBaseline):
    """skimage's Canny edge detector on the grey image; each edge pixel becomes a black line pixel.

    `sigma` is the Gaussian smoothing before the gradient (larger: fewer, smoother lines); the hysteresis
    thresholds `low_threshold`/`high_threshold` are on the gradient magnitude of [0, 1] images, or, when
    `quantile` is set, quantiles of it (skimage's `use_quantiles`). None takes skimage's defaults. sigma 1
    scored best on the coloring style's val split at 64 px (line F 0.74; 0.72 at sigma 0.5, 0.71 at 1.5).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        sigma: float = 1.0,
        low_threshold: float | None = None,
        high_threshold: float | None = None,
        quantile: bool = False,
    ) -> None:
        _check(in_channels, out_channels, "canny")
        if sigma < 0:
            raise ConfigError(f"canny: sigma must be >= 0, got {sigma}")
        super().__init__(in_channels, out_channels)
        self.sigma, self.quantile = float(sigma), bool(quantile)
        self.low_threshold, self.high_threshold = low_threshold, high_threshold

    def lightness(self, grey: torch.Tensor) -> torch.Tensor:
        from skimage.feature import canny

        images = grey[:, 0].detach().cpu().double().numpy()
        edges = np.stack([
            canny(image, sigma=self.sigma, low_threshold=self.low_threshold, high_threshold=self.high_threshold,
                  use_quantiles=self.quantile)
            for image in images
        ])
        return torch.from_numpy(1.0 - edges.astype(np.float32))[:, None].to(grey.device)


@GENERATORS.register(
    "dodge", "baseline, no training: colour-dodge pencil sketch (grey, invert, blur, dodge), as lines", trainable=False
)
class DodgeBaseline(LineBaseline):
    """The photo-editor pencil sketch: grey / (1 - blur(1 - grey)), i.e. grey, invert, blur, colour-dodge.

    Flat areas dodge to white and edges stay dark. `sigma` is the blur in pixels; `threshold` turns the
    soft sketch into lines (lightness below it becomes black, the rest white); None keeps the soft sketch.
    The defaults scored best on the coloring style's val split at 64 px (line F 0.80; sigma 1.5: 0.74).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 1,
        sigma: float = 1.0,
        threshold: float | None = 0.93,
    ) -> None:
        _check(in_channels, out_channels, "dodge")
        if sigma < 0:
            raise ConfigError(f"dodge: sigma must be >= 0, got {sigma}")
        if threshold is not None and not 0 < threshold <= 1:
            raise ConfigError(f"dodge: threshold must be in (0, 1] or none, got {threshold}")
        super().__init__(in_channels, out_channels)
        self.sigma, self.threshold = float(sigma), threshold

    def lightness(self, grey: torch.Tensor) -> torch.Tensor:
        blurred_inverse = gaussian_blur(1 - grey, self.sigma)
        sketch = (grey / (1 - blurred_inverse).clamp_min(1e-6)).clamp(0, 1)
        if self.threshold is None:
            return sketch
        return (sketch >= self.threshold).to(grey.dtype)
