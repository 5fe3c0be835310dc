"""Recipe: add a discriminator.

1. Write a plain `nn.Module` that takes images (N, in_channels, H, W) and returns raw logits, (N, 1, h, w):
   one score per patch, per pixel or per image. The GAN objectives (`translate.models.losses`) broadcast the
   real or fake label to whatever map it returns, and apply the sigmoid or the squares themselves.
2. Take `in_channels` and plain keyword arguments with defaults. The trainer sets `in_channels` (pix2pix:
   source + target stacked, CycleGAN and CartoonGAN: one image); the config's [discriminator] table passes the
   rest (`--set discriminator.n_layers=2`).
3. Accept any input size: pad an input smaller than the network needs (`pad_up_to`), as the built-in ones do.
   Setting `receptive_field` and `min_size` lets `translate models` and the tests say what it sees.
4. Register it: `@DISCRIMINATORS.register("sn_patch", "one line")`, and use it by name: `--discriminator
   sn_patch`, `discriminator.name = "sn_patch"`, or `translate.create("discriminator", "sn_patch")`. As for a
   generator (add_generator.py), the module that registers it must be imported before the name is used.

Below: a PatchGAN with spectral normalisation on every convolution instead of norm layers (Miyato et al. 2018),
a common way to steady a discriminator. (The built-in PatchGAN has it too, `--set discriminator.spectral_norm=true
--set discriminator.norm="none"`; here it shows the steps.) `main` runs the `translate` command itself, in this
process, once this file has registered "sn_patch" (the script way of add_generator.py), for a few steps at 32 px:

    translate train --model cyclegan --style shinkai --discriminator sn_patch --steps 4 --set ...

    python docs/recipes/add_discriminator.py [RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from translate.models.discriminators import min_input_size, pad_up_to, receptive_field
from translate.models.layers import init_weights
from translate.registry import DISCRIMINATORS


@DISCRIMINATORS.register("sn_patch", "PatchGAN with spectral norm on every conv and no norm layers (a recipe)")
class SpectralPatchDiscriminator(nn.Module):
    """The 4x4-conv PatchGAN (`n_layers` 1/3/5: 16/70/286 px patches), each conv spectrally normalised.

    Spectral normalisation divides each weight by its largest singular value (estimated by one power iteration
    per training forward), which bounds how fast the discriminator can change; it replaces batch or instance norm.
    """

    def __init__(self, in_channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers + 1):
            previous, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these keeps the resolution, as the PatchGAN's
            layers += [nn.Conv2d(width * previous, width * mult, 4, stride=stride, padding=1), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(width * mult, 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*layers)
        init_weights(self.layers, "normal", 0.02)  # before spectral_norm: it then reads the initialised weights
        for layer in self.layers:
            if isinstance(layer, nn.Conv2d):
                spectral_norm(layer)
        self.receptive_field = receptive_field(self.layers)
        self.min_size = min_input_size(self.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, h, w), one per overlapping patch; inputs under `min_size` are reflection-padded."""
        return self.layers(pad_up_to(x, self.min_size))


# A run small enough to finish in seconds on a CPU: 32 px crops, 4 scenes, 4 steps, narrow networks.
TINY_RUN = [
    "data.load_size=36", "data.crop_size=32", "data.n_train=4", "data.n_test=2",
    "train.log_every=1", "train.n_samples=2",
    "generator.width=8", "generator.n_blocks=1", "discriminator.width=8", "discriminator.n_layers=2",
]


def main(out: str | Path) -> Path:
    """Train CycleGAN with two spectral-norm PatchGANs into `out`, through the `translate train` command."""
    from translate.cli import main as translate_command

    args = ["train", "--model", "cyclegan", "--style", "shinkai", "--discriminator", "sn_patch",
            "--steps", "4", "--out", str(out), "--quiet"]
    for assignment in TINY_RUN:
        args += ["--set", assignment]
    # standalone_mode=False: return here instead of exiting the process, as `translate` itself would
    translate_command.main(args, prog_name="translate", standalone_mode=False)
    return Path(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="recipe-discriminator-"))
