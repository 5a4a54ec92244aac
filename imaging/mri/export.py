"""The MRI part of a patient's own export (diary.export.EXPORT_PARTS): each MRI series as
stored (the de-identified DICOM files in a zip, or the normalised volume of a NIfTI upload as
an .npz), every model result (regions, grades, summary) and every clinician's review."""

from __future__ import annotations

import json

from diary.export import ExportPart, csv_text
from imaging.mri.models import (
    RECORD_MRI_SERIES,
    RECORD_MRI_VOLUME,
    MriSource,
    MriStatus,
    MriStudy,
)
from imaging.mri.storage import open_blob, read_stored, result_scores, review_grades

STATUS = {MriStatus.SCORED: "final", MriStatus.FAILED: "cancelled"}  # FHIR Observation
STUDY_COLUMNS = ["id", "file", "source", "body_part", "plane", "slices", "model", "uploaded_at"]
RESULT_COLUMNS = ["study_id", "model", "model_version", "status", "needs_review", "scores",
                  "finished_at"]  # fmt: skip
REVIEW_COLUMNS = ["study_id", "kind", "grades", "reviewed_at"]


def _iso(value):
    return value.isoformat() if value else None


def _series_file(study: MriStudy) -> tuple[str, bytes]:
    """The stored series: the de-identified DICOM files (zip), else the normalised volume."""
    if study.source == MriSource.DICOM and study.series_blob_name:
        record, blob_name, ext = RECORD_MRI_SERIES, study.series_blob_name, "zip"
    else:
        record, blob_name, ext = RECORD_MRI_VOLUME, study.volume_blob_name, "npz"
    data = open_blob(
        patient_id=study.patient_id,
        record_type=record,
        record_id=str(study.pk),
        blob=read_stored(blob_name),
    )
    return f"mri/{study.pk}.{ext}", data


def mri_export_part(*, patient) -> ExportPart:
    studies, results, reviews, files, resources = [], [], [], {}, []
    subject = {"reference": f"Patient/{patient.public_id}"}
    rows = (
        MriStudy.objects.filter(patient=patient)
        .prefetch_related("results__reviews")
        .order_by("created_at")
    )
    for study in rows:
        name, data = _series_file(study)
        files[name] = data
        studies.append(
            {
                "id": str(study.pk), "file": name, "source": study.source,
                "body_part": study.body_part, "plane": study.plane, "slices": study.slices,
                "model": study.bundle_name, "uploaded_at": _iso(study.created_at),
            }
        )  # fmt: skip
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": f"mri-{study.pk}",
                "status": "current",
                "subject": subject,
                "description": f"MRI series ({study.plane}, {study.slices} slices)",
                "content": [{"attachment": {"contentType": "application/zip"
                             if name.endswith(".zip") else "application/octet-stream",
                             "url": name}}],
            }
        )  # fmt: skip
        for result in sorted(study.results.all(), key=lambda r: r.created_at):
            scores = result_scores(result=result, patient_id=study.patient_id)
            results.append(
                {
                    "study_id": str(study.pk), "model": result.bundle_name,
                    "model_version": result.bundle_version, "status": result.status,
                    "needs_review": result.needs_review, "scores": scores,
                    "finished_at": _iso(result.finished_at),
                }
            )  # fmt: skip
            for review in sorted(result.reviews.all(), key=lambda r: r.reviewed_at):
                reviews.append(
                    {
                        "study_id": str(study.pk), "kind": review.kind,
                        "grades": review_grades(review=review, patient_id=study.patient_id),
                        "reviewed_at": _iso(review.reviewed_at),
                    }
                )  # fmt: skip
            resources.append(
                {
                    "resourceType": "Observation",
                    "id": f"mri-result-{result.pk}",
                    "status": STATUS.get(result.status, "preliminary"),
                    "code": {"text": f"MRI scores by {result.bundle_name or 'a model'}"},
                    "subject": subject,
                    "derivedFrom": [{"reference": f"DocumentReference/mri-{study.pk}"}],
                    "valueString": json.dumps(scores, sort_keys=True),
                }
            )
    return ExportPart(
        key="mri",
        data={"series": studies, "results": results, "reviews": reviews},
        csv_files={
            "mri_series.csv": csv_text(studies, STUDY_COLUMNS),
            "mri_scores.csv": csv_text(results, RESULT_COLUMNS),
            "mri_reviews.csv": csv_text(reviews, REVIEW_COLUMNS),
        },
        files=files,
        fhir_resources=resources,
        readme=(
            "mri/                 your MRI series, as stored (de-identified DICOM in a zip, or\n"
            "                     the normalised volume of a NIfTI upload as NumPy .npz)\n"
            "mri_series.csv       one row per series; mri_scores.csv, mri_reviews.csv: results\n"
        ),
    )
