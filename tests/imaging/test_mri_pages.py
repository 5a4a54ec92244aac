"""MRI pages: upload (form), the study page with the slice viewer, the viewer's data, the
review flow (independent, accept, manual), permissions, and the clinic timeline entry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imaging.mri.inference import mri_result_store
from imaging.mri.models import MriResult, MriReview, MriStatus, MriStudy
from imaging.mri.storage import review_grades
from tests.imaging.mri_helpers import berlin_score, mr_series, zip_of
from tests.personas import login_verified

BANNER = "demonstration models trained on synthetic mri volumes, not for clinical use"


def upload(client, patient, data: bytes, name="series.zip", bundle="spine-berlin", **kw):
    return client.post(
        f"/imaging/mri/patients/{patient.public_id}/",
        {"bundle": bundle, "files": [SimpleUploadedFile(name, data)]},
        **kw,
    )


@pytest.fixture
def series_zip():
    files, _ = mr_series(12, 40, 48, plane="sagittal")
    return zip_of(files)


@pytest.fixture
def mri_study(client, carol_imaging, patient_alice, series_zip, django_capture_on_commit_callbacks):
    """Alice's spine series uploaded by Dr Carol, scoring queued (not yet run)."""
    login_verified(client, carol_imaging)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, patient_alice, series_zip)
    assert response.status_code == 302
    assert len(callbacks) == 1  # the scoring task, queued on commit
    study = MriStudy.objects.get()
    assert response["Location"] == f"/imaging/mri/studies/{study.pk}/"
    return study


def scored(study, **kw) -> MriResult:
    result = study.results.get()
    return mri_result_store(
        result=result, score=berlin_score((study.slices, study.rows, study.columns), **kw),
        shape=(study.slices, study.rows, study.columns),
    )  # fmt: skip


def test_upload_page_lists_series_and_has_the_form(client, mri_study, patient_alice):
    response = client.get(f"/imaging/mri/patients/{patient_alice.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html.lower()
    assert 'name="files"' in html and "multiple" in html and 'name="bundle"' in html
    assert "Spine MRI, sagittal, 12 slices (SAG STIR)" in html


def test_upload_of_a_ct_series_is_a_400_and_stores_nothing(client, carol_imaging, patient_alice,
                                                           _media):  # fmt: skip
    login_verified(client, carol_imaging)
    files, _ = mr_series(5, modality="CT")
    response = upload(client, patient_alice, zip_of(files))
    assert response.status_code == 400
    assert "CT series" in response.content.decode()
    assert MriStudy.objects.count() == 0 and MriResult.objects.count() == 0
    assert not _media.exists() or not any(p.is_file() for p in _media.rglob("*"))


def test_upload_without_a_model_choice_is_a_400(client, carol_imaging, patient_alice, series_zip):
    login_verified(client, carol_imaging)
    response = upload(client, patient_alice, series_zip, bundle="")
    assert response.status_code == 400
    assert "Choose the model" in response.content.decode()
    assert MriStudy.objects.count() == 0


def test_study_page_has_viewer_table_links_and_empty_grades(client, mri_study):
    scored(mri_study)
    response = client.get(f"/imaging/mri/studies/{mri_study.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html.lower()
    assert 'id="mri-canvas"' in html and 'id="mri-overlay"' in html and 'id="mri-window"' in html
    assert "mri_viewer.js" in html
    assert "<script>" not in html and 'style="' not in html  # CSP: no inline script or style
    config = json.loads(html.split('id="mri-viewer-config" type="application/json">')[1]
                        .split("</script>")[0])  # fmt: skip
    assert config["volume_url"].endswith("/volume.bin")
    assert config["saliency_url"].endswith("/saliency.bin")
    assert len(config["regions"]) == 23
    assert 'class="slice-link" data-slice="0"' in html
    assert 'id="id_grade_0"' in html and 'id="id_grade_22"' in html
    assert "selected>0<" not in html.replace('"', "")  # nothing pre-selected but "Choose"
    assert "Berlin spine total" in html


def test_volume_and_saliency_are_served_for_the_viewer(client, mri_study):
    scored(mri_study)
    response = client.get(f"/imaging/mri/studies/{mri_study.pk}/volume.bin")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "no-store" in response["Cache-Control"]
    shape = [int(v) for v in response["X-Volume-Shape"].split(",")]
    assert shape == [12, 40, 48]
    voxels = np.frombuffer(response.content, dtype="<u2")
    assert voxels.size == 12 * 40 * 48 and voxels.max() <= 4095 and voxels.max() > 3000
    presets = json.loads(response["X-Window-Presets"])
    assert len(presets) == 3 and all(p["width"] > 0 for p in presets)
    sal = client.get(f"/imaging/mri/studies/{mri_study.pk}/saliency.bin")
    assert sal.status_code == 200 and len(sal.content) == voxels.size


def test_saliency_is_404_before_scoring(client, mri_study):
    assert client.get(f"/imaging/mri/studies/{mri_study.pk}/saliency.bin").status_code == 404


@pytest.mark.parametrize("who", ["dave", "alice", "bob"])
def test_others_get_404_on_every_route(client, mri_study, dave_diary_only, patient_alice,
                                       patient_bob, who):  # fmt: skip
    scored(mri_study)
    client.logout()
    user = {"dave": dave_diary_only, "alice": patient_alice, "bob": patient_bob}[who]
    login_verified(client, user)
    base = f"/imaging/mri/studies/{mri_study.pk}/"
    for url in (base, base + "volume.bin", base + "saliency.bin",
                f"/imaging/mri/patients/{patient_alice.public_id}/"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.post(base + "review/", {}).status_code == 404
    assert client.post(base + "accept/", {"confirm": "on"}).status_code == 404
    assert MriReview.objects.count() == 0


def grading_post(study, value=1, skip=()):
    return {f"grade_{i}": value for i in range(23) if i not in skip}


def test_partial_grading_is_a_400_and_saves_nothing(client, mri_study):
    scored(mri_study)
    response = client.post(f"/imaging/mri/studies/{mri_study.pk}/review/",
                           grading_post(mri_study, skip=(4,)))  # fmt: skip
    assert response.status_code == 400
    assert "Grade every region" in response.content.decode()
    assert MriReview.objects.count() == 0


def test_independent_grading_is_saved_encrypted(client, mri_study, carol_imaging):
    result = scored(mri_study)
    response = client.post(f"/imaging/mri/studies/{mri_study.pk}/review/", grading_post(mri_study))
    assert response.status_code == 302
    review = MriReview.objects.get()
    assert review.kind == "independent" and review.reviewed_by == carol_imaging
    assert b"L5/S1" not in bytes(review.grades_blob)  # sealed
    grades = review_grades(review=review, patient_id=mri_study.patient_id)
    assert grades["summary"] == {"total": 23}
    assert {r["grade"] for r in grades["regions"]} == {1}
    assert all(r["model_grade"] is not None for r in grades["regions"])
    page = client.get(f"/imaging/mri/studies/{mri_study.pk}/").content.decode()
    assert "Graded independently" in page and "total 23" in page
    assert result.reviews.count() == 1


def test_accept_model_needs_the_box_and_is_recorded_as_such(client, mri_study):
    scored(mri_study)
    url = f"/imaging/mri/studies/{mri_study.pk}/accept/"
    assert client.post(url, {}).status_code == 400
    assert MriReview.objects.count() == 0
    assert client.post(url, {"confirm": "on"}).status_code == 302
    review = MriReview.objects.get()
    assert review.kind == "accepted_model"
    grades = review_grades(review=review, patient_id=mri_study.patient_id)
    assert all(r["grade"] == r["model_grade"] for r in grades["regions"])


def test_accept_is_refused_when_the_model_abstained(client, mri_study):
    scored(mri_study, abstain=("L1/L2",))
    page = client.get(f"/imaging/mri/studies/{mri_study.pk}/").content.decode()
    assert "abstained on L1/L2 (bme)" in page and "Abstained" in page
    response = client.post(f"/imaging/mri/studies/{mri_study.pk}/accept/", {"confirm": "on"})
    assert response.status_code == 400
    assert MriReview.objects.count() == 0


def test_manual_grading_when_the_model_refused_the_series(client, mri_study):
    from imaging.mri.inference import _needs_review_unscored

    _needs_review_unscored(mri_study.results.get(), "the series is coronal; sagittal is needed")
    page = client.get(f"/imaging/mri/studies/{mri_study.pk}/")
    html = page.content.decode()
    assert "Manual grading" in html and "sagittal is needed" in html
    assert 'id="id_grade_22"' in html
    response = client.post(f"/imaging/mri/studies/{mri_study.pk}/review/", grading_post(mri_study))
    assert response.status_code == 302
    review = MriReview.objects.get()
    assert review.kind == "manual"
    assert review.result.status == MriStatus.NEEDS_REVIEW


def test_timeline_shows_the_series_beside_radiographs(client, mri_study, patient_alice):
    scored(mri_study)
    response = client.get(f"/clinic/patients/{patient_alice.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spine MRI uploaded (sagittal, 12 slices)" in html
    assert "model: Berlin spine total" in html and "waiting for a clinician" in html
    assert f"/imaging/mri/studies/{mri_study.pk}/" in html
    client.post(f"/imaging/mri/studies/{mri_study.pk}/review/", grading_post(mri_study, 2))
    html = client.get(f"/clinic/patients/{patient_alice.public_id}/").content.decode()
    assert "Berlin spine total 46 of 69 (graded independently" in html


def test_timeline_of_a_grant_without_imaging_has_no_mri(client, mri_study, dave_diary_only,
                                                        patient_alice):  # fmt: skip
    client.logout()
    login_verified(client, dave_diary_only)
    response = client.get(f"/clinic/patients/{patient_alice.public_id}/")
    assert response.status_code == 200
    assert "Spine MRI" not in response.content.decode()


def test_more_loose_files_than_a_series_may_have_is_refused(client, carol_imaging, patient_alice,
                                                            settings):  # fmt: skip
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = settings.MRI_MAX_FILES = 20
    login_verified(client, carol_imaging)
    files = [SimpleUploadedFile(f"IM{i}.dcm", b"x") for i in range(21)]
    response = client.post(f"/imaging/mri/patients/{patient_alice.public_id}/",
                           {"bundle": "spine-berlin", "files": files})  # fmt: skip
    assert response.status_code == 400
    assert "more files than one upload may carry (at most 20)" in response.content.decode()
    assert MriStudy.objects.count() == 0


def test_too_many_files_to_the_api_is_a_json_400(client, carol_imaging, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    login_verified(client, carol_imaging)
    files = [SimpleUploadedFile(f"IM{i}.dcm", b"x") for i in range(4)]
    response = client.post("/api/v1/imaging/mri/studies/", {"files": files})
    assert response.status_code == 400
    assert "at most 3" in response.json()["detail"]


def test_the_file_limit_follows_the_series_limit():
    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES >= settings.MRI_MAX_FILES


def test_clinic_list_counts_series_waiting_for_review(client, mri_study, patient_alice):
    from imaging.selectors import results_awaiting_review

    assert results_awaiting_review(patient_ids=[patient_alice.pk]) == {}  # queued: not yet
    scored(mri_study)
    assert results_awaiting_review(patient_ids=[patient_alice.pk]) == {patient_alice.pk: 1}
    client.post(f"/imaging/mri/studies/{mri_study.pk}/review/", grading_post(mri_study))
    assert results_awaiting_review(patient_ids=[patient_alice.pk]) == {}


def _sij_study(carol, alice, plane, probability, unsure=False):
    from imaging.mri import services as mri_services
    from tests.imaging.mri_helpers import sij_score

    files, _ = mr_series(6, 24, 24, plane=plane)
    study, result = mri_services.mri_study_upload(
        uploaded_by=carol, patient=alice, files=files, bundle_name="sij-axspa"
    )
    mri_result_store(result=result, score=sij_score((6, 24, 24), plane, probability,
                                                    unsure=unsure), shape=(6, 24, 24))  # fmt: skip
    return study


def test_sij_coronal_and_axial_series_are_combined(client, carol_imaging, patient_alice,
                                                   monkeypatch):  # fmt: skip
    from imaging.mri import services as mri_services

    monkeypatch.setattr(mri_services, "_enqueue", lambda result_id: None)
    login_verified(client, carol_imaging)
    coronal = _sij_study(carol_imaging, patient_alice, "coronal", 0.9)
    html = client.get(f"/imaging/mri/studies/{coronal.pk}/").content.decode()
    assert "Examination" not in html  # no axial series yet
    axial = _sij_study(carol_imaging, patient_alice, "axial", 0.7)
    for study, partner in ((coronal, axial), (axial, coronal)):
        html = client.get(f"/imaging/mri/studies/{study.pk}/").content.decode()
        assert "axial SpA probability 0.80" in html and "axial SpA likely" in html
        assert f"/imaging/mri/studies/{partner.pk}/" in html


def test_sij_combined_answer_is_withheld_when_a_series_is_unsure(
    client, carol_imaging, patient_alice, monkeypatch
):
    from imaging.mri import services as mri_services

    monkeypatch.setattr(mri_services, "_enqueue", lambda result_id: None)
    login_verified(client, carol_imaging)
    _sij_study(carol_imaging, patient_alice, "coronal", 0.9)
    axial = _sij_study(carol_imaging, patient_alice, "axial", 0.55, unsure=True)
    html = client.get(f"/imaging/mri/studies/{axial.pk}/").content.decode()
    assert "withheld: a series was unsure" in html
