"""Writes for imaging: upload, inference run, review, bundle records.

Uploads are checked completely (type from content, limits, decoding, de-identification)
before anything is written; the encrypted file goes to storage and the rows are written in one
transaction, and the file is removed again if that transaction fails, so a rejected or failed
upload leaves nothing behind. Inference runs in a Celery task that calls `result_run`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from imaging import bundles as bundles_mod
from imaging.inputs import InputError, decode_image
from imaging.joints import JOINTS
from imaging.models import (
    FINAL_STATUSES,
    RECORD_OVERLAY,
    RECORD_STUDY,
    Bundle,
    JointReview,
    RaReview,
    Result,
    ResultStatus,
    ReviewAction,
    Study,
)

logger = logging.getLogger(__name__)


def date_offset_days(patient_id: int) -> int:
    """A stable per-patient shift (-3650..-366 days) so intervals between a patient's studies
    survive de-identification while the real dates do not."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"imaging-date-shift:{patient_id}".encode(), hashlib.sha256
    ).digest()
    return -(366 + int.from_bytes(digest[:4], "big") % 3285)


def _crypto():
    from diary import crypto

    return crypto


def study_file_bytes(*, study: Study) -> bytes:
    """The decrypted de-identified file (callers have checked permission)."""
    with default_storage.open(study.blob_name, "rb") as fh:
        blob = fh.read()
    return _crypto().decrypt_bytes(
        patient_id=study.patient_id, record_type=RECORD_STUDY, record_id=str(study.pk), blob=blob
    )


def overlay_bytes(*, result: Result) -> bytes | None:
    if not result.overlay_blob:
        return None
    return _crypto().decrypt_bytes(
        patient_id=result.study.patient_id,
        record_type=RECORD_OVERLAY,
        record_id=str(result.pk),
        blob=bytes(result.overlay_blob),
    )


def study_upload(
    *, uploaded_by: User, patient: User, data: bytes, request: HttpRequest | None = None
) -> tuple[Study, Result]:
    """Check, de-identify, encrypt and store one upload; queue its inference.

    Raises ValidationError({"file": ...}) for any unreadable or over-limit file (nothing is
    stored). The caller has already checked that `uploaded_by` may add to this patient."""
    try:
        decoded = decode_image(data, date_offset_days=date_offset_days(patient.pk))
    except InputError as exc:
        raise ValidationError({"file": [ValidationError(exc.message, code=exc.code)]}) from exc
    crypto = _crypto()
    study_id = uuid.uuid4()
    crypto.ensure_patient_key(patient.pk)
    sealed = crypto.encrypt_bytes(
        patient_id=patient.pk,
        record_type=RECORD_STUDY,
        record_id=str(study_id),
        data=decoded.clean_bytes,
    )
    rows, cols = decoded.pixels.shape
    header = decoded.header
    study = Study(
        id=study_id,
        patient=patient,
        uploaded_by=uploaded_by,
        kind=decoded.kind,
        modality=header.get("modality", "")[:16],
        body_part=header.get("body_part", "")[:64],
        laterality=header.get("laterality", "")[:8],
        view=header.get("view", "")[:16],
        study_date_shifted=header.get("study_date_shifted", "")[:8],
        rows=rows,
        columns=cols,
        blob_name=f"imaging/{patient.pk}/{study_id}.bin",
        size_bytes=len(sealed),
    )
    study.full_clean()
    saved_name = default_storage.save(study.blob_name, ContentFile(sealed))
    study.blob_name = saved_name
    try:
        with transaction.atomic():
            study.save(force_insert=True)
            result = Result(study=study)
            result.full_clean()
            result.save(force_insert=True)
            _log(uploaded_by, patient.pk, f"imaging upload study={study.pk}", request)
            transaction.on_commit(lambda: _enqueue(result.pk))
    except Exception:
        default_storage.delete(saved_name)  # nothing half-stored
        raise
    return study, result


def _enqueue(result_id) -> None:
    from imaging.tasks import run_inference

    run_inference.delay(str(result_id))


def _log(actor: User, patient_id: int, what: str, request: HttpRequest | None) -> None:
    from consent.models import AccessOutcome
    from consent.services import access_log_record

    access_log_record(
        actor=actor,
        patient_id=patient_id,
        what=what,
        outcome=AccessOutcome.ALLOWED,
        request=request,
    )


def bundle_record(*, bundle: bundles_mod.Bundle) -> Bundle:
    row, _ = Bundle.objects.get_or_create(
        name=bundle.name,
        version=bundle.version,
        defaults={
            "task": bundle.meta["task"][:255],
            "role": bundle.role,
            "metadata": bundle.meta,
        },
    )
    return row


def result_run(*, result_id, scorer_bundle: str | None = None) -> Result | None:
    """Run the pipeline for one queued result. Idempotent: a final result is left alone, so a
    redelivered task (acks_late) does no harm. Every failure ends as a failed result with a
    reason; nothing else is written."""
    from imaging import pipeline

    with transaction.atomic():
        result = (
            Result.objects.select_for_update().select_related("study").filter(pk=result_id).first()
        )
        if result is None:  # the patient was erased while the task waited in the queue
            logger.info("imaging result %s no longer exists; nothing to run", result_id)
            return None
        if result.status in FINAL_STATUSES:
            return result
        result.status = ResultStatus.RUNNING
        result.started_at = timezone.now()
        result.save(update_fields=["status", "started_at"])
    study = result.study
    try:
        bundles = pipeline.Bundles.default(scorer_bundle)
        scorer_row = bundle_record(bundle=bundles.scorer)
        data = study_file_bytes(study=study)
        decoded = decode_image(data)
        # The stored DICOM header is already de-identified; the review reason is recomputed.
        analysis = pipeline.analyse(
            decoded.pixels, bundles=bundles, review_reason=decoded.review_reason
        )
    except (bundles_mod.BundleError, InputError) as exc:
        return _fail(result, str(exc))
    except Exception as exc:  # a bug or a broken graph must not leave the result "running"
        logger.exception("imaging inference failed result=%s", result.pk)
        return _fail(result, f"Inference failed: {type(exc).__name__}")
    with transaction.atomic():
        result.bundle = scorer_row
        result.bundle_name = bundles.scorer.name
        result.bundle_version = bundles.scorer.version
        result.pipeline = analysis.bundles
        result.status = (
            ResultStatus.SCORED if analysis.status == "scored" else ResultStatus.NEEDS_REVIEW
        )
        result.review_reason = analysis.review_reason or (
            "Some scores are below the calibrated confidence threshold."
            if analysis.any_review
            else ""
        )
        result.needs_review = analysis.status != "scored" or analysis.any_review
        result.scores = {"ra_pattern": analysis.ra} if analysis.ra else {}
        result.joint_scores = analysis.joints
        result.confidence = analysis.confidence
        if analysis.overlay:
            result.overlay_blob = _crypto().encrypt_bytes(
                patient_id=study.patient_id,
                record_type=RECORD_OVERLAY,
                record_id=str(result.pk),
                data=analysis.overlay,
            )
        result.finished_at = timezone.now()
        result.full_clean()
        result.save()
    return result


def patient_imaging_erase(patient: User) -> None:
    """Erasure hook (diary.services.ERASURE_HOOKS): remove the patient's imaging files from
    storage, then their studies (results and reviews cascade).

    It runs after `patient_erase` has destroyed the patient's data key, so every file is already
    unreadable; deleting them directly (not on commit) can at worst remove undecryptable bytes
    whose rows a failed erasure leaves behind, never readable data."""
    studies = list(Study.objects.filter(patient=patient).only("pk", "blob_name"))
    for study in studies:
        default_storage.delete(study.blob_name)
    Study.objects.filter(pk__in=[s.pk for s in studies]).delete()
    logger.info("imaging erased patient=%s studies=%d", patient.pk, len(studies))


def _fail(result: Result, reason: str) -> Result:
    result.status = ResultStatus.FAILED
    result.error = reason[:2000]
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "error", "finished_at"])
    return result


def joint_review_save(
    *,
    result: Result,
    reviewer: User,
    joint: str,
    jsn: int,
    erosion: int,
    request: HttpRequest | None = None,
) -> JointReview:
    """Confirm or override one joint; the model's grades are copied beside the clinician's."""
    if result.status != ResultStatus.SCORED:
        raise ValidationError({"joint": "Only a scored result can be reviewed."})
    if joint not in JOINTS:
        raise ValidationError({"joint": f"Unknown joint {joint!r}."})
    model = next((j for j in result.joint_scores if j["joint"] == joint), None)
    if model is None:
        raise ValidationError({"joint": f"The result has no score for {joint}."})
    action = (
        ReviewAction.CONFIRM
        if (model["jsn"], model["erosion"]) == (jsn, erosion) and not model["needs_review"]
        else ReviewAction.OVERRIDE
    )
    review = JointReview(
        result=result,
        joint=joint,
        action=action,
        model_jsn=model["jsn"],
        model_erosion=model["erosion"],
        jsn=jsn,
        erosion=erosion,
        reviewed_by=reviewer,
    )
    with transaction.atomic():
        review.full_clean()
        review.save()
        _log(
            reviewer, result.study.patient_id, f"imaging review {joint} result={result.pk}", request
        )
    return review


def ra_review_save(
    *,
    result: Result,
    reviewer: User,
    ra_pattern: bool,
    request: HttpRequest | None = None,
) -> RaReview:
    """Confirm or override the image-level RA pattern; the model's probability is copied beside
    the clinician's answer. A probability the model was unsure of (needs review) is never
    "confirmed": any answer to it is the clinician's own."""
    if result.status != ResultStatus.SCORED:
        raise ValidationError({"ra_pattern": "Only a scored result can be reviewed."})
    model = (result.scores or {}).get("ra_pattern")
    if not model:
        raise ValidationError({"ra_pattern": "The result has no RA-pattern probability."})
    agrees = (model["probability"] >= 0.5) == ra_pattern and not model.get("needs_review")
    review = RaReview(
        result=result,
        action=ReviewAction.CONFIRM if agrees else ReviewAction.OVERRIDE,
        model_probability=model["probability"],
        ra_pattern=ra_pattern,
        reviewed_by=reviewer,
    )
    with transaction.atomic():
        review.full_clean()
        review.save()
        _log(reviewer, result.study.patient_id, f"imaging review RA result={result.pk}", request)
    return review
