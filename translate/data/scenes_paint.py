"""The three looks of a scenes-world landscape: `paint_photo`, `paint_shinkai`, `draw_sketch`, and their palettes.

Each turns one `Layout` (see `scenes_layout`) into an image, so the renderings are aligned pixel for pixel.
Painters work channel-first (3, H, W), where broadcasting a (H, W) field over the colours is cheap.
"""

from __future__ import annotations

import numpy as np

from translate.data.scenes_layout import (
    CLASSES,
    CLOUD,
    GRASS,
    MOUNTAIN,
    SKY,
    SUN,
    WATER,
    WINDOW,
    Layout,
    coords,
    fbm2d,
    pixel_box,
)


def blur3(img: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 blur over the last two axes (edges replicated): a photo's mild softness."""
    p = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    a = p[..., 1:-1, :] * 2  # in-place sums: this runs on every photo, so temporaries matter
    a += p[..., :-2, :]
    a += p[..., 2:, :]
    b = a[..., 1:-1] * 2
    b += a[..., :-2]
    b += a[..., 2:]
    b *= 1 / 16
    return b


def boundaries(inst: np.ndarray, quiet: np.ndarray | None = None) -> np.ndarray:
    """Pixels whose right or lower neighbour is another region: a one-pixel line along every boundary.

    Boundaries between two `quiet` pixels (a bool mask) are left out.
    """
    right, down = inst[:, :-1] != inst[:, 1:], inst[:-1] != inst[1:]
    if quiet is not None:
        right &= ~(quiet[:, :-1] & quiet[:, 1:])
        down &= ~(quiet[:-1] & quiet[1:])
    b = np.zeros(inst.shape, bool)
    b[:, :-1] |= right
    b[:-1] |= down
    return b


def _rgb(r: float, g: float, b: float) -> np.ndarray:
    """A colour that broadcasts over a channel-first (3, H, W) image."""
    return np.array((r, g, b), np.float32)[:, None, None]


def _gradient(v: np.ndarray, stops: list[tuple[float, tuple[float, float, float]]]) -> np.ndarray:
    """A vertical gradient through colour stops (v, rgb), as a (3, H, 1) column."""
    vs = [s for s, _ in stops]
    return np.stack([np.interp(v[:, 0], vs, [c[i] for _, c in stops]) for i in range(3)])[:, :, None].astype(np.float32)


def _materials(lay: Layout) -> np.ndarray:
    """Class ids, with details as extra materials after the classes (window, dash, trunk)."""
    mat = lay.labels.copy()
    np.copyto(mat, lay.detail + (len(CLASSES) - 1), where=lay.detail > 0)
    return mat


def _mirror(img: np.ndarray, lay: Layout, mix: np.ndarray, amount: float) -> None:
    """Water: blend `mix` (3, rows below the horizon, W) with the mirrored scene, rippled sideways; in place."""
    water = lay.labels == WATER
    rows = np.flatnonzero(water.any(1))
    if rows.size == 0:
        return
    H, W = water.shape
    y0, y1 = rows[0], rows[-1] + 1
    yh = lay.ground_row
    ys = np.clip(2 * yh - 1 - np.arange(y0, y1), 0, H - 1)[:, None]
    xs = np.clip(np.arange(W) + np.round(lay.ripple[y0 - yh: y1 - yh] * max(1.0, W / 80)).astype(np.intp), 0, W - 1)
    mirrored = img[:, ys, xs]
    mix = np.broadcast_to(mix, (3, H - yh, W))[:, y0 - yh: y1 - yh]
    np.copyto(img[:, y0:y1], amount * mirrored + (1 - amount) * mix, where=water[y0:y1])


def _fade(img: np.ndarray, rows: slice, weight: np.ndarray, colour: np.ndarray) -> None:
    """Blend `img` rows toward `colour` by `weight` (a field over those rows); in place."""
    seg = img[:, rows]
    seg += weight * (colour - seg)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.dstack(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8))


# Per material (classes, then window, dash, trunk): base colour and texture strength of the photo.
_PHOTO = np.array([
    (0, 0, 0), (0.86, 0.87, 0.89), (1.0, 0.98, 0.92), (0.33, 0.36, 0.33), (0.42, 0.48, 0.26),
    (0.33, 0.33, 0.34), (0.60, 0.58, 0.55), (0.20, 0.29, 0.13), (0.22, 0.30, 0.34),
    (0.30, 0.33, 0.36), (0.80, 0.80, 0.76), (0.30, 0.23, 0.16)], np.float32)
_TEXTURE = np.array([0, 0.08, 0, 0.25, 0.4, 0.3, 0.12, 0.6, 0.1, 0.1, 0.1, 0.3], np.float32)


def paint_photo(lay: Layout, rng: np.random.Generator) -> np.ndarray:
    """A muted, textured, softly lit landscape with mild blur and sensor noise: (H, W, 3) uint8."""
    shape = lay.labels.shape
    u, v = coords(shape)
    h, (su, sv) = lay.horizon, lay.sun
    fine = fbm2d(rng, shape, grid=(12, 12), octaves=4, gain=0.6)
    yh = lay.ground_row
    patch = fbm2d(rng, shape, (3, 4), 3, rows=(yh, shape[0]))
    mat, lab = _materials(lay), lay.labels
    img = np.take(_PHOTO.T, mat, axis=1)
    np.copyto(img, _gradient(v, [(0.0, (0.40, 0.56, 0.76)), (h, (0.80, 0.85, 0.89))]), where=lab == SKY)
    # Grass drifts between green and dry patches; buildings and trees each get their own hue.
    grass = lab == GRASS
    img[:, yh:] += np.where(grass[yh:], np.clip(0.6 + patch, 0, 1), 0) * _rgb(0.14, 0.06, 0.02)
    img *= 1 + 0.1 * lay.tint * _rgb(1.0, 0.6, -0.4)
    # Aerial perspective: far ridges and the ground near the horizon fade into the haze.
    rows = slice(lay.ridge_row, min(shape[0], yh + int(0.15 * shape[0]) + 1))
    near = 0.4 * np.clip(1 - (v[rows] - h) / 0.15, 0, 1)
    haze = np.where(lab[rows] == MOUNTAIN, 0.05 + 0.35 * lay.depth[rows], np.where(grass[rows], near, 0))
    _fade(img, rows, haze, _rgb(0.74, 0.78, 0.82))
    d2 = ((u - su) * shape[1] / shape[0]) ** 2 + (v - sv) ** 2
    shadow = np.zeros(shape, np.float32)
    shadow[yh:] = blur3(blur3(lay.shadow[yh:].astype(np.float32)))
    light = (1 + 0.3 * lay.shade) * (1 - 0.4 * shadow) * (0.9 + 0.15 * np.exp(-d2 / 0.3))  # falls off away from the sun
    img *= light * (1 + np.take(_TEXTURE, mat) * fine)
    _mirror(img, lay, _rgb(0.22, 0.30, 0.34) * (1 + 0.1 * fine[yh:]), 0.55)
    img += (0.4 * np.exp(-d2 / 0.005)) * _rgb(1.0, 0.96, 0.88)  # the sun's soft halo
    # Lens softness is a fixed optical size, so small renders get proportionally less of it.
    soft = min(1.0, min(shape) / 192)
    img = blur3(img) if soft == 1 else soft * blur3(img) + (1 - soft) * img
    noise = rng.random(img.shape, dtype=np.float32)
    noise -= 0.5
    noise *= 0.035
    img += noise
    return _to_uint8(img)


# Per material: shadow, mid and light tone of the anime look; a hard threshold on the light picks one.
_SHINKAI = np.array([
    [(0, 0, 0)] * 3,
    [(0.68, 0.72, 0.94), (0.88, 0.92, 1.0), (1.0, 1.0, 1.0)],
    [(1.0, 1.0, 0.95)] * 3,
    [(0.16, 0.27, 0.52), (0.24, 0.42, 0.68), (0.42, 0.62, 0.86)],
    [(0.10, 0.45, 0.22), (0.30, 0.70, 0.16), (0.58, 0.86, 0.24)],
    [(0.28, 0.27, 0.40), (0.44, 0.42, 0.54), (0.58, 0.56, 0.66)],
    [(0.24, 0.30, 0.50), (0.64, 0.70, 0.84), (0.88, 0.91, 0.98)],
    [(0.04, 0.26, 0.16), (0.10, 0.50, 0.18), (0.45, 0.78, 0.20)],
    [(0.10, 0.40, 0.75)] * 3,
    [(0.45, 0.80, 1.0)] * 3,
    [(0.98, 0.98, 0.98)] * 3,
    [(0.33, 0.20, 0.18)] * 3], np.float32).reshape(-1, 3)


def paint_shinkai(lay: Layout, rng: np.random.Generator) -> np.ndarray:
    """An anime background: deep-blue to cyan sky, glowing white clouds, cel shading, dark outlines."""
    shape = lay.labels.shape
    H, W = shape
    u, v = coords(shape)
    h, (su, sv) = lay.horizon, lay.sun
    lab = lay.labels
    tone = np.where(lay.shadow, 0, (lay.shade > -0.25).astype(np.intp) + (lay.shade > 0.35))
    img = np.take(_SHINKAI.T, _materials(lay).astype(np.intp) * 3 + tone, axis=1)
    sky = _gradient(v, [(0.0, (0.02, 0.16, 0.55)), (0.45 * h, (0.10, 0.42, 0.86)), (h, (0.55, 0.88, 1.0))])
    np.copyto(img, sky, where=lab == SKY)
    # Far ridges fade into the sky; the grass brightens toward the horizon; some windows are lit.
    yh = lay.ground_row
    mrows, grows = slice(lay.ridge_row, yh), slice(yh, min(H, yh + int(0.2 * H) + 1))
    _fade(img, mrows, np.where(lab[mrows] == MOUNTAIN, 0.55 * lay.depth[mrows], 0), _rgb(0.55, 0.80, 1.0))
    near = 0.35 * np.clip(1 - (v[grows] - h) / 0.2, 0, 1)
    _fade(img, grows, np.where(lab[grows] == GRASS, near, 0), _rgb(0.70, 0.92, 0.55))
    img *= 1 + 0.1 * lay.tint * _rgb(-1.0, 0.3, 1.0)
    np.copyto(img, _rgb(1.0, 0.88, 0.5), where=(lay.detail == WINDOW) & (lay.tint > 0.4))
    # Dark outlines in the hue of what they bound; clouds and the sun get none: they glow instead.
    line = boundaries(lay.inst, quiet=np.isin(lab, (SKY, CLOUD, SUN)))
    np.multiply(img, 0.3, out=img, where=line)
    if (lab == WATER).any():  # sun glints: sideways streaks, drawn only when there is water to hold them
        glints = fbm2d(rng, shape, (40, 4), 2, rows=(lay.ground_row, H)) > 0.3
        _mirror(img, lay, _rgb(0.10, 0.40, 0.75) + np.where(glints, 1.5, 0), 0.6)
    # A white halo around the clouds, then the sun's glow and a lens flare over everything.
    halo = 0.35 * np.clip((lay.clouds[:yh] + 0.04) / 0.14, 0, 1) ** 2
    img[:, :yh] += np.where(lab[:yh] == SKY, halo, 0) * _rgb(0.9, 0.95, 1.0)
    a = W / H
    d2 = ((u - su) * a) ** 2 + (v - sv) ** 2
    img += (0.9 * np.exp(-d2 / 0.004) + 0.35 * np.exp(-np.sqrt(d2) / 0.18)) * _rgb(1.0, 0.95, 0.8)
    for f, rad, strength, col in ((0.55, 0.03, 0.25, (0.6, 1.0, 0.8)), (0.9, 0.05, 0.15, (0.7, 0.8, 1.0)),
                                  (1.35, 0.08, 0.12, (1.0, 0.8, 0.6)), (1.6, 0.025, 0.3, (0.8, 0.9, 1.0))):
        fx, fy = su + f * (0.5 - su), sv + f * (0.5 - sv)
        box = pixel_box(fx - rad / a, fx + rad / a, fy - rad, fy + rad, shape)
        disc = ((u[:, box[1]] - fx) * a) ** 2 + (v[box[0]] - fy) ** 2 < rad**2
        img[(slice(None),) + box] += np.where(disc, strength, 0) * _rgb(*col)
    return _to_uint8(img)


def draw_sketch(lay: Layout) -> np.ndarray:
    """Black line art on white: every region and detail outline, two pixels wide from 160 px up."""
    line = boundaries(lay.inst)
    if min(line.shape) >= 160:
        line[1:] |= line[:-1].copy()
        line[:, 1:] |= line[:, :-1].copy()
    return np.where(line, 0, 255).astype(np.uint8)
