"""Imaging results on the pre-appointment summary (page and API), only where the grant covers
imaging. The rows are made directly: scoring itself is the imaging app's business and tests."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.consent.conftest import make_grant
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

imaging_models = pytest.importorskip("imaging.models")


def _scored_study(patient, clinician):
    study = imaging_models.Study.objects.create(
        patient=patient,
        uploaded_by=clinician,
        kind="png",
        body_part="HAND",
        rows=512,
        columns=512,
        blob_name=f"test/{uuid.uuid4()}.bin",
        size_bytes=1024,
    )
    result = imaging_models.Result.objects.create(
        study=study,
        status="scored",
        confidence=0.9,
        scores={"ra_pattern": {"probability": 0.2, "needs_review": False}},
        joint_scores=[
            {"joint": "MCP2", "jsn": 1, "erosion": 0, "needs_review": False},
            {"joint": "PIP3", "jsn": 2, "erosion": 1, "needs_review": True},
            {"joint": "WRIST", "jsn": 0, "erosion": 0, "needs_review": False},
        ],
    )
    imaging_models.JointReview.objects.create(
        result=result,
        joint="WRIST",
        action="override",
        model_jsn=0,
        model_erosion=0,
        jsn=3,
        erosion=2,
        reviewed_by=clinician,
    )
    return study


def test_summary_api_lists_imaging_results_when_the_grant_covers_imaging(
    api_client, patient_alice, patient_bob, carol_verified
):
    make_grant(patient_alice, carol_verified, ("diary", "imaging"))
    study = _scored_study(patient_alice, carol_verified)
    _scored_study(patient_bob, carol_verified)  # another patient's study never appears
    login_verified(api_client, carol_verified)

    data = api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id])).json()

    (row,) = data["imaging"]
    assert row["study_id"] == str(study.pk)
    assert row["status"] == "scored" and row["ra_probability"] == 0.2
    joints = {j["joint"]: (j["jsn"], j["erosion"], j["source"]) for j in row["joints"]}
    assert joints == {
        "MCP2": (1, 0, "model"),
        "PIP3": (None, None, "needs review"),  # the model was unsure: no grade shown
        "WRIST": (3, 2, "confirmed"),  # the clinician's override, not the model's 0
    }
    assert row["joints_confirmed"] == 1


def test_summary_page_shows_the_imaging_block(client, patient_alice, carol_verified):
    make_grant(patient_alice, carol_verified, ("diary", "imaging"))
    study = _scored_study(patient_alice, carol_verified)
    login_verified(client, carol_verified)

    page = client.get(reverse("clinic:summary", args=[patient_alice.public_id]))

    assert page.status_code == 200
    assert page.context["report"].imaging[0].study_id == str(study.pk)
    text = page.content.decode()
    assert "Hand radiographs" in text
    assert "Confirmed by a clinician: 1 of 3 joints" in text
    assert "not for clinical use" in text  # the model card's demonstration banner


def test_imaging_not_shared_is_left_out_of_page_and_api(
    client, api_client, patient_alice, carol_verified
):
    make_grant(patient_alice, carol_verified, ("diary", "questionnaires"))
    _scored_study(patient_alice, carol_verified)
    login_verified(api_client, carol_verified)
    data = api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id])).json()
    assert data["imaging"] is None

    login_verified(client, carol_verified)
    text = client.get(reverse("clinic:summary", args=[patient_alice.public_id])).content
    text = text.decode()
    assert "does not share their imaging" in text
    assert "Hand radiographs" not in text
    assert "/imaging/studies/" not in text
