"""Import of reference pix2pix/CycleGAN checkpoints: same outputs as the reference network, clear misfits.

The reference's generators are re-created here in miniature with the same module nesting (hence the same
state-dict keys, e.g. `model.model.1.model.3.weight`, `model.10.conv_block.1.weight`) and the same in-place
activations, so a checkpoint they save is one the reference would save.
"""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path

import pytest
import torch
from torch import nn

from translate.errors import CheckpointError
from translate.registry import GENERATORS
from translate.rundir import load_network_state, read_config
from translate.zoo.importers import import_reference, reference_to_ours


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


def ref_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class RefUnetBlock(nn.Module):
    """The reference's UnetSkipConnectionBlock: down, submodule, up, and [x, result] concatenated."""

    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, norm="batch",
                 dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        input_nc = outer if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=bias)
        if outermost:
            model = [downconv, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True),
                     nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), ref_norm(norm, outer)]
        else:
            model = [nn.LeakyReLU(0.2, True), downconv, ref_norm(norm, inner), sub, nn.ReLU(True),
                     nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), ref_norm(norm, outer)]
            model += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnet(nn.Module):
    """The reference's UnetGenerator(input_nc, output_nc, num_downs, ngf)."""

    def __init__(self, input_nc, output_nc, num_downs, ngf, norm="batch", dropout=True):
        super().__init__()
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout)
        block = RefUnetBlock(ngf * 4, ngf * 8, sub=block, norm=norm)
        block = RefUnetBlock(ngf * 2, ngf * 4, sub=block, norm=norm)
        block = RefUnetBlock(ngf, ngf * 2, sub=block, norm=norm)
        self.model = RefUnetBlock(output_nc, ngf, input_nc=input_nc, sub=block, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


class RefResnetBlock(nn.Module):
    def __init__(self, dim, norm):
        super().__init__()
        bias = norm == "instance"
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), ref_norm(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), ref_norm(norm, dim))

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnet(nn.Module):
    """The reference's ResnetGenerator(input_nc, output_nc, ngf, n_blocks) as one Sequential `model`."""

    def __init__(self, input_nc, output_nc, ngf, n_blocks, norm="instance"):
        super().__init__()
        bias = norm == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), ref_norm(norm, ngf), nn.ReLU(True)]
        for mult in (1, 2):
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias), ref_norm(norm, ngf * mult * 2),
                      nn.ReLU(True)]
        model += [RefResnetBlock(ngf * 4, norm) for _ in range(n_blocks)]
        for mult in (4, 2):
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                      ref_norm(norm, ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


def randomised(net: nn.Module) -> nn.Module:
    """Give every weight and running statistic non-trivial values so a mis-paired tensor shows."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif t.is_floating_point():
                t.normal_(0, 0.2)
    return net.eval()


def load_run(run: Path) -> nn.Module:
    config = read_config(run)
    settings = {k: v for k, v in config["generator"].items() if k != "name"}
    net = GENERATORS.create(config["generator"]["name"], **settings)
    net.load_state_dict(load_network_state(run, "G"))
    return net.eval()


def assert_same_outputs(ours: nn.Module, theirs: nn.Module, channels: int, size: tuple[int, int]) -> None:
    x = torch.randn(2, channels, *size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x.clone()), atol=1e-6, rtol=0)


def test_unet_import_gives_the_reference_outputs(tmp_path: Path) -> None:
    reference = randomised(RefUnet(3, 3, num_downs=6, ngf=8))
    assert "model.model.1.model.3.model.3.model.1.weight" in reference.state_dict()
    state = reference.state_dict()
    # checkpoints from PyTorch before 0.4 have no num_batches_tracked; ours fills its own in
    torch.save({k: v for k, v in state.items() if "num_batches" not in k}, tmp_path / "latest_net_G.pth")
    run = import_reference(tmp_path / "latest_net_G.pth", tmp_path / "run", generator="unet")
    config = read_config(run)
    assert config["model"] == "pix2pix"
    assert config["generator"]["name"] == "unet" and config["generator"]["depth"] == 6
    assert config["source"] == {"file": str(tmp_path / "latest_net_G.pth"), "format": "reference"}
    assert_same_outputs(load_run(run), reference, 3, (64, 64))


def test_resnet_import_drops_old_instance_norm_statistics(tmp_path: Path) -> None:
    reference = randomised(RefResnet(1, 3, ngf=8, n_blocks=2))
    state = reference.state_dict()
    # checkpoints from old PyTorch carry running stats for every InstanceNorm2d; the reference drops them
    old = {}
    for key, value in state.items():
        old[key] = value
        if key in ("model.1.bias", "model.4.bias", "model.10.conv_block.1.bias"):
            norm = key.replace("1.bias", "2").replace("4.bias", "5")
            old[f"{norm}.running_mean"] = torch.zeros(value.shape[0])
            old[f"{norm}.running_var"] = torch.ones(value.shape[0])
    torch.save({"state_dict": {f"module.{k}": v for k, v in old.items()}}, tmp_path / "horse2zebra.pth")
    run = import_reference(tmp_path / "horse2zebra.pth", tmp_path / "run", generator="resnet")
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["model"] == "cyclegan"
    assert config["generator"] == {"name": "resnet", "norm": "instance", "in_channels": 1, "out_channels": 3,
                                   "width": 8, "n_blocks": 2}
    assert_same_outputs(load_run(run), reference, 1, (36, 28))


def test_batch_norm_resnet_and_explicit_settings(tmp_path: Path) -> None:
    reference = randomised(RefResnet(3, 3, ngf=4, n_blocks=3, norm="batch"))
    torch.save(reference.state_dict(), tmp_path / "g.pth")
    run = import_reference(tmp_path / "g.pth", tmp_path / "run", generator="resnet", n_blocks=3, dropout=True)
    assert read_config(run)["generator"]["norm"] == "batch"
    assert_same_outputs(load_run(run), reference, 3, (32, 32))


def test_mismatched_state_dict_names_the_missing_keys(tmp_path: Path) -> None:
    reference = RefUnet(3, 3, num_downs=5, ngf=8)
    state = reference.state_dict()
    ours = GENERATORS.create("unet", width=8, depth=6)
    misfit = r"has model\.model\.1\.\S+ \(64, 64, 4, 4\) where ours has encoder\.4\.1\.weight \(64,\)"
    with pytest.raises(CheckpointError, match=misfit):
        reference_to_ours(state, ours)
    truncated = dict(list(state.items())[:-2])  # the outermost up-conv lost
    with pytest.raises(CheckpointError, match=r"missing decoder\.4\.1\.weight \(16, 3, 4, 4\)"):
        reference_to_ours(truncated, GENERATORS.create("unet", width=8, depth=5))
    extra = {**state, "model.extra.weight": torch.zeros(3)}
    with pytest.raises(CheckpointError, match=r"unexpected model\.extra\.weight \(3,\)"):
        reference_to_ours(extra, GENERATORS.create("unet", width=8, depth=5))


def test_our_own_keys_pass_through() -> None:
    net = GENERATORS.create("resnet", width=4, n_blocks=1)
    state = net.state_dict()
    assert reference_to_ours(state, net).keys() == state.keys()


def test_files_that_are_not_checkpoints_fail_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pth") as info:
        import_reference(junk, tmp_path / "run")
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="no such"):
        import_reference(tmp_path / "absent.pth", tmp_path / "run")


class Payload:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_pickled_code_is_never_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"model.0.weight": Payload()}, f)
    with pytest.raises(CheckpointError):
        import_reference(evil, tmp_path / "run")
    assert "unpickled code ran" not in capsys.readouterr().out


def test_import_weights_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from translate.cli import main

    theirs = randomised(RefResnet(3, 3, 8, 2, "instance")).eval()
    file = tmp_path / "latest_net_G.pth"
    torch.save(theirs.state_dict(), file)
    out = tmp_path / "run"
    args = ["import-weights", str(file), "--generator", "resnet", "--out", str(out), "--set", "width=8"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert_same_outputs(load_run(out), theirs, 3, (20, 28))
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert CliRunner().invoke(main, [*args, "--overwrite"]).exit_code == 0
