"""Writes for MRI: upload and review (the scoring run is in imaging.mri.inference).

An upload is read, checked and de-identified in the web process (imaging.mri.volume), within
the MRI_MAX_* limits that bound its memory, so every bad series gets its message at once (a 400)
and nothing is stored for it. The normalised volume and the de-identified series are sealed with
the patient's key and stored; the rows are written in one transaction, and the stored files are
removed again if that transaction fails. Scoring runs in a Celery task (imaging.tasks), queued
on commit through a late import.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from imaging.access import access_allowed_log
from imaging.inputs import InputError
from imaging.mri import storage
from imaging.mri.contract import (
    BERLIN_MAX_GRADE,
    BERLIN_UNITS,
    HAND_MRI_ARTHRITIS,
    MRI_BUNDLES,
    SIJ_AXSPA,
    SPINE_BERLIN,
)
from imaging.mri.models import (
    RECORD_MRI_REVIEW,
    RECORD_MRI_SERIES,
    RECORD_MRI_VOLUME,
    MriResult,
    MriReview,
    MriReviewKind,
    MriStatus,
    MriStudy,
)
from imaging.mri.volume import read_series
from imaging.storage import date_offset_days


def mri_study_upload(
    *,
    uploaded_by: User,
    patient: User,
    files: list[tuple[str, bytes]],
    bundle_name: str,
    request: HttpRequest | None = None,
) -> tuple[MriStudy, MriResult]:
    """Read, check, de-identify, encrypt and store one series; queue its scoring.

    Raises ValidationError({"files": ...} or {"bundle": ...}); nothing is stored then. The caller
    has checked that `uploaded_by` may add to this patient's imaging."""
    if bundle_name not in MRI_BUNDLES:
        raise ValidationError(
            {"bundle": f"Choose one of the MRI models: {', '.join(MRI_BUNDLES)}."}
        )
    try:
        read = read_series(files, date_offset_days=date_offset_days(patient.pk))
    except InputError as exc:
        raise ValidationError({"files": [ValidationError(exc.message, code=exc.code)]}) from exc
    del files
    study_id = uuid.uuid4()
    volume = storage.seal(
        patient_id=patient.pk,
        record_type=RECORD_MRI_VOLUME,
        record_id=str(study_id),
        data=storage.pack_volume(read.volume),
    )
    series = (
        storage.seal(
            patient_id=patient.pk,
            record_type=RECORD_MRI_SERIES,
            record_id=str(study_id),
            data=storage.series_zip(read.clean_files),
        )
        if read.clean_files
        else b""
    )
    shape = read.volume.voxels.shape
    study = MriStudy(
        id=study_id,
        patient=patient,
        uploaded_by=uploaded_by,
        bundle_name=bundle_name,
        source=read.source,
        modality=read.header.get("modality", "")[:16],
        body_part=read.header.get("body_part", "")[:64],
        series_description=read.header.get("series_description", "")[:64],
        study_date_shifted=read.header.get("study_date_shifted", "")[:8],
        plane=read.volume.plane,
        slices=shape[0],
        rows=shape[1],
        columns=shape[2],
        spacing_mm=list(read.volume.spacing_mm),
        files=len(read.clean_files),
        volume_blob_name=f"imaging/{patient.pk}/mri-{study_id}.vol",
        series_blob_name=f"imaging/{patient.pk}/mri-{study_id}.series" if series else "",
        size_bytes=len(volume) + len(series),
    )
    study.full_clean()
    saved: list[str] = []
    try:
        saved.append(default_storage.save(study.volume_blob_name, ContentFile(volume)))
        study.volume_blob_name = saved[-1]
        if series:
            saved.append(default_storage.save(study.series_blob_name, ContentFile(series)))
            study.series_blob_name = saved[-1]
        with transaction.atomic():
            study.save(force_insert=True)
            result = MriResult(study=study)
            result.full_clean()
            result.save(force_insert=True)
            access_allowed_log(
                uploaded_by, patient.pk, f"imaging mri upload study={study.pk}", request
            )
            transaction.on_commit(lambda: _enqueue(result.pk))
    except Exception:
        for name in saved:  # nothing half-stored
            default_storage.delete(name)
        raise
    return study, result


def _enqueue(result_id) -> None:
    from imaging.tasks import run_mri_scoring

    run_mri_scoring.delay(str(result_id))


def patient_mri_erase(patient: User) -> None:
    """Erasure: remove the patient's MRI files from storage, then their studies (results and
    reviews cascade). Runs after the data key is destroyed, as imaging's radiograph erasure."""
    studies = list(MriStudy.objects.filter(patient=patient))
    for study in studies:
        for name in (study.volume_blob_name, study.series_blob_name):
            if name:
                default_storage.delete(name)
    MriStudy.objects.filter(pk__in=[s.pk for s in studies]).delete()


# --- Review ---------------------------------------------------------------------------------


def _reviewable_kind(result: MriResult) -> str:
    if result.status == MriStatus.SCORED:
        return MriReviewKind.INDEPENDENT
    if result.status == MriStatus.NEEDS_REVIEW:
        return MriReviewKind.MANUAL
    if result.status == MriStatus.FAILED:
        raise ValidationError(
            {NON_FIELD_ERRORS: "Scoring failed for this series: upload it again."}
        )
    raise ValidationError({NON_FIELD_ERRORS: "Scoring is still running: reload in a moment."})


def region_levels(region: dict) -> int:
    """How many grades a region has: the model's probabilities over its grades (a binary call,
    as SIJ axial SpA, has two)."""
    return max(2, len(region.get("probabilities") or ()) or 4)


def region_key(region: dict) -> tuple[str, str]:
    """A region and its feature name one grade (hand MRI grades several features per region)."""
    return (region["region"], region["feature"])


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]} ({key[1]})"


def _check_grades(regions: list[dict], grades: Mapping[tuple[str, str], object]) -> None:
    problems = []
    keys = [region_key(r) for r in regions]
    unknown = sorted(set(grades) - set(keys))
    if unknown:
        problems.append(f"Unknown region(s): {', '.join(_label(k) for k in unknown)}.")
    missing = [k for k in keys if k not in grades]
    if missing:
        problems.append(
            f"Grade every region in one submit; missing: {', '.join(_label(k) for k in missing)}."
            " Nothing was saved."
        )
    for region in regions:
        key = region_key(region)
        value = grades.get(key)
        if key in grades and not (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value < region_levels(region)
        ):
            problems.append(
                f"{_label(key)}: the grade must be a whole number from 0 to "
                f"{region_levels(region) - 1}."
            )
    if problems:
        raise ValidationError({"grades": problems})


def _save_review(
    *,
    result: MriResult,
    reviewer: User,
    kind: str,
    regions: list[dict],
    grades: Mapping[tuple[str, str], int],
    request: HttpRequest | None,
) -> MriReview:
    patient_id = result.study.patient_id
    rows = [
        {
            "region": r["region"],
            "feature": r["feature"],
            "grade": grades[region_key(r)],
            "model_grade": r["grade"],
            "model_abstained": r["grade"] is None,
            "action": "confirm" if r["grade"] == grades[region_key(r)] else "override",
        }
        for r in regions
    ]
    payload = {"regions": rows, "summary": summary_of(result.study.bundle_name, rows)}
    with transaction.atomic():
        review = MriReview(
            result=result,
            kind=kind,
            reviewed_by=reviewer,
            grades_blob=storage.seal_json(
                patient_id=patient_id,
                record_type=RECORD_MRI_REVIEW,
                record_id=str(result.pk),
                payload=payload,
            ),
        )
        review.full_clean()
        review.save()
        access_allowed_log(
            reviewer, patient_id, f"imaging mri review {kind} result={result.pk}", request
        )
    return review


def summary_of(bundle_name: str, rows: list[dict]) -> dict:
    """The clinician's summary figure from their grades: the Berlin total (0-69) for spine;
    the largest grade per feature otherwise."""
    if bundle_name == SPINE_BERLIN:
        return {"total": sum(int(r["grade"]) for r in rows)}
    out: dict[str, int] = {}
    for r in rows:
        out[r["feature"]] = max(out.get(r["feature"], 0), int(r["grade"]))
    return out


# The regions graded by hand when the model gave none (it refused the series or was not
# found): the bundle's own regions where its metadata lists them, else the reference bundles'.
MANUAL_REGIONS = {
    SPINE_BERLIN: [(unit, "bme", BERLIN_MAX_GRADE + 1) for unit in BERLIN_UNITS],
    SIJ_AXSPA: [("sacroiliac joints", "axspa", 2)],
    HAND_MRI_ARTHRITIS: [
        (region, feature, 4)
        for region in ("MCP2", "MCP3", "MCP4", "MCP5", "wrist")
        for feature in ("synovitis", "tenosynovitis", "osteitis")
    ],
}


def _bundle_regions(bundle_name: str) -> list[tuple[str, str, int]] | None:
    if bundle_name != HAND_MRI_ARTHRITIS:
        return None
    try:
        from imaging.mri.scoring import load

        mri = load(bundle_name).meta["mri"]
        return [(r, f, 4) for r in mri["regions"] for f in mri["features"]]
    except Exception:  # noqa: BLE001 - no bundle, or one without the list: the reference list
        return None


def manual_regions(bundle_name: str) -> list[dict]:
    regions = _bundle_regions(bundle_name) or MANUAL_REGIONS.get(bundle_name, [])
    return [
        {
            "region": region,
            "feature": feature,
            "grade": None,
            "probabilities": [0.0] * levels,
            "confidence": 0.0,
            "slices": [0, 0],
        }
        for region, feature, levels in regions
    ]


def model_regions(result: MriResult) -> list[dict]:
    """The model's regions (grade None where it abstained); the manual list when it gave none."""
    scores = storage.result_scores(result=result, patient_id=result.study.patient_id) or {}
    regions = list(scores.get("regions") or [])
    return regions or manual_regions(result.study.bundle_name)


def mri_review_grade(
    *,
    result: MriResult,
    reviewer: User,
    grades: Mapping[tuple[str, str], object],
    request: HttpRequest | None = None,
) -> MriReview:
    """The clinician's own grade of every region in one submit: an independent grading of a
    scored result (the model's grades shown beside, never filled in), or a manual one where the
    model abstained. Partial or out-of-range input raises ValidationError and saves nothing."""
    kind = _reviewable_kind(result)
    regions = model_regions(result)
    if not regions:
        raise ValidationError({NON_FIELD_ERRORS: "The model listed no regions to grade."})
    _check_grades(regions, grades)
    return _save_review(
        result=result,
        reviewer=reviewer,
        kind=kind,
        regions=regions,
        grades={k: int(v) for k, v in grades.items()},  # type: ignore[call-overload]
        request=request,
    )


def mri_review_accept_model(
    *, result: MriResult, reviewer: User, request: HttpRequest | None = None
) -> MriReview:
    """The clinician's deliberate acceptance of the model's grades, recorded as such. Refused
    when the model abstained on anything: those regions have no grade to accept."""
    if result.status != MriStatus.SCORED:
        raise ValidationError(
            {NON_FIELD_ERRORS: "There are no model grades to accept: grade this series yourself."}
        )
    regions = model_regions(result)
    abstained = [r["region"] for r in regions if r["grade"] is None]
    if abstained or not regions:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: "The model abstained on "
                f"{', '.join(abstained) or 'this series'}: grade it yourself instead."
            }
        )
    return _save_review(
        result=result,
        reviewer=reviewer,
        kind=MriReviewKind.ACCEPTED_MODEL,
        regions=regions,
        grades={region_key(r): int(r["grade"]) for r in regions},
        request=request,
    )
