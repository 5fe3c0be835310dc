"""The arithmetic of image quality: L1 (and the held-out L1 logged while training), PSNR, SSIM, line-art
precision/recall, the artefact ratio (speckle where the scene is flat), segmentation scores, FID, KID.

Pure functions on tensors and arrays; nothing here knows of runs, styles or networks (`evaluate.py` decides
what to compute, `judges.py` owns the networks that turn images into labels or features).

Images are NCHW tensors in [-1, 1], the package's convention; PSNR and SSIM see them as [0, 1] intensities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset

from translate.models.baselines import to_grey

__all__ = [
    "ARTEFACT_FLOOR",
    "ARTEFACT_GOAL",
    "PSNR_CAP",
    "ArtefactSums",
    "LineCounts",
    "artefact_sums",
    "confusion",
    "fid_from_features",
    "flat_mask",
    "flat_radius",
    "frechet_distance",
    "heldout_l1",
    "kid_from_features",
    "l1",
    "laplacian_energy",
    "line_counts",
    "psnr",
    "segmentation_scores",
    "ssim",
    "to_unit",
]

# PSNR of identical images is infinite; JSON cannot hold that, so every PSNR is capped here. Any real
# difference of 8-bit images up to 512 x 512 scores below it (one grey level in one pixel: ~109 dB at 512).
PSNR_CAP = 100.0


def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image, in [0, 1] intensity units (images in [-1, 1]); shape (N,)."""
    return (output.float() - target.float()).abs().flatten(1).mean(1) / 2


def heldout_l1(
    translate: Callable[[torch.Tensor], torch.Tensor],
    dataset: Dataset,
    device: torch.device | str = "cpu",
    limit: int = 100,
    batch_size: int = 8,
    channels_last: bool = False,
) -> float:
    """Mean L1 between translate(A) and the true B over the first `limit` images of a held-out split.

    0 is perfect; 0.5 is as far as the mid-grey from black or white. Every test split carries its true
    target (an unpaired style's test split pairs each photo with its true rendering), so every model
    and style is scored the same way.
    """
    n = min(len(dataset), limit)  # type: ignore[arg-type]
    loader: DataLoader[Any] = DataLoader(Subset(dataset, range(n)), batch_size=batch_size, shuffle=False)
    total, count = 0.0, 0
    fmt = torch.channels_last if channels_last else torch.preserve_format
    for batch in loader:
        source = batch["A"].to(device, memory_format=fmt)
        target = batch["B"].to(device)
        total += l1(translate(source), target).sum().item()
        count += source.shape[0]
    return total / max(1, count)


def to_unit(images: torch.Tensor) -> np.ndarray:
    """NCHW in [-1, 1] -> N x H x W x C float64 array in [0, 1] (clamped)."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).double().numpy()


def psnr(output: torch.Tensor, target: torch.Tensor, cap: float = PSNR_CAP) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB (data range 1), by scikit-image; identical images give `cap`."""
    from skimage.metrics import peak_signal_noise_ratio

    values = []
    for o, t in zip(to_unit(output), to_unit(target)):
        with np.errstate(divide="ignore"):
            values.append(min(float(peak_signal_noise_ratio(t, o, data_range=1.0)), cap))
    return np.array(values)


def ssim(output: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Structural similarity per image, by scikit-image (7x7 uniform window, data range 1; colour: mean over channels).

    Images smaller than 7 pixels use the largest odd window that fits; below 3 pixels SSIM is undefined (nan).
    """
    from skimage.metrics import structural_similarity

    values = []
    for o, t in zip(to_unit(output), to_unit(target)):
        side = min(o.shape[:2])
        window = min(7, side if side % 2 else side - 1)
        if window < 3:
            values.append(float("nan"))
            continue
        channels = o.shape[2]
        o2, t2 = (o[..., 0], t[..., 0]) if channels == 1 else (o, t)
        values.append(float(structural_similarity(
            t2, o2, data_range=1.0, win_size=window, channel_axis=None if channels == 1 else -1)))
    return np.array(values)


# ------------------------------------------------------------------------------------------- line art


@dataclass
class LineCounts:
    """Pixel counts behind line precision and recall, summed over images (so scores pool a whole split)."""

    predicted: int = 0  # line pixels drawn
    predicted_hit: int = 0  # ...of which within the tolerance of a true line
    true: int = 0  # true line pixels
    true_hit: int = 0  # ...of which within the tolerance of a drawn line

    def __add__(self, other: LineCounts) -> LineCounts:
        return LineCounts(self.predicted + other.predicted, self.predicted_hit + other.predicted_hit,
                          self.true + other.true, self.true_hit + other.true_hit)

    def scores(self) -> dict[str, float]:
        """precision, recall and their harmonic mean f_score.

        Nothing drawn and nothing to draw is perfect (1, 1, 1); nothing drawn where lines exist gives
        precision 0 (no credit for an empty page), and so F 0.
        """
        if self.predicted == 0 and self.true == 0:
            return {"precision": 1.0, "recall": 1.0, "f_score": 1.0}
        precision = self.predicted_hit / self.predicted if self.predicted else 0.0
        recall = self.true_hit / self.true if self.true else 1.0
        f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        return {"precision": precision, "recall": recall, "f_score": f}


def lines_of(images: torch.Tensor, threshold: int = 128) -> np.ndarray:
    """Line pixels of NCHW images in [-1, 1]: grey (channel mean) darker than `threshold` of 255; N x H x W bool."""
    grey = (images.detach().float().cpu().clamp(-1, 1).mean(1) + 1) * 127.5
    return (grey < threshold).numpy()


def line_counts(output: torch.Tensor, target: torch.Tensor, threshold: int = 128, tolerance: float = 1.0) -> LineCounts:
    """Compare the dark lines of `output` with those of `target` (black lines on white), per pixel.

    A drawn line pixel counts as correct when a true line pixel lies within `tolerance` pixels (Euclidean,
    so 1 admits the 4 neighbours and 1.5 the 8), and a true line pixel as found when a drawn one does.
    """
    from scipy.ndimage import distance_transform_edt

    counts = LineCounts()
    for drawn, true in zip(lines_of(output, threshold), lines_of(target, threshold)):
        hit_drawn = _near(drawn, true, tolerance, distance_transform_edt)
        hit_true = _near(true, drawn, tolerance, distance_transform_edt)
        counts += LineCounts(int(drawn.sum()), int(hit_drawn), int(true.sum()), int(hit_true))
    return counts


def _near(these: np.ndarray, those: np.ndarray, tolerance: float, edt) -> int:
    """How many pixels of `these` lie within `tolerance` of any pixel of `those`."""
    if not these.any() or not those.any():
        return 0
    return int((edt(~those)[these] <= tolerance).sum())


# ------------------------------------------------------------------------------------------ artefacts

# The floor under the truth's energy in the artefact ratio. Blank paper (line art away from its lines) has no
# energy at all, so without a floor any texture would score infinity. 0.01 is the energy of Gaussian speckle of
# sigma ~0.7 grey levels (of 255), so the goal of 1.5 forgives about one grey level, below what anyone sees, while
# a clearly visible 2-3 levels scores 3-4. Textured truths stay above it at the sizes we use (the world's photos
# >= 0.023, its Shinkai renderings >= 0.013 up to 256 px; at 512 px the Shinkai's cel shading falls to ~0.007,
# and the report flags the floor as applied).
ARTEFACT_FLOOR = 0.01
ARTEFACT_GOAL = 1.5  # the figure people quote: an output may carry half again the truth's fine texture, no more


def flat_radius(size: int) -> int:
    """Half-width of the window that must lie in one region for a pixel to count as flat: 2 (5 x 5) up to 320 px,
    then about size / 128, so the margin kept from edges looks the same at every size.

    Never under 2: outlines are drawn on a region's edge pixel and the Laplacian reads one pixel beyond its
    centre, so with 3 x 3 windows the line art's own outlines would count as texture of its flat regions.
    """
    return max(2, round(size / 128))


def flat_mask(regions: torch.Tensor, radius: int | None = None) -> torch.Tensor:
    """Pixels of an N x H x W (or H x W) map of region ids whose whole (2 radius + 1)^2 window lies in one region.

    Returns N x H x W bool. The map is extended past the image by repeating its edge, so a region that runs off
    the image stays flat there. `radius` defaults to `flat_radius` of the shorter side.
    """
    ids = regions[None] if regions.dim() == 2 else regions
    radius = flat_radius(min(ids.shape[-2:])) if radius is None else radius
    ids = F.pad(ids[:, None].double(), (radius,) * 4, mode="replicate")  # double: any int32 id exactly
    side = 2 * radius + 1
    return (F.max_pool2d(ids, side, stride=1) == -F.max_pool2d(-ids, side, stride=1))[:, 0]


def laplacian_energy(images: torch.Tensor) -> torch.Tensor:
    """|Laplacian| of the luma in [0, 1] of NCHW images in [-1, 1] (any channels), N x H x W: fine texture, speckle
    and checkerboard. The 4-neighbour kernel with the edge repeated, as scipy.ndimage.laplace."""
    grey = F.pad(to_grey(images.detach().cpu()), (1, 1, 1, 1), mode="replicate")
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=grey.dtype).view(1, 1, 3, 3)
    return F.conv2d(grey, kernel).abs()[:, 0]


@dataclass
class ArtefactSums:
    """Sums behind the artefact ratio, pooled over images (so a split's ratio weighs every flat pixel alike)."""

    output: float = 0.0  # |Laplacian| of the outputs' luma, summed over flat pixels
    target: float = 0.0  # ...of the true targets' luma
    flat: int = 0  # flat pixels
    pixels: int = 0  # all pixels

    def __add__(self, other: ArtefactSums) -> ArtefactSums:
        return ArtefactSums(self.output + other.output, self.target + other.target, self.flat + other.flat,
                            self.pixels + other.pixels)

    def scores(self, floor: float = ARTEFACT_FLOOR) -> dict[str, Any]:
        """ratio: the outputs' mean |Laplacian| over flat pixels divided by the truth's (at least `floor`); 1 is as
        smooth as the truth, speckle raises it. Both energies, the flat share and whether the floor acted too."""
        if self.flat == 0:
            return {"ratio": None, "output_energy": None, "target_energy": None,
                    "flat_share": 0.0 if self.pixels else None, "floored": False}
        output, target = self.output / self.flat, self.target / self.flat
        return {"ratio": output / max(target, floor), "output_energy": output, "target_energy": target,
                "flat_share": self.flat / self.pixels, "floored": target < floor}


def artefact_sums(output: torch.Tensor, target: torch.Tensor, regions: torch.Tensor,
                  radius: int | None = None) -> ArtefactSums:
    """The fine-detail energy of `output` and `target` (NCHW in [-1, 1], one size) inside the flat pixels of
    `regions` (N x H x W region ids at that size; see `flat_mask`)."""
    mask = flat_mask(regions, radius)
    if mask.shape != (output.shape[0], *output.shape[-2:]) or output.shape[-2:] != target.shape[-2:]:
        raise ValueError(f"regions {tuple(regions.shape)} do not match outputs {tuple(output.shape)} "
                         f"and targets {tuple(target.shape)}")
    return ArtefactSums(float(laplacian_energy(output)[mask].double().sum()),
                        float(laplacian_energy(target)[mask].double().sum()), int(mask.sum()), mask.numel())


# ------------------------------------------------------------------------------------ segmentation


def confusion(predicted: np.ndarray, true: np.ndarray, n_classes: int) -> np.ndarray:
    """n_classes x n_classes pixel counts, rows the true class and columns the predicted one."""
    index = true.astype(np.int64).ravel() * n_classes + predicted.astype(np.int64).ravel()
    return np.bincount(index, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def segmentation_scores(matrix: np.ndarray) -> dict[str, float]:
    """The FCN-score triple from a confusion matrix: per-pixel accuracy, mean per-class accuracy, mean class IoU.

    As the Cityscapes code pix2pix used: classes absent from the truth are left out of the class accuracy,
    and classes absent from both truth and prediction out of the IoU.
    """
    matrix = matrix.astype(np.float64)
    diag, true, predicted = np.diag(matrix), matrix.sum(1), matrix.sum(0)
    union = true + predicted - diag
    return {
        "pixel_acc": float(diag.sum() / max(matrix.sum(), 1)),
        "class_acc": float(np.mean(diag[true > 0] / true[true > 0])) if (true > 0).any() else 0.0,
        "class_iou": float(np.mean(diag[union > 0] / union[union > 0])) if (union > 0).any() else 0.0,
    }


# --------------------------------------------------------------------------------------- FID, KID


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6, method: str = "sqrtm") -> float:
    """Fréchet distance of two Gaussians: |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    method "sqrtm" is the reference computation (pytorch-fid's): scipy.linalg.sqrtm of S1 S2, real part,
    with `eps` added to both diagonals when the product is too near singular for a finite root. "eigh"
    gets the same trace from symmetric eigendecompositions, tr (S1^(1/2) S2 S1^(1/2))^(1/2): several times
    faster at 2048 dimensions and well defined for singular covariances.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched statistics: means {mu1.shape}, {mu2.shape}; "
                         f"covariances {sigma1.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    if method == "sqrtm":
        cross = _trace_sqrt_sqrtm(sigma1, sigma2, eps)
    elif method == "eigh":
        cross = _trace_sqrt_eigh(sigma1, sigma2)
    else:
        raise ValueError(f"method must be 'sqrtm' or 'eigh', got {method!r}")
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)


def _trace_sqrt_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns of singular products; the check below handles them
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in the covariance root")
        covmean = covmean.real
    return float(np.trace(covmean))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _trace_sqrt_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    root = _psd_sqrt(sigma1)
    inner = root @ sigma2 @ root
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet Inception distance between two feature sets (rows are images), exactly, quickly.

    With fewer images than dimensions (the usual case of a test split: 100 images, 2048 features) the
    covariances have low rank and tr (S1 S2)^(1/2) is the sum of singular values of Xr Xf^T (centred
    features), an n x n problem; otherwise the "eigh" route of `frechet_distance`.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or min(len(real), len(fake)) < 2:
        raise ValueError(f"need two sets of at least 2 feature rows of one width, got {real.shape} and {fake.shape}")
    mu_r, mu_f = real.mean(0), fake.mean(0)
    xr = (real - mu_r) / np.sqrt(len(real) - 1)
    xf = (fake - mu_f) / np.sqrt(len(fake) - 1)
    if min(len(real), len(fake)) >= real.shape[1]:
        return frechet_distance(mu_r, xr.T @ xr, mu_f, xf.T @ xf, method="eigh")
    cross = float(np.linalg.svd(xr @ xf.T, compute_uv=False).sum())
    diff = mu_r - mu_f
    return float(diff @ diff + (xr * xr).sum() + (xf * xf).sum() - 2 * cross)


def kid_from_features(real: np.ndarray, fake: np.ndarray, n_subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """Kernel Inception distance: the unbiased MMD^2 with the kernel (x.y / dim + 1)^3, mean and std over subsets.

    As Binkowski et al. (and torch-fidelity): `n_subsets` random subsets of `subset_size` rows of each set
    (fewer when a set is smaller), drawn without replacement within a subset.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need two sets of at least 2 feature rows of one width, got {real.shape} and {fake.shape}")
    rng = np.random.default_rng(seed)
    dim = real.shape[1]
    values = []
    for _ in range(n_subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values.append(within - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))
