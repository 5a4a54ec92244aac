"""Synthetic MRI phantoms of known grade (numpy only, deterministic per seed).

No labelled MRI can be fetched here, so the three MRI bundles learn from volumes drawn by this
module: anatomy-like phantoms whose lesions are placed with a known grade. Every phantom is
made at the bundle's working grid (slices, rows, columns) with the artefacts of a real series:
- partial volume: each slice is the mean of three sub-slices across its thickness;
- Rician noise: the magnitude of the signal plus complex Gaussian noise;
- a smooth multiplicative bias field (coil sensitivity) and a random intensity scale;
- small in-plane rotations and shifts, and anatomy of varying size.

Spine (sagittal STIR): 24 vertebral bodies C2-S1 with discs, CSF and cord; bone marrow oedema
(BME) of Berlin grade 0-3 per vertebral unit (the lower half of one body and the upper half of
the next), graded by its extent in the unit: none / < 25% / 25-50% / > 50%.
SIJ (coronal or axial STIR): sacrum, ilia and the two joints; axial SpA means periarticular BME
of the ASAS kind (two lesions, or one on two consecutive slices), with or without erosions; a
share of the negatives carry one small lesion on one slice (not enough for the definition).
Hand (coronal, fat-suppressed): metacarpals 2-5, proximal phalanges, carpus, radius and ulna,
palmar flexor tendons; synovitis, tenosynovitis and osteitis of RAMRIS-style grade 0-3 at the
MCP 2-5 joints and the wrist.

These figures say nothing about real patients: the phantoms are drawn to be learnable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imaging.mri.contract import BERLIN_UNITS
from imaging.mri.scoring import resize

SUB = 3  # sub-slices per slice (partial volume across the slice thickness)

SPINE_GRID = (16, 256, 96)  # slices (left-right), rows (cranio-caudal), columns (antero-posterior)
SIJ_GRID = (16, 96, 128)
HAND_GRID = (16, 128, 96)

N_UNITS = len(BERLIN_UNITS)  # 23
HAND_REGIONS = ("MCP2", "MCP3", "MCP4", "MCP5", "wrist")
HAND_FEATURES = ("synovitis", "tenosynovitis", "osteitis")
GRADES = 4

# Seed ranges per split never overlap, so held-out phantoms are never trained on.
SPLITS = {"train": 0, "calibration": 1_000_000, "test": 3_000_000, "examples": 5_000_000}
ANATOMY_SEED = {"spine": 0, "sij": 100_000, "hand": 200_000}


@dataclass
class Phantom:
    voxels: np.ndarray  # (slices, rows, cols) float32
    plane: str
    spacing_mm: tuple[float, float, float]
    lesion: np.ndarray  # (slices, rows, cols) float32 0-1: where the lesions are (saliency target)
    centres: np.ndarray  # (K, 3) slice, row, col of each region's centre (voxel coordinates)
    grades: np.ndarray  # spine (23,), hand (5, 3), sij (1,) = axSpA yes/no
    extra: dict = field(default_factory=dict)


def rng_for(anatomy: str, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(SPLITS[split] + ANATOMY_SEED[anatomy] + index)


# --------------------------------------------------------------------------- common artefacts


def _smooth_noise(rng, shape, scale: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid, linearly upsampled."""
    coarse = rng.uniform(-1, 1, [max(2, s // scale + 2) for s in shape])
    return resize(coarse, shape)


def _bias_field(rng, shape, strength: float) -> np.ndarray:
    s, h, w = (np.linspace(-1, 1, n)[:, None, None] for n in shape)
    h = h.reshape(1, -1, 1)
    w = w.reshape(1, 1, -1)
    c = rng.normal(0, 1, 6)
    poly = c[0] * h + c[1] * w + c[2] * s + c[3] * h * w + c[4] * h**2 + c[5] * w**2
    poly = poly / (np.abs(poly).max() + 1e-6)
    return np.exp(strength * poly).astype(np.float32)


def finish(rng, sub_volume: np.ndarray) -> np.ndarray:
    """Sub-slices -> slices (partial volume), bias field, Rician noise, intensity scale."""
    s = sub_volume.shape[0] // SUB
    vol = sub_volume.reshape(s, SUB, *sub_volume.shape[1:]).mean(axis=1)
    vol = vol * _bias_field(rng, vol.shape, rng.uniform(0.05, 0.3))
    sigma = rng.uniform(0.008, 0.035)
    vol = np.hypot(vol + rng.normal(0, sigma, vol.shape), rng.normal(0, sigma, vol.shape))
    return (vol * rng.uniform(200, 1500)).astype(np.float32)


def sub_slice_positions(n_slices: int) -> np.ndarray:
    """The slice-axis coordinate (in slices) of every sub-slice, slice centres at 0..n-1."""
    offs = (np.arange(SUB) + 0.5) / SUB - 0.5
    return (np.arange(n_slices)[:, None] + offs[None, :]).reshape(-1)


def _rotated_grid(h: int, w: int, theta: float, centre: tuple[float, float]):
    """Row and column coordinates of every pixel after rotating by theta about centre."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = centre
    c, s = np.cos(theta), np.sin(theta)
    y = c * (yy - cy) - s * (xx - cx) + cy
    x = s * (yy - cy) + c * (xx - cx) + cx
    return y, x


def _unrotate(points: np.ndarray, theta: float, centre: tuple[float, float]) -> np.ndarray:
    """Inverse of _rotated_grid for (row, col) points: where a model-space point is drawn."""
    cy, cx = centre
    c, s = np.cos(theta), np.sin(theta)
    y, x = points[:, 0] - cy, points[:, 1] - cx
    return np.stack([c * y + s * x + cy, -s * y + c * x + cx], axis=1)


# --------------------------------------------------------------------------- spine

_BODY_REL = np.array([1.3] + [0.75] * 5 + list(np.linspace(0.8, 1.05, 12)) + [1.15] * 5 + [1.2])
_DEPTH_REL = np.array([0.8] + [0.75] * 5 + list(np.linspace(0.85, 1.1, 12)) + [1.3] * 5 + [1.3])
_WIDTH_REL = np.array([0.6] + [0.6] * 5 + list(np.linspace(0.7, 0.9, 12)) + [1.0] * 5 + [1.0])
BME_EXTENT = {1: (0.06, 0.21), 2: (0.29, 0.46), 3: (0.54, 0.9)}


def spine_grades(rng) -> np.ndarray:
    if rng.random() < 0.3:
        return np.zeros(N_UNITS, int)
    return rng.choice(GRADES, size=N_UNITS, p=[0.55, 0.15, 0.15, 0.15])


def spine(split: str, index: int, grid=SPINE_GRID) -> Phantom:
    rng = rng_for("spine", split, index)
    s_n, h, w = grid
    grades = spine_grades(rng)
    theta = np.deg2rad(rng.uniform(-4, 4))
    y, x = _rotated_grid(h, w, theta, (h / 2, w / 2))
    top, bottom = rng.uniform(0.03, 0.07) * h, rng.uniform(0.93, 0.97) * h
    disc_rel = 0.3 * _BODY_REL[1:]
    total = _BODY_REL.sum() + disc_rel.sum()
    scale = (bottom - top) / total
    body_h = _BODY_REL * scale
    disc_h = disc_rel * scale
    # Body i spans [b0[i], b1[i]] along the spine; disc i (unit i) lies between body i and i + 1.
    starts = top + np.concatenate([[0], np.cumsum(body_h[:-1] + disc_h)])
    b0, b1 = starts, starts + body_h
    d_mid = (b1[:-1] + b0[1:]) / 2
    # Centre line: cervical lordosis, thoracic kyphosis, lumbar lordosis (columns: anterior left).
    x0 = rng.uniform(0.38, 0.5) * w
    amp = rng.uniform(0.04, 0.08) * w
    phase = rng.uniform(-0.3, 0.3)

    def centre_x(yy):
        t = (yy - top) / (bottom - top)
        return x0 + amp * np.sin(2 * np.pi * (t * 1.2 + phase))

    depth = rng.uniform(0.085, 0.1) * w * _DEPTH_REL  # half AP depth per body, px
    half_lr = rng.uniform(2.6, 3.2) * _WIDTH_REL * (s_n / 16)  # half left-right width, slices
    z_mid = (s_n - 1) / 2 + rng.uniform(-0.8, 0.8)
    v = x - centre_x(y)  # perpendicular-ish coordinate, + = posterior
    idx = np.clip(np.searchsorted(b0, y) - 1, 0, len(b0) - 1)  # body at or above this row
    in_body_rows = (y >= b0[idx]) & (y <= b1[idx])
    nxt = np.minimum(idx + 1, len(b0) - 1)
    in_disc_rows = (~in_body_rows) & (y > b1[idx]) & (y < b0[nxt]) & (idx < len(b0) - 1)
    u_body = (y - (b0[idx] + b1[idx]) / 2) / (body_h[idx] / 2)  # -1 top .. 1 bottom
    dep = depth[idx]
    zs = sub_slice_positions(s_n)[:, None, None]
    lr = np.sqrt(np.clip(1 - ((zs - z_mid) / half_lr[idx][None]) ** 2, 0, 1))  # (sub, h, w)
    corner = np.clip(1 - np.abs(u_body) ** 6, 0, 1)  # rounded corners
    body = in_body_rows[None] & (np.abs(v)[None] <= dep[None] * lr * (0.85 + 0.15 * corner))
    disc_dep = (depth[idx] + depth[nxt]) / 2
    disc = in_disc_rows[None] & (np.abs(v)[None] <= disc_dep[None] * lr)
    canal = (v > dep + 1.5) & (v < dep + 7) & (y > top - 5) & (y < bottom)
    cord = canal & (np.abs(v - dep - 4.2) < 1.3)
    in_canal = np.abs(zs - z_mid) < 2.8 * s_n / 16
    posterior = (v >= dep + 7) & (v < dep + 16) & (y > top) & (y < bottom)

    tissue = 0.14 + 0.03 * _smooth_noise(rng, (h, w), 12)
    vol = np.broadcast_to(np.where(np.abs(v) < 0.45 * w, tissue, 0.03), body.shape).copy()
    vol[np.broadcast_to(posterior, body.shape)] = 0.11
    vol[in_canal & canal[None]] = 0.82
    vol[in_canal & cord[None]] = 0.36
    marrow = 0.17 + 0.03 * _smooth_noise(rng, (h, w), 6)
    vol = np.where(body, marrow[None], vol)
    nucleus = np.abs(v) < disc_dep * 0.55
    vol = np.where(disc, np.where(nucleus, 0.62, 0.42)[None], vol)

    # BME: in unit k (lower half of body k, upper half of body k+1), the bone nearest the disc,
    # out to the drawn extent (share of the unit's bone), with a lumpy margin.
    lesion = np.zeros(body.shape, bool)
    lump = 0.1 * _smooth_noise(rng, (h, w), 5)
    dist = np.where(u_body > 0, 1 - u_body, 1 + u_body)  # 0 at the endplate, 1 mid-body
    unit = np.where(u_body > 0, idx, idx - 1)  # the unit each half-body belongs to
    extents = np.zeros(N_UNITS)
    for k in np.nonzero(grades)[0]:
        lo, hi = BME_EXTENT[int(grades[k])]
        extents[k] = rng.uniform(lo, hi)
    ext = np.where((unit >= 0) & (unit < N_UNITS), extents[np.clip(unit, 0, N_UNITS - 1)], 0)
    lesion = body & ((dist + lump) < ext * 1.0)[None] & (ext > 0)[None]
    bme_level = rng.uniform(0.55, 0.8)
    vol = np.where(lesion, bme_level + 0.05 * _smooth_noise(rng, (h, w), 4)[None], vol)

    voxels = finish(rng, vol.astype(np.float32))
    les = lesion.reshape(s_n, SUB, h, w).mean(axis=1).astype(np.float32)
    centres_model = np.stack([d_mid, centre_x(d_mid)], axis=1)
    centres_img = _unrotate(centres_model, theta, (h / 2, w / 2))
    centres = np.column_stack([np.full(N_UNITS, z_mid), centres_img])
    thick = rng.uniform(3.0, 4.0)
    return Phantom(voxels, "sagittal", (thick, 1.875, 1.875), les, centres, grades)


# --------------------------------------------------------------------------- SIJ


def _ellipsoids(rng, shape_sub, centres_3d, radii) -> np.ndarray:
    """Union of ellipsoids on the sub-slice grid: centres (slice, row, col), radii likewise."""
    s, h, w = shape_sub
    zs = sub_slice_positions(s // SUB)[:, None, None]
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros(shape_sub, bool)
    for (cz, cy, cx), (rz, ry, rx) in zip(centres_3d, radii, strict=True):
        in_plane = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        out |= ((zs - cz) / rz) ** 2 + in_plane[None] <= 1
    return out


def sij(split: str, index: int, plane: str | None = None, grid=SIJ_GRID) -> Phantom:
    rng = rng_for("sij", split, index)
    s_n, h, w = grid
    plane = plane or ("coronal" if rng.random() < 0.5 else "axial")
    positive = rng.random() < 0.5
    theta = np.deg2rad(rng.uniform(-5, 5))
    y, x = _rotated_grid(h, w, theta, (h / 2, w / 2))
    cx = w / 2 + rng.uniform(-4, 4)
    zs = sub_slice_positions(s_n)[:, None, None]
    z_mid = (s_n - 1) / 2 + rng.uniform(-1, 1)
    if plane == "coronal":
        # Joints run from upper-lateral to lower-medial: half-gap shrinks down the image.
        y0, y1 = rng.uniform(0.12, 0.2) * h, rng.uniform(0.78, 0.88) * h
        t = np.clip((y - y0) / (y1 - y0), 0, 1)
        half = (rng.uniform(0.2, 0.25) - rng.uniform(0.08, 0.12) * t) * w
        half = half + rng.uniform(-0.02, 0.02) * w * np.sin(np.pi * t * 2)
        rows = (y >= y0) & (y <= y1)
        outer = 0.46 * w
    else:
        # Axial: the joints converge posteriorly (down the image); the sacrum is a wedge.
        y0, y1 = rng.uniform(0.25, 0.35) * h, rng.uniform(0.75, 0.85) * h
        t = np.clip((y - y0) / (y1 - y0), 0, 1)
        half = (rng.uniform(0.2, 0.24) - rng.uniform(0.06, 0.1) * t**1.5) * w
        rows = (y >= y0) & (y <= y1)
        outer = 0.42 * w
    d = np.abs(x - cx) - half  # signed distance (px) from the joint line, + = iliac side
    depth_z = rng.uniform(4.5, 6) * s_n / 16
    in_z = np.abs(zs - z_mid) < depth_z
    sacrum = rows & (d < -1.2)
    ilium = rows & (d > 1.2) & (np.abs(x - cx) < outer)
    cleft = rows & (np.abs(d) <= 1.2)
    tissue = 0.15 + 0.03 * _smooth_noise(rng, (h, w), 10)
    body_outline = (np.abs(x - cx) < 0.49 * w) & (y > 0.05 * h) & (y < 0.97 * h)
    vol = np.where(body_outline, tissue, 0.03)[None].repeat(s_n * SUB, 0)
    marrow = 0.2 + 0.03 * _smooth_noise(rng, (h, w), 6)
    vol = np.where(in_z & (sacrum | ilium)[None], marrow[None], vol)
    vol = np.where(in_z & cleft[None], 0.38, vol)
    cortex = rows & (np.abs(np.abs(d) - 1.9) < 0.7)
    vol = np.where(in_z & cortex[None], 0.06, vol)
    if plane == "axial":  # sacral foramina: small bright dots in the sacrum
        for sign in (-1, 1):
            fy, fx = (y0 + y1) / 2, cx + sign * 0.09 * w
            dot = (y - fy) ** 2 + (x - fx) ** 2 < 4
            vol = np.where(in_z & dot[None], 0.7, vol)

    lesions, erosions = _sij_lesions(rng, positive, plane, y0, y1, cx, half, z_mid, depth_z, h)
    sub_shape = (s_n * SUB, h, w)
    lesion = np.zeros(sub_shape, bool)
    if lesions:
        c, r = zip(*lesions, strict=True)
        lesion = _ellipsoids(rng, sub_shape, c, r) & in_z & (sacrum | ilium | cortex)[None]
        vol = np.where(lesion, rng.uniform(0.6, 0.8), vol)
    if erosions:
        c, r = zip(*erosions, strict=True)
        ero = _ellipsoids(rng, sub_shape, c, r) & in_z & rows[None]
        vol = np.where(ero, 0.55, vol)
        lesion |= ero
    voxels = finish(rng, vol.astype(np.float32))
    les = lesion.reshape(s_n, SUB, h, w).mean(axis=1).astype(np.float32)
    centres = np.array([[z_mid, h / 2, cx]])
    return Phantom(
        voxels,
        plane,
        (rng.uniform(3.0, 4.0), 1.6, 1.6),
        les,
        centres,
        np.array([int(positive)]),
        {"lesions": len(lesions), "erosions": len(erosions)},
    )


def _sij_lesions(rng, positive, plane, y0, y1, cx, half, z_mid, depth_z, h):
    """ASAS-positive: two or more periarticular lesions, each seen on two or more slices; a
    negative may carry one small lesion on a single slice."""

    def spot(big: bool):
        yy = rng.uniform(y0 + 4, y1 - 4)
        side = rng.choice([-1, 1])  # left or right joint
        bone = rng.choice([-1, 1])  # sacral (-) or iliac (+) side of the joint
        rz = rng.uniform(1.2, 2.0) if big else rng.uniform(0.3, 0.45)
        ry = rng.uniform(3.5, 6) if big else rng.uniform(1.8, 2.6)
        rx = rng.uniform(3, 5) if big else rng.uniform(1.6, 2.2)
        zc = z_mid + rng.uniform(-2, 2) if big else np.round(z_mid + rng.uniform(-2, 2))
        return side, bone, yy, (zc, rz, ry, rx)

    lesions = []
    erosions = []
    spots = []
    if positive:
        spots = [spot(True) for _ in range(rng.integers(2, 5))]
    elif rng.random() < 0.3:
        spots = [spot(False)]
    for side, bone, yy, (zc, rz, ry, rx) in spots:
        row = int(np.clip(round(yy), 0, h - 1))
        joint_x = cx + side * _half_at(half, row)
        lesions.append(((zc, yy, joint_x + side * bone * (rx + 1.0)), (rz, ry, rx)))
    if positive and rng.random() < 0.5:
        for _ in range(rng.integers(1, 4)):
            side = rng.choice([-1, 1])
            yy = rng.uniform(y0 + 4, y1 - 4)
            joint_x = cx + side * _half_at(half, int(round(yy)))
            erosions.append(((z_mid + rng.uniform(-1.5, 1.5), yy, joint_x), (1.2, 2.2, 2.0)))
    return lesions, erosions


def _half_at(half, row: int) -> float:
    """The joint's half-gap at an image row (half is a per-pixel map; take the row's median)."""
    return float(np.median(half[row]))


# --------------------------------------------------------------------------- hand

SYNOVITIS_PX = {1: (0.8, 1.6), 2: (2.6, 3.4), 3: (4.4, 5.6)}  # beyond the capsule, px
TENO_PX = {1: (1.0, 1.5), 2: (2.5, 3.2), 3: (4.2, 5.0)}  # sheath beyond the tendon, px
OSTEITIS_EXTENT = {1: (0.08, 0.3), 2: (0.38, 0.62), 3: (0.7, 0.95)}


def hand_arthritis(grades: np.ndarray) -> bool:
    """The demonstration rule for 'arthritis' from the region grades (synovitis, tenosynovitis,
    osteitis): synovitis >= 2 anywhere, tenosynovitis >= 2 anywhere, or synovitis and osteitis
    both present (>= 1)."""
    syn, teno, ost = grades[:, 0], grades[:, 1], grades[:, 2]
    return bool(syn.max() >= 2 or teno.max() >= 2 or (syn.max() >= 1 and ost.max() >= 1))


def hand_grades(rng) -> np.ndarray:
    g = np.zeros((len(HAND_REGIONS), len(HAND_FEATURES)), int)
    if rng.random() < 0.45:  # mostly quiet hand: the odd grade-1 finding
        for _ in range(rng.integers(0, 3)):
            g[rng.integers(0, 5), rng.integers(0, 3)] = 1
        return g
    for r in range(len(HAND_REGIONS)):
        if rng.random() < 0.6:
            g[r] = rng.choice(GRADES, size=3, p=[0.35, 0.25, 0.2, 0.2])
    return g


def hand(split: str, index: int, grid=HAND_GRID) -> Phantom:
    rng = rng_for("hand", split, index)
    s_n, h, w = grid
    grades = hand_grades(rng)
    theta = np.deg2rad(rng.uniform(-5, 5))
    y, x = _rotated_grid(h, w, theta, (h / 2, w / 2))
    zs = sub_slice_positions(s_n)[:, None, None]
    z_bone = (s_n - 1) / 2 + rng.uniform(-0.8, 0.8)
    z_tendon = z_bone - rng.uniform(3.2, 3.8) * s_n / 16  # palmar
    sc = rng.uniform(0.92, 1.05)
    mcp_y = (0.36 + rng.uniform(-0.03, 0.03)) * h
    wrist_y = mcp_y + 0.34 * h * sc
    ray_x = w / 2 + (np.array([-1.5, -0.5, 0.5, 1.5]) * 0.17 * w * sc) + rng.uniform(-3, 3)
    rod_r = 0.034 * w * sc

    sub = (s_n * SUB, h, w)
    soft = np.zeros((h, w), bool)
    bone2d = np.zeros((h, w), bool)
    region_of = np.full((h, w), -1)  # which region a bone pixel belongs to (osteitis)
    dist_joint = np.full((h, w), np.inf)
    for r, rx in enumerate(ray_x):
        top = (0.04 + 0.03 * abs(r - 1.5)) * h
        finger = (np.abs(x - rx) < rod_r * 2.2) & (y > top) & (y < wrist_y)
        soft |= finger
        meta = (np.abs(x - rx) < rod_r) & (y > mcp_y + 2) & (y < wrist_y - 3)
        phal = (np.abs(x - rx) < rod_r * 0.85) & (y > top + 4) & (y < mcp_y - 2)
        bone2d |= meta | phal
        near = (meta | phal) & (np.abs(y - mcp_y) < 0.12 * h)
        region_of[near] = r
        dist_joint = np.where(near, np.abs(y - mcp_y) / (0.12 * h), dist_joint)
    carpus = ((y - (wrist_y + 0.06 * h)) / (0.07 * h)) ** 2 + ((x - w / 2) / (0.3 * w)) ** 2 < 1
    forearm = (y > wrist_y + 0.12 * h) & (np.abs(np.abs(x - w / 2) - 0.15 * w) < 0.09 * w)
    soft |= (np.abs(x - w / 2) < 0.42 * w) & (y > mcp_y - 0.02 * h)
    bone2d |= carpus | forearm
    region_of[carpus] = 4
    cdist = np.sqrt(((y - (wrist_y + 0.06 * h)) / (0.07 * h)) ** 2 + ((x - w / 2) / (0.3 * w)) ** 2)
    dist_joint = np.where(carpus, cdist, dist_joint)

    in_bone_z = np.abs(zs - z_bone) < 2.6 * s_n / 16
    vol = np.where(soft, 0.2 + 0.03 * _smooth_noise(rng, (h, w), 8), 0.02)[None].repeat(sub[0], 0)
    marrow = 0.16 + 0.03 * _smooth_noise(rng, (h, w), 6)
    vol = np.where(in_bone_z & bone2d[None], marrow[None], vol)
    lesion = np.zeros(sub, bool)
    centres = []
    for r in range(5):
        if r < 4:
            cy, cxr = mcp_y, ray_x[r]
        else:
            cy, cxr = wrist_y + 0.02 * h, w / 2
        centres.append((z_bone, cy, cxr))
        g_syn, g_teno, g_ost = grades[r]
        jd = np.sqrt(((y - cy) / (0.05 * h if r < 4 else 0.09 * h)) ** 2 + ((x - cxr) / (
            rod_r * 1.6 if r < 4 else 0.3 * w)) ** 2)  # fmt: skip
        if g_syn:
            t = rng.uniform(*SYNOVITIS_PX[g_syn])
            scale = rod_r * 1.6 if r < 4 else 0.09 * h  # px per unit of jd, roughly
            ring = (jd > 0.85) & ((jd - 1.0) * scale < t) & ~bone2d
            lesion |= (np.abs(zs - z_bone) < 1.8 * s_n / 16) & ring[None]
        if g_teno:
            t = rng.uniform(*TENO_PX[g_teno])
            if r < 4:
                rows = (y > cy - 0.12 * h) & (y < cy + 0.12 * h)
                dx = np.abs(x - cxr)
            else:
                rows = (y > cy - 0.08 * h) & (y < cy + 0.08 * h)
                dx = np.minimum(np.abs(x - w / 2 + 0.12 * w), np.abs(x - w / 2 - 0.12 * w))
            sheath = rows[None] & ((dx[None] ** 2 + ((zs - z_tendon) * 3) ** 2) < (1.5 + t) ** 2)
            lesion |= sheath
        if g_ost:
            lo, hi = OSTEITIS_EXTENT[g_ost]
            ext = rng.uniform(lo, hi)
            ost = (region_of == r) & (dist_joint < ext)
            lesion |= in_bone_z & ost[None]
    lesion_level = rng.uniform(0.6, 0.8)
    vol = np.where(lesion, lesion_level, vol)
    # Tendons (dark) over their sheath; drawn after so the tendon itself stays dark.
    for rx in ray_x:
        tendon = (np.abs(x - rx) < 1.5) & (y > 0.08 * h) & (y < wrist_y + 0.1 * h)
        vol = np.where((np.abs(zs - z_tendon) < 0.5) & tendon[None], 0.04, vol)
    voxels = finish(rng, vol.astype(np.float32))
    les = lesion.reshape(s_n, SUB, h, w).mean(axis=1).astype(np.float32)
    c = np.array(centres, float)
    c[:, 1:] = _unrotate(c[:, 1:], theta, (h / 2, w / 2))
    return Phantom(voxels, "coronal", (rng.uniform(2.5, 3.5), 0.6, 0.6), les, c, grades)


# --------------------------------------------------------------------------- negatives


def noise_volume(split: str, index: int, grid) -> Phantom:
    """A volume with no anatomy of the bundle's kind: smooth blobs and noise (what a wrong series
    looks like to the localiser)."""
    rng = np.random.default_rng(SPLITS[split] + 900_000 + index)
    s_n = grid[0]
    base = 0.3 + 0.25 * _smooth_noise(rng, (s_n * SUB, *grid[1:]), rng.integers(4, 20))
    return Phantom(
        finish(rng, base.astype(np.float32)),
        "sagittal",
        (3.0, 1.0, 1.0),
        np.zeros(grid, np.float32),
        np.zeros((0, 3)),
        np.zeros(0, int),
    )


def generator(anatomy: str):
    return {"spine": spine, "sij": sij, "hand": hand}[anatomy]


def grid_for(anatomy: str):
    return {"spine": SPINE_GRID, "sij": SIJ_GRID, "hand": HAND_GRID}[anatomy]


def negatives(anatomy: str, split: str, n: int) -> list[np.ndarray]:
    """Volumes without this anatomy, at its grid: noise and blobs, and the other phantoms."""
    grid = grid_for(anatomy)
    others = [a for a in ("spine", "sij", "hand") if a != anatomy]
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(noise_volume(split, i, grid).voxels)
        else:
            other = others[(i // 2) % 2]
            out.append(resize(generator(other)(split, 50_000 + i).voxels, grid))
    return out
