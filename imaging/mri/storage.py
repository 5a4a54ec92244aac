"""The encrypted blobs of an MRI study: packing a volume, sealing it with the patient's key,
and the viewer's copy of it.

Every blob is sealed with the patient's data key (diary/crypto.py) with its record type and the
record id as associated data, so a blob cannot be moved to another study or patient unnoticed.
Callers have checked permission; these only pack, seal, read and open."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np
from django.core.files.storage import default_storage

from imaging.mri.contract import Volume
from imaging.mri.models import (
    RECORD_MRI_REVIEW,
    RECORD_MRI_SALIENCY,
    RECORD_MRI_SCORES,
    RECORD_MRI_VOLUME,
    MriResult,
    MriReview,
    MriStudy,
)

VIEWER_MAX_PX = 256  # the viewer's in-plane size: enough to read, small enough to send
VIEWER_LEVELS = 4095  # the viewer's voxels are 12-bit (uint16 0..4095)


def _crypto():
    from diary import crypto

    return crypto


def pack_volume(volume: Volume) -> bytes:
    """A compressed npz: int16 voxels when they are whole numbers in range (most MRI), else
    float32; the geometry beside them. Loaded with allow_pickle=False."""
    voxels = volume.voxels
    rounded = np.rint(voxels)
    if np.array_equal(rounded, voxels) and voxels.min() >= -32768 and voxels.max() <= 32767:
        voxels = rounded.astype(np.int16)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        voxels=voxels,
        spacing_mm=np.array(volume.spacing_mm, dtype=np.float64),
        meta=np.array([volume.plane, volume.modality, volume.series_description, volume.body_part]),
    )
    return buf.getvalue()


def unpack_volume(data: bytes) -> Volume:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        plane, modality, description, body_part = (str(v) for v in npz["meta"])
        return Volume(
            voxels=npz["voxels"].astype(np.float32),
            spacing_mm=tuple(float(v) for v in npz["spacing_mm"]),  # type: ignore[arg-type]
            plane=plane,
            modality=modality,
            series_description=description,
            body_part=body_part,
        )


def series_zip(files: list[bytes]) -> bytes:
    """The de-identified DICOM files, in slice order, as one zip (stored, never served)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, data in enumerate(files):
            archive.writestr(f"slice{index + 1:04d}.dcm", data)
    return buf.getvalue()


def seal(*, patient_id: int, record_type: str, record_id: str, data: bytes) -> bytes:
    crypto = _crypto()
    crypto.ensure_patient_key(patient_id)
    return crypto.encrypt_bytes(
        patient_id=patient_id, record_type=record_type, record_id=record_id, data=data
    )


def seal_json(*, patient_id: int, record_type: str, record_id: str, payload: Any) -> bytes:
    crypto = _crypto()
    crypto.ensure_patient_key(patient_id)
    return crypto.encrypt_json(
        patient_id=patient_id, record_type=record_type, record_id=record_id, payload=payload
    )


def open_blob(*, patient_id: int, record_type: str, record_id: str, blob: bytes) -> bytes:
    return _crypto().decrypt_bytes(
        patient_id=patient_id, record_type=record_type, record_id=record_id, blob=bytes(blob)
    )


def read_stored(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def study_volume(*, study: MriStudy) -> Volume:
    """The decrypted normalised volume (callers have checked permission)."""
    data = open_blob(
        patient_id=study.patient_id,
        record_type=RECORD_MRI_VOLUME,
        record_id=str(study.pk),
        blob=read_stored(study.volume_blob_name),
    )
    return unpack_volume(data)


def result_scores(*, result: MriResult, patient_id: int) -> dict[str, Any] | None:
    """The model's output (MriScore.as_json()), decrypted; None before scoring."""
    if not result.scores_blob:
        return None
    return _crypto().decrypt_json(
        patient_id=patient_id,
        record_type=RECORD_MRI_SCORES,
        record_id=str(result.pk),
        blob=bytes(result.scores_blob),
    )


def review_grades(*, review: MriReview, patient_id: int) -> dict[str, Any]:
    return _crypto().decrypt_json(
        patient_id=patient_id,
        record_type=RECORD_MRI_REVIEW,
        record_id=str(review.result_id),
        blob=bytes(review.grades_blob),
    )


# --- The viewer's copy --------------------------------------------------------------------


def viewer_factor(rows: int, columns: int) -> int:
    return max(1, -(-max(rows, columns) // VIEWER_MAX_PX))


def _shrink(voxels: np.ndarray, factor: int) -> np.ndarray:
    """Block means of factor x factor pixels in each slice (slices are kept: the table's slice
    links stay right)."""
    if factor == 1:
        return voxels.astype(np.float32, copy=False)
    s, r, c = voxels.shape
    r2, c2 = r // factor * factor, c // factor * factor
    cut = voxels[:, :r2, :c2].astype(np.float32, copy=False)
    return cut.reshape(s, r2 // factor, factor, c2 // factor, factor).mean(axis=(2, 4))


def viewer_volume(volume: Volume) -> tuple[np.ndarray, dict]:
    """uint16 voxels (0..4095 over the 0.5th..99.5th percentile) at <= 256 px, and the window
    presets in those units; the presets are the same for every slice so scrolling is stable."""
    small = _shrink(volume.voxels, viewer_factor(*volume.voxels.shape[1:]))
    lo, hi = np.percentile(small, [0.5, 99.5]) if small.size else (0.0, 1.0)
    scale = VIEWER_LEVELS / (hi - lo) if hi > lo else 0.0
    levels = np.clip((small - lo) * scale, 0, VIEWER_LEVELS).astype(np.uint16)
    p50, p99 = (float(v) for v in np.percentile(levels, [50, 99]))
    presets = [
        {"name": "Auto (whole volume)", "center": VIEWER_LEVELS / 2, "width": VIEWER_LEVELS},
        {
            "name": "Bright signal (oedema)",
            "center": round((p50 + p99) / 2 + (p99 - p50) / 4),
            "width": max(64, round(p99 - p50)),
        },
        {"name": "Anatomy (narrow)", "center": round(p50), "width": max(64, round(p99 / 2))},
    ]
    return levels, {"shape": list(levels.shape), "presets": presets}


def saliency_for_viewer(saliency: np.ndarray | None, shape: tuple[int, ...]) -> bytes | None:
    """The saliency map (0-1, the volume's shape) at the viewer's size as uint8 bytes."""
    if saliency is None:
        return None
    sal = np.asarray(saliency, dtype=np.float32)
    if sal.ndim != 3:
        return None
    small = _shrink(sal, viewer_factor(*sal.shape[1:]))
    if small.shape != tuple(shape):
        return None
    return np.clip(np.rint(small * 255), 0, 255).astype(np.uint8).tobytes()


def saliency_bytes(*, result: MriResult, patient_id: int) -> bytes | None:
    if not result.saliency_blob:
        return None
    return open_blob(
        patient_id=patient_id,
        record_type=RECORD_MRI_SALIENCY,
        record_id=str(result.pk),
        blob=bytes(result.saliency_blob),
    )
