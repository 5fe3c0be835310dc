"""The geometry of a scenes-world landscape: classes, the seeded noise it is drawn from, and `layout`.

`layout` turns a random generator into geometry (class map, region map, a lighting field) that the painters
in `scenes_paint` turn into three looks, so the renderings are aligned by construction. Everything is
vectorised numpy; PIL only resamples noise.

Geometry lives in resolution-independent coordinates: u = x / W and v = y / H, both in [0, 1],
v = 0 at the top. Round things (sun, trees) use the metric (du * W / H, dv) so they stay round on
non-square canvases. Every random draw that shapes the geometry has a count that does not depend on
the size, so one seed gives the same layout at every resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

CLASSES = ("sky", "cloud", "sun", "mountain", "grass", "road", "building", "tree", "water")
SKY, CLOUD, SUN, MOUNTAIN, GRASS, ROAD, BUILDING, TREE, WATER = range(len(CLASSES))

# Details share a class with their region but are painted (and outlined) on their own.
NO_DETAIL, WINDOW, DASH, TRUNK = range(4)

# Region ids: one per region that gets its own outline. Ridges, buildings and trees get blocks of ids.
_ID_SKY, _ID_SUN, _ID_CLOUD, _ID_GRASS, _ID_WATER, _ID_ROAD, _ID_DASH = 1, 2, 3, 4, 5, 6, 7
_ID_RIDGE, _ID_BUILDING, _ID_WINDOWS, _ID_TREE = 10, 100, 200, 1000


# ----------------------------------------------------------------------------------------- noise


def fbm2d(rng: np.random.Generator, shape: tuple[int, int], grid: tuple[int, int] = (4, 4),
          octaves: int = 4, gain: float = 0.5, rows: tuple[int, int] | None = None) -> np.ndarray:
    """Fractal value noise over a canvas of `shape`, zero-mean, within [-1, 1].

    `grid` is the coarsest lattice (rows, cols); `rows` = (y0, y1) returns only those canvas rows
    (cheaper when a field is needed only above or below the horizon). Octaves are summed on the
    finest lattice (tiny arrays) and resampled once; the lattices are drawn without looking at the
    canvas size, which makes the field size-independent.
    """
    gy, gx = grid
    fine = (gy * 2 ** (octaves - 1) + 1, gx * 2 ** (octaves - 1) + 1)
    acc, amp, total = np.zeros(fine, np.float32), 1.0, 0.0
    for o in range(octaves):
        lattice = rng.random((gy * 2**o + 1, gx * 2**o + 1), dtype=np.float32)
        acc += amp * (lattice if lattice.shape == fine else _resize(lattice, fine))
        total += amp
        amp *= gain
    H, W = shape
    y0, y1 = rows or (0, H)
    box = (0.0, y0 / H * fine[0], float(fine[1]), y1 / H * fine[0])  # those rows of the full-canvas field
    return np.asarray(Image.fromarray(acc * (2 / total) - 1, "F").resize((W, y1 - y0), Image.BICUBIC, box=box))


def fbm1d(rng: np.random.Generator, u: np.ndarray, base: int = 3, octaves: int = 5, gain: float = 0.5) -> np.ndarray:
    """Fractal 1-D noise in [0, 1] at positions `u` in [0, 1]; piecewise linear, so ridges look faceted."""
    acc, amp, total = np.zeros(u.shape), 1.0, 0.0
    for o in range(octaves):
        knots = base * 2**o + 1
        acc += amp * np.interp(u, np.linspace(0.0, 1.0, knots), rng.random(knots))
        total += amp
        amp *= gain
    return (acc / total).astype(np.float32)


def _resize(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bicubic resampling of a float array to `shape` (rows, cols)."""
    return np.asarray(Image.fromarray(a, "F").resize((shape[1], shape[0]), Image.BICUBIC))


# ---------------------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """The geometry of one scene, shared by every rendering."""

    labels: np.ndarray  # (H, W) uint8 class ids
    inst: np.ndarray    # (H, W) int32 region ids: their boundaries are the line art
    detail: np.ndarray  # (H, W) uint8: WINDOW, DASH, TRUNK or NO_DETAIL
    shade: np.ndarray   # (H, W) float32 in about [-1, 1]: how much a surface faces the light
    tint: np.ndarray    # (H, W) float32 in [-1, 1]: colour variation between objects
    depth: np.ndarray   # (H, W) float32: 1 for the farthest ridge .. 0 for the nearest
    shadow: np.ndarray  # (H, W) bool: trees' cast shadows on the ground
    clouds: np.ndarray  # (H, W) float32 cloud density (> 0 inside a cloud); its halo makes the glow
    ripple: np.ndarray  # (H - ground_row, W) float32 noise stretched sideways: how water bends reflections
    horizon: float      # v of the horizon
    sun: tuple[float, float]  # (u, v) of the sun
    side: float         # +1 when the light comes from the right, -1 from the left
    ridge_row: int = 0  # the first pixel row that may hold a mountain (painters skip the rows above)

    @property
    def ground_row(self) -> int:
        """The first pixel row below the horizon."""
        return int(np.ceil(self.horizon * self.labels.shape[0] - 0.5))

    def put(self, box: tuple[slice, slice], mask: np.ndarray, cls: int, ident, shade=0.0, tint=0.0) -> None:
        """Paint a region: inside `box`, where `mask`, set class, region id, shade and tint; clear details."""
        for arr, val in ((self.labels, cls), (self.inst, ident), (self.detail, NO_DETAIL),
                         (self.shade, shade), (self.tint, tint)):
            np.copyto(arr[box], val, where=mask, casting="unsafe")


def pixel_box(x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Pixel slices covering the normalised box [x0, x1] x [y0, y1] (possibly empty)."""
    H, W = shape
    return (slice(min(max(int(np.floor(y0 * H)), 0), H), min(max(int(np.ceil(y1 * H)), 0), H)),
            slice(min(max(int(np.floor(x0 * W)), 0), W), min(max(int(np.ceil(x1 * W)), 0), W)))


def coords(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates u (1, W) and v (H, 1) in [0, 1]."""
    H, W = shape
    return (((np.arange(W, dtype=np.float32) + 0.5) / W)[None, :],
            ((np.arange(H, dtype=np.float32) + 0.5) / H)[:, None])


def layout(rng: np.random.Generator, shape: tuple[int, int]) -> Layout:
    """Draw the geometry of a scene: sky, sun, clouds, ridges, ground, lake, road, buildings, trees."""
    H, W = shape
    aspect = W / H
    u, v = coords(shape)
    h = rng.uniform(0.5, 0.66)
    su, sv, sr = rng.uniform(0.12, 0.88), rng.uniform(0.1, h - 0.2), rng.uniform(0.035, 0.055)
    yh = int(np.ceil(h * H - 0.5))  # first ground row

    def zeros():
        return np.zeros(shape, np.float32)

    lay = Layout(labels=np.full(shape, SKY, np.uint8), inst=np.full(shape, _ID_SKY, np.int32),
                 detail=np.zeros(shape, np.uint8), shade=zeros(), tint=zeros(), depth=zeros(),
                 shadow=np.zeros(shape, bool), clouds=zeros(), ripple=fbm2d(rng, shape, (24, 3), 2, rows=(yh, H)),
                 horizon=float(h), sun=(float(su), float(sv)), side=1.0 if su > 0.5 else -1.0, ridge_row=yh)
    sky_rows, ground_rows = (slice(0, yh), slice(None)), (slice(yh, H), slice(None))
    box = pixel_box(su - sr / aspect, su + sr / aspect, sv - sr, sv + sr, shape)
    lay.put(box, ((u[:, box[1]] - su) * aspect) ** 2 + (v[box[0]] - sv) ** 2 < sr**2, SUN, _ID_SUN)

    # Clouds: wide coarse shapes plus fluffy detail, thinning toward the horizon. Their shade comes
    # from how the coarse density changes downward, so undersides (density falling) go dark.
    step = max(1, round(0.05 * H))
    y1 = min(H, yh + step)
    body = fbm2d(rng, shape, (3, 2), 2, rows=(0, y1)) + rng.uniform(-0.25, 0.05) - 0.7 * (v[:y1] / h) ** 2
    dens = body[:yh] + 0.35 * fbm2d(rng, shape, (10, 7), 3, rows=(0, yh))
    below = np.pad(body[step:], ((0, yh + step - y1), (0, 0)), mode="edge")  # the density `step` rows down
    cshade = np.clip(0.4 + 5.0 * (below - body[:yh]) + (dens - 0.1), -1, 1)
    lay.put(sky_rows, dens > 0.1, CLOUD, _ID_CLOUD, cshade)
    lay.clouds[:yh] = dens

    # Mountain ridges from 1-D fractal noise, far (high, pale) to near (low, dark).
    n_ridges = int(rng.integers(1, 4))
    for k in range(3):  # always draw three profiles so that later draws do not depend on n_ridges
        profile = fbm1d(rng, u[0]) * 1.6 - rng.uniform(0.2, 0.6)
        height = rng.uniform(0.12, 0.3) * (1.0 - 0.25 * k)
        if k >= n_ridges:
            continue
        top = h - height * np.clip(profile, 0, None)
        rows = (slice(max(0, min(int(top.min() * H), yh)), yh), slice(None))
        lay.ridge_row = min(lay.ridge_row, rows[0].start)
        vr = v[rows[0]]
        # A face is lit when it rises toward the sun: the ridge's slope smoothed over a width that
        # grows with the distance below the crest, so shading edges run diagonally down from peaks.
        reach = np.clip(np.round((0.006 + 0.7 * np.clip(vr - top, 0, None)) * W), 1, W).astype(np.intp)
        xs = np.arange(W)
        left, right = np.clip(xs - reach, 0, W - 1), np.clip(xs + reach, 0, W - 1)
        slope = (top[right] - top[left]) * W / np.maximum(right - left, 1)
        m = vr >= top
        lay.put(rows, m, MOUNTAIN, _ID_RIDGE + k, np.tanh(-5.0 * lay.side * slope))
        np.copyto(lay.depth[rows], 1.0 - k / (n_ridges - 1) if n_ridges > 1 else 0.5, where=m)

    vg = v[yh:]
    t = (vg - h) / (1 - h)  # 0 at the horizon, 1 at the bottom edge
    lay.put(ground_rows, True, GRASS, _ID_GRASS, 0.45 * fbm2d(rng, shape, (2, 3), 3, rows=(yh, H)))

    # A road toward a vanishing point on the horizon, with dashes spaced in perspective.
    has_road = rng.random() < 0.6
    vx, bx, wb, bend = rng.uniform(0.3, 0.7), rng.uniform(0.05, 0.95), rng.uniform(0.12, 0.24), rng.uniform(-0.3, 0.3)

    def road_dist(uq, tq):  # distance from the road's centre line and its half width at depth tq
        return np.abs(uq - (vx + (bx - vx) * tq + bend * tq * (1 - tq))), wb * tq + 0.002

    # A lake hanging from the horizon, on the side away from the road.
    has_lake = rng.random() < 0.5
    wl, dl, off = rng.uniform(0.15, 0.35), rng.uniform(0.08, 0.22), rng.uniform(0.0, 0.25)
    shore = fbm1d(rng, u[0], base=4, octaves=3)
    cx = (vx - np.sign(bx - vx + 1e-6) * (wl + 0.05 + off)) if has_road else 0.25 + 2 * off
    if has_lake:
        lay.put(ground_rows, ((u - cx) / wl) ** 2 + ((vg - h) / dl) ** 2 < 0.85 + 0.3 * shore, WATER, _ID_WATER)
    if has_road:
        dist, half = road_dist(u, t)
        lay.put(ground_rows, dist < half, ROAD, _ID_ROAD)
        z = 1.0 / (t + 0.08)  # ground distance grows like 1 / t: dashes shrink toward the horizon
        dash = (dist < 0.006 * t + 0.0015) & ((z * 1.3) % 1.0 < 0.45) & (t > 0.12)
        np.copyto(lay.inst[yh:], _ID_DASH, where=dash)
        np.copyto(lay.detail[yh:], DASH, where=dash)

    # A cluster of buildings standing on the horizon (at the end of the road when there is one).
    has_city = rng.random() < 0.65
    nb = int(rng.integers(2, 8))
    spot = rng.uniform(0.2, 0.8)  # drawn either way, so the draws after it never depend on has_road
    cc = vx if has_road else spot
    bw, bh, gap = rng.uniform(0.03, 0.08, 8), rng.uniform(0.06, 0.26, 8), rng.uniform(-0.01, 0.02, 8)
    base, tints = rng.uniform(0.0, 0.02, 8), rng.uniform(-1, 1, 8)
    if has_city:
        x0s = cc - 0.5 * (bw[:nb] + gap[:nb]).sum() + np.concatenate([[0], np.cumsum(bw + gap)[: nb - 1]])
        for i in np.argsort(base[:nb]):  # a lower base is nearer: draw it later
            _building(lay, i, *(float(x) for x in (x0s[i], bw[i], bh[i], h + base[i], tints[i])))

    # Trees, round or conifer, far to near, never on the road or in the lake.
    nt = int(rng.integers(3, 15))
    tu, tt = rng.uniform(0, 1, 16), rng.uniform(0.02, 1.0, 16) ** 1.4
    kinds, ratios, lobes = rng.random(16), rng.uniform(0.8, 1.2, 16), rng.uniform(0, 2 * np.pi, (16, 3))
    for j in np.argsort(tt[:nt]):
        tv = float(h + (1 - h) * tt[j])
        dist, half = road_dist(tu[j], tt[j])
        if (has_road and dist < half + 0.03) or (has_lake and ((tu[j] - cx) / wl) ** 2 + ((tv - h) / dl) ** 2 < 1.3):
            continue
        r = float(0.025 + 0.13 * tt[j])
        # Its shadow: a flat ellipse at the foot, thrown away from the sun.
        sx0, rx = tu[j] - lay.side * r / aspect, 1.4 * r / aspect
        box = pixel_box(sx0 - rx, sx0 + rx, tv - 0.25 * r, tv + 0.25 * r, shape)
        lay.shadow[box] |= ((u[:, box[1]] - sx0) / rx) ** 2 + ((v[box[0]] - tv) / (0.25 * r)) ** 2 < 1
        _tree(lay, j, float(tu[j]), tv, r, float(ratios[j]), kinds[j] < 0.35, lobes[j].tolist())
    lay.shadow &= (lay.labels == GRASS) | (lay.labels == ROAD)
    return lay


def _building(lay: Layout, i: int, x0: float, w: float, hgt: float, base: float, tint: float) -> None:
    """A box with a lit front, a dark side face away from the sun, and a grid of windows."""
    H, W = lay.labels.shape
    box = pixel_box(x0, x0 + w, base - hgt, base, (H, W))
    u, v = coords((H, W))
    uu, vv = u[:, box[1]], v[box[0]]
    body = (uu >= x0) & (uu < x0 + w) & (vv >= base - hgt) & (vv < base)
    sw = 0.28 * w
    side_face = (uu >= x0 + w - sw) if lay.side < 0 else (uu < x0 + sw)
    lay.put(box, body, BUILDING, np.where(side_face, _ID_BUILDING + 2 * i + 1, _ID_BUILDING + 2 * i),
            np.where(side_face, -0.8, 0.3), tint)
    # Window cells of at least four pixels, so small renders get fewer, bigger windows.
    fw = w - sw
    cols = max(1, min(round(fw / 0.016), int(fw * W / 4)))
    rows = max(1, min(round(hgt / 0.03), int(hgt * H / 4)))
    fu, fv = (uu - (x0 if lay.side < 0 else x0 + sw)) / fw, (vv - (base - hgt)) / hgt
    win = body & ~side_face & (fu > 0) & (fu < 1) & (fv > 0.06) & (fv < 0.96)
    win &= ((fu * cols) % 1 > 0.3) & ((fu * cols) % 1 < 0.75) & ((fv * rows) % 1 > 0.35) & ((fv * rows) % 1 < 0.8)
    if fw * W >= 5 and hgt * H >= 8:
        np.copyto(lay.inst[box], _ID_WINDOWS + i, where=win)
        np.copyto(lay.detail[box], WINDOW, where=win)


def _tree(lay: Layout, j: int, tu: float, tv: float, r: float, ratio: float, conifer: bool, lobes: list[float]) -> None:
    """A trunk and a crown (a lobed ellipse or a stacked cone), lit on the sun's side."""
    H, W = lay.labels.shape
    rx = r * ratio * H / W  # horizontal radius in u units
    box = pixel_box(tu - 1.2 * rx, tu + 1.2 * rx, tv - 3.2 * r, tv + 0.01, (H, W))
    u, v = coords((H, W))
    uu, vv = u[:, box[1]], v[box[0]]
    dx = (uu - tu) / rx
    trunk = (np.abs(dx) < 0.13) & (vv <= tv) & (vv > tv - 0.9 * r)
    if conifer:
        rel = (tv - 0.35 * r - vv) / (2.8 * r)  # 0 at the crown's foot, 1 at its tip
        tier = (rel * 3.0) % 1.0  # three tiers, each wider at its foot
        half = 0.75 * (1 - rel) * (0.8 + 0.35 * (tier < 0.5) * (1 - tier))
        crown = (rel >= 0) & (rel < 1) & (np.abs(dx) < half)
        light = 0.9 * lay.side * dx / np.maximum(half, 1e-3) + 0.2 * (rel - 0.5)
    else:
        dy = (vv - (tv - 1.55 * r)) / r
        ang = np.arctan2(dy, dx)
        rad = 1.0 + 0.08 * (np.sin(3 * ang + lobes[0]) + np.sin(5 * ang + lobes[1]) + np.sin(7 * ang + lobes[2]))
        crown = dx**2 + dy**2 < rad**2
        # Light from the sun's side and from above, broken into leaf clusters.
        light = 0.62 * (lay.side * dx - dy) + 0.3 * np.sin(7 * dx + lobes[1]) * np.sin(7 * dy + lobes[2])
    ident = _ID_TREE + 2 * j
    lay.put(box, trunk | crown, TREE, np.where(crown, ident, ident + 1), np.where(crown, light, -0.3),
            lobes[0] / np.pi - 1)
    np.copyto(lay.detail[box], TRUNK, where=trunk & ~crown)
