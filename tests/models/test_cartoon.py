"""The CartoonGAN generator and the import of the authors' published files: the same outputs, BGR included.

`AuthorsTransformer` re-creates the module structure of the CartoonGAN authors' PyTorch test code
(Yijunmaverick/CartoonGAN-Test-Pytorch-Torch, network/Transformer.py): the same layer names in the same order,
their own InstanceNormalization (`scale`, `shift`, biased variance, eps 1e-9), and their forward pass. A state
dict it saves is one their code saves; `width` and `n_blocks` default to theirs (64, 8).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import CheckpointError
from translate.models.cartoon import CartoonGenerator
from translate.bench.measure import count_parameters
from translate.registry import GENERATORS
from translate.rundir import load_network_state, read_config
from translate.models.cartoon import cartoongan_to_ours
from translate.zoo.importers import import_cartoongan, import_reference


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


class AuthorsInstanceNorm(nn.Module):
    """Their InstanceNormalization: (x - mean) / sqrt(biased var + eps) * scale + shift, over H x W."""

    def __init__(self, dim: int, eps: float = 1e-9) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.empty(dim).uniform_())
        self.shift = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(2) * x.size(3)
        t = x.view(x.size(0), x.size(1), n)
        mean = torch.mean(t, 2).unsqueeze(2).unsqueeze(3).expand_as(x)
        var = torch.var(t, 2).unsqueeze(2).unsqueeze(3).expand_as(x) * ((n - 1) / float(n))
        scale = self.scale.unsqueeze(1).unsqueeze(1).unsqueeze(0).expand_as(x)
        shift = self.shift.unsqueeze(1).unsqueeze(1).unsqueeze(0).expand_as(x)
        return (x - mean) / torch.sqrt(var + self.eps) * scale + shift


class AuthorsTransformer(nn.Module):
    """Their Transformer, layer for layer: refpad01_1, conv01_1, in01_1, conv02_1, ..., deconv03_1."""

    def __init__(self, width: int = 64, n_blocks: int = 8, channels: int = 3) -> None:
        super().__init__()
        w = width
        self.n_blocks = n_blocks
        self.refpad01_1 = nn.ReflectionPad2d(3)
        self.conv01_1 = nn.Conv2d(channels, w, 7)
        self.in01_1 = AuthorsInstanceNorm(w)
        self.conv02_1 = nn.Conv2d(w, 2 * w, 3, 2, 1)
        self.conv02_2 = nn.Conv2d(2 * w, 2 * w, 3, 1, 1)
        self.in02_1 = AuthorsInstanceNorm(2 * w)
        self.conv03_1 = nn.Conv2d(2 * w, 4 * w, 3, 2, 1)
        self.conv03_2 = nn.Conv2d(4 * w, 4 * w, 3, 1, 1)
        self.in03_1 = AuthorsInstanceNorm(4 * w)
        for k in range(4, 4 + n_blocks):  # their res blocks 1..8 are layers 04..11
            for half in (1, 2):
                setattr(self, f"refpad{k:02d}_{half}", nn.ReflectionPad2d(1))
                setattr(self, f"conv{k:02d}_{half}", nn.Conv2d(4 * w, 4 * w, 3))
                setattr(self, f"in{k:02d}_{half}", AuthorsInstanceNorm(4 * w))
        after = 4 + n_blocks  # 12 with 8 blocks
        self.deconv01_1 = nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, 1)
        self.deconv01_2 = nn.Conv2d(2 * w, 2 * w, 3, 1, 1)
        setattr(self, f"in{after:02d}_1", AuthorsInstanceNorm(2 * w))
        self.deconv02_1 = nn.ConvTranspose2d(2 * w, w, 3, 2, 1, 1)
        self.deconv02_2 = nn.Conv2d(w, w, 3, 1, 1)
        setattr(self, f"in{after + 1:02d}_1", AuthorsInstanceNorm(w))
        setattr(self, f"refpad{after:02d}_1", nn.ReflectionPad2d(3))
        self.deconv03_1 = nn.Conv2d(w, channels, 7)

    def layer(self, name: str) -> nn.Module:
        return getattr(self, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in01_1(self.conv01_1(self.refpad01_1(x))))
        y = F.relu(self.in02_1(self.conv02_2(self.conv02_1(y))))
        t = F.relu(self.in03_1(self.conv03_2(self.conv03_1(y))))
        for k in range(4, 4 + self.n_blocks):
            L = self.layer
            y = F.relu(L(f"in{k:02d}_1")(L(f"conv{k:02d}_1")(L(f"refpad{k:02d}_1")(t))))
            t = L(f"in{k:02d}_2")(L(f"conv{k:02d}_2")(L(f"refpad{k:02d}_2")(y))) + t
        after = 4 + self.n_blocks
        y = F.relu(self.layer(f"in{after:02d}_1")(self.deconv01_2(self.deconv01_1(t))))
        y = F.relu(self.layer(f"in{after + 1:02d}_1")(self.deconv02_2(self.deconv02_1(y))))
        return torch.tanh(self.deconv03_1(self.layer(f"refpad{after:02d}_1")(y)))


def randomised(net: nn.Module) -> nn.Module:
    """Non-trivial values everywhere (shifts too), small enough that eight blocks stay in tanh's range."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith(".scale"):
                t.uniform_(0.5, 1.5)
            elif name.endswith(".weight"):
                t.normal_(0, 0.05)
            else:
                t.normal_(0, 0.1)
    return net.eval()


def authors_pipeline(net: nn.Module, rgb: torch.Tensor) -> torch.Tensor:
    """What their test.py does to an RGB image in [-1, 1]: RGB -> BGR, the network, BGR -> RGB."""
    return net(rgb[:, [2, 1, 0]])[:, [2, 1, 0]]


def run_from(run: Path) -> tuple[nn.Module, str]:
    """The run directory's generator (in eval mode) and the channel order its config names."""
    config = read_config(run)
    settings = {k: v for k, v in config["generator"].items() if k != "name"}
    net = GENERATORS.create(config["generator"]["name"], **settings)
    net.load_state_dict(load_network_state(run, "G"))
    return net.eval(), config["data"]["channel_order"]


def our_pipeline(net: nn.Module, order: str, rgb: torch.Tensor) -> torch.Tensor:
    """An RGB image through our network in the channel order the run's config names."""
    if order == "BGR":
        return net(rgb[:, [2, 1, 0]])[:, [2, 1, 0]]
    return net(rgb)


def test_cartoon_generator_keeps_any_size() -> None:
    net = CartoonGenerator(width=4, n_blocks=1)
    for size in ((8, 8), (30, 22), (17, 41)):
        x = torch.rand(2, 3, *size) * 2 - 1
        y = net(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    grey = CartoonGenerator(in_channels=1, out_channels=1, width=4, n_blocks=0)
    assert grey(torch.zeros(1, 1, 12, 12)).shape == (1, 1, 12, 12)


def test_same_parameters_as_the_authors_network() -> None:
    ours, theirs = CartoonGenerator(), AuthorsTransformer()
    assert count_parameters(ours) == count_parameters(theirs) == 11_129_667
    norms = [m for m in ours.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 1 + 2 + 2 * 8 + 2 and all(m.affine and m.eps == 1e-9 for m in norms)
    assert all(m.bias is not None for m in ours.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_published_layout_imports_to_the_same_outputs_in_bgr(tmp_path: Path) -> None:
    theirs = randomised(AuthorsTransformer())  # full width and 8 blocks, as published
    assert list(theirs.state_dict())[:4] == ["conv01_1.weight", "conv01_1.bias", "in01_1.scale", "in01_1.shift"]
    torch.save(theirs.state_dict(), tmp_path / "Shinkai_net_G_float.pth")
    run = import_cartoongan(tmp_path / "Shinkai_net_G_float.pth", tmp_path / "run")
    config = read_config(run)
    assert config["model"] == "cartoongan" and config["trainer"] == {"name": "cartoongan"}
    assert config["generator"] == {"name": "cartoon", "in_channels": 3, "out_channels": 3, "width": 64,
                                   "n_blocks": 8}
    assert config["data"] == {"in_channels": 3, "out_channels": 3, "channel_order": "BGR"}
    assert config["source"]["format"] == "cartoongan"
    ours, order = run_from(run)
    assert order == "BGR"
    # float64: in float32 the two instance norms' rounding alone differs by ~3e-5 after eight blocks
    ours, theirs = ours.double(), theirs.double()
    rgb = torch.rand(2, 3, 16, 20, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        expected = authors_pipeline(theirs, rgb)
        torch.testing.assert_close(our_pipeline(ours, order, rgb), expected, atol=1e-5, rtol=0)
        # ignoring the channel order would give a different image: the order matters
        assert (ours(rgb) - expected).abs().max() > 1e-3


def test_other_widths_and_depths_are_read_off_the_file(tmp_path: Path) -> None:
    theirs = randomised(AuthorsTransformer(width=8, n_blocks=3))
    torch.save({"state_dict": theirs.state_dict()}, tmp_path / "g.pth")
    run = import_cartoongan(tmp_path / "g.pth", tmp_path / "run")
    assert read_config(run)["generator"]["n_blocks"] == 3
    ours, order = run_from(run)
    rgb = torch.rand(1, 3, 24, 12) * 2 - 1
    with torch.no_grad():  # float32 this time: a narrow network stays well within 1e-5
        torch.testing.assert_close(our_pipeline(ours, order, rgb), authors_pipeline(theirs, rgb), atol=1e-5, rtol=0)


def test_misfits_are_one_line_errors(tmp_path: Path) -> None:
    theirs = AuthorsTransformer(width=8, n_blocks=2)
    torch.save(theirs.state_dict(), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"conv01_1\.weight \(8, 3, 7, 7\) where ours has stem\.1\.weight"):
        import_cartoongan(tmp_path / "g.pth", tmp_path / "run", width=16)
    with pytest.raises(CheckpointError, match=r"unexpected conv06_1\.weight"):
        cartoongan_to_ours(theirs.state_dict() | {"conv06_1.weight": torch.zeros(1)},
                           CartoonGenerator(width=8, n_blocks=2))
    with pytest.raises(CheckpointError, match=r"missing blocks\.1\.body\.1\.weight"):
        cartoongan_to_ours({k: v for k, v in theirs.state_dict().items() if not k.startswith("conv05_1")},
                           CartoonGenerator(width=8, n_blocks=2))
    # a reference pix2pix/CycleGAN file is not a CartoonGAN file, and the other way round
    resnet = GENERATORS.create("resnet", width=4, n_blocks=1)
    torch.save({f"model.{i}": t for i, t in enumerate(resnet.state_dict().values())}, tmp_path / "ref.pth")
    with pytest.raises(CheckpointError, match="not a CartoonGAN generator") as info:
        import_cartoongan(tmp_path / "ref.pth", tmp_path / "run")
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="does not fit"):
        import_reference(tmp_path / "g.pth", tmp_path / "run", generator="resnet")
    assert not (tmp_path / "run").exists()


def test_our_own_names_pass_through() -> None:
    net = CartoonGenerator(width=4, n_blocks=1)
    assert cartoongan_to_ours(net.state_dict(), net).keys() == net.state_dict().keys()
