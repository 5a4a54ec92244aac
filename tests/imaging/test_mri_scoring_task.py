"""The scoring run (Celery task -> imaging.mri.inference -> the bundle): a phantom series
uploaded through the page is scored end to end; a series the bundle refuses goes to manual
review with its message; a missing bundle fails with its message; the run is idempotent."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imaging import bundles as bundles_mod
from imaging.mri import storage
from imaging.mri.inference import mri_result_run
from imaging.mri.models import MriResult, MriStatus, MriStudy
from tests.imaging.mri_helpers import mr_series, zip_of
from tests.personas import login_verified

SPINE_BUNDLE = bundles_mod.PROJECT_BUNDLES / "spine_berlin"
needs_spine = pytest.mark.skipif(
    not SPINE_BUNDLE.is_dir(), reason="the spine-berlin bundle is not in this checkout"
)


def upload_and_run(client, patient, files, capture, bundle="spine-berlin"):
    with capture(execute=True):
        response = client.post(
            f"/imaging/mri/patients/{patient.public_id}/",
            {"bundle": bundle, "files": [SimpleUploadedFile("s.zip", zip_of(files))]},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return MriResult.objects.get()


def spine_phantom_files():
    from imaging.training import mri_synth

    phantom = mri_synth.spine("test", 7)
    files, _ = mr_series(plane="sagittal", volume=phantom.voxels, spacing=3.0,
                         pixel_spacing=(1.0, 1.0))  # fmt: skip
    return files, phantom


@needs_spine
def test_phantom_series_is_scored_end_to_end(client, carol_imaging, patient_alice, eager_celery,
                                             django_capture_on_commit_callbacks):  # fmt: skip
    login_verified(client, carol_imaging)
    files, phantom = spine_phantom_files()
    result = upload_and_run(client, patient_alice, files, django_capture_on_commit_callbacks)
    assert result.status in (MriStatus.SCORED, MriStatus.NEEDS_REVIEW), result.error
    assert result.bundle_name == "spine-berlin" and result.bundle is not None
    scores = storage.result_scores(result=result, patient_id=patient_alice.pk)
    assert [r["region"] for r in scores["regions"]][:2] == ["C2/C3", "C3/C4"]
    assert len(scores["regions"]) == 23
    # Read through DICOM (sorted, reoriented, de-identified) the phantom keeps its grades: the
    # units the model graded match the grades it was drawn with.
    graded = [(r["grade"], int(t)) for r, t in zip(scores["regions"], phantom.grades, strict=True)
              if r["grade"] is not None]  # fmt: skip
    assert len(graded) >= 20
    assert sum(g == t for g, t in graded) >= 0.9 * len(graded), graded
    saliency = np.frombuffer(
        storage.saliency_bytes(result=result, patient_id=patient_alice.pk), dtype=np.uint8
    )
    assert saliency.size == np.prod(phantom.voxels.shape[:1]) * np.prod(
        [n // storage.viewer_factor(*phantom.voxels.shape[1:]) for n in phantom.voxels.shape[1:]]
    )
    page = client.get(f"/imaging/mri/studies/{result.study_id}/").content.decode()
    assert "C2/C3" in page and "saliency.bin" in page
    assert 'href="/imaging/bundles/spine_berlin/"' in page  # the model card, linked
    card = client.get("/imaging/bundles/spine_berlin/")
    assert card.status_code == 200 and "synthetic" in card.content.decode().lower()


@needs_spine
def test_series_in_the_wrong_plane_goes_to_manual_review(
    client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):
    login_verified(client, carol_imaging)
    files, _ = mr_series(12, 64, 64, plane="coronal")
    result = upload_and_run(client, patient_alice, files, django_capture_on_commit_callbacks)
    assert result.status == MriStatus.NEEDS_REVIEW
    assert "sagittal" in result.review_reason
    page = client.get(f"/imaging/mri/studies/{result.study_id}/").content.decode()
    assert "Manual grading" in page and 'id="id_grade_22"' in page


def test_missing_bundle_fails_with_its_message(client, carol_imaging, patient_alice,
                                               eager_celery, monkeypatch, tmp_path,
                                               django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(bundles_mod, "PROJECT_BUNDLES", tmp_path)  # a site without the bundle
    login_verified(client, carol_imaging)
    files, _ = mr_series(6)
    result = upload_and_run(client, patient_alice, files, django_capture_on_commit_callbacks)
    assert result.status == MriStatus.FAILED
    assert "spine_berlin" in result.error and "not found" in result.error
    assert result.scores_blob is None and result.saliency_blob is None
    assert MriStudy.objects.count() == 1  # the series itself is kept, complete
    page = client.get(f"/imaging/mri/studies/{result.study_id}/").content.decode()
    assert "Scoring failed" in page


def test_a_final_result_is_left_alone(client, carol_imaging, patient_alice, eager_celery,
                                      monkeypatch, tmp_path,
                                      django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(bundles_mod, "PROJECT_BUNDLES", tmp_path)
    login_verified(client, carol_imaging)
    files, _ = mr_series(6)
    result = upload_and_run(client, patient_alice, files, django_capture_on_commit_callbacks)
    finished = result.finished_at
    again = mri_result_run(result_id=result.pk)
    assert again.status == MriStatus.FAILED and again.finished_at == finished
    assert mri_result_run(result_id="00000000-0000-0000-0000-000000000000") is None


def _phantom_files(anatomy: str, index: int, plane: str | None = None):
    from imaging.training import mri_synth

    phantom = (
        mri_synth.sij("test", index, plane) if anatomy == "sij" else mri_synth.hand("test", index)
    )
    files, _ = mr_series(plane=phantom.plane, volume=phantom.voxels, spacing=phantom.spacing_mm[0],
                         pixel_spacing=phantom.spacing_mm[1:])  # fmt: skip
    return files, phantom


@pytest.mark.skipif(
    not (bundles_mod.PROJECT_BUNDLES / "sij_axspa").is_dir(), reason="no sij-axspa bundle"
)
def test_sij_coronal_and_axial_phantoms_are_scored_and_combined(
    client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):
    login_verified(client, carol_imaging)
    truths = {}
    for index, plane in ((3, "coronal"), (4, "axial")):
        files, phantom = _phantom_files("sij", index, plane)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/imaging/mri/patients/{patient_alice.public_id}/",
                {"bundle": "sij-axspa", "files": [SimpleUploadedFile("s.zip", zip_of(files))]},
            )
        assert response.status_code == 302
        truths[plane] = int(phantom.grades[0])
    for study in MriStudy.objects.all():
        result = study.results.get()
        assert result.status == MriStatus.SCORED, (result.review_reason, result.error)
        scores = storage.result_scores(result=result, patient_id=patient_alice.pk)
        (region,) = scores["regions"]
        assert region["region"] == "sacroiliac joints" and region["grade"] == truths[study.plane]
    axial = MriStudy.objects.get(plane="axial")
    page = client.get(f"/imaging/mri/studies/{axial.pk}/").content.decode()
    assert "Examination" in page and "axial SpA probability 0.50" in page  # (0.0 + 1.0) / 2


@pytest.mark.skipif(
    not (bundles_mod.PROJECT_BUNDLES / "hand_mri_arthritis").is_dir(), reason="no hand bundle"
)
def test_hand_phantom_is_scored_per_region_and_feature(
    client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):
    login_verified(client, carol_imaging)
    files, phantom = _phantom_files("hand", 3)
    result = upload_and_run(client, patient_alice, files, django_capture_on_commit_callbacks,
                            bundle="hand-mri-arthritis")  # fmt: skip
    assert result.status in (MriStatus.SCORED, MriStatus.NEEDS_REVIEW), result.error
    scores = storage.result_scores(result=result, patient_id=patient_alice.pk)
    assert len(scores["regions"]) == 15  # MCP 2-5 and the wrist x three features
    truth = phantom.grades.reshape(-1)
    graded = [(r["grade"], int(t)) for r, t in zip(scores["regions"], truth, strict=True)
              if r["grade"] is not None]  # fmt: skip
    assert len(graded) >= 10 and sum(g == t for g, t in graded) >= 0.8 * len(graded)
    page = client.get(f"/imaging/mri/studies/{result.study_id}/").content.decode()
    assert "tenosynovitis" in page and 'id="id_grade_14"' in page
