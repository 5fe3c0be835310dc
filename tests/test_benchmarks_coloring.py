"""benchmarks.coloring_stage2 and benchmarks.coloring_pages end to end, tiny: the second stage's data and
training from the first stage, then the table and grid that compare the stages with Canny and dodge."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from benchmarks import coloring_pages, coloring_stage2
from translate.data.degrade import CONDITIONS


@pytest.mark.slow
def test_stage2_trains_from_stage1_and_the_pages_benchmark_scores_both(tmp_path: Path) -> None:
    out = tmp_path / "stage2"
    coloring_stage2.main(["--out", str(out), "--originals", "2", "--scenes", "1", "--test-scenes", "1",
                          "--steps", "2", "--set", "train.n_samples=1"])
    assert len(list((out / "data" / "train" / "A").iterdir())) == 2 + 2  # originals + two degraded copies
    assert (out / "run" / "checkpoints").is_dir()

    results, grid = tmp_path / "pages.md", tmp_path / "grid.png"
    coloring_pages.main(["--stage2", str(out / "run"), "--n", "2", "--size", "48", "--results", str(results),
                         "--grid", str(grid), "--grid-scene", "0"])
    table = results.read_text()
    for name in ("Canny", "dodge", "stage 1", "stage 2", "stage 2, page", *CONDITIONS):
        assert f"| {name} |" in table or f" {name} |" in table
    assert Image.open(grid).height > len(CONDITIONS) * 48
