"""benchmarks.reference_path, the reference's cost with our networks: each job runs at 64 px and writes its outputs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import reference_path
from tests.conftest import noise_image, write_ab

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_reference_path_trains_and_predicts_at_64_px(tmp_path: Path):
    write_ab(tmp_path / "p2p" / "train", 2, size=64)
    for side in "AB":
        (tmp_path / "cg" / f"train{side}").mkdir(parents=True)
        for i in range(2):
            noise_image(i + (side == "B") * 10, (64, 64)).save(tmp_path / "cg" / f"train{side}" / f"{i}.png")

    p2p = reference_path.main(["pix2pix", str(tmp_path / "p2p"), "--size", "64", "--steps", "1",
                               "--out", str(tmp_path / "ref_p2p")])
    assert all(math.isfinite(p2p[k]) for k in ("G_GAN", "G_L1", "D_real", "D_fake"))
    assert (tmp_path / "ref_p2p" / "latest_net_G.pth").is_file()

    cg = reference_path.main(["cyclegan", str(tmp_path / "cg"), "--size", "64", "--load-size", "70", "--steps", "1",
                              "--out", str(tmp_path / "ref_cg")])
    assert all(math.isfinite(cg[k]) for k in ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"))
    assert sorted(p.name for p in (tmp_path / "ref_cg").iterdir()) == [
        f"latest_net_{n}.pth" for n in ("D_A", "D_B", "G_A", "G_B")]

    # predict as a whole process, as reference_cost runs it, with the weights the pix2pix job saved
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.reference_path", "predict", str(tmp_path / "cg" / "trainA"),
         "--size", "64", "--weights", str(tmp_path / "ref_p2p" / "latest_net_G.pth"), "--out", str(tmp_path / "pred")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["images"] == 2
    outputs = sorted((tmp_path / "pred").iterdir())
    assert [p.name for p in outputs] == ["0.png", "1.png"]
    assert Image.open(outputs[0]).size == (64, 64)
