"""The MRI scoring run: the Celery task (imaging.tasks.run_mri_scoring) calls `mri_result_run`.

The bundle runs through `imaging.mri.scoring.score_volume` (onnxruntime on CPU). The result is
written in one transaction at the end, encrypted (scores as JSON, saliency at the viewer's
size); every failure ends as a failed result with a reason, and nothing else is written.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from imaging import bundles as bundles_mod
from imaging.models import Bundle
from imaging.mri import storage
from imaging.mri.contract import MriScore, VolumeRejected
from imaging.mri.models import (
    MRI_FINAL,
    RECORD_MRI_SALIENCY,
    RECORD_MRI_SCORES,
    MriResult,
    MriStatus,
)

logger = logging.getLogger(__name__)


def _bundle_row(name: str, version: str) -> Bundle:
    """The bundle version seen, with its metadata when the folder is found (a card link)."""
    meta: dict = {}
    for folder in (name, name.replace("-", "_")):
        try:
            meta = bundles_mod.get_bundle(folder).meta
            break
        except (bundles_mod.BundleError, KeyError, ValueError):
            continue
    row, _ = Bundle.objects.get_or_create(
        name=name,
        version=version or "unknown",
        defaults={
            "task": str(meta.get("task", f"MRI {name}"))[:255],
            "role": str(meta.get("role", "mri"))[:32],
            "metadata": meta,
        },
    )
    return row


def mri_result_run(*, result_id) -> MriResult | None:
    """Score one queued result. Idempotent: a final result is left alone (acks_late)."""
    with transaction.atomic():
        result = (
            MriResult.objects.select_for_update()
            .select_related("study")
            .filter(pk=result_id)
            .first()
        )
        if result is None:  # the patient was erased while the task waited
            logger.info("mri result %s no longer exists; nothing to run", result_id)
            return None
        if result.status in MRI_FINAL:
            return result
        result.status = MriStatus.RUNNING
        result.started_at = timezone.now()
        result.save(update_fields=["status", "started_at"])
    study = result.study
    try:
        volume = storage.study_volume(study=study)
        from imaging.mri.scoring import score_volume

        score = score_volume(study.bundle_name, volume)
    except VolumeRejected as exc:
        return _needs_review_unscored(result, str(exc))
    except bundles_mod.BundleError as exc:
        return _fail(result, str(exc))
    except Exception as exc:  # a bug or a broken graph must not leave the result "running"
        logger.exception("mri scoring failed result=%s", result.pk)
        return _fail(result, f"Scoring failed: {type(exc).__name__}")
    return mri_result_store(result=result, score=score, shape=volume.voxels.shape)


def mri_result_store(*, result: MriResult, score: MriScore, shape: tuple[int, ...]) -> MriResult:
    """Write one bundle's output on the result, encrypted, in one transaction."""
    patient_id = result.study.patient_id
    levels_shape = _viewer_shape(shape)
    saliency = storage.saliency_for_viewer(score.saliency, levels_shape)
    with transaction.atomic():
        result.bundle = _bundle_row(score.bundle, score.version)
        result.bundle_name = score.bundle[:100]
        result.bundle_version = (score.version or "")[:32]
        result.scores_blob = storage.seal_json(
            patient_id=patient_id,
            record_type=RECORD_MRI_SCORES,
            record_id=str(result.pk),
            payload=score.as_json(),
        )
        result.saliency_blob = (
            storage.seal(
                patient_id=patient_id,
                record_type=RECORD_MRI_SALIENCY,
                record_id=str(result.pk),
                data=saliency,
            )
            if saliency is not None
            else None
        )
        result.needs_review = bool(score.abstained)
        result.status = MriStatus.SCORED
        result.review_reason = (
            (score.review_reason or "The model abstained on some regions: check them.")
            if score.abstained
            else ""
        )
        if score.abstained and all(r.abstained for r in score.regions):
            result.status = MriStatus.NEEDS_REVIEW  # nothing graded: a manual grading
        result.error = ""
        result.finished_at = timezone.now()
        result.full_clean()
        result.save()
    return result


def _viewer_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    factor = storage.viewer_factor(shape[1], shape[2])
    return (shape[0], shape[1] // factor, shape[2] // factor)


def _needs_review_unscored(result: MriResult, reason: str) -> MriResult:
    """The bundle refused the volume (wrong plane, sequence...): not scored, graded by hand."""
    result.status = MriStatus.NEEDS_REVIEW
    result.needs_review = True
    result.review_reason = f"The model could not score this series: {reason}"[:2000]
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "needs_review", "review_reason", "finished_at"])
    return result


def _fail(result: MriResult, reason: str) -> MriResult:
    result.status = MriStatus.FAILED
    result.error = reason[:2000]
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "error", "finished_at"])
    return result
