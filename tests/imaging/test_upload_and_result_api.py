"""/api/v1/imaging/studies/ (upload, list) and /api/v1/imaging/studies/{id}/result/."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp import DEVICE_ID_SESSION_KEY

from consent.models import AccessLogEvent
from imaging import inference, services
from imaging.joints import JOINTS
from imaging.models import JointReview, Result, Study
from imaging.training.synth import generate
from tests.factories import confirmed_totp
from tests.imaging.dicom_helpers import PHI, hand_dicom
from tests.imaging.test_input_checks import _png_header_only
from tests.personas import login_verified

pytestmark = pytest.mark.django_db(transaction=False)
URL = "/api/v1/imaging/studies/"


def _login(client, user):
    device = confirmed_totp(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _upload(api_client, patient, name, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return api_client.post(
            URL,
            {"patient": patient.public_id, "file": SimpleUploadedFile(name, data)},
            format="multipart",
        )


def _stored_files(media):
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_clinician_with_imaging_grant_uploads_and_gets_a_scored_result(
    api_client, carol_imaging, patient_alice, hand_png, eager_celery, _media,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _login(api_client, carol_imaging)
    response = _upload(
        api_client, patient_alice, "hand.png", hand_png, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202, response.content
    study = Study.objects.get(pk=response.json()["id"])
    assert study.patient == patient_alice and study.uploaded_by == carol_imaging
    # The stored file is sealed with Alice's key: no PNG signature, and it decrypts back.
    (stored,) = _stored_files(_media)
    assert not stored.read_bytes().startswith(b"\x89PNG")
    result = api_client.get(f"{URL}{study.pk}/result/")
    assert result.status_code == 200
    body = result.json()
    assert body["status"] == "scored"
    assert body["bundle_name"] == "hand_joint_scorer" and body["bundle_version"]
    assert len(body["joints"]) == 11
    assert body["joints"][0]["model"]["joint"] == "MCP1"
    assert "not for clinical use" in body["notice"]
    assert 0 <= body["scores"]["ra_pattern"]["probability"] <= 1
    assert body["ra_pattern_review"] is None
    assert body["latest_review"] is None
    services.result_review_grade(
        result=Result.objects.get(study=study),
        reviewer=carol_imaging,
        grades={j: (0, 0) for j in JOINTS},
        ra_pattern=True,
    )
    after = api_client.get(f"{URL}{study.pk}/result/").json()
    review = after["ra_pattern_review"]
    assert review["ra_pattern"] is True and review["reviewed_by"] == str(carol_imaging.public_id)
    assert review["model_probability"] == body["scores"]["ra_pattern"]["probability"]
    assert review["action"] in ("confirm", "override") and review["reviewed_at"]
    assert after["latest_review"]["kind"] == "independent"
    listing = api_client.get(URL, {"patient": patient_alice.public_id})
    assert listing.status_code == 200 and listing.json()[0]["id"] == str(study.pk)
    assert AccessLogEvent.objects.filter(patient_id=patient_alice.pk, outcome="allowed").exists()


def test_dicom_upload_is_stored_deidentified(
    api_client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):

    _login(api_client, carol_imaging)
    data = hand_dicom(generate(31).image)
    response = _upload(api_client, patient_alice, "x.dcm", data, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    study = Study.objects.get(pk=response.json()["id"])
    assert (study.modality, study.body_part, study.laterality, study.view) == (
        "DX",
        "HAND",
        "R",
        "PA",
    )
    assert study.study_date_shifted and study.study_date_shifted != "20240315"
    stored = services.study_file_bytes(study=study)
    for value in PHI.values():
        assert value.encode() not in stored


@pytest.mark.parametrize(
    "name,data,code_fragment",
    [
        ("scan.dcm", b"I am a text file pretending to be DICOM\n" * 5, "not a DICOM"),
        ("empty.png", b"", "empty"),
        ("half.dcm", None, "cannot be read"),
        ("huge.png", _png_header_only(20_000, 20_000), "36 megapixels"),
    ],
)
def test_bad_upload_gets_400_on_the_file_field_and_stores_nothing(
    api_client, carol_imaging, patient_alice, _media, name, data, code_fragment,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    if data is None:
        full = hand_dicom(generate(32).image)
        data = full[: len(full) // 3]
    _login(api_client, carol_imaging)
    response = _upload(api_client, patient_alice, name, data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "file" in response.json()
    assert code_fragment in " ".join(response.json()["file"])
    assert Study.objects.count() == 0 and Result.objects.count() == 0
    assert _stored_files(_media) == []


def test_clinician_without_imaging_grant_gets_404_and_is_logged(
    api_client, dave_diary_only, patient_alice, hand_png, django_capture_on_commit_callbacks
):
    _login(api_client, dave_diary_only)
    response = _upload(
        api_client, patient_alice, "hand.png", hand_png, django_capture_on_commit_callbacks
    )
    assert response.status_code == 404
    assert api_client.get(URL, {"patient": patient_alice.public_id}).status_code == 404
    assert Study.objects.count() == 0
    assert AccessLogEvent.objects.filter(
        actor_id=dave_diary_only.pk, patient_id=patient_alice.pk, outcome="denied"
    ).exists()


def test_other_clinician_cannot_read_a_study_result(
    api_client, carol_imaging, dave_diary_only, patient_alice, hand_png, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    _login(api_client, carol_imaging)
    study_id = _upload(
        api_client, patient_alice, "h.png", hand_png, django_capture_on_commit_callbacks
    ).json()["id"]
    other = type(api_client)()
    _login(other, dave_diary_only)
    assert other.get(f"{URL}{study_id}/result/").status_code == 404


def test_patient_and_anonymous_are_refused(api_client, patient_alice):
    assert api_client.get(URL, {"patient": patient_alice.public_id}).status_code in (401, 403)
    login_verified(api_client, patient_alice)
    assert api_client.get(URL, {"patient": patient_alice.public_id}).status_code == 403


def test_task_is_idempotent_for_a_finished_result(
    api_client, carol_imaging, patient_alice, hand_png, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip

    _login(api_client, carol_imaging)
    study_id = _upload(
        api_client, patient_alice, "h.png", hand_png, django_capture_on_commit_callbacks
    ).json()["id"]
    result = Result.objects.get(study_id=study_id)
    finished = result.finished_at
    again = inference.result_run(result_id=result.pk)  # a redelivered task
    assert again.finished_at == finished and Result.objects.count() == 1
    assert JointReview.objects.count() == 0


def test_broken_bundle_gives_a_failed_result_with_a_reason(
    api_client, carol_imaging, patient_alice, hand_png, eager_celery, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from imaging import bundles

    def broken(role, dirs=None):
        raise bundles.BundleError(
            "bundle hand_joint_scorer: metadata field review_threshold: missing"
        )

    monkeypatch.setattr(bundles, "default_for", broken)
    _login(api_client, carol_imaging)
    study_id = _upload(
        api_client, patient_alice, "h.png", hand_png, django_capture_on_commit_callbacks
    ).json()["id"]
    result = Result.objects.get(study_id=study_id)
    assert result.status == "failed"
    assert "review_threshold" in result.error
    assert result.joint_scores == [] and result.overlay_blob is None


def test_upload_of_a_non_hand_dicom_is_stored_and_flagged_not_scored(
    api_client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):
    from pydicom.data import get_testdata_file

    _login(api_client, carol_imaging)
    with open(get_testdata_file("MR_small.dcm"), "rb") as fh:
        data = fh.read()
    response = _upload(
        api_client, patient_alice, "mr.dcm", data, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202
    body = api_client.get(f"{URL}{response.json()['id']}/result/").json()
    assert body["status"] == "needs_review"
    assert "MR" in body["review_reason"]
    assert body["joints"] == []
    with pytest.raises(ValidationError, match="no model grades to accept"):
        services.result_review_accept_model(
            result=Result.objects.get(study_id=response.json()["id"]), reviewer=carol_imaging
        )


def test_upload_of_an_image_without_a_hand_is_flagged_with_the_reason_not_scored(
    api_client, carol_imaging, patient_alice, eager_celery, django_capture_on_commit_callbacks
):
    from imaging.training.synth import generate_negative, to_png_bytes

    _login(api_client, carol_imaging)
    response = _upload(
        api_client,
        patient_alice,
        "nothing.png",
        to_png_bytes(generate_negative(5).image),
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 202
    body = api_client.get(f"{URL}{response.json()['id']}/result/").json()
    assert body["status"] == "needs_review" and body["needs_review"] is True
    assert "No hand" in body["review_reason"]
    assert body["joints"] == [] and body["scores"] == {}
