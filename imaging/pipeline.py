"""The scoring pipeline on onnxruntime (CPU): locate joints, crop, score, RA pattern, saliency.

As in the seed's automated SvdH scoring: (1) joint localisation, (2) a region of interest per
joint, (3) per-joint JSN 0-4 and erosion 0-5 with a calibrated confidence, (4) an image-level
RA-pattern probability. Input checks come first: an image flagged by the decoder (wrong
modality or body part) or with no hand found is returned for review and never scored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from imaging import bundles as bundles_mod
from imaging.joints import JOINTS, group_of
from imaging.preprocess import (
    CROP_SIZE,
    WORK_SIZE,
    Letterbox,
    crops,
    decode_heatmaps,
    downsample,
    letterbox,
    normalise,
)

DEMO_NOTICE = "Demonstration model trained on synthetic images, not for clinical use."

# A joint whose own heatmap peak is this much below the bundle's presence threshold was not
# found: it is listed for review instead of scored at a guessed place.
JOINT_PEAK_FACTOR = 0.5


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Localisation:
    centres: np.ndarray  # (11, 2) working-frame px
    peaks: np.ndarray  # (11,)
    hand_found: bool
    work: np.ndarray  # the normalised 512 x 512 working image
    box: Letterbox


@dataclass
class JointScore:
    jsn: int
    erosion: int
    p_jsn: list[float]
    p_erosion: list[float]
    confidence: float
    needs_review: bool
    saliency: np.ndarray = field(repr=False)  # (12, 12) evidence map for the shown grade


@dataclass
class Bundles:
    """The three bundles of one pipeline run. The onnxruntime sessions are opened on first use
    and kept on this object only (one task or one command builds its own), never in a module
    global, so nothing is shared between processes or requests."""

    localiser: bundles_mod.Bundle
    scorer: bundles_mod.Bundle
    ra: bundles_mod.Bundle
    _sessions: dict = field(default_factory=dict, repr=False, compare=False)

    def session(self, role: str):
        if role not in self._sessions:
            bundle = {"localiser": self.localiser, "scorer": self.scorer, "ra": self.ra}[role]
            self._sessions[role] = bundle.session()
        return self._sessions[role]

    @classmethod
    def default(cls, scorer_name: str | None = None) -> Bundles:
        scorer = (
            bundles_mod.get_bundle(scorer_name)
            if scorer_name
            else bundles_mod.default_for("joint_scorer")
        )
        if scorer.role != "joint_scorer":
            raise bundles_mod.BundleError(
                f"bundle {scorer.name}: role is {scorer.role}, a joint_scorer is needed"
            )
        return cls(
            localiser=bundles_mod.default_for("joint_localiser"),
            scorer=scorer,
            ra=bundles_mod.default_for("ra_pattern"),
        )

    def versions(self) -> dict:
        return {b.role: {"name": b.name, "version": b.version} for b in self._all()}

    def _all(self):
        return (self.localiser, self.scorer, self.ra)


def localise(session, bundle, pixels: np.ndarray) -> Localisation:
    norm = bundle.meta["input_spec"]["normalisation"]
    img = normalise(pixels, norm.get("low", 1.0), norm.get("high", 99.5))
    work, box = letterbox(img)
    small = downsample(work)[None, None].astype(np.float32)
    (heatmaps,) = session.run(["heatmaps"], {"image": small})
    centres, peaks = decode_heatmaps(heatmaps[0])
    return Localisation(
        centres=centres,
        peaks=peaks,
        hand_found=bool(peaks.mean() >= bundle.review_threshold),
        work=work,
        box=box,
    )


def _evidence(cam: np.ndarray, grade: int) -> np.ndarray:
    """Where the network saw evidence for `grade` over grade 0 (CAM difference)."""
    return cam[grade] - cam[0]


def score_crops(session, bundle, tiles: np.ndarray) -> list[JointScore]:
    jl, el, jcam, ecam = session.run(
        ["jsn_logits", "erosion_logits", "jsn_cam", "erosion_cam"], {"crops": tiles}
    )
    pj = softmax(jl / bundle.temperature("jsn"))
    pe = softmax(el / bundle.temperature("erosion"))
    out = []
    for i in range(len(tiles)):
        jsn, ero = int(pj[i].argmax()), int(pe[i].argmax())
        conf = float(min(pj[i].max(), pe[i].max()))
        if ero > 0:
            sal = _evidence(ecam[i], ero)
        elif jsn > 0:
            sal = _evidence(jcam[i], jsn)
        else:
            sal = np.zeros(ecam.shape[2:], np.float32)
        out.append(
            JointScore(
                jsn=jsn,
                erosion=ero,
                p_jsn=[round(float(p), 4) for p in pj[i]],
                p_erosion=[round(float(p), 4) for p in pe[i]],
                confidence=conf,
                needs_review=conf < bundle.review_threshold,
                saliency=np.maximum(sal, 0),
            )
        )
    return out


def ra_probability(session, bundle, probs: np.ndarray) -> np.ndarray:
    (logit,) = session.run(["ra_logit"], {"joint_probs": probs.astype(np.float32)})
    return 1 / (1 + np.exp(-logit[:, 0] / bundle.temperature()))


# The overlay is drawn at half the working resolution (256 px): the maps have a stride of 4
# working px, so nothing is lost, and the browser scales it over the image; a quarter of the
# pixels to paste and encode keeps "score + map" cheap (P4).
OVERLAY_SCALE = 0.5


def saliency_canvas(
    scores: list[JointScore], centres: np.ndarray, size: int = 512, scale: float = OVERLAY_SCALE
) -> np.ndarray:
    """Paste each joint's map (upsampled to the crop) into the working frame scaled by `scale`;
    values 0-1, normalised by the strongest evidence in the image."""
    from PIL import Image

    side, tile_side = round(size * scale), round(CROP_SIZE * scale)
    canvas = np.zeros((side, side), np.float32)
    peak = max((float(s.saliency.max()) for s in scores), default=0.0)
    if peak <= 0:
        return canvas
    for s, (cx, cy) in zip(scores, centres, strict=True):
        tile = (
            np.asarray(
                Image.fromarray(s.saliency.astype(np.float32)).resize(
                    (tile_side, tile_side), Image.BILINEAR
                )
            )
            / peak
        )
        x0, y0 = round(cx * scale - tile_side / 2), round(cy * scale - tile_side / 2)
        xs, ys = (
            slice(max(0, x0), min(side, x0 + tile_side)),
            slice(max(0, y0), min(side, y0 + tile_side)),
        )
        sub = tile[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        np.maximum(canvas[ys, xs], sub, out=canvas[ys, xs])
    return np.clip(canvas, 0, 1)


def overlay_png(canvas: np.ndarray, box: Letterbox, shape: tuple[int, int]) -> bytes:
    """An RGBA heat overlay in the original image's aspect (the canvas's resolution, at most 256
    px on the long side): transparent where there is no evidence, so it can sit over the image,
    scaled to it by the page, and be switched off."""
    from PIL import Image

    scale = canvas.shape[0] / WORK_SIZE
    h, w = shape
    nh, nw = max(1, round(h * box.scale * scale)), max(1, round(w * box.scale * scale))
    y0, x0 = int(box.pad_y * scale), int(box.pad_x * scale)
    heat = np.clip(canvas[y0 : y0 + nh, x0 : x0 + nw], 0, 1)
    rgba = np.zeros((*heat.shape, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (200 * (1 - heat)).astype(np.uint8)
    rgba[..., 3] = (heat * 200).astype(np.uint8)
    buf = io.BytesIO()
    # Level 1: the overlay is mostly transparent and re-encoded per result; zlib's default
    # level costs several times more for a file only slightly smaller.
    Image.fromarray(rgba).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def preview_png(pixels: np.ndarray, max_side: int = 512) -> bytes:
    """An 8-bit greyscale rendition for the study page (same frame as the overlay)."""
    from PIL import Image

    img = normalise(pixels)
    h, w = img.shape
    scale = max_side / max(h, w)
    pil = Image.fromarray((img * 255).astype(np.uint8))
    if scale < 1 or scale > 1:
        pil = pil.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Analysis:
    status: str  # "scored" | "needs_review"
    review_reason: str
    joints: list[dict]
    ra: dict | None
    confidence: float | None
    bundles: dict
    overlay: bytes | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "needs_review": self.status != "scored" or self.any_review,
            "review_reason": self.review_reason,
            "confidence": self.confidence,
            "ra_pattern": self.ra,
            "joints": self.joints,
            "bundles": self.bundles,
            "demonstration_only": True,
            "notice": DEMO_NOTICE,
        }

    @property
    def any_review(self) -> bool:
        return any(j["needs_review"] for j in self.joints) or bool(
            self.ra and self.ra["needs_review"]
        )


def analyse(pixels: np.ndarray, *, bundles: Bundles, review_reason: str = "") -> Analysis:
    """Score one radiograph (already decoded and checked by imaging.inputs)."""
    versions = bundles.versions()
    if review_reason:
        return Analysis("needs_review", review_reason, [], None, None, versions)
    loc = localise(bundles.session("localiser"), bundles.localiser, pixels)
    if not loc.hand_found:
        return Analysis(
            "needs_review",
            "No hand was found in the image (joint evidence below the localiser's threshold).",
            [],
            None,
            None,
            versions,
        )
    tiles = crops(loc.work, loc.centres)
    scores = score_crops(bundles.session("scorer"), bundles.scorer, tiles)
    probs = np.stack([np.array(s.p_jsn + s.p_erosion, np.float32) for s in scores])[None]
    p_ra = float(ra_probability(bundles.session("ra"), bundles.ra, probs)[0])
    ra_conf = max(p_ra, 1 - p_ra)
    missing = loc.peaks < JOINT_PEAK_FACTOR * bundles.localiser.review_threshold
    original = loc.box.to_original(loc.centres)
    joints = []
    for i, (name, s) in enumerate(zip(JOINTS, scores, strict=True)):
        joints.append(
            {
                "joint": name,
                "group": group_of(name),
                "x": round(float(original[i][0]), 1),
                "y": round(float(original[i][1]), 1),
                "located": not bool(missing[i]),
                "jsn": s.jsn,
                "erosion": s.erosion,
                "jsn_probabilities": s.p_jsn,
                "erosion_probabilities": s.p_erosion,
                "confidence": round(s.confidence, 4),
                "needs_review": bool(s.needs_review or missing[i]),
            }
        )
    canvas = saliency_canvas(scores, loc.centres)
    return Analysis(
        status="scored",
        review_reason="",
        joints=joints,
        ra={
            "probability": round(p_ra, 4),
            "confidence": round(ra_conf, 4),
            "needs_review": ra_conf < bundles.ra.review_threshold,
        },
        confidence=round(min([s.confidence for s in scores] + [ra_conf]), 4),
        bundles=versions,
        overlay=overlay_png(canvas, loc.box, pixels.shape),
    )
