"""The imaging pages: upload form, study page with overlay and review, images, summary block."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

from imaging.models import JointReview, RaReview, Result, Study
from tests.personas import login_verified

BANNER = "demonstration model trained on synthetic images, not for clinical use"


@pytest.fixture
def scored_study(client, carol_imaging, patient_alice, hand_png, eager_celery,
                 django_capture_on_commit_callbacks):  # fmt: skip
    login_verified(client, carol_imaging)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/imaging/patients/{patient_alice.pk}/",
            {"file": SimpleUploadedFile("hand.png", hand_png)},
        )
    assert response.status_code == 302
    study = Study.objects.get()
    assert response["Location"] == f"/imaging/studies/{study.pk}/"
    return study


def test_study_page_shows_banner_overlay_switch_and_joint_table(client, scored_study):
    response = client.get(f"/imaging/studies/{scored_study.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert BANNER in html.lower()
    assert 'id="overlay-toggle"' in html and "overlay.png" in html
    assert "<script" not in html.split("</main>")[0]  # no inline script in the page body
    assert 'style="' not in html
    for joint in ("MCP1", "PIP5", "WRIST"):
        assert f'id="jsn-{joint}"' in html
    assert "hand_joint_scorer" in html  # the bundle card link


def test_image_and_overlay_are_served_as_png(client, scored_study):
    for part in ("image.png", "overlay.png"):
        response = client.get(f"/imaging/studies/{scored_study.pk}/{part}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
        assert "no-store" in response["Cache-Control"]


def test_override_is_kept_beside_the_model_output_with_who_and_when(
    client, scored_study, carol_imaging
):
    result = Result.objects.get(study=scored_study)
    model = next(j for j in result.joint_scores if j["joint"] == "MCP2")
    new_jsn = (model["jsn"] + 2) % 5
    response = client.post(
        f"/imaging/studies/{scored_study.pk}/review/",
        {"joint": "MCP2", "jsn": new_jsn, "erosion": model["erosion"]},
    )
    assert response.status_code == 302
    review = JointReview.objects.get()
    assert (review.model_jsn, review.model_erosion) == (model["jsn"], model["erosion"])
    assert (review.jsn, review.action, review.reviewed_by) == (new_jsn, "override", carol_imaging)
    assert review.reviewed_at is not None
    result.refresh_from_db()
    assert next(j for j in result.joint_scores if j["joint"] == "MCP2")["jsn"] == model["jsn"]
    page = client.get(f"/imaging/studies/{scored_study.pk}/").content.decode()
    assert "Overrode the model" in page


def test_review_with_an_out_of_range_grade_is_refused(client, scored_study):
    response = client.post(
        f"/imaging/studies/{scored_study.pk}/review/", {"joint": "MCP2", "jsn": 9, "erosion": 0}
    )
    assert response.status_code == 302
    assert JointReview.objects.count() == 0


def test_ra_pattern_override_is_kept_beside_the_model_probability_with_who_and_when(
    client, scored_study, carol_imaging
):
    result = Result.objects.get(study=scored_study)
    model = result.scores["ra_pattern"]
    opposite = "no" if model["probability"] >= 0.5 else "yes"
    response = client.post(
        f"/imaging/studies/{scored_study.pk}/review/",
        {"score": "ra_pattern", "ra_pattern": opposite},
    )
    assert response.status_code == 302
    review = RaReview.objects.get()
    assert review.model_probability == model["probability"]
    assert (review.ra_pattern, review.action) == (opposite == "yes", "override")
    assert review.reviewed_by == carol_imaging and review.reviewed_at is not None
    result.refresh_from_db()
    assert result.scores["ra_pattern"] == model  # the model's output is never rewritten
    page = client.get(f"/imaging/studies/{scored_study.pk}/").content.decode()
    present = "present" if opposite == "yes" else "absent"
    assert f"Confirmed: RA pattern {present}" in page
    report = SimpleNamespace(patient_id=scored_study.patient_id, imaging_shared=True)
    html = render_to_string("imaging/_summary.html", {"report": report})
    assert f"RA pattern {present} (confirmed by a clinician" in html


def test_ra_pattern_review_with_an_unknown_answer_is_refused(client, scored_study):
    response = client.post(
        f"/imaging/studies/{scored_study.pk}/review/",
        {"score": "ra_pattern", "ra_pattern": "maybe"},
    )
    assert response.status_code == 302
    assert RaReview.objects.count() == 0


def test_clinician_without_imaging_grant_gets_404_on_every_study_route(
    client, scored_study, dave_diary_only
):
    client.logout()
    login_verified(client, dave_diary_only)
    base = f"/imaging/studies/{scored_study.pk}/"
    for url in (base, base + "image.png", base + "overlay.png"):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(base + "review/", {"joint": "MCP1", "jsn": 0, "erosion": 0}).status_code == 404
    )
    ra = {"score": "ra_pattern", "ra_pattern": "yes"}
    assert client.post(base + "review/", ra).status_code == 404
    assert client.get(f"/imaging/patients/{scored_study.patient_id}/").status_code == 404
    assert JointReview.objects.count() == 0 and RaReview.objects.count() == 0


def test_anonymous_is_sent_to_sign_in(client, scored_study):
    client.logout()
    response = client.get(f"/imaging/studies/{scored_study.pk}/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_bad_upload_form_shows_a_field_error_and_stores_nothing(
    client, carol_imaging, patient_alice, _media
):
    login_verified(client, carol_imaging)
    response = client.post(
        f"/imaging/patients/{patient_alice.pk}/",
        {"file": SimpleUploadedFile("scan.dcm", b"hello, not DICOM")},
    )
    assert response.status_code == 400
    assert "not a DICOM" in response.content.decode()
    assert Study.objects.count() == 0
    assert not _media.exists() or not any(p.is_file() for p in _media.rglob("*"))


def test_summary_block_shows_confirmed_value_and_banner(client, scored_study, carol_imaging):
    result = Result.objects.get(study=scored_study)
    model = next(j for j in result.joint_scores if j["joint"] == "PIP3")
    client.post(
        f"/imaging/studies/{scored_study.pk}/review/",
        {"joint": "PIP3", "jsn": (model["jsn"] + 1) % 5, "erosion": model["erosion"]},
    )
    report = SimpleNamespace(patient_id=scored_study.patient_id, imaging_shared=True)
    html = render_to_string("imaging/_summary.html", {"report": report})
    assert BANNER in html.lower()
    assert "Confirmed by a clinician: 1 of 11 joints" in html
    not_shared = render_to_string(
        "imaging/_summary.html",
        {"report": SimpleNamespace(patient_id=scored_study.patient_id, imaging_shared=False)},
    )
    assert "not part of this patient's sharing grant" in not_shared
    assert "overlay.png" not in not_shared
