"""An MRI series at rest: every DICOM file de-identified (tags, private tags, sequences, pixel
data rebuilt), the volume and the series sealed with the patient's key (no planted text in any
stored byte), blobs bound to their study, scores encrypted, and erasure removing the files."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage

from diary import crypto
from diary import services as diary_services
from imaging.mri import services, storage
from imaging.mri.inference import mri_result_store
from imaging.mri.models import RECORD_MRI_SERIES, RECORD_MRI_VOLUME, MriStudy
from tests.imaging.mri_helpers import PLANTED, berlin_score, mr_series, nifti_bytes, zip_of

pytestmark = pytest.mark.django_db


def stored_files(media):
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


@pytest.fixture
def study(carol_imaging, patient_alice, django_capture_on_commit_callbacks):
    files, _ = mr_series(6, 24, 28)
    with django_capture_on_commit_callbacks(execute=False):
        study, _ = services.mri_study_upload(
            uploaded_by=carol_imaging,
            patient=patient_alice,
            files=[("series.zip", zip_of(files))],
            bundle_name="spine-berlin",
        )
    return study


def series_files(study: MriStudy) -> list[bytes]:
    data = storage.open_blob(
        patient_id=study.patient_id,
        record_type=RECORD_MRI_SERIES,
        record_id=str(study.pk),
        blob=storage.read_stored(study.series_blob_name),
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [archive.read(name) for name in archive.namelist()]


def test_every_stored_file_is_de_identified(study):
    files = series_files(study)
    assert len(files) == 6 == study.files
    series_uids = set()
    for index, data in enumerate(files):
        for text in PLANTED:
            assert text.encode() not in data, (index, text)
        ds = pydicom.dcmread(io.BytesIO(data))
        assert "PatientName" not in ds and "PatientID" not in ds
        assert "OtherPatientIDsSequence" not in ds and "RequestAttributesSequence" not in ds
        assert not any(elem.tag.is_private for elem in ds)
        sequences = [e.keyword for e in ds if e.VR == "SQ"]
        assert sequences == ["DeidentificationMethodCodeSequence"]
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.StudyInstanceUID != "1.2.826.0.1.3680043.8.498.1"
        assert ds.SeriesDescription == "SAG STIR"  # sequence words only: the name is gone
        assert ds.StudyDate != "20240315"  # shifted
        assert ds.InstanceNumber == index + 1
        assert ds.pixel_array.shape == (24, 28)
        series_uids.add(ds.SeriesInstanceUID)
    assert len(series_uids) == 1  # one new series for all the slices


def test_stored_bytes_hold_no_planted_text_and_no_clear_image(study, _media):
    on_disk = stored_files(_media)
    assert len(on_disk) == 2  # the volume and the series
    for path in on_disk:
        raw = path.read_bytes()
        for text in PLANTED + ("SAG STIR", "DICM", "voxels"):
            assert text.encode() not in raw, (path.name, text)
    assert study.volume_blob_name.endswith(".vol") and study.size_bytes > 0


def test_volume_round_trips_and_is_bound_to_its_study(study, patient_bob):
    volume = storage.study_volume(study=study)
    assert volume.voxels.shape == (6, 24, 28) and volume.plane == "sagittal"
    assert volume.spacing_mm == (4.0, 0.8, 0.8)
    blob = storage.read_stored(study.volume_blob_name)
    with pytest.raises(crypto.DecryptionError):  # moved to another record: refused
        storage.open_blob(patient_id=study.patient_id, record_type=RECORD_MRI_VOLUME,
                          record_id="another-study", blob=blob)  # fmt: skip
    crypto.ensure_patient_key(patient_bob.pk)
    with pytest.raises(crypto.DecryptionError):  # under another patient's key: refused
        storage.open_blob(patient_id=patient_bob.pk, record_type=RECORD_MRI_VOLUME,
                          record_id=str(study.pk), blob=blob)  # fmt: skip


def test_scores_and_saliency_are_encrypted(study):
    result = mri_result_store(
        result=study.results.get(), score=berlin_score((6, 24, 28)), shape=(6, 24, 28)
    )
    result.refresh_from_db()
    assert b"L5/S1" not in bytes(result.scores_blob) and b"bme" not in bytes(result.scores_blob)
    scores = storage.result_scores(result=result, patient_id=study.patient_id)
    assert len(scores["regions"]) == 23 and scores["bundle"] == "spine-berlin"
    sal = np.frombuffer(storage.saliency_bytes(result=result, patient_id=study.patient_id),
                        dtype=np.uint8)  # fmt: skip
    assert sal.size == 6 * 24 * 28 and sal.max() == 255 and sal.min() == 0


def test_nifti_upload_stores_the_volume_only(carol_imaging, patient_alice, _media,
                                             django_capture_on_commit_callbacks):  # fmt: skip
    data = np.arange(20 * 24 * 6, dtype=np.int16).reshape(20, 24, 6)
    with django_capture_on_commit_callbacks(execute=False):
        study, _ = services.mri_study_upload(
            uploaded_by=carol_imaging,
            patient=patient_alice,
            files=[("v.nii.gz", nifti_bytes(data, gz=True))],
            bundle_name="hand-mri-arthritis",
        )
    assert study.source == "nifti" and study.series_blob_name == "" and study.files == 0
    assert len(stored_files(_media)) == 1
    assert storage.study_volume(study=study).voxels.shape == (6, 24, 20)


def test_failed_transaction_leaves_no_file(carol_imaging, patient_alice, _media, monkeypatch):
    from imaging.mri import services as mri_services

    def broken(*args, **kwargs):
        raise RuntimeError("access log down")

    monkeypatch.setattr(mri_services, "access_allowed_log", broken)
    files, _ = mr_series(4)
    with pytest.raises(RuntimeError):
        services.mri_study_upload(uploaded_by=carol_imaging, patient=patient_alice,
                                  files=files, bundle_name="spine-berlin")  # fmt: skip
    assert MriStudy.objects.count() == 0 and stored_files(_media) == []


def test_erasure_removes_the_series_files(study, patient_alice, _media):
    assert len(stored_files(_media)) == 2
    diary_services.patient_erase(patient=patient_alice)
    assert MriStudy.objects.count() == 0
    assert stored_files(_media) == []
    assert not default_storage.exists(study.volume_blob_name)
