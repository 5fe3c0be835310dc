"""The reference's own cost of training and predicting, run with our networks, as one whole process.

    python -m benchmarks.reference_path pix2pix DATA --steps 30 [--size 256] [--out DIR]
    python -m benchmarks.reference_path cyclegan DATA --steps 8 [--size 256]
    python -m benchmarks.reference_path predict PHOTOS --out DIR [--weights RUN/checkpoints/latest.safetensors]

What junyanz/pytorch-CycleGAN-and-pix2pix does for the same work, line for line where it costs time: the
networks are ours, which are the reference's parameter for parameter (unet_256 or resnet_9blocks, the 70x70
PatchGAN, init normal 0.02), run in eager fp32, NCHW, batch 1; `torch.optim.Adam(params, lr=2e-4,
betas=(0.5, 0.999))` with no fused or foreach flag (on the CPU: torch's per-parameter loop); the data read in the
main process, one image at a time, by the reference's transforms (PIL open, bicubic resize to load size x load
size, random crop, random horizontal flip, ToTensor, normalise to [-1, 1]; pix2pix's AB images split in halves
that share the crop and flip; CycleGAN's B drawn at random, as the unaligned dataset does); and the reference's
`optimize_parameters` order, losses and 50-image pools. Predict opens each photo, resizes it to --size, runs
the generator under `torch.no_grad()` and saves a PNG, as test.py does; in eval mode by default, which is what
`translate predict` does for a trained run (`--test-mode reference`: batch statistics and dropout, as test.py
without --eval). `benchmarks/reference_cost.py` times this against `translate train` and `translate predict`.

Prints one JSON line at the end: the job, steps or images, the seconds of the loop alone and the last losses.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image

from translate.files import load_weights, unprefixed
from translate.registry import create
from translate.trainers.image_pool import (
    ImagePool,  # the reference's ImagePool, query for query
)

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
Pair = tuple[torch.Tensor, torch.Tensor]  # a batch of one A and one B


def images_in(folder: Path) -> list[Path]:
    """Image files of a folder, sorted (the reference's make_dataset)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)


def to_input(image: Image.Image) -> torch.Tensor:
    """ToTensor, then Normalize((0.5,) * 3, (0.5,) * 3): a (3, H, W) tensor in [-1, 1]."""
    return TF.normalize(TF.to_tensor(image), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def jitter(image: Image.Image, load: int, crop: int, x: int, y: int, flip: bool) -> torch.Tensor:
    """The reference's training transform with given parameters: resize, crop at (x, y), flip, to [-1, 1]."""
    image = image.resize((load, load), Image.BICUBIC).crop((x, y, x + crop, y + crop))
    return to_input(image.transpose(Image.FLIP_LEFT_RIGHT) if flip else image)


def random_params(load: int, crop: int) -> tuple[int, int, bool]:
    """The reference's get_params: a crop corner and a flip."""
    return random.randint(0, max(0, load - crop)), random.randint(0, max(0, load - crop)), random.random() > 0.5


def batches(files: list[Path], load_one: Callable[[int], Pair]) -> Iterator[Pair]:
    """Batches of one, epoch after epoch, each in a new random order: a DataLoader with shuffle=True, no workers."""
    while True:
        for index in random.sample(range(len(files)), len(files)):
            yield load_one(index)


def set_requires_grad(nets: list[torch.nn.Module], flag: bool) -> None:
    """The reference's BaseModel.set_requires_grad: freeze or unfreeze every parameter of `nets`."""
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


def adam(*nets: torch.nn.Module) -> torch.optim.Adam:
    """The reference's optimiser: plain Adam, no fused or foreach flag (on the CPU, a loop over parameters)."""
    return torch.optim.Adam([p for n in nets for p in n.parameters()], lr=2e-4, betas=(0.5, 0.999))


def unet(size: int) -> torch.nn.Module:
    """unet_256 at 256 px (depth log2(size): unet_128 at 128), batch norm, dropout."""
    return create("generator", "unet", width=64, depth=size.bit_length() - 1, norm="batch", dropout=True)


def save(out: str | None, nets: dict[str, torch.nn.Module]) -> None:
    """The reference's save_networks at the end: OUT/latest_net_<name>.pth, one state dict each."""
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for name, net in nets.items():
            torch.save(net.state_dict(), Path(out) / f"latest_net_{name}.pth")


def train_pix2pix(args: argparse.Namespace) -> dict[str, float]:
    """The reference's Pix2PixModel.optimize_parameters, `args.steps` times (AtoB, lambda_L1 100, vanilla GAN)."""
    root = Path(args.data)
    files = images_in(root / "train" if (root / "train").is_dir() else root)

    def load_one(index: int) -> Pair:
        ab = Image.open(files[index]).convert("RGB")
        w, h = ab.size
        a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        params = random_params(args.load_size, args.size)
        return (jitter(a, args.load_size, args.size, *params).unsqueeze(0),
                jitter(b, args.load_size, args.size, *params).unsqueeze(0))

    G = unet(args.size)
    D = create("discriminator", "patch", in_channels=6, width=64, n_layers=3, norm="batch")
    gan = create("loss", "vanilla")
    opt_g, opt_d = adam(G), adam(D)
    G.train(), D.train()
    data = batches(files, load_one)
    started = time.perf_counter()
    for _ in range(args.steps):
        real_a, real_b = next(data)
        fake_b = G(real_a)
        set_requires_grad([D], True)
        opt_d.zero_grad()
        fake_ab = torch.cat((real_a, fake_b), 1)
        loss_d_fake = gan(D(fake_ab.detach()), False)
        loss_d_real = gan(D(torch.cat((real_a, real_b), 1)), True)
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        opt_d.step()
        set_requires_grad([D], False)
        opt_g.zero_grad()
        loss_g_gan = gan(D(fake_ab), True)
        loss_g_l1 = F.l1_loss(fake_b, real_b) * 100.0
        (loss_g_gan + loss_g_l1).backward()
        opt_g.step()
    seconds = time.perf_counter() - started
    save(args.out, {"G": G, "D": D})
    losses = {"G_GAN": loss_g_gan, "G_L1": loss_g_l1, "D_real": loss_d_real, "D_fake": loss_d_fake}
    return {"train_s": seconds, **{k: v.item() for k, v in losses.items()}}


def train_cyclegan(args: argparse.Namespace) -> dict[str, float]:
    """The reference's CycleGANModel.optimize_parameters, `args.steps` times (lambda 10, identity 0.5, lsgan)."""
    files_a, files_b = images_in(Path(args.data) / "trainA"), images_in(Path(args.data) / "trainB")

    def load_one(index: int) -> Pair:
        a = Image.open(files_a[index]).convert("RGB")
        b = Image.open(files_b[random.randint(0, len(files_b) - 1)]).convert("RGB")  # unaligned: B at random
        return (jitter(a, args.load_size, args.size, *random_params(args.load_size, args.size)).unsqueeze(0),
                jitter(b, args.load_size, args.size, *random_params(args.load_size, args.size)).unsqueeze(0))

    G_A, G_B = (create("generator", "resnet", width=64, n_blocks=9, norm="instance", dropout=False) for _ in "AB")
    D_A, D_B = (create("discriminator", "patch", in_channels=3, width=64, n_layers=3, norm="instance") for _ in "AB")
    gan = create("loss", "lsgan")
    opt_g, opt_d = adam(G_A, G_B), adam(D_A, D_B)
    pool_a, pool_b = ImagePool(50), ImagePool(50)
    lam, lam_idt = 10.0, 0.5
    data = batches(files_a, load_one)
    started = time.perf_counter()
    for _ in range(args.steps):
        real_a, real_b = next(data)
        fake_b = G_A(real_a)
        rec_a = G_B(fake_b)
        fake_a = G_B(real_b)
        rec_b = G_A(fake_a)
        set_requires_grad([D_A, D_B], False)
        opt_g.zero_grad()
        loss_idt_a = F.l1_loss(G_A(real_b), real_b) * lam * lam_idt
        loss_idt_b = F.l1_loss(G_B(real_a), real_a) * lam * lam_idt
        loss_g_a = gan(D_A(fake_b), True)
        loss_g_b = gan(D_B(fake_a), True)
        loss_cycle_a = F.l1_loss(rec_a, real_a) * lam
        loss_cycle_b = F.l1_loss(rec_b, real_b) * lam
        (loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b).backward()
        opt_g.step()
        set_requires_grad([D_A, D_B], True)
        opt_d.zero_grad()
        losses_d = []
        for D, real, fake in ((D_A, real_b, pool_b.query(fake_b)), (D_B, real_a, pool_a.query(fake_a))):
            loss_d = (gan(D(real), True) + gan(D(fake.detach()), False)) * 0.5
            loss_d.backward()  # backward_D_A, then backward_D_B: one backward each, as the reference
            losses_d.append(loss_d)
        opt_d.step()
    seconds = time.perf_counter() - started
    save(args.out, {"G_A": G_A, "G_B": G_B, "D_A": D_A, "D_B": D_B})
    losses = {"D_A": losses_d[0], "G_A": loss_g_a, "cycle_A": loss_cycle_a, "idt_A": loss_idt_a,
              "D_B": losses_d[1], "G_B": loss_g_b, "cycle_B": loss_cycle_b, "idt_B": loss_idt_b}
    return {"train_s": seconds, **{k: v.item() for k, v in losses.items()}}


def predict(args: argparse.Namespace) -> dict[str, float]:
    """The reference's test.py for pix2pix: each photo resized to --size, G(photo) under no_grad, saved as PNG."""
    G = unet(args.size)
    if args.weights:
        path = Path(args.weights)
        state = load_weights(path) if path.suffix == ".safetensors" else torch.load(path, map_location="cpu")
        G.load_state_dict(unprefixed(state, "G") or state)  # a translate run's file holds G.*, D.*
    G.train(args.test_mode == "reference")  # test.py without --eval keeps train mode
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = images_in(Path(args.data))
    started = time.perf_counter()
    for path in files:
        image = Image.open(path).convert("RGB").resize((args.size, args.size), Image.BICUBIC)
        with torch.no_grad():
            fake = G(to_input(image).unsqueeze(0))
        array = ((fake[0].float().numpy().transpose(1, 2, 0) + 1) / 2 * 255).astype("uint8")  # tensor2im
        Image.fromarray(array).save(out / f"{path.stem}.png")
    return {"predict_s": time.perf_counter() - started, "images": len(files)}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run one job from command-line arguments; prints and returns its JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=["pix2pix", "cyclegan", "predict"])
    parser.add_argument("data", help="pix2pix: a folder of AB images (or its train/); cyclegan: one with trainA/, "
                                     "trainB/; predict: a folder of photos")
    parser.add_argument("--steps", type=int, default=30, help="Training steps (batch 1).")
    parser.add_argument("--size", type=int, default=256, help="Crop size (predict: the size photos are resized to).")
    parser.add_argument("--load-size", type=int, help="Resize before the crop (default size * 286 // 256).")
    parser.add_argument("--out", help="Training: write latest_net_<net>.pth here at the end; predict: the PNGs (required).")
    parser.add_argument("--weights", help="predict: a .safetensors of a translate run (its G) or a .pth state dict.")
    parser.add_argument("--test-mode", choices=["eval", "reference"], default="eval",
                        help="predict: eval mode (as translate predict on a run), or train mode as test.py without --eval.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.load_size = args.load_size or args.size * 286 // 256
    if args.job == "predict" and not args.out:
        parser.error("predict needs --out")
    if args.steps < 1:
        parser.error("--steps must be 1 or more")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    result = {"pix2pix": train_pix2pix, "cyclegan": train_cyclegan, "predict": predict}[args.job](args)
    record = {"job": args.job, "steps": args.steps if args.job != "predict" else 0,
              "threads": torch.get_num_threads(), **result}
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
