"""A plain, non-editable install (a wheel in a fresh virtual environment) still lists and reads the catalogue
and the presets: registry/ and configs/ travel inside the package, and so does translate serve's page."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "translate", "configs", "registry")


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_lists_the_catalogue(tmp_path: Path) -> None:
    # Build from a copy: the checkout's own build/ folder may hold stale files of another build.
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        elif (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRANSLATE_", "PYTHON"))}
    env.update(TRANSLATE_HOME=str(tmp_path / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(src)], tmp_path, env)
    wheel = next((tmp_path / "dist").glob("translate_zoo-*.whl"))  # the distribution is translate-zoo

    # The new venv sees the packages the tests run with (torch, pip, ...) through a .pth file naming this
    # interpreter's site folders: --system-site-packages would reach only the base interpreter's, which lack
    # them when the suite itself runs in a virtual environment. Paths named in a .pth are not scanned for
    # further .pth files, so an editable install of translate there stays out of sight.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    own = run([python, "-c", "import site; print(site.getsitepackages()[0])"], tmp_path, env).stdout.strip()
    parents = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (Path(own) / "parent-site.pth").write_text("".join(f"{folder}\n" for folder in parents))
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp_path, env)

    work = tmp_path / "elsewhere"  # not the checkout: nothing may come from the source tree
    work.mkdir()
    where = run([python, "-c", "import translate, translate.zoo.cards as z, translate.config as c; "
                 "print(translate.__file__); print(z.catalogue_dir()); print(c.configs_dir())"], work, env)
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(venv.resolve()), where.stdout
    # translate serve's page (HTML, script, style) travels as package data
    page = run([python, "-c", "from translate.serve.server import STATIC, make_server; from translate.serve.shelf "
                "import Shelf; s = make_server(Shelf([]), '127.0.0.1', 0); print(STATIC); print(*sorted(s.pages))"],
               work, env).stdout.split()
    assert Path(page[0]).resolve().is_relative_to(venv.resolve()) and page[1:] == ["app.js", "index.html", "style.css"]
    named = run([python, "-c", "import importlib.metadata as m; print(m.version('translate-zoo'))"], work, env)
    version = run([python, "-m", "translate", "--version"], work, env).stdout.strip()
    assert version == f"translate {named.stdout.strip()}", version
    listing = json.loads(run([python, "-m", "translate", "models", "--json"], work, env).stdout)
    rows = {row["name"]: row for row in listing["catalogue"]}
    assert {"horse2zebra", "pix2pix/sat2map", "cyclegan/sat2map", "cartoongan-shinkai"} <= set(rows)
    assert rows["horse2zebra"]["on_this_machine"] is False
    assert "cartoon" in {row["name"] for row in listing["generator"]}
    refused = subprocess.run([python, "-m", "translate", "pull", "sat2map"], cwd=work, env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1 and "cyclegan/sat2map or pix2pix/sat2map" in refused.stderr

    # the model that ships inside the package translates a real photo at once, offline, from anywhere
    from PIL import Image
    from skimage import data

    Image.fromarray(data.rocket()).save(work / "rocket.jpg")
    run([python, "-m", "translate", "predict", "scenes-shinkai", "rocket.jpg", "--out", "out", "--quiet"], work, env)
    with Image.open(work / "out" / "rocket.png") as out, Image.open(work / "rocket.jpg") as photo:
        assert out.size == photo.size and out.mode == "RGB"
