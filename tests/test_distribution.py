"""The distribution's name: `translate-zoo` (PyPI's `translate` is another project); package and command stay
`translate`, and every install hint a user reads names the distribution that is ours."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from click.testing import CliRunner

import translate
from translate.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_the_distribution_is_translate_zoo_and_version_needs_no_metadata() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    assert setup["metadata"]["name"] == "translate-zoo"
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"translate {translate.__version__}", result.output


def test_no_install_hint_names_the_other_projects_translate() -> None:
    # `pip install translate` or `translate[extra]` would fetch PyPI's unrelated `translate`
    wrong = re.compile(r"pip install\s+[\"']?translate(\[|[\"'\s]|$)|[\"']translate\[")
    texts = [REPO / "README.md", REPO / "registry" / "README.md", *sorted((REPO / "translate").rglob("*.py"))]
    found = [f"{path.relative_to(REPO)}: {line.strip()}" for path in texts
             for line in path.read_text(encoding="utf-8").splitlines() if wrong.search(line)]
    assert not found, found
