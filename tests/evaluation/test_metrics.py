"""Metric arithmetic on inputs with known answers: L1/PSNR/SSIM, line precision/recall, artefacts, segmentation, FID,
KID."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from translate.data import scenes
from translate.evaluation import metrics as quality


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("channels", [1, 3])
def test_identical_images_are_perfect(channels: int) -> None:
    x = torch.rand(2, channels, 32, 32) * 2 - 1
    assert quality.l1(x, x).tolist() == [0.0, 0.0]
    assert quality.psnr(x, x).tolist() == [quality.PSNR_CAP] * 2  # capped, not inf: JSON holds it
    assert quality.ssim(x, x) == pytest.approx([1.0, 1.0])


def test_a_known_brightness_shift() -> None:
    target = torch.rand(1, 3, 32, 32) - 0.5  # in [-0.5, 0.5]: shifting by 0.2 never clips
    output = target + 0.2  # 0.1 in [0, 1] intensity units
    assert quality.l1(output, target).item() == pytest.approx(0.1, abs=1e-6)
    assert quality.psnr(output, target)[0] == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    assert quality.ssim(output, target)[0] < 1


def test_ssim_ranks_a_blurred_image_above_noise_and_handles_tiny_images() -> None:
    target = torch.rand(1, 1, 32, 32) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(target, (1, 1, 1, 1), mode="replicate"), 3, 1)
    noise = torch.rand(1, 1, 32, 32) * 2 - 1
    assert quality.ssim(blurred, target)[0] > quality.ssim(noise, target)[0]
    tiny = torch.rand(1, 3, 5, 4)
    assert quality.ssim(tiny, tiny)[0] == pytest.approx(1.0)  # a 3x3 window where 7x7 does not fit
    assert np.isnan(quality.ssim(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2))[0])


def sketch(lines: list[tuple[int, int, int, int]], size: int = 32) -> torch.Tensor:
    """White paper (1) with black (-1) rectangles (y0, y1, x0, x1), as 1 x 1 x size x size."""
    x = torch.ones(1, 1, size, size)
    for y0, y1, x0, x1 in lines:
        x[..., y0:y1, x0:x1] = -1
    return x


def test_line_scores_perfect_shifted_and_empty() -> None:
    true = sketch([(10, 11, 4, 28), (4, 28, 20, 21)])  # a horizontal and a vertical line
    perfect = quality.line_counts(true, true).scores()
    assert perfect == {"precision": 1.0, "recall": 1.0, "f_score": 1.0}

    shifted = sketch([(11, 12, 4, 28), (4, 28, 21, 22)])  # one pixel down and right: within tolerance
    assert quality.line_counts(shifted, true, tolerance=1).scores()["f_score"] == 1.0
    far = sketch([(13, 14, 4, 16)])  # three pixels below the horizontal line, clear of the vertical one
    assert quality.line_counts(far, true, tolerance=1).scores()["precision"] == 0.0
    assert quality.line_counts(far, true, tolerance=3).scores()["precision"] == 1.0

    empty = quality.line_counts(torch.ones_like(true), true)
    assert empty.scores() == {"precision": 0.0, "recall": 0.0, "f_score": 0.0}
    assert quality.line_counts(torch.ones_like(true), torch.ones_like(true)).scores()["f_score"] == 1.0


def test_line_scores_count_half_the_lines() -> None:
    true = sketch([(10, 11, 0, 32), (20, 21, 0, 32)])
    half = sketch([(10, 11, 0, 32)])
    scores = quality.line_counts(half, true, tolerance=1).scores()
    assert scores["precision"] == 1.0 and scores["recall"] == pytest.approx(0.5)
    assert scores["f_score"] == pytest.approx(2 / 3)
    rgb = half.expand(-1, 3, -1, -1)  # colour drawings are judged by their grey
    assert quality.line_counts(rgb, true).scores() == scores


def test_segmentation_scores_from_a_known_confusion() -> None:
    true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 1, 2, 0])
    matrix = quality.confusion(predicted, true, 4)  # class 3 appears in neither: left out
    scores = quality.segmentation_scores(matrix)
    assert scores["pixel_acc"] == pytest.approx(6 / 8)
    assert scores["class_acc"] == pytest.approx((3 / 4 + 2 / 2 + 1 / 2) / 3)
    assert scores["class_iou"] == pytest.approx((3 / 5 + 2 / 3 + 1 / 2) / 3)


# ------------------------------------------------------------------------------------------ artefacts


def world(kind: str, size: int = 64, n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """n scenes' true `kind` renderings (NCHW in [-1, 1]) and their region maps (N x H x W)."""
    rendered = [scenes.render(seed, size) for seed in range(n)]
    images = [torch.from_numpy(getattr(s, kind)).float() for s in rendered]
    images = [x.permute(2, 0, 1) if x.dim() == 3 else x[None] for x in images]
    return torch.stack(images) / 127.5 - 1, torch.stack([torch.from_numpy(s.regions) for s in rendered])


def artefact_ratio(output: torch.Tensor, target: torch.Tensor, regions: torch.Tensor) -> float:
    return quality.artefact_sums(output, target, regions).scores()["ratio"]


def blur3(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)


@pytest.mark.parametrize("kind", ["photo", "shinkai"])
def test_artefacts_rank_speckle_and_checkerboard_above_the_truth_above_blur(kind: str) -> None:
    truth, regions = world(kind)
    noisy = (truth + 0.05 * torch.randn_like(truth)).clamp(-1, 1)
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None]) % 2 * 0.08 - 0.04  # +-5 grey levels of 255
    assert artefact_ratio(truth, truth, regions) == pytest.approx(1.0)
    assert artefact_ratio(noisy, truth, regions) > quality.ARTEFACT_GOAL + 0.3  # ~2 at 64 px, ~3 at 256
    assert artefact_ratio((truth + checker).clamp(-1, 1), truth, regions) > 2 * quality.ARTEFACT_GOAL
    assert artefact_ratio(blur3(truth), truth, regions) < 1


def test_artefacts_of_line_art_use_the_floor() -> None:
    truth, regions = world("sketch")
    exact = quality.artefact_sums(truth, truth, regions).scores()
    assert exact["target_energy"] == 0 and exact["floored"] and exact["ratio"] == 0  # blank paper inside regions
    grey_speckle = (truth + 1 / 127.5 * torch.randn_like(truth)).clamp(-1, 1)  # sigma half a grey level of 255
    speckled = quality.artefact_sums(grey_speckle, truth, regions).scores()
    assert 0.5 < speckled["ratio"] < quality.ARTEFACT_GOAL  # the floor forgives what nobody sees...
    assert artefact_ratio(blur3(truth) + 0.05 * torch.randn_like(truth), truth, regions) > 3  # ...not what they do


def test_flat_pixels_keep_away_from_every_region_boundary() -> None:
    halves = torch.zeros(1, 16, 16, dtype=torch.int32)
    halves[:, :, 8:] = 7
    mask = quality.flat_mask(halves)  # 5 x 5 windows at this size
    assert quality.flat_radius(16) == 2 and quality.flat_radius(256) == 2 and quality.flat_radius(512) == 4
    assert mask[0, :, :6].all() and mask[0, :, 10:].all() and not mask[0, :, 6:10].any()  # edges of the image stay
    _, regions = world("sketch", size=64, n=1)
    assert 0.3 < float(quality.flat_mask(regions).float().mean()) < 0.8


def test_laplacian_energy_is_scipys_laplace_of_luma() -> None:
    from scipy.ndimage import laplace

    x = torch.rand(2, 3, 24, 20) * 2 - 1
    luma = ((x + 1) / 2).permute(0, 2, 3, 1).double().numpy() @ np.array([0.299, 0.587, 0.114])
    expected = np.abs(np.stack([laplace(image) for image in luma]))
    assert quality.laplacian_energy(x).numpy() == pytest.approx(expected, abs=1e-5)
    assert quality.laplacian_energy(x[:, :1]).shape == (2, 24, 20)  # one channel: its own luma


# ------------------------------------------------------------------------------------------- FID, KID


@pytest.mark.parametrize("method", ["sqrtm", "eigh"])
def test_frechet_distance_known_answers(method: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    sigma = a @ a.T + np.eye(6)
    mu = rng.normal(size=6)
    assert quality.frechet_distance(mu, sigma, mu, sigma, method=method) == pytest.approx(0, abs=1e-6)
    # Two Gaussians with diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu1, mu2 = np.array([0.0, 0.0, 0.0]), np.array([3.0, 4.0, 0.0])
    expected = 25 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    got = quality.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2), method=method)
    assert got == pytest.approx(expected, abs=1e-8)
    # One dimension: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert quality.frechet_distance([1.0], [[4.0]], [-1.0], [[0.25]], method=method) == pytest.approx(4 + 1.5**2)


def test_frechet_distance_methods_agree_and_singular_covariances_work() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 8)), rng.normal(size=(5, 8)) + 1  # 5 samples in 8 dims: singular covariances
    stats = [x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)]
    reference = quality.frechet_distance(*stats, method="sqrtm")
    assert quality.frechet_distance(*stats, method="eigh") == pytest.approx(reference, rel=1e-4)
    assert quality.fid_from_features(x, y) == pytest.approx(reference, rel=1e-4)  # the low-rank route


def test_fid_from_features_zero_for_identical_sets_and_shift_invariant() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 16)), rng.normal(size=(40, 16)) * 1.5
    assert quality.fid_from_features(x, x) == pytest.approx(0, abs=1e-8)
    shift = rng.normal(size=16) * 10
    assert quality.fid_from_features(x + shift, y + shift) == pytest.approx(quality.fid_from_features(x, y), rel=1e-6)
    # More samples than dimensions takes the full-covariance route; it agrees with the reference.
    reference = quality.frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert quality.fid_from_features(x, y) == pytest.approx(reference, rel=1e-5)


def test_fid_from_many_samples_approaches_the_closed_form() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20000, 3)) * np.array([1.0, 2.0, 3.0])
    y = rng.normal(size=(20000, 3)) * np.array([2.0, 1.0, 3.0]) + np.array([3.0, 4.0, 0.0])
    assert quality.fid_from_features(x, y) == pytest.approx(27.0, rel=0.02)


def test_kid_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))
    same, same_std = quality.kid_from_features(x, y, n_subsets=20, subset_size=100)
    apart, _ = quality.kid_from_features(x, y + 1.0, n_subsets=20, subset_size=100)
    assert abs(same) < 3 * same_std + 1e-3
    assert apart > 10 * max(abs(same), same_std)
    with pytest.raises(ValueError):
        quality.kid_from_features(x[:1], y[:1])
