"""VGG19 features for content losses (CartoonGAN's conv4_4), with weights found locally, never downloaded.

`weights` choices: "auto" (ImageNet weights when torchvision's cache holds them, else a fixed random VGG19,
said loudly), "imagenet" (insist: fail with instructions when absent), "random" (on purpose), or a file path
(.pth state dict, loaded without unpickling code, or .safetensors).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn

from translate.errors import CheckpointError, TranslateError
from translate.files import load_tensor_file, load_weights

log = logging.getLogger("translate")

IMAGENET_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's VGG19_Weights.IMAGENET1K_V1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_SEED = 0

# Index of each named layer in torchvision's vgg19().features.
_BLOCKS = (2, 2, 4, 4, 4)


def layer_index(name: str) -> int:
    """Position of 'convB_L' or 'reluB_L' in vgg19().features (conv4_4 -> 25, relu4_4 -> 26)."""
    index = {}
    i = 0
    for block, n in enumerate(_BLOCKS, start=1):
        for layer in range(1, n + 1):
            index[f"conv{block}_{layer}"], index[f"relu{block}_{layer}"] = i, i + 1
            i += 2
        i += 1  # the max-pool
    if name not in index:
        raise TranslateError(f"unknown VGG19 layer '{name}' (config key content.layer); e.g. conv4_4, relu4_4, conv3_2")
    return index[name]


def imagenet_path() -> Path:
    """Where torchvision keeps the ImageNet VGG19 weights once downloaded: TORCH_HOME/hub/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def resolve_weights(weights: str) -> tuple[str, Path | None]:
    """('imagenet', path), ('file', path) or ('random', None) for a content.weights setting."""
    if weights in ("auto", "imagenet"):
        path = imagenet_path()
        if path.is_file():
            return "imagenet", path
        if weights == "imagenet":
            raise TranslateError(
                f"content.weights = 'imagenet' but {path} does not exist and nothing is downloaded here; copy "
                f"torchvision's {IMAGENET_FILE} there (or set TORCH_HOME), pass content.weights=PATH, or use 'random'"
            )
        return "random", None
    if weights == "random":
        return "random", None
    path = Path(os.path.expanduser(weights))
    if not path.is_file():
        raise TranslateError(f"content.weights: {path} is not a file; use auto, imagenet, random or a weights file")
    return "file", path


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_weights(path)
    try:
        state = load_tensor_file(path)
    except CheckpointError as e:
        raise TranslateError(f"{e}; pass a VGG19 state dict") from None
    return state.get("state_dict", state) if isinstance(state, dict) else state


# torchvision's VGG19 ("E"): channels of each 3x3 conv, M a 2x2 max-pool.
VGG19_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def vgg19_features(n_modules: int = 37) -> nn.Sequential:
    """The first `n_modules` of torchvision's vgg19().features, same layers and state-dict names.

    Built here rather than imported: torchvision takes seconds to import, and the classifier is not needed.
    """
    layers: list[nn.Module] = []
    channels = 3
    for v in VGG19_LAYERS:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = int(v)
    return nn.Sequential(*layers[:n_modules])


class VGGFeatures(nn.Module):
    """torchvision's VGG19 features up to one layer, frozen; takes images in [-1, 1] (grey or RGB).

    `description` says which weights it holds (for the run's config). Random weights are drawn from a
    fixed seed with He (fan-in) init, which keeps feature magnitudes steady through the depth.
    """

    def __init__(self, layer: str = "conv4_4", weights: str = "auto") -> None:
        super().__init__()
        kind, path = resolve_weights(weights)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_SEED)
            features = vgg19_features(layer_index(layer) + 1)
            for m in features.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        if path is not None:
            state = _read_state(path)
            state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
            try:
                features.load_state_dict(
                    {k: v for k, v in state.items() if not k.split(".")[0].isdigit() or int(k.split(".")[0]) < len(features)}
                )
            except RuntimeError as e:
                raise TranslateError(f"{path}: not torchvision VGG19 weights ({str(e).splitlines()[0]})") from None
        self.features = features
        self.features.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.kind = kind
        if kind == "imagenet":
            self.description = f"imagenet ({path})"
        elif kind == "file":
            self.description = f"file ({path})"
        else:
            self.description = f"random (fixed seed {RANDOM_SEED}; no ImageNet VGG19 weights at {imagenet_path()})"

    def train(self, mode: bool = True) -> VGGFeatures:
        # Always in eval mode: a fixed feature extractor.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of images in [-1, 1] at the chosen layer."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        x = ((images + 1) * 0.5 - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        return self.features(x)


def content_features(layer: str = "conv4_4", weights: str = "auto") -> VGGFeatures:
    """A VGGFeatures, warning loudly when it is not ImageNet-trained (the content loss is then a stand-in)."""
    net = VGGFeatures(layer, weights)
    if net.kind == "random" and weights != "random":
        log.warning(
            "content loss uses a RANDOM VGG19 (fixed seed): no ImageNet weights at %s and nothing is downloaded. "
            "Copy torchvision's %s there or set content.weights=PATH for the paper's content loss.",
            imagenet_path(),
            IMAGENET_FILE,
        )
    return net
