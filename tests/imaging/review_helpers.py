"""Helpers for review tests: form data grading every joint, and results built directly (for
review rules that do not need a real inference run)."""

from __future__ import annotations

import uuid

from imaging.joints import JOINTS, group_of
from imaging.models import Result, ResultStatus, Study


def form_data(grades: dict[str, tuple[int, int]], ra: str | None = "no") -> dict:
    data = {}
    for joint, (jsn, erosion) in grades.items():
        data[f"jsn_{joint}"] = jsn
        data[f"erosion_{joint}"] = erosion
    if ra is not None:
        data["ra_pattern"] = ra
    return data


def model_grades(study) -> dict[str, tuple[int, int]]:
    result = study.results.order_by("-created_at").first()
    by_joint = {j["joint"]: (j["jsn"], j["erosion"]) for j in result.joint_scores}
    return {j: by_joint.get(j, (0, 0)) for j in JOINTS}


def full_grading(study, *, ra: str = "no", jsn_shift: int = 0) -> dict:
    """Every joint graded: the model's grades, JSN shifted by `jsn_shift` (mod 5)."""
    grades = {j: ((jsn + jsn_shift) % 5, ero) for j, (jsn, ero) in model_grades(study).items()}
    return form_data(grades, ra)


def make_result(
    patient,
    *,
    status: str = ResultStatus.SCORED,
    grades: dict[str, tuple[int, int]] | None = None,
    abstain: tuple[str, ...] = (),
    ra_probability: float = 0.8,
    ra_abstain: bool = False,
    bundle: tuple[str, str] = ("hand_joint_scorer", "0.2.0"),
) -> Result:
    """A study and its result written directly (no file is served from it in these tests)."""
    study = Study.objects.create(
        patient=patient,
        kind="png",
        rows=512,
        columns=512,
        blob_name=f"imaging/test/{uuid.uuid4()}.bin",
        size_bytes=1,
    )
    if status != ResultStatus.SCORED:
        return Result.objects.create(
            study=study,
            status=status,
            review_reason="No hand was found in the image." if status == "needs_review" else "",
            error="broken" if status == "failed" else "",
            needs_review=status == "needs_review",
            bundle_name=bundle[0],
            bundle_version=bundle[1],
        )
    grades = grades or {j: (1, 0) for j in JOINTS}
    joints = [
        {
            "joint": j,
            "group": group_of(j),
            "x": 10.0,
            "y": 10.0,
            "located": True,
            "jsn": grades[j][0],
            "erosion": grades[j][1],
            "confidence": 0.6 if j in abstain else 0.93,
            "needs_review": j in abstain,
        }
        for j in JOINTS
    ]
    conf = max(ra_probability, 1 - ra_probability)
    return Result.objects.create(
        study=study,
        status=ResultStatus.SCORED,
        joint_scores=joints,
        scores={
            "ra_pattern": {
                "probability": ra_probability,
                "confidence": conf,
                "needs_review": ra_abstain,
            }
        },
        confidence=0.6 if abstain else 0.9,
        needs_review=bool(abstain) or ra_abstain,
        bundle_name=bundle[0],
        bundle_version=bundle[1],
    )
