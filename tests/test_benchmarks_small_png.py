"""benchmarks.small_png: a grid in 256 colours whose left column (the label maps) keeps its colours exactly."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmarks.small_png import small_png


def test_the_label_column_stays_exact_and_the_rest_close():
    rng = np.random.default_rng(0)
    labels = rng.choice(np.array([[250, 170, 30], [70, 130, 180], [0, 0, 142], [152, 251, 152]]), (32, 16))
    photo = rng.integers(0, 256, (32, 48, 3))  # thousands of colours
    grid = np.concatenate([labels, photo], axis=1).astype(np.uint8)
    small = small_png(Image.fromarray(grid), exact_width=16)
    assert small.mode == "P"
    back = np.asarray(small.convert("RGB")).astype(int)
    assert np.array_equal(back[:, :16], grid[:, :16])  # a rare label colour is not merged into a neighbour
    assert np.abs(back[:, 16:] - grid[:, 16:]).mean() < 12
