"""Writes for imaging: upload and review (the inference run is in imaging.inference).

Uploads are checked in the web process without decoding a pixel (type from content, size,
pixel limit, header; `inputs.inspect`), so one large image cannot take a web worker's memory.
The upload is then sealed with the patient's key and stored, not yet de-identified
(`Study.deidentified` false: never served, never exported); the Celery worker decodes it,
replaces it with the de-identified file and its preview, and deletes the original
(imaging.inference). The rows are written in one transaction and the file is removed again if
that transaction fails, so a rejected or failed upload leaves nothing behind.
Inference runs in a Celery task (imaging.tasks) that calls
imaging.inference.result_run; the task is queued on commit, through a late import, and the task
module never imports this one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from imaging.access import access_allowed_log
from imaging.inputs import InputError, inspect
from imaging.joints import EROSION_GRADES, JOINTS, JSN_GRADES
from imaging.models import (
    RECORD_STUDY,
    JointReview,
    RaReview,
    Result,
    ResultStatus,
    Review,
    ReviewAction,
    ReviewKind,
    Study,
)
from imaging.storage import (
    _crypto,
    date_offset_days,
    overlay_bytes,
    preview_bytes,
    study_file_bytes,
)

__all__ = [  # the file readers are re-exported for the views
    "date_offset_days",
    "overlay_bytes",
    "preview_bytes",
    "result_review_accept_model",
    "result_review_grade",
    "study_file_bytes",
    "study_upload",
]

logger = logging.getLogger(__name__)


def study_upload(
    *, uploaded_by: User, patient: User, data: bytes, request: HttpRequest | None = None
) -> tuple[Study, Result]:
    """Check, de-identify, encrypt and store one upload; queue its inference.

    Raises ValidationError({"file": ...}) for any unreadable or over-limit file (nothing is
    stored). The caller has already checked that `uploaded_by` may add to this patient."""
    try:
        inspected = inspect(data, date_offset_days=date_offset_days(patient.pk))
    except InputError as exc:
        raise ValidationError({"file": [ValidationError(exc.message, code=exc.code)]}) from exc
    crypto = _crypto()
    study_id = uuid.uuid4()
    crypto.ensure_patient_key(patient.pk)
    sealed = crypto.encrypt_bytes(
        patient_id=patient.pk,
        record_type=RECORD_STUDY,
        record_id=str(study_id),
        data=data,
    )
    study = Study(
        id=study_id,
        patient=patient,
        uploaded_by=uploaded_by,
        deidentified=False,
        kind=inspected.kind,
        rows=inspected.rows,
        columns=inspected.columns,
        blob_name=f"imaging/{patient.pk}/{study_id}.bin",
        size_bytes=len(sealed),
    )
    study.apply_header(inspected.header)
    study.full_clean()
    saved_name = default_storage.save(study.blob_name, ContentFile(sealed))
    study.blob_name = saved_name
    try:
        with transaction.atomic():
            study.save(force_insert=True)
            result = Result(study=study)
            result.full_clean()
            result.save(force_insert=True)
            access_allowed_log(uploaded_by, patient.pk, f"imaging upload study={study.pk}", request)
            transaction.on_commit(lambda: _enqueue(result.pk))
    except Exception:
        default_storage.delete(saved_name)  # nothing half-stored
        raise
    return study, result


def _enqueue(result_id) -> None:
    from imaging.tasks import run_inference

    run_inference.delay(str(result_id))


def patient_imaging_erase(patient: User) -> None:
    """Erasure hook (diary.services.ERASURE_HOOKS): remove the patient's imaging files from
    storage, then their studies (results and reviews cascade).

    It runs after `patient_erase` has destroyed the patient's data key, so every file is already
    unreadable; deleting them directly (not on commit) can at worst remove undecryptable bytes
    whose rows a failed erasure leaves behind, never readable data."""
    from imaging.mri.services import patient_mri_erase

    patient_mri_erase(patient)  # MRI volumes and series, then their studies
    studies = list(Study.objects.filter(patient=patient).only("pk", "blob_name"))
    for study in studies:
        default_storage.delete(study.blob_name)
    Study.objects.filter(pk__in=[s.pk for s in studies]).delete()
    logger.info("imaging erased patient=%s studies=%d", patient.pk, len(studies))


def _reviewable_kind(result: Result) -> str:
    """An independent grading for a scored result, a manual one for a result the model
    abstained on; nothing else can be reviewed."""
    if result.status == ResultStatus.SCORED:
        return ReviewKind.INDEPENDENT
    if result.status == ResultStatus.NEEDS_REVIEW:
        return ReviewKind.MANUAL
    if result.status == ResultStatus.FAILED:
        raise ValidationError({NON_FIELD_ERRORS: "Scoring failed for this study: upload it again."})
    raise ValidationError({NON_FIELD_ERRORS: "Scoring is still running: reload in a moment."})


def _check_grades(grades: Mapping[str, tuple[int, int]]) -> None:
    """Every joint graded once, each grade in range; one message per problem."""
    problems = []
    unknown = sorted(set(grades) - set(JOINTS))
    if unknown:
        problems.append(f"Unknown joint(s): {', '.join(unknown)}.")
    missing = [j for j in JOINTS if j not in grades]
    if missing:
        problems.append(
            f"Grade every joint in one submit; missing: {', '.join(missing)}. Nothing was saved."
        )
    for joint in JOINTS:
        if joint not in grades:
            continue
        jsn, erosion = grades[joint]
        if not _grade_ok(jsn, JSN_GRADES):
            problems.append(f"{joint}: JSN must be a whole number from 0 to {JSN_GRADES - 1}.")
        if not _grade_ok(erosion, EROSION_GRADES):
            problems.append(
                f"{joint}: erosion must be a whole number from 0 to {EROSION_GRADES - 1}."
            )
    if problems:
        raise ValidationError({"grades": problems})


def _grade_ok(value, levels: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < levels


def _save_review(
    *,
    result: Result,
    reviewer: User,
    kind: str,
    grades: Mapping[str, tuple[int, int]],
    ra_pattern: bool,
    request: HttpRequest | None,
) -> Review:
    """One transaction: the submit, one row per joint and the RA row, and the access-log event;
    any failure leaves nothing."""
    model = {j["joint"]: j for j in result.joint_scores or []}
    model_ra = (result.scores or {}).get("ra_pattern")
    with transaction.atomic():
        review = Review(result=result, kind=kind, reviewed_by=reviewer)
        review.full_clean()
        review.save()
        rows = []
        for joint in JOINTS:
            jsn, erosion = grades[joint]
            m = model.get(joint)
            same = m is not None and (m["jsn"], m["erosion"]) == (jsn, erosion)
            row = JointReview(
                result=result,
                review=review,
                joint=joint,
                action=ReviewAction.CONFIRM if same else ReviewAction.OVERRIDE,
                model_jsn=m["jsn"] if m else None,
                model_erosion=m["erosion"] if m else None,
                model_confidence=m.get("confidence") if m else None,
                model_abstained=bool(m is None or m.get("needs_review")),
                jsn=jsn,
                erosion=erosion,
                reviewed_by=reviewer,
                reviewed_at=review.reviewed_at,
            )
            row.full_clean()
            rows.append(row)
        JointReview.objects.bulk_create(rows)
        agrees = model_ra is not None and (model_ra["probability"] >= 0.5) == ra_pattern
        ra = RaReview(
            result=result,
            review=review,
            action=ReviewAction.CONFIRM if agrees else ReviewAction.OVERRIDE,
            model_probability=model_ra["probability"] if model_ra else None,
            ra_pattern=ra_pattern,
            reviewed_by=reviewer,
            reviewed_at=review.reviewed_at,
        )
        ra.full_clean()
        ra.save()
        access_allowed_log(
            reviewer,
            result.study.patient_id,
            f"imaging review {kind} result={result.pk}",
            request,
        )
    return review


def result_review_grade(
    *,
    result: Result,
    reviewer: User,
    grades: Mapping[str, tuple[int, int]],
    ra_pattern: bool | None,
    request: HttpRequest | None = None,
) -> Review:
    """The clinician's own grades of every joint and the RA pattern, in one submit: an
    independent grading of a scored result (the model's grades were shown beside, not filled
    in), or a manual grading of a result the model abstained on. Partial or out-of-range input
    raises ValidationError and saves nothing."""
    kind = _reviewable_kind(result)
    _check_grades(grades)
    if not isinstance(ra_pattern, bool):
        raise ValidationError({"ra_pattern": "Answer the RA pattern: present or absent."})
    return _save_review(
        result=result,
        reviewer=reviewer,
        kind=kind,
        grades=grades,
        ra_pattern=ra_pattern,
        request=request,
    )


def result_review_accept_model(
    *, result: Result, reviewer: User, request: HttpRequest | None = None
) -> Review:
    """The clinician's deliberate acceptance of the model's grades, recorded as such (never
    counted as an independent grading). Refused when the model abstained on anything: those
    scores have no grade to accept."""
    if result.status != ResultStatus.SCORED:
        raise ValidationError(
            {NON_FIELD_ERRORS: "There are no model grades to accept: grade this result yourself."}
        )
    model_ra = (result.scores or {}).get("ra_pattern")
    abstained = [j["joint"] for j in result.joint_scores if j.get("needs_review")]
    if model_ra is None or model_ra.get("needs_review"):
        abstained.append("RA pattern")
    if abstained:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: "The model abstained on "
                f"{', '.join(abstained)}: grade this result yourself instead."
            }
        )
    grades = {j["joint"]: (j["jsn"], j["erosion"]) for j in result.joint_scores}
    _check_grades(grades)
    return _save_review(
        result=result,
        reviewer=reviewer,
        kind=ReviewKind.ACCEPTED_MODEL,
        grades=grades,
        ra_pattern=model_ra["probability"] >= 0.5,
        request=request,
    )
