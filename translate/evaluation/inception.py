"""Inception-v3 features for FID and KID, from torchvision's weights where this machine has them (never downloaded)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception_v3

from translate.errors import CheckpointError, TranslateError
from translate.files import load_tensor_file, load_weights

INCEPTION_ENV = "TRANSLATE_INCEPTION"


def find_inception(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The Inception-v3 weights to use: `path`, else $TRANSLATE_INCEPTION, else torchvision's cached
    `<torch.hub.get_dir()>/checkpoints/inception_v3_google-*.pth`; None when there are none. Never downloads."""
    given = path or os.environ.get(INCEPTION_ENV)
    if given:
        if not Path(given).is_file():
            source = "--inception" if path else INCEPTION_ENV
            raise TranslateError(f"Inception weights {given} ({source}) do not exist; pass the torchvision "
                                 "inception_v3_google-*.pth file, or leave it unset to skip FID and KID")
        return Path(given)
    found = sorted(glob.glob(os.path.join(torch.hub.get_dir(), "checkpoints", "inception_v3_google-*.pth")))
    return Path(found[-1]) if found else None


class InceptionFeatures(nn.Module):
    """torchvision's Inception-v3 up to the 2048-wide pool: images in [-1, 1] (any size, RGB or grey) -> N x 2048.

    Images are resized to 299 x 299 (bilinear) and fed as they are: the Google weights expect [-1, 1].
    FID and KID from these weights are comparable with each other, not with papers' TF-Inception numbers.
    """

    def __init__(self, weights: str | os.PathLike[str]) -> None:
        super().__init__()
        try:  # read the file before building the network: a wrong file fails in milliseconds, not seconds
            if str(weights).endswith(".safetensors"):
                state = load_weights(weights)
            else:
                state = load_tensor_file(weights)
            net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
            net.load_state_dict(state)
        except (OSError, RuntimeError, ValueError, AttributeError, TypeError, CheckpointError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise TranslateError(f"{weights}: not torchvision inception_v3 weights ({first})") from None
        net.fc = nn.Identity()
        self.net = net.eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().to(next(self.net.parameters()).device).clamp(-1, 1)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net(x).cpu()


def features(path: str | os.PathLike[str] | None = None,
             device: torch.device | str = "cpu") -> InceptionFeatures | None:
    """The Inception feature extractor, or None when no weights are on this machine."""
    weights = find_inception(path)
    if weights is None:
        return None
    return InceptionFeatures(weights).to(device)
