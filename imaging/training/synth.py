"""A synthetic hand-radiograph generator with known joint positions, SvdH grades and RA label.

No labelled hand radiographs can be downloaded here, so the reference bundles are trained on
images drawn by this module (numpy only, so tests can use it without torch). What it draws:

- bones as filled shapes with a bright cortical rim (metacarpals, phalanges, radius, ulna,
  carpals), a soft-tissue silhouette, a dark background;
- joint spaces whose width encodes joint-space narrowing (JSN 0-4: the gap shrinks from
  7 px to under 1 px at the canonical 512 px scale);
- erosions as cortical defects ("bites") at the bone margins or just under the joint surface
  beside the joint; the erosion grade 0-5 is the number of defects (a simplification of the
  SvdH surface-area rule, stated in the model cards);
- variation: left or right hand (mirror), rotation, scale, translation, finger flexion,
  exposure (gain, offset, gamma), quantum-like noise, trabecular texture and blur.

Everything is deterministic given the seed. Coordinates are (x, y) pixels in a 512 x 512 image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imaging.joints import JOINTS, N_JOINTS, ra_pattern_label

SIZE = 512
# Joint-space width (canonical px, before scaling) for JSN grades 0..4.
GAP_BY_JSN = (7.0, 5.5, 4.0, 2.5, 0.8)
WRIST_GAP_FACTOR = 1.3
# Borderline grades and reader disagreement. A drawn joint has a continuous narrowing
# `jsn_latent` (the joint-space width is interpolated between the grade widths), so a joint
# near a grade boundary looks like either grade; each erosion has a visibility (its size
# relative to a clear one), so a faint defect may or may not be counted. Two simulated readers
# grade every joint: each rounds the latent narrowing after adding their own perception noise,
# and counts a defect when its visibility plus noise passes a detection level. The noise levels
# are set so that the two readers agree exactly on JSN about 80% of the time (as real SvdH
# readers do); `python -m imaging.training.synth` prints the achieved agreement.
READER_JSN_SD = 0.23
READER_EROSION_SD = 0.12
EROSION_DETECTION = 0.5
VISIBILITY_RANGE = (0.3, 1.0)
N_READERS = 2
# Candidate erosion sites per joint: (bone: -1 proximal / +1 distal, side: -1, 0 (central), +1).
EROSION_SITES = ((-1, -1), (-1, 1), (1, -1), (1, 1), (-1, 0), (1, 0))


@dataclass
class Bone:
    start: np.ndarray  # base point on the axis (x, y)
    u: np.ndarray  # unit vector along the axis, base -> head
    length: float
    hw: float  # half width
    c_base: float = 0.0  # base curvature: >0 concave (margins reach back), <0 convex
    c_head: float = 0.0  # head curvature: >0 convex (margins recede), <0 concave
    waist: float = 0.2  # shaft narrowing fraction
    density: float = 1.0
    bites: list[tuple[float, float, float]] = field(default_factory=list)  # (s, t, radius)


@dataclass
class HandSample:
    image: np.ndarray  # float32 (512, 512) in [0, 1]
    joints: np.ndarray  # (11, 2) joint centres, x/y pixels
    jsn: np.ndarray  # (11,) int: the grade drawn (the nearest grade to the latent narrowing)
    erosion: np.ndarray  # (11,) int: the number of defects drawn, faint ones included
    ra_pattern: bool  # the rule applied to the first reader's grades
    side: str  # "right" | "left"
    is_hand: bool = True
    erosion_points: list[list[tuple[float, float]]] = field(default_factory=list)
    scale: float = 1.0
    # (2, 11) each: the two simulated readers' grades (the labels training and evaluation use).
    reader_jsn: np.ndarray | None = None
    reader_erosion: np.ndarray | None = None

    def readers_jsn(self) -> np.ndarray:
        return self.reader_jsn if self.reader_jsn is not None else np.stack([self.jsn] * 2)

    def readers_erosion(self) -> np.ndarray:
        if self.reader_erosion is not None:
            return self.reader_erosion
        return np.stack([self.erosion] * 2)

    def reader_ra(self) -> np.ndarray:
        """The RA rule on each reader's grades: (2,) bool."""
        rj, re = self.readers_jsn(), self.readers_erosion()
        return np.array([ra_pattern_label(list(rj[k]), list(re[k])) for k in range(len(rj))], bool)


# --------------------------------------------------------------------------------------------
# Drawing primitives


def _unit(angle_deg: float) -> np.ndarray:
    """Direction `angle_deg` from straight up, positive towards +x (the thumb of a right hand)."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), -math.cos(a)])


def _draw_bone(bone_map: np.ndarray, soft_map: np.ndarray, b: Bone) -> None:
    end = b.start + b.u * b.length
    pad = b.hw * 2.2 + abs(b.c_base) + abs(b.c_head) + 3
    x0 = int(max(0, math.floor(min(b.start[0], end[0]) - pad)))
    x1 = int(min(SIZE, math.ceil(max(b.start[0], end[0]) + pad)))
    y0 = int(max(0, math.floor(min(b.start[1], end[1]) - pad)))
    y1 = int(min(SIZE, math.ceil(max(b.start[1], end[1]) + pad)))
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = xs - b.start[0], ys - b.start[1]
    s = dx * b.u[0] + dy * b.u[1]
    t = -dx * b.u[1] + dy * b.u[0]
    tn2 = np.minimum((t / b.hw) ** 2, 1.5)
    s0 = -b.c_base * tn2
    s1 = b.length - b.c_head * tn2
    frac = np.clip(s / b.length, 0, 1)
    half = b.hw * (1 - b.waist * np.sin(np.pi * frac))
    d = np.minimum(np.minimum(s - s0, s1 - s), half - np.abs(t))
    alpha = np.clip(d + 0.5, 0, 1)
    cortex = np.exp(-((np.maximum(d, 0) / (0.3 * b.hw)) ** 2))
    val = alpha * b.density * (0.55 + 0.45 * cortex)
    for bs, bt, br in b.bites:
        dist = np.sqrt((s - bs) ** 2 + (t - bt) ** 2)
        val *= np.clip(dist - br + 0.5, 0, 1)
    region = bone_map[y0:y1, x0:x1]
    np.maximum(region, val, out=region)
    # Soft tissue: a wider, softer silhouette around each bone.
    ds = np.minimum(np.minimum(s + b.hw, b.length + b.hw - s), 1.9 * b.hw - np.abs(t))
    soft = np.clip(ds / 3 + 0.5, 0, 1)
    region = soft_map[y0:y1, x0:x1]
    np.maximum(region, soft, out=region)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with edge padding (numpy only)."""
    if sigma <= 0.05:
        return img
    radius = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(img, ((0, 0), (radius, radius)), mode="edge")
    out = sum(k[i] * padded[:, i : i + img.shape[1]] for i in range(len(k)))
    padded = np.pad(out, ((radius, radius), (0, 0)), mode="edge")
    return sum(k[i] * padded[i : i + img.shape[0], :] for i in range(len(k)))


def _smooth_noise(rng: np.random.Generator, sigma: float) -> np.ndarray:
    small = rng.standard_normal((SIZE // 8, SIZE // 8)).astype(np.float32)
    big = np.kron(small, np.ones((8, 8), np.float32))
    return _blur(big, sigma)


# --------------------------------------------------------------------------------------------
# Labels


def sample_grades(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint JSN and erosion grades from a mixture of healthy, OA-like and RA-like hands,
    so that every grade occurs and the RA rule has both answers often."""
    jsn = np.zeros(N_JOINTS, int)
    ero = np.zeros(N_JOINTS, int)
    kind = rng.choice(["healthy", "oa", "ra"], p=[0.3, 0.2, 0.5])
    for i, name in enumerate(JOINTS):
        if kind == "healthy":
            jsn[i] = rng.choice([0, 1], p=[0.8, 0.2])
        elif kind == "oa":
            if name.startswith(("PIP", "IP")) or name == "MCP1":
                jsn[i] = rng.choice(5, p=[0.2, 0.25, 0.25, 0.2, 0.1])
            else:
                jsn[i] = rng.choice([0, 1], p=[0.7, 0.3])
        else:
            severity = rng.uniform(0.15, 1.0)
            if rng.random() < 0.25 + 0.65 * severity:
                jsn[i] = min(4, int(rng.integers(0, 3) + round(2 * severity * rng.random())))
                ero[i] = min(5, int(rng.integers(0, 3) + round(3 * severity * rng.random())))
            else:
                jsn[i] = rng.choice([0, 1], p=[0.7, 0.3])
    return jsn, ero


# --------------------------------------------------------------------------------------------
# Hand layout (canonical right hand, thumb towards +x, fingers up)

# ray: (MCP x, MCP y, angle, metacarpal length, phalanx lengths, half widths)
_FINGERS = {
    2: (290.0, 238.0, 8.0, 110.0, (62.0, 38.0, 26.0), (9.0, 8.0, 7.0, 6.0)),
    3: (258.0, 228.0, 0.0, 105.0, (68.0, 44.0, 28.0), (9.5, 8.5, 7.0, 6.0)),
    4: (227.0, 237.0, -8.0, 96.0, (64.0, 40.0, 26.0), (9.0, 8.0, 6.5, 5.5)),
    5: (198.0, 254.0, -17.0, 88.0, (52.0, 30.0, 22.0), (8.0, 7.0, 6.0, 5.0)),
}
_THUMB = (366.0, 296.0, 38.0, 62.0, (45.0, 30.0), (10.0, 9.0, 7.5))
_WRIST = np.array([258.0, 402.0])


def _layout(rng, jsn_latent, ero, hand_scale, visibility):
    """Bones and joint centres of a canonical right hand with the given (latent) narrowing and
    erosions; `visibility[i][k]` scales the k-th defect of joint i."""
    bones: list[Bone] = []
    joints: dict[str, np.ndarray] = {}
    erosion_pts: dict[str, list[tuple[Bone, float, float]]] = {}
    idx = {n: i for i, n in enumerate(JOINTS)}

    def gap(name):
        g = float(np.interp(jsn_latent[idx[name]], range(len(GAP_BY_JSN)), GAP_BY_JSN))
        return max(0.5, g) * (WRIST_GAP_FACTOR if name == "WRIST" else 1.0)

    def plant(name, prox: Bone, dist: Bone):
        grade = int(ero[idx[name]])
        if grade == 0:
            return
        sites = rng.permutation(len(EROSION_SITES))[:grade]
        for n, k in enumerate(sites):
            which, side = EROSION_SITES[k]
            bone = prox if which < 0 else dist
            hw = min(bone.hw, 10.0)
            r = (0.42 if side else 0.34) * hw * visibility[idx[name]][n]
            depth = (0.55 if side else 0.75) * hw
            # s measured from the bone's own base; the joint end is the head (prox) or base.
            s = bone.length - depth if which < 0 else depth
            t = side * (bone.hw * 0.95 if side else 0.0)
            bone.bites.append((s, t, r))
            erosion_pts.setdefault(name, []).append((bone, s, t))

    def chain(joint_names, start, angles, lengths, widths, base_c=0.0):
        """A ray of bones: lengths[i] is the distance between consecutive joint centres."""
        point = np.array(start, float)
        gaps = [gap(n) if n else 6.0 for n in joint_names]
        seq = []
        prev_gap = 0.0
        for i, length in enumerate(lengths):
            u = _unit(angles[i])
            g_next = gaps[i] if i < len(gaps) else 0.0
            base = point + u * prev_gap / 2
            blen = length - prev_gap / 2 - (g_next / 2 if i < len(gaps) else 0)
            bone = Bone(
                start=base,
                u=u,
                length=blen,
                hw=widths[i],
                c_base=(base_c if i == 0 else 2.2),
                c_head=(2.2 if i < len(gaps) else 1.5),
            )
            seq.append(bone)
            point = point + u * length
            if i < len(joint_names) and joint_names[i]:
                joints[joint_names[i]] = point.copy()
            prev_gap = g_next
        for i, name in enumerate(joint_names):
            if name:
                plant(name, seq[i], seq[i + 1])
        return seq

    flex = lambda: rng.uniform(-5, 5)  # noqa: E731 - tiny local helper
    for f, (mx, my, ang, mcl, phal, widths) in _FINGERS.items():
        u = _unit(ang)
        base = np.array([mx, my]) - u * mcl
        a1 = ang + flex()
        a2 = a1 + flex()
        bones += chain(
            [f"MCP{f}", f"PIP{f}", None],
            base,
            [ang, a1, a2, a2 + flex()],
            [mcl, *phal],
            widths,
            base_c=-1.0,
        )
    mx, my, ang, mcl, phal, widths = _THUMB
    u = _unit(ang)
    base = np.array([mx, my]) - u * mcl
    a1 = ang + flex()
    bones += chain(["MCP1", "IP1"], base, [ang, a1, a1 + flex()], [mcl, *phal], widths, -1.0)

    # Wrist: radius (concave distal surface) against the proximal carpal row (convex).
    g = gap("WRIST")
    up = _unit(0.0)
    radius = Bone(
        start=np.array([_WRIST[0] + 4, 600.0]),
        u=up,
        length=600.0 - (_WRIST[1] + g / 2),
        hw=16.0,
        c_head=-4.0,
        waist=0.0,
    )
    carpal_row = Bone(
        start=_WRIST + np.array([0.0, -g / 2]),
        u=up,
        length=26.0,
        hw=17.0,
        c_base=-4.0,
        c_head=6.0,
        waist=0.0,
        density=0.9,
    )
    joints["WRIST"] = _WRIST.copy()
    plant("WRIST", radius, carpal_row)
    ulna = Bone(start=np.array([_WRIST[0] - 32, 600.0]), u=up, length=600 - 418, hw=10, waist=0)
    bones += [radius, carpal_row, ulna]
    # Distal carpal row and the scaphoid/trapezium towards the thumb.
    for cx, cy, a, b in ((214, 350, 12, 10), (240, 352, 12, 11), (268, 354, 13, 11),
                         (298, 352, 12, 11), (322, 340, 12, 11)):  # fmt: skip
        start = np.array([cx, cy + a], float)
        bones.append(
            Bone(
                start=start,
                u=up,
                length=2 * a,
                hw=b,
                c_base=-0.45 * 2 * a,
                c_head=0.45 * 2 * a,
                waist=0,
                density=0.85,
            )  # fmt: skip
        )
    return bones, joints, erosion_pts


def _transform(rng, mirror, jitter=True):
    angle = math.radians(rng.uniform(-15, 15)) if jitter else 0.0
    scale = rng.uniform(0.88, 1.1) if jitter else 1.0
    shift = np.array([rng.uniform(-18, 18), rng.uniform(-12, 12)]) if jitter else np.zeros(2)
    centre = np.array([256.0, 300.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    flip = np.array([[-1.0, 0], [0, 1.0]]) if mirror else np.eye(2)
    lin = scale * rot @ flip
    target = np.array([256.0, 268.0]) + shift

    def point(p):
        return lin @ (np.asarray(p, float) - centre) + target

    def vector(v):
        return (rot @ flip) @ np.asarray(v, float)

    return point, vector, scale


def generate(
    seed: int,
    *,
    jsn: list[int] | None = None,
    erosion: list[int] | None = None,
    side: str | None = None,
    jitter: bool = True,
    noise: bool = True,
) -> HandSample:
    """One synthetic hand radiograph. Pass `jsn`/`erosion` (11 grades each) to draw a phantom
    with known grades; `jitter=False` gives the canonical pose (for phantoms)."""
    rng = np.random.default_rng(seed)
    planted = jsn is not None and erosion is not None
    if not planted:
        g_jsn, g_ero = sample_grades(rng)
        jsn = g_jsn if jsn is None else np.asarray(jsn)
        erosion = g_ero if erosion is None else np.asarray(erosion)
    jsn = np.asarray(jsn, int)
    erosion = np.asarray(erosion, int)
    # Borderline grades and readers come from their own stream, so the pose and noise of a seed
    # do not depend on them. A phantom with planted grades is drawn at the grade centres with
    # clear defects: its answer is unambiguous.
    aux = np.random.default_rng([seed, 7])
    if planted:
        latent = jsn.astype(float)
        visibility = np.ones((N_JOINTS, len(EROSION_SITES)))
    else:
        latent = jsn + aux.uniform(-0.5, 0.5, N_JOINTS)
        visibility = aux.uniform(*VISIBILITY_RANGE, (N_JOINTS, len(EROSION_SITES)))
    reader_jsn, reader_erosion = read_grades(aux, latent, erosion, visibility)
    if side is None:
        side = "left" if rng.random() < 0.5 else "right"
    point, vector, scale = _transform(rng, side == "left", jitter)
    bones, joints, erosion_pts = _layout(rng, latent, erosion, scale, visibility)

    bone_map = np.zeros((SIZE, SIZE), np.float32)
    soft_map = np.zeros((SIZE, SIZE), np.float32)
    for b in bones:
        tb = Bone(
            start=point(b.start),
            u=vector(b.u),
            length=b.length * scale,
            hw=b.hw * scale,
            c_base=b.c_base * scale,
            c_head=b.c_head * scale,
            waist=b.waist,
            density=b.density,
            bites=[(s * scale, t * scale, r * scale) for s, t, r in b.bites],
        )
        if side == "left":  # mirroring flips the sign of the perpendicular coordinate
            tb.bites = [(s, -t, r) for s, t, r in tb.bites]
        _draw_bone(bone_map, soft_map, tb)
    image = _compose(rng, bone_map, soft_map, noise)
    joint_xy = np.array([point(joints[n]) for n in JOINTS], np.float32)
    pts = []
    for name in JOINTS:
        row = []
        for bone, s, t in erosion_pts.get(name, []):
            perp = np.array([-bone.u[1], bone.u[0]])
            row.append(tuple(point(bone.start + bone.u * s + perp * t).tolist()))
        pts.append(row)
    return HandSample(
        image=image,
        joints=joint_xy,
        jsn=jsn,
        erosion=erosion,
        ra_pattern=ra_pattern_label(list(reader_jsn[0]), list(reader_erosion[0])),
        side=side,
        erosion_points=pts,
        scale=scale,
        reader_jsn=reader_jsn,
        reader_erosion=reader_erosion,
    )


def read_grades(rng, latent: np.ndarray, erosion: np.ndarray, visibility: np.ndarray):
    """Two simulated readers' grades of one hand: (N_READERS, 11) JSN and erosion."""
    jsn = np.clip(
        np.rint(latent[None] + rng.normal(0, READER_JSN_SD, (N_READERS, len(latent)))),
        0,
        len(GAP_BY_JSN) - 1,
    ).astype(int)
    seen = visibility[None] + rng.normal(0, READER_EROSION_SD, (N_READERS, *visibility.shape))
    drawn = np.arange(visibility.shape[1])[None, None] < erosion[None, :, None]
    ero = ((seen >= EROSION_DETECTION) & drawn).sum(axis=2).astype(int)
    return jsn, ero


def reader_agreement(n: int = 400, base: int = 0) -> dict:
    """How often the two simulated readers agree, per grade kind, over `n` generated hands."""
    j_same, e_same, j_near, e_near = [], [], [], []
    for i in range(n):
        rng = np.random.default_rng(base + i)
        jsn, ero = sample_grades(rng)
        aux = np.random.default_rng([base + i, 7])
        latent = jsn + aux.uniform(-0.5, 0.5, N_JOINTS)
        vis = aux.uniform(*VISIBILITY_RANGE, (N_JOINTS, len(EROSION_SITES)))
        rj, re = read_grades(aux, latent, ero, vis)
        j_same += list(rj[0] == rj[1])
        e_same += list(re[0] == re[1])
        j_near += list(abs(rj[0] - rj[1]) <= 1)
        e_near += list(abs(re[0] - re[1]) <= 1)
    return {
        "jsn_exact": round(float(np.mean(j_same)), 4),
        "jsn_within_one": round(float(np.mean(j_near)), 4),
        "erosion_exact": round(float(np.mean(e_same)), 4),
        "erosion_within_one": round(float(np.mean(e_near)), 4),
        "joints": n * N_JOINTS,
    }


def _compose(rng, bone_map, soft_map, noise):
    soft = _blur(soft_map, 2.0)
    texture = 1 + 0.08 * _smooth_noise(rng, 1.5) if noise else 1.0
    img = 0.03 + 0.14 * soft + 0.62 * bone_map * texture
    if noise:
        gain = rng.uniform(0.8, 1.1)
        offset = rng.uniform(0.0, 0.08)
        gamma = rng.uniform(0.8, 1.25)
        img = np.clip(img * gain + offset, 0, 1) ** gamma
        img = _blur(img, rng.uniform(0.4, 1.2))
        img = img + rng.normal(0, rng.uniform(0.01, 0.035), img.shape)
    else:
        img = _blur(img, 0.6)
    return np.clip(img, 0, 1).astype(np.float32)


def generate_negative(seed: int) -> HandSample:
    """An image with no hand (noise, a CT-like disc, scattered bone-like bars): the localiser
    learns to answer "no joints here" so that such inputs are flagged, never scored."""
    rng = np.random.default_rng(seed)
    bone_map = np.zeros((SIZE, SIZE), np.float32)
    soft_map = np.zeros((SIZE, SIZE), np.float32)
    kind = rng.integers(0, 3)
    if kind == 0:  # body-section-like disc
        ys, xs = np.mgrid[0:SIZE, 0:SIZE]
        r = rng.uniform(120, 230)
        soft_map = (((xs - 256) ** 2 + (ys - 256) ** 2) < r**2).astype(np.float32)
        for _ in range(rng.integers(1, 4)):
            c = rng.uniform(180, 330, 2)
            bone_map = np.maximum(
                bone_map,
                (((xs - c[0]) ** 2 + (ys - c[1]) ** 2) < rng.uniform(10, 40) ** 2) * 0.8,
            ).astype(np.float32)
    elif kind == 1:  # scattered long bones, not a hand
        for _ in range(rng.integers(1, 4)):
            _draw_bone(
                bone_map,
                soft_map,
                Bone(
                    start=rng.uniform(60, 450, 2),
                    u=_unit(rng.uniform(0, 360)),
                    length=rng.uniform(80, 300),
                    hw=rng.uniform(10, 30),
                ),
            )
    image = _compose(rng, bone_map, soft_map, True)
    if kind == 2:  # blank or noise-only exposure
        image = np.clip(rng.uniform(0, 0.6) + rng.normal(0, 0.05, image.shape), 0, 1)
        image = image.astype(np.float32)
    return HandSample(
        image=image,
        joints=np.zeros((N_JOINTS, 2), np.float32),
        jsn=np.zeros(N_JOINTS, int),
        erosion=np.zeros(N_JOINTS, int),
        ra_pattern=False,
        side="none",
        is_hand=False,
    )


def to_png_bytes(image: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG (radiographs have more than 8 bits of contrast)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 65535).astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


if __name__ == "__main__":
    import json

    print(json.dumps(reader_agreement(), indent=2))
