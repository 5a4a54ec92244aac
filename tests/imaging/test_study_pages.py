"""The imaging pages: upload form, study page with overlay and review, images, summary block."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

from imaging.models import JointReview, RaReview, Study
from tests.imaging.review_helpers import full_grading
from tests.personas import login_verified

BANNER = "demonstration model trained on synthetic images, not for clinical use"


@pytest.fixture
def scored_study(client, carol_imaging, patient_alice, hand_png, eager_celery,
                 django_capture_on_commit_callbacks):  # fmt: skip
    login_verified(client, carol_imaging)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/imaging/patients/{patient_alice.public_id}/",
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
        assert f'id="id_jsn_{joint}"' in html
    assert "hand_joint_scorer" in html  # the bundle card link


def test_image_and_overlay_are_served_as_png(client, scored_study):
    for part in ("image.png", "overlay.png"):
        response = client.get(f"/imaging/studies/{scored_study.pk}/{part}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
        assert "no-store" in response["Cache-Control"]


def test_clinician_without_imaging_grant_gets_404_on_every_study_route(
    client, scored_study, dave_diary_only
):
    client.logout()
    login_verified(client, dave_diary_only)
    base = f"/imaging/studies/{scored_study.pk}/"
    for url in (base, base + "image.png", base + "overlay.png"):
        assert client.get(url).status_code == 404, url
    assert client.post(base + "review/", full_grading(scored_study)).status_code == 404
    assert client.post(base + "accept/", {"confirm": "on"}).status_code == 404
    assert client.get(f"/imaging/patients/{scored_study.patient.public_id}/").status_code == 404
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
        f"/imaging/patients/{patient_alice.public_id}/",
        {"file": SimpleUploadedFile("scan.dcm", b"hello, not DICOM")},
    )
    assert response.status_code == 400
    assert "not a DICOM" in response.content.decode()
    assert Study.objects.count() == 0
    assert not _media.exists() or not any(p.is_file() for p in _media.rglob("*"))


def test_summary_block_shows_confirmed_value_and_banner(client, scored_study, carol_imaging):
    report = SimpleNamespace(
        patient_id=scored_study.patient_id,
        patient_public_id=scored_study.patient.public_id,
        imaging_shared=True,
    )
    html = render_to_string("imaging/_summary.html", {"report": report})
    assert "Confirmed by a clinician: 0 of 11 joints" in html
    response = client.post(
        f"/imaging/studies/{scored_study.pk}/review/", full_grading(scored_study, ra="yes")
    )
    assert response.status_code == 302
    html = render_to_string("imaging/_summary.html", {"report": report})
    assert BANNER in html.lower()
    assert "Confirmed by a clinician: 11 of 11 joints" in html
    assert "RA pattern present (confirmed by a clinician" in html
    not_shared = render_to_string(
        "imaging/_summary.html",
        {"report": SimpleNamespace(patient_id=scored_study.patient_id, imaging_shared=False)},
    )
    assert "not part of this patient's sharing grant" in not_shared
    assert "overlay.png" not in not_shared
