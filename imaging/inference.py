"""Writes of the inference run: the Celery task (imaging.tasks) calls `result_run`.

Kept apart from imaging.services so that the upload service can queue the task and the task
can call this module without an import circle (services -> tasks -> inference)."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from imaging import bundles as bundles_mod
from imaging import pipeline
from imaging.inputs import InputError, decode_image
from imaging.models import (
    FINAL_STATUSES,
    RECORD_OVERLAY,
    RECORD_PREVIEW,
    RECORD_STUDY,
    Bundle,
    Result,
    ResultStatus,
    Study,
)
from imaging.storage import _crypto, date_offset_days, study_file_bytes

logger = logging.getLogger(__name__)


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
        decoded = _decoded_study(study)
    except InputError as exc:
        if not study.deidentified:
            _discard_upload(study)  # nothing identifiable is kept of an unreadable upload
        return _fail(result, str(exc))
    except Exception as exc:
        logger.exception("imaging decode failed result=%s", result.pk)
        return _fail(result, f"The image could not be read: {type(exc).__name__}")
    try:
        bundles = pipeline.Bundles.default(scorer_bundle)
        scorer_row = bundle_record(bundle=bundles.scorer)
        # The stored DICOM header is already de-identified; the review reason is recomputed.
        analysis = pipeline.analyse(
            decoded.pixels, bundles=bundles, review_reason=decoded.review_reason
        )
    except bundles_mod.BundleError as exc:
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


def _decoded_study(study: Study):
    """Decode the stored file; an upload still as received is de-identified first, and the
    stored file replaced by the de-identified one (with its preview) before anything else."""
    data = study_file_bytes(study=study)
    if study.deidentified:
        return decode_image(data)
    decoded = decode_image(data, date_offset_days=date_offset_days(study.patient_id))
    del data
    _store_deidentified(study, decoded)
    return decoded


def _store_deidentified(study: Study, decoded) -> None:
    crypto = _crypto()
    sealed = crypto.encrypt_bytes(
        patient_id=study.patient_id,
        record_type=RECORD_STUDY,
        record_id=str(study.pk),
        data=decoded.clean_bytes,
    )
    preview = crypto.encrypt_bytes(
        patient_id=study.patient_id,
        record_type=RECORD_PREVIEW,
        record_id=str(study.pk),
        data=pipeline.preview_png(decoded.pixels),
    )
    raw_name = study.blob_name
    clean_name = default_storage.save(
        f"imaging/{study.patient_id}/{study.pk}-deid.bin", ContentFile(sealed)
    )
    try:
        with transaction.atomic():
            locked = Study.objects.select_for_update().get(pk=study.pk)
            if locked.deidentified:  # another delivery of this task got here first
                default_storage.delete(clean_name)
                study.refresh_from_db()
                return
            study.deidentified = True
            study.blob_name = clean_name
            study.size_bytes = len(sealed)
            study.preview_blob = preview
            if decoded.header:
                study.apply_header(decoded.header)
            study.save()
            transaction.on_commit(lambda: default_storage.delete(raw_name))
    except Exception:
        default_storage.delete(clean_name)
        raise


def _discard_upload(study: Study) -> None:
    default_storage.delete(study.blob_name)
    Study.objects.filter(pk=study.pk).update(size_bytes=0)


def _fail(result: Result, reason: str) -> Result:
    result.status = ResultStatus.FAILED
    result.error = reason[:2000]
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "error", "finished_at"])
    return result
