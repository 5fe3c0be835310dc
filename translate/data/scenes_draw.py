"""Drawing helpers of the scenes world: noise, the seeded layout, and the three painters.

`layout` turns a random generator into geometry (class map, region map, a lighting field);
`paint_photo`, `paint_shinkai` and `draw_sketch` turn that one geometry into three looks, so the
renderings are aligned by construction. Everything is vectorised numpy; PIL only resamples noise.

Geometry lives in resolution-independent coordinates: u = x / W and v = y / H, both in [0, 1],
v = 0 at the top. Round things (sun, trees) use the metric (du * W / H, dv) so they stay round on
non-square canvases. Every random draw that shapes the geometry has a count that does not depend on
the size, so one seed gives the same layout at every resolution. Painters work channel-first
(3, H, W), where broadcasting a (H, W) field over the colours is cheap.
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


def _box(x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int]) -> tuple[slice, slice]:
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
    box = _box(su - sr / aspect, su + sr / aspect, sv - sr, sv + sr, shape)
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
        box = _box(sx0 - rx, sx0 + rx, tv - 0.25 * r, tv + 0.25 * r, shape)
        lay.shadow[box] |= ((u[:, box[1]] - sx0) / rx) ** 2 + ((v[box[0]] - tv) / (0.25 * r)) ** 2 < 1
        _tree(lay, j, float(tu[j]), tv, r, float(ratios[j]), kinds[j] < 0.35, lobes[j].tolist())
    lay.shadow &= (lay.labels == GRASS) | (lay.labels == ROAD)
    return lay


def _building(lay: Layout, i: int, x0: float, w: float, hgt: float, base: float, tint: float) -> None:
    """A box with a lit front, a dark side face away from the sun, and a grid of windows."""
    H, W = lay.labels.shape
    box = _box(x0, x0 + w, base - hgt, base, (H, W))
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
    box = _box(tu - 1.2 * rx, tu + 1.2 * rx, tv - 3.2 * r, tv + 0.01, (H, W))
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


# -------------------------------------------------------------------------------------- painters


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
        box = _box(fx - rad / a, fx + rad / a, fy - rad, fy + rad, shape)
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
