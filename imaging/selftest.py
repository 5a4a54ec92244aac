"""Running a bundle on its own example inputs (`imaging_bundles --self-test`, and recording
the expected outputs when the reference bundles are written).

Kept out of imaging.bundles, which only finds and validates bundles: running an example needs
the pipeline, and the pipeline needs imaging.bundles (no import circle)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from imaging import pipeline
from imaging.bundles import MRI_ROLES, Bundle
from imaging.inputs import decode_image


def _read_example(bundle: Bundle, rel: str) -> np.ndarray:
    path = bundle.path / rel
    if path.suffix == ".json":
        return np.asarray(json.loads(path.read_text()), np.float32)
    return decode_image(path.read_bytes()).pixels


def run_example(bundle: Bundle, rel: str) -> dict:
    if bundle.role in MRI_ROLES:
        return _run_mri_example(bundle, rel)
    data = _read_example(bundle, rel)
    session = bundle.session()
    if bundle.role == "joint_localiser":
        loc = pipeline.localise(session, bundle, data)
        return {
            "hand_found": loc.hand_found,
            "centres": np.round(loc.centres, 2).tolist(),
            "mean_peak": round(float(loc.peaks.mean()), 4),
        }
    if bundle.role == "joint_scorer":
        # Example crops are stored as 16-bit PNGs of the normalised (0-1) crop.
        tile = (data.astype(np.float32) / 65535.0)[None, None]
        out = pipeline.score_crops(session, bundle, tile)[0]
        return {
            "jsn": out.jsn,
            "erosion": out.erosion,
            "confidence": round(out.confidence, 4),
        }
    prob = pipeline.ra_probability(session, bundle, data[None])[0]
    return {"probability": round(float(prob), 4)}


def _run_mri_example(bundle: Bundle, rel: str) -> dict:
    """An MRI example is a volume (.npz); it is scored by the bundle in its own folder."""
    from imaging.mri import scoring

    volume = scoring.read_example(bundle.path / rel)
    score = scoring.score_volume(bundle.meta["mri"]["bundle"], volume, dirs=[bundle.path.parent])
    return scoring.example_output(score)


def record_expected(bundle: Bundle) -> list[dict]:
    return [
        {"input": ex["input"], "expected": run_example(bundle, ex["input"])}
        for ex in bundle.meta.get("examples", [])
    ]


def _close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, abs_tol=tol)
    return a == b


def self_test(bundle: Bundle, tol: float = 0.02) -> list[str]:
    """Differences between each example's output and the expected one (empty = passed)."""
    problems = []
    examples = bundle.meta.get("examples") or []
    if not examples:
        problems.append(f"{bundle.name}: no examples to test")
    for ex in examples:
        if "expected" not in ex:
            problems.append(f"{bundle.name}: {ex['input']} has no expected output")
            continue
        try:
            got = run_example(bundle, ex["input"])
        except Exception as exc:  # report, do not crash the command: other bundles still run
            problems.append(f"{bundle.name}: {ex['input']} failed: {exc}")
            continue
        if not _close(got, ex["expected"], tol):
            problems.append(f"{bundle.name}: {ex['input']}: expected {ex['expected']}, got {got}")
    return problems
