"""Fixtures for imaging tests: verified clinicians with and without an imaging grant, eager
Celery, a throwaway media folder, and generated radiographs (no torch needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from consent import services as consent_services
from consent.models import GrantStatus, SharingGrant
from tests.factories import StaffFactory

SCOPES = ("diary", "medicines", "questionnaires", "imaging")


def grant(patient, clinician, scopes):
    now = timezone.now()
    return SharingGrant.objects.create(
        patient=patient,
        clinician=clinician,
        status=GrantStatus.ACCEPTED,
        starts_at=now - timedelta(days=1),
        created_at=now - timedelta(days=1),
        **{f"share_{s}": s in scopes for s in SCOPES},
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def eager_celery(monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)
    return app


@pytest.fixture
def carol_imaging(patient_alice, clinician_carol):
    """Dr Carol is verified and holds Alice's grant covering diary and imaging."""
    consent_services.clinician_verify(clinician=clinician_carol, by=StaffFactory())
    grant(patient_alice, clinician_carol, ("diary", "imaging"))
    return clinician_carol


@pytest.fixture
def dave_diary_only(patient_alice, clinician_dave):
    """Dr Dave is verified and holds a grant from Alice that does not cover imaging."""
    consent_services.clinician_verify(clinician=clinician_dave, by=StaffFactory())
    grant(patient_alice, clinician_dave, ("diary",))
    return clinician_dave


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(scope="session")
def hand_png():
    from imaging.training.synth import generate, to_png_bytes

    return to_png_bytes(generate(3_000_123).image)
