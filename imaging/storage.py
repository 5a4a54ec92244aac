"""The encrypted files of imaging: a study's stored file and a result's saliency overlay.

Both are sealed with the patient's data key (diary/crypto.py) with the record id as associated
data. Callers have checked permission; these only read and decrypt."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.files.storage import default_storage

from imaging.models import RECORD_OVERLAY, RECORD_PREVIEW, RECORD_STUDY, Result, Study


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


def preview_bytes(*, study: Study) -> bytes | None:
    if not study.preview_blob:
        return None
    return _crypto().decrypt_bytes(
        patient_id=study.patient_id,
        record_type=RECORD_PREVIEW,
        record_id=str(study.pk),
        blob=bytes(study.preview_blob),
    )


def date_offset_days(patient_id: int) -> int:
    """A stable per-patient shift (-3650..-366 days) so intervals between a patient's studies
    survive de-identification while the real dates do not."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"imaging-date-shift:{patient_id}".encode(), hashlib.sha256
    ).digest()
    return -(366 + int.from_bytes(digest[:4], "big") % 3285)
