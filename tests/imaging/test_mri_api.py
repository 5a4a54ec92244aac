"""The MRI API: upload (several files, a zip, NIfTI), list, result and review, with the same
permissions and bad-input answers as the pages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imaging.mri.inference import mri_result_store
from imaging.mri.models import MriReview, MriStudy
from tests.imaging.mri_helpers import berlin_score, mr_series, zip_of
from tests.personas import login_verified

URL = "/api/v1/imaging/mri/studies/"


@pytest.fixture
def carol_api(api_client, carol_imaging):
    login_verified(api_client, carol_imaging)
    return api_client


def post_series(client, patient, files, bundle="spine-berlin"):
    return client.post(
        URL,
        {
            "patient": str(patient.public_id),
            "bundle": bundle,
            "files": [SimpleUploadedFile(name, data) for name, data in files],
        },
        format="multipart",
    )


@pytest.fixture
def api_study(carol_api, patient_alice, django_capture_on_commit_callbacks):
    files, _ = mr_series(10, 32, 32)
    with django_capture_on_commit_callbacks(execute=False):
        response = post_series(carol_api, patient_alice, files[::-1])  # several files, reversed
    assert response.status_code == 202, response.content
    assert response.json()["slices"] == 10 and response.json()["plane"] == "sagittal"
    study = MriStudy.objects.get(pk=response.json()["id"])
    mri_result_store(result=study.results.get(), score=berlin_score((10, 32, 32)),
                     shape=(10, 32, 32))  # fmt: skip
    return study


def test_list_and_result(carol_api, api_study, patient_alice):
    listed = carol_api.get(URL, {"patient": str(patient_alice.public_id)})
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [str(api_study.pk)]
    assert listed.json()[0]["result_status"] == "scored"
    result = carol_api.get(f"{URL}{api_study.pk}/result/")
    assert result.status_code == 200
    body = result.json()
    assert len(body["regions"]) == 23 and body["regions"][0]["region"] == "C2/C3"
    assert body["summary"]["total"] is not None and "synthetic" in body["notice"]
    assert body["latest_review"] is None


def test_bad_series_is_a_400_with_its_message(carol_api, patient_alice):
    files, _ = mr_series(8)
    response = post_series(carol_api, patient_alice, files[:3] + files[4:])
    assert response.status_code == 400
    assert "missing" in response.json()["files"][0]
    ct, _ = mr_series(4, modality="CT")
    response = post_series(carol_api, patient_alice, [("ct.zip", zip_of(ct))])
    assert response.status_code == 400 and "CT series" in response.json()["files"][0]
    response = post_series(carol_api, patient_alice, files, bundle="knee-mri")
    assert response.status_code == 400 and "bundle" in response.json()
    assert MriStudy.objects.count() == 0


def test_review_grade_and_accept(carol_api, api_study):
    url = f"{URL}{api_study.pk}/review/"
    regions = carol_api.get(f"{URL}{api_study.pk}/result/").json()["regions"]
    grades = [{"region": r["region"], "feature": r["feature"], "grade": 0} for r in regions]
    partial = carol_api.post(url, {"action": "grade", "grades": grades[:-1]}, format="json")
    assert partial.status_code == 400 and "L5/S1 (bme)" in str(partial.json())
    wrong = carol_api.post(url, {"action": "grade", "grades": grades[:-1] + [
        {"region": "L5/S1", "feature": "bme", "grade": 4}]}, format="json")  # fmt: skip
    assert wrong.status_code == 400
    assert MriReview.objects.count() == 0
    saved = carol_api.post(url, {"action": "grade", "grades": grades}, format="json")
    assert saved.status_code == 201 and saved.json()["kind"] == "independent"
    accepted = carol_api.post(url, {"action": "accept_model"}, format="json")
    assert accepted.status_code == 201 and accepted.json()["kind"] == "accepted_model"
    body = carol_api.get(f"{URL}{api_study.pk}/result/").json()
    assert body["latest_review"]["kind"] == "accepted_model"
    assert all(r["confirmed_grade"] == r["grade"] for r in body["regions"])


def test_clinician_without_imaging_grant_gets_404(api_client, api_study, dave_diary_only,
                                                  patient_alice):  # fmt: skip
    login_verified(api_client, dave_diary_only)
    assert api_client.get(URL, {"patient": str(patient_alice.public_id)}).status_code == 404
    assert api_client.get(f"{URL}{api_study.pk}/result/").status_code == 404
    response = api_client.post(f"{URL}{api_study.pk}/review/", {"action": "accept_model"},
                               format="json")  # fmt: skip
    assert response.status_code == 404
    files, _ = mr_series(4)
    assert post_series(api_client, patient_alice, files).status_code == 404
    assert MriStudy.objects.count() == 1 and MriReview.objects.count() == 0


def test_patient_gets_403(api_client, api_study, patient_alice):
    login_verified(api_client, patient_alice)
    assert api_client.get(URL, {"patient": str(patient_alice.public_id)}).status_code == 403
    assert api_client.get(f"{URL}{api_study.pk}/result/").status_code == 403
