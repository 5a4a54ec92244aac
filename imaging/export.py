"""The imaging app's part of a patient's own export (diary.export.EXPORT_PARTS): each of their
radiographs (the stored, de-identified file, decrypted) and every model result and review
score for it."""

from __future__ import annotations

import json

from diary.export import ExportPart, csv_text
from imaging.models import ResultStatus, Study
from imaging.storage import study_file_bytes

EXTENSIONS = {"dicom": "dcm", "png": "png", "jpeg": "jpg"}
STATUS = {ResultStatus.SCORED: "final", ResultStatus.FAILED: "cancelled"}  # FHIR Observation
MIME = {"dicom": "application/dicom", "png": "image/png", "jpeg": "image/jpeg"}
STUDY_COLUMNS = ["id", "file", "kind", "body_part", "laterality", "view", "uploaded_at"]
RESULT_COLUMNS = [
    "study_id", "model", "model_version", "status", "confidence", "needs_review", "scores",
    "joint_scores", "finished_at",
]  # fmt: skip

REVIEW_COLUMNS = ["study_id", "kind", "joint", "action", "model", "reviewed", "reviewed_at"]


def _iso(value):
    return value.isoformat() if value else None


def _studies(patient) -> list[Study]:
    # The patient's own studies (no grant involved: this is their own export).
    return list(
        Study.objects.filter(patient=patient)
        .prefetch_related("results__reviews", "results__ra_reviews")
        .order_by("created_at")
    )


def _reviews(result) -> list[dict]:
    """A clinician's confirmations or corrections of the model's scores, kept beside them."""
    joints = [
        {
            "study_id": str(result.study_id), "kind": "joint", "joint": r.joint,
            "action": r.action, "model": {"jsn": r.model_jsn, "erosion": r.model_erosion},
            "reviewed": {"jsn": r.jsn, "erosion": r.erosion}, "reviewed_at": _iso(r.reviewed_at),
        }
        for r in result.reviews.all()
    ]  # fmt: skip
    patterns = [
        {
            "study_id": str(result.study_id), "kind": "ra_pattern", "joint": None,
            "action": r.action, "model": {"probability": r.model_probability},
            "reviewed": {"ra_pattern": r.ra_pattern}, "reviewed_at": _iso(r.reviewed_at),
        }
        for r in result.ra_reviews.all()
    ]  # fmt: skip
    return joints + patterns


def imaging_export_part(*, patient) -> ExportPart:
    studies, results, reviews, files, resources = [], [], [], {}, []
    subject = {"reference": f"Patient/{patient.public_id}"}
    for study in _studies(patient):
        name = f"radiographs/{study.pk}.{EXTENSIONS.get(study.kind, 'bin')}"
        files[name] = study_file_bytes(study=study)
        studies.append(
            {
                "id": str(study.pk), "file": name, "kind": study.kind,
                "body_part": study.body_part, "laterality": study.laterality,
                "view": study.view, "uploaded_at": _iso(study.created_at),
            }
        )  # fmt: skip
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": f"radiograph-{study.pk}",
                "status": "current",
                "subject": subject,
                "description": f"Radiograph ({study.body_part or 'body part not recorded'})",
                "content": [{"attachment": {"contentType": MIME.get(study.kind), "url": name}}],
            }
        )
        for result in sorted(study.results.all(), key=lambda r: r.created_at):
            row = {
                "study_id": str(study.pk), "model": result.bundle_name,
                "model_version": result.bundle_version, "status": result.status,
                "confidence": result.confidence, "needs_review": result.needs_review,
                "scores": result.scores, "joint_scores": result.joint_scores,
                "finished_at": _iso(result.finished_at),
            }  # fmt: skip
            results.append(row)
            reviews += _reviews(result)
            resources.append(
                {
                    "resourceType": "Observation",
                    "id": f"radiograph-result-{result.pk}",
                    "status": STATUS.get(result.status, "preliminary"),
                    "code": {"text": f"Radiograph scores by {result.bundle_name or 'a model'}"},
                    "subject": subject,
                    "derivedFrom": [{"reference": f"DocumentReference/radiograph-{study.pk}"}],
                    "valueString": json.dumps(
                        {"scores": result.scores, "joint_scores": result.joint_scores},
                        sort_keys=True,
                    ),
                }
            )
    return ExportPart(
        key="imaging",
        data={"radiographs": studies, "results": results, "reviews": reviews},
        csv_files={
            "radiographs.csv": csv_text(studies, STUDY_COLUMNS),
            "radiograph_scores.csv": csv_text(results, RESULT_COLUMNS),
            "radiograph_reviews.csv": csv_text(reviews, REVIEW_COLUMNS),
        },
        files=files,
        fhir_resources=resources,
        readme=(
            "radiographs/         your radiographs, as stored (de-identified)\n"
            "radiographs.csv      one row per radiograph; radiograph_scores.csv: their scores\n"
        ),
    )
