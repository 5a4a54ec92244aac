"""Score an MRI volume with one of the MRI bundles (onnxruntime on CPU; numpy; no torch).

    score_volume("spine-berlin", volume) -> MriScore

The three bundles (imaging/bundles/spine_berlin, sij_axspa, hand_mri_arthritis, or a site's
own bundle of the same name in IMAGING_BUNDLE_DIRS) take the series resampled to their working
grid (slices x rows x columns, slices as the input channels) and normalised by percentiles.
- spine-berlin: a heatmap localises the 23 disc levels (C2/3 to L5/S1); the grade logits are read
  at each level; the Berlin total (0-69) is given only when every unit was graded.
- sij-axspa: a CNN and a transformer each give P(axial SpA); their calibrated probabilities are
  averaged; the answer is withheld when it is unsure or the two disagree.
- hand-mri-arthritis: heatmaps locate MCP 2-5 and the wrist; synovitis, tenosynovitis and osteitis
  are graded 0-3 at each; P(arthritis) follows from the grades' probabilities by the bundle's rule.
A region whose calibrated confidence is below the bundle's review threshold gets grade None (a
manual check), and a volume whose regions cannot be found is not scored at all.

Demonstration only: the bundles were trained on synthetic phantoms.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from imaging import bundles as bundles_mod
from imaging.mri.contract import (
    BERLIN_MAX_GRADE,
    BERLIN_UNITS,
    HAND_MRI_ARTHRITIS,
    MRI_BUNDLES,
    SIJ_AXSPA,
    SPINE_BERLIN,
    MriScore,
    RegionScore,
    Volume,
    VolumeRejected,
)

ROLE_FOR = {
    SPINE_BERLIN: "mri_spine_berlin",
    SIJ_AXSPA: "mri_sij_axspa",
    HAND_MRI_ARTHRITIS: "mri_hand_arthritis",
}
MR_MODALITIES = {"MR", "MRI"}
MODALITY_WORDS = {
    "CT": "a CT series",
    "CR": "a radiograph (CR)",
    "DX": "a radiograph (DX)",
    "DR": "a radiograph",
    "XR": "a radiograph",
    "US": "an ultrasound series",
    "PT": "a PET series",
    "NM": "a nuclear medicine series",
    "MG": "a mammogram",
}
MAX_VOXELS = 64 * 1024 * 1024  # beyond what a reader lets through; a guard, not the limit


def folder_for(name: str) -> str:
    return name.replace("-", "_")


def _site_bundle(role: str) -> bundles_mod.Bundle | None:
    """A site's own bundle for this role, dropped into IMAGING_BUNDLE_DIRS: it replaces the
    project's reference bundle without code changes."""
    from django.conf import settings

    site = [Path(p) for p in getattr(settings, "IMAGING_BUNDLE_DIRS", [])]
    if not site:
        return None
    found, _ = bundles_mod.discover(site)
    return next((b for b in found if b.role == role), None)


def load(name: str, dirs: list[Path] | None = None) -> bundles_mod.Bundle:
    """The bundle for `name`: a site's bundle with its role first, else the project's folder.
    `dirs` (scripts without Django settings) looks only there, by folder name."""
    if name not in MRI_BUNDLES:
        raise VolumeRejected(f"{name!r} is not an MRI bundle (known: {', '.join(MRI_BUNDLES)})")
    site = None if dirs is not None else _site_bundle(ROLE_FOR[name])
    if site is not None:
        return site
    bundle = bundles_mod.get_bundle(folder_for(name), dirs or [bundles_mod.PROJECT_BUNDLES])
    if bundle.role != ROLE_FOR[name]:
        raise bundles_mod.BundleError(
            f"bundle {bundle.name}: role is {bundle.role}, expected {ROLE_FOR[name]}"
        )
    return bundle


# --------------------------------------------------------------------------- preprocessing


@functools.lru_cache(maxsize=64)
def _interp_matrix(m: int, n: int) -> np.ndarray:
    """(n, m) weights of linear interpolation from m to n samples (corners aligned)."""
    pos = np.linspace(0, m - 1, n) if n > 1 else np.zeros(1)
    lo = np.floor(pos).astype(int).clip(0, m - 1)
    hi = np.minimum(lo + 1, m - 1)
    w = np.zeros((n, m), np.float32)
    frac = (pos - lo).astype(np.float32)
    np.add.at(w, (np.arange(n), lo), 1 - frac)
    np.add.at(w, (np.arange(n), hi), frac)
    return w


def resize(vol: np.ndarray, shape) -> np.ndarray:
    """Separable linear interpolation to `shape` (corners aligned). Axes that shrink go first
    (with gathers: cheap when shrinking); axes that grow go last, as one matrix product each
    (a BLAS call, much faster than gathering into a larger array)."""
    out = np.ascontiguousarray(vol, np.float32)
    axes = sorted(range(len(shape)), key=lambda a: shape[a] / out.shape[a])
    for axis in axes:
        m, n = out.shape[axis], shape[axis]
        if m == n:
            continue
        if n > m:
            out = _grow(out, axis, _interp_matrix(m, n))
            continue
        pos = np.linspace(0, m - 1, n) if n > 1 else np.zeros(1)
        lo = np.floor(pos).astype(int).clip(0, m - 1)
        hi = np.minimum(lo + 1, m - 1)
        shp = [1] * out.ndim
        shp[axis] = n
        wt = (pos - lo).astype(np.float32).reshape(shp)
        out = np.take(out, lo, axis=axis) * (1 - wt) + np.take(out, hi, axis=axis) * wt
    return np.ascontiguousarray(out, np.float32)


def _grow(vol: np.ndarray, axis: int, w: np.ndarray) -> np.ndarray:
    """One axis of a contiguous 3D array interpolated by the (n, m) matrix w, as one matrix
    product on contiguous data (no transposed copies)."""
    if vol.ndim != 3:
        moved = np.ascontiguousarray(np.moveaxis(vol, axis, -1))
        grown = moved.reshape(-1, moved.shape[-1]) @ w.T
        return np.moveaxis(grown.reshape(*moved.shape[:-1], -1), -1, axis)
    s, h, c = vol.shape
    if axis == 0:
        return (w @ vol.reshape(s, h * c)).reshape(-1, h, c)
    if axis == 1:
        return np.matmul(w, vol)  # (n, h) @ (s, h, c), batched over slices
    return (vol.reshape(s * h, c) @ w.T).reshape(s, h, -1)


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's own linear interpolation between order statistics (np.percentile, 'linear')."""
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def tail_percentiles(vol: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """np.percentile(vol, [low, high]) (method 'linear'), exactly, for a low and a high
    percentile in the tails: the order statistics are read from the few values below (above) a
    bound guessed from a strided sample, not from a partition of the whole array (a few
    passes over float32 data instead of a float64 partition: ~10x faster on a series). Falls
    back to a full sort when the guess leaves too few values (never a wrong answer)."""
    flat = vol.reshape(-1)
    n = flat.size
    pos = [low / 100 * (n - 1), high / 100 * (n - 1)]
    ks = [(int(np.floor(p)), min(int(np.floor(p)) + 1, n - 1), p - np.floor(p)) for p in pos]
    sample = np.sort(flat[:: max(1, n // 4096)])
    m = sample.size
    # Generous bounds: the sample's quantiles with twice the tail mass plus a few values.
    t_lo = sample[min(m - 1, int(2 * low / 100 * m) + 8)]
    t_hi = sample[max(0, m - 1 - int(2 * (100 - high) / 100 * m) - 8)]
    below = np.sort(flat[flat <= t_lo])
    above = np.sort(flat[flat >= t_hi])
    k_lo, k_hi = ks[0][1], ks[1][0]
    if below.size <= k_lo or above.size < n - k_hi:
        full = np.sort(flat)
        below, above = full, full
    off = n - above.size  # the j-th smallest value, j >= off, is above[j - off]
    lo = _lerp(float(below[ks[0][0]]), float(below[ks[0][1]]), float(ks[0][2]))
    hi = _lerp(float(above[ks[1][0] - off]), float(above[ks[1][1] - off]), float(ks[1][2]))
    return lo, hi


def normalise(vol: np.ndarray, low: float = 1.0, high: float = 99.5) -> np.ndarray:
    """The volume mapped so its low and high percentiles go to 0 and 1, clipped; float32
    throughout, one new array."""
    vol = np.asarray(vol, np.float32)
    lo, hi = tail_percentiles(vol, low, high)
    out = np.subtract(vol, np.float32(lo), dtype=np.float32)
    out *= np.float32(1 / max(hi - lo, 1e-6))
    return np.clip(out, 0, 1, out=out)


def grid_of(bundle: bundles_mod.Bundle) -> tuple[int, int, int]:
    spec = bundle.meta["input_spec"]
    return (int(spec["channels"]), *(int(s) for s in spec["size"]))


def prepare(voxels: np.ndarray, grid) -> np.ndarray:
    """The graph's input (1, slices, rows, cols) for a volume of any size."""
    return normalise(resize(voxels, grid))[None]


def check_volume(bundle: bundles_mod.Bundle, name: str, volume: Volume) -> None:
    """A clear VolumeRejected for anything this bundle cannot score."""
    mri = bundle.meta["mri"]
    modality = (volume.modality or "").strip().upper()
    if modality not in MR_MODALITIES:
        what = MODALITY_WORDS.get(modality, f"a {modality or 'unknown'}-modality series")
        raise VolumeRejected(
            f"This is {what}; the {name} bundle scores MRI series (modality MR) only."
        )
    planes = mri["planes"]
    if volume.plane not in planes:
        raise VolumeRejected(
            f"The {name} bundle needs a {' or '.join(planes)} series; this series is "
            f"{volume.plane}."
        )
    n = volume.voxels.shape[0]
    if n < mri["min_slices"]:
        single = "a single slice" if n == 1 else f"only {n} slices"
        raise VolumeRejected(
            f"This series has {single}; the {name} bundle needs at least {mri['min_slices']} "
            f"slices of one {planes[0]} series."
        )
    if min(volume.voxels.shape[1:]) < 32:
        raise VolumeRejected(
            f"The slices are {volume.voxels.shape[1]} x {volume.voxels.shape[2]} pixels; the "
            f"{name} bundle needs at least 32 x 32."
        )
    if volume.voxels.size > MAX_VOXELS:
        raise VolumeRejected(f"The series has {volume.voxels.size} voxels, over {MAX_VOXELS}.")
    if not np.isfinite(volume.voxels).all():
        raise VolumeRejected("The series holds non-numeric (NaN or infinite) voxel values.")
    if float(volume.voxels.max()) - float(volume.voxels.min()) <= 0:
        raise VolumeRejected("The series is blank (every voxel has the same value).")


# --------------------------------------------------------------------------- helpers


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _window_stat(arr: np.ndarray, rows, cols, rr: int, cr: int, how: str) -> np.ndarray:
    """Per slice, the max or mean of arr (slices, H, W) in a (2rr+1) x (2cr+1) window around
    each (row, col): (slices, regions), in one gather for all regions."""
    r = np.clip(np.asarray(rows)[:, None] + np.arange(-rr, rr + 1), 0, arr.shape[1] - 1)
    c = np.clip(np.asarray(cols)[:, None] + np.arange(-cr, cr + 1), 0, arr.shape[2] - 1)
    win = arr[:, r[:, :, None], c[:, None, :]]  # (slices, regions, 2rr+1, 2cr+1)
    return win.max(axis=(2, 3)) if how == "max" else win.mean(axis=(2, 3))


def _slice_ranges(sal: np.ndarray | None, x: np.ndarray, rows, cols, n_vol: int) -> list[tuple]:
    """The slices (of the uploaded series) each region was seen on: where its saliency is high,
    or, without a lesion (or scored without saliency), where its anatomy is (window brightness
    at least 60% of its peak)."""
    bright = _window_stat(x, np.asarray(rows) * 2, np.asarray(cols) * 2, 6, 8, "mean")
    anatomy = bright >= 0.6 * bright.max(axis=0, keepdims=True)
    if sal is None:
        sel = anatomy
    else:
        hot_sal = _window_stat(sal, rows, cols, 3, 4, "max") >= 0.5
        sel = np.where(hot_sal.any(axis=0), hot_sal, anatomy)
    sel[:, ~sel.any(axis=0)] = True  # nothing stands out: the whole series
    first = sel.argmax(axis=0)
    last = sel.shape[0] - 1 - sel[::-1].argmax(axis=0)
    scale = (n_vol - 1) / max(sel.shape[0] - 1, 1)
    return [
        (int(round(f * scale)), int(round(t * scale)))
        for f, t in zip(first.tolist(), last.tolist(), strict=True)
    ]


def _peaks_1d(profile: np.ndarray, k: int, min_gap: int = 2) -> np.ndarray:
    """The k highest local maxima of a profile at least min_gap apart (greedy NMS)."""
    order = np.argsort(-profile, kind="stable").tolist()
    chosen: list[int] = []
    for i in order:
        if all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(i)
            if len(chosen) == k:
                break
    return np.array(sorted(chosen), int)


def _peaks_2d(m: np.ndarray, k: int, min_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """The k highest points of a map at least min_gap apart (greedy non-maximum suppression)."""
    order = np.argsort(-m, axis=None, kind="stable")
    rows, cols = np.unravel_index(order, m.shape)
    chosen: list[tuple[int, int]] = []
    for r, c in zip(rows, cols, strict=True):
        if all((r - a) ** 2 + (c - b) ** 2 >= min_gap**2 for a, b in chosen):
            chosen.append((int(r), int(c)))
            if len(chosen) == k:
                break
    return np.array([a for a, _ in chosen], int), np.array([b for _, b in chosen], int)


def _saliency_volume(sal: np.ndarray | None, shape) -> np.ndarray | None:
    if sal is None:  # scored without saliency
        return None
    out = resize(sal, shape)
    return np.clip(out, 0, 1, out=out)  # linear interpolation stays in 0-1 but for rounding


# --------------------------------------------------------------------------- spine


def _run(session, x: np.ndarray, names: list[str], saliency: str | None) -> list:
    """The graph's outputs `names`, then the saliency output (None when it is not asked for:
    the bundle's plain graph, models/model_plain.onnx, has none)."""
    out = session.run([*names, saliency] if saliency else names, {"volume": x})
    return out if saliency else [*out, None]


def spine_raw(session, x: np.ndarray, saliency: bool = True):
    """Run the graph; the disc levels found; per-level logits (23, 4); the saliency maps (None
    without saliency)."""
    heat, logits, sal = _run(session, x, ["heatmaps", "logits"], "saliency" if saliency else None)
    hm = heat[0, 0]
    profile = hm.max(axis=1)
    rows = _peaks_1d(profile, len(BERLIN_UNITS))
    cols = hm[rows].argmax(axis=1)
    unit_logits = _window_stat(logits[0], rows, cols, 1, 1, "mean").T  # (23, 4)
    return rows, cols, profile[rows], unit_logits, None if sal is None else sal[0]


def _score_spine(bundle, volume: Volume, x: np.ndarray, session, saliency=True) -> MriScore:
    mri = bundle.meta["mri"]
    rows, cols, peaks, unit_logits, sal = spine_raw(session, x, saliency)
    saliency_map = _saliency_volume(sal, volume.voxels.shape)
    if len(rows) < len(BERLIN_UNITS) or peaks.min() < mri["presence_threshold"]:
        return MriScore(
            bundle=SPINE_BERLIN,
            version=bundle.version,
            regions=[
                RegionScore(u, "bme", None, (), 0.0, (0, volume.voxels.shape[0] - 1))
                for u in BERLIN_UNITS
            ],
            summary={"total": None, "units_graded": 0},
            abstained=True,
            review_reason="The 23 disc levels C2/3 to L5/S1 could not all be found: is this a "
            "whole-spine sagittal STIR series? Please grade it by hand.",
            saliency=saliency_map,
        )
    probs = softmax(unit_logits / bundle.temperature())
    threshold = bundle.review_threshold
    spans = _slice_ranges(sal, x[0], rows, cols, volume.voxels.shape[0])
    regions = []
    for k, unit in enumerate(BERLIN_UNITS):
        p = probs[k]
        conf = float(p.max())
        grade = int(p.argmax()) if conf >= threshold else None
        regions.append(
            RegionScore(
                unit,
                "bme",
                grade,
                tuple(round(float(v), 4) for v in p),
                round(conf, 4),
                spans[k],
            )
        )
    graded = [r.grade for r in regions if r.grade is not None]
    unsure = len(graded) < len(regions)
    return MriScore(
        bundle=SPINE_BERLIN,
        version=bundle.version,
        regions=regions,
        summary={
            "total": None if unsure else int(sum(graded)),
            "units_graded": len(graded),
            "max_total": len(BERLIN_UNITS) * BERLIN_MAX_GRADE,
        },
        abstained=unsure,
        review_reason=(
            f"{len(regions) - len(graded)} unit(s) below the confidence threshold need a manual "
            "grade; the total is given once every unit is graded."
            if unsure
            else ""
        ),
        saliency=saliency_map,
    )


# --------------------------------------------------------------------------- SIJ


def sij_raw(session, x: np.ndarray, saliency: bool = True):
    cnn, vit, cam = _run(session, x, ["cnn_logits", "vit_logits"], "cam" if saliency else None)
    return cnn[0], vit[0], None if cam is None else cam[0]


def sij_probabilities(bundle, cnn: np.ndarray, vit: np.ndarray) -> tuple[float, float]:
    p_cnn = float(softmax(cnn / bundle.temperature("cnn"))[..., 1])
    p_vit = float(softmax(vit / bundle.temperature("vit"))[..., 1])
    return p_cnn, p_vit


def _score_sij(bundle, volume: Volume, x: np.ndarray, session, saliency=True) -> MriScore:
    mri = bundle.meta["mri"]
    cnn, vit, cam = sij_raw(session, x, saliency)
    p_cnn, p_vit = sij_probabilities(bundle, cnn, vit)
    p = (p_cnn + p_vit) / 2
    conf = max(p, 1 - p)
    disagree = abs(p_cnn - p_vit) > mri["max_disagreement"]
    unsure = conf < bundle.review_threshold or disagree
    n = volume.voxels.shape[0]
    saliency_map = None
    if cam is not None:
        heat = np.maximum(cam[1] - cam[0], 0)
        heat = heat / heat.max() if heat.max() > 0 else heat
        saliency_map = _saliency_volume(heat[None], (1, *volume.voxels.shape[1:]))
        saliency_map = np.broadcast_to(saliency_map, volume.voxels.shape)  # one map, every slice
    region = RegionScore(
        "sacroiliac joints",
        "axspa",
        None if unsure else int(p >= 0.5),
        (round(1 - p, 4), round(p, 4)),
        round(conf, 4),
        (0, n - 1),
    )
    reason = ""
    if disagree:
        reason = "The CNN and the transformer disagree; please read the series."
    elif unsure:
        reason = "The ensemble is unsure (confidence below the bundle's threshold)."
    return MriScore(
        bundle=SIJ_AXSPA,
        version=bundle.version,
        regions=[region],
        summary={
            "probability": round(p, 4),
            "per_plane": {volume.plane: round(p, 4)},
            "members": {"cnn": round(p_cnn, 4), "transformer": round(p_vit, 4)},
            "axspa": None if unsure else bool(p >= 0.5),
        },
        abstained=unsure,
        review_reason=reason,
        saliency=saliency_map,
    )


def combine_sij(scores: list[MriScore]) -> dict:
    """One answer from a coronal and an axial series of one examination: the mean probability,
    withheld when either series was withheld."""
    probs = {plane: p for s in scores for plane, p in s.summary["per_plane"].items()}
    p = float(np.mean(list(probs.values())))
    unsure = any(s.abstained for s in scores)
    return {"probability": round(p, 4), "per_plane": probs, "axspa": None if unsure else p >= 0.5}


# --------------------------------------------------------------------------- hand


def hand_raw(session, x: np.ndarray, n_regions: int, n_features: int, saliency: bool = True):
    heat, logits, sal = _run(session, x, ["heatmaps", "logits"], "saliency" if saliency else None)
    hm = heat[0]
    # The MCP channels are pooled and their four strongest separate peaks taken left to right
    # (MCP2 to MCP5 of a right hand seen as drawn): telling the fingers apart by order is more
    # robust than by each channel's own peak. The wrist is its channel's peak.
    any_mcp = hm[: n_regions - 1].max(axis=0)
    rows, cols = _peaks_2d(any_mcp, n_regions - 1, min_gap=4)
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order], cols[order]
    wr, wc = np.unravel_index(int(hm[-1].argmax()), hm.shape[1:])
    rows, cols = np.append(rows, wr), np.append(cols, wc)
    peaks = np.append(any_mcp[rows[:-1], cols[:-1]], hm[-1, wr, wc])
    flat = logits[0].reshape(-1, *logits.shape[2:])  # (features x grades, H, W)
    region_logits = _window_stat(flat, rows, cols, 1, 1, "mean").T.reshape(
        len(rows), n_features, -1
    )  # (regions, features, grades)
    return rows, cols, peaks, region_logits, None if sal is None else sal[0]


def arthritis_probability(probs: np.ndarray) -> float:
    """P(arthritis) under the bundle's rule, from per-region grade probabilities (regions,
    features [synovitis, tenosynovitis, osteitis], grades), regions taken as independent:
    no arthritis = every synovitis <= 1 and every tenosynovitis <= 1 and not (some synovitis
    >= 1 and some osteitis >= 1)."""
    syn, teno, ost = probs[:, 0], probs[:, 1], probs[:, 2]
    a_le1 = np.prod(syn[:, :2].sum(1))
    a_0 = np.prod(syn[:, 0])
    b = np.prod(teno[:, :2].sum(1))
    c_0 = np.prod(ost[:, 0])
    p_none = b * (a_0 + (a_le1 - a_0) * c_0)
    return float(np.clip(1 - p_none, 0, 1))


def _score_hand(bundle, volume: Volume, x: np.ndarray, session, saliency=True) -> MriScore:
    mri = bundle.meta["mri"]
    regions_names, features = mri["regions"], mri["features"]
    rows, cols, peaks, region_logits, sal = hand_raw(
        session, x, len(regions_names), len(features), saliency
    )
    saliency_map = _saliency_volume(sal, volume.voxels.shape)
    n = volume.voxels.shape[0]
    if peaks.min() < mri["presence_threshold"]:
        return MriScore(
            bundle=HAND_MRI_ARTHRITIS,
            version=bundle.version,
            regions=[
                RegionScore(r, f, None, (), 0.0, (0, n - 1))
                for r in regions_names
                for f in features
            ],
            summary={"arthritis_probability": None, "arthritis": None},
            abstained=True,
            review_reason="The MCP 2-5 joints and the wrist could not all be found: is this a "
            "coronal hand/wrist series? Please grade it by hand.",
            saliency=saliency_map,
        )
    probs = softmax(region_logits / bundle.temperature())
    threshold = bundle.review_threshold
    spans = _slice_ranges(sal, x[0], rows, cols, n)
    regions = []
    for i, rname in enumerate(regions_names):
        span = spans[i]
        for j, feat in enumerate(features):
            p = probs[i, j]
            conf = float(p.max())
            regions.append(
                RegionScore(
                    rname,
                    feat,
                    int(p.argmax()) if conf >= threshold else None,
                    tuple(round(float(v), 4) for v in p),
                    round(conf, 4),
                    span,
                )
            )
    p_art = arthritis_probability(probs)
    art_conf = max(p_art, 1 - p_art)
    art_unsure = art_conf < mri["arthritis_threshold"]
    n_unsure = sum(r.grade is None for r in regions)
    reasons = []
    if art_unsure:
        reasons.append("arthritis vs no arthritis is uncertain")
    if n_unsure:
        reasons.append(f"{n_unsure} region grade(s) below the confidence threshold")
    return MriScore(
        bundle=HAND_MRI_ARTHRITIS,
        version=bundle.version,
        regions=regions,
        summary={
            "arthritis_probability": round(p_art, 4),
            "arthritis": None if art_unsure else bool(p_art >= 0.5),
        },
        abstained=bool(art_unsure or n_unsure),
        review_reason=("; ".join(reasons) + ": please check by hand.") if reasons else "",
        saliency=saliency_map,
    )


def example_output(score: MriScore) -> dict:
    """What the self-test compares: the grades and the overall answer."""
    if score.bundle == SIJ_AXSPA:
        return {
            "probability": score.summary["probability"],
            "axspa": score.summary["axspa"],
            "abstained": score.abstained,
        }
    out = {"grades": [r.grade for r in score.regions], "abstained": score.abstained}
    if score.bundle == SPINE_BERLIN:
        out["total"] = score.summary["total"]
    else:
        out["arthritis"] = score.summary["arthritis"]
        out["arthritis_probability"] = score.summary["arthritis_probability"]
    return out


def read_example(path: Path) -> Volume:
    """A bundle's example volume (.npz: voxels, spacing_mm, plane, modality)."""
    with np.load(path, allow_pickle=False) as data:
        return Volume(
            voxels=data["voxels"].astype(np.float32),
            spacing_mm=tuple(float(v) for v in data["spacing_mm"]),
            plane=str(data["plane"]),
            modality=str(data["modality"]),
            series_description="bundle example (synthetic phantom)",
        )


SCORERS = {SPINE_BERLIN: _score_spine, SIJ_AXSPA: _score_sij, HAND_MRI_ARTHRITIS: _score_hand}


def score_volume(
    bundle_name: str,
    volume: Volume,
    dirs: list[Path] | None = None,
    session=None,
    saliency: bool = True,
) -> MriScore:
    """Score one volume with one MRI bundle; VolumeRejected (a clear message) for a volume the
    bundle cannot score. `session` lets a caller reuse an onnxruntime session (benchmarks).
    `saliency=False` scores without the saliency map (MriScore.saliency None; each region's
    slices from its anatomy), with the bundle's plain graph when no session is given."""
    bundle = load(bundle_name, dirs)
    if session is None:
        session = bundle.session(plain=not saliency, batch_of_one=True)
    return score_loaded(bundle, bundle_name, volume, session, saliency)


def score_loaded(
    bundle: bundles_mod.Bundle, bundle_name: str, volume: Volume, session, saliency: bool = True
) -> MriScore:
    """score_volume for a bundle already loaded and its session already open: the volume
    checked, resampled to the working grid, normalised, run and read."""
    check_volume(bundle, bundle_name, volume)
    x = prepare(volume.voxels, grid_of(bundle))
    return SCORERS[bundle_name](bundle, volume, x, session, saliency)
