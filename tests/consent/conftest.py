"""Fixtures for consent tests: verified clinicians, grants, documents, API clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from consent import services
from consent.models import (
    ClinicianProfile,
    ConsentDocument,
    GrantStatus,
    Registry,
    SharingGrant,
)
from tests.factories import StaffFactory

ALL_SCOPES = ("diary", "medicines", "questionnaires", "imaging")


def verify_clinician(clinician, by=None) -> ClinicianProfile:
    return services.clinician_verify(clinician=clinician, by=by or StaffFactory())


def make_grant(patient, clinician, scopes=("diary", "medicines", "questionnaires"), **extra):
    now = timezone.now()
    fields = {
        "patient": patient,
        "clinician": clinician,
        "status": GrantStatus.ACCEPTED,
        "starts_at": now - timedelta(days=1),
        "created_at": now - timedelta(days=1),
        **{f"share_{s}": s in scopes for s in ALL_SCOPES},
    }
    fields.update(extra)
    return SharingGrant.objects.create(**fields)


def document(kind: str, version: int = 1) -> ConsentDocument:
    registry = Registry.objects.get(slug="uk-pssr") if kind == "registry_sharing" else None
    return ConsentDocument.objects.get(kind=kind, registry=registry, version=version)


def publish_new_version(kind: str, staff) -> ConsentDocument:
    old = services.current_document(
        kind=kind,
        registry=Registry.objects.get(slug="uk-pssr") if kind == "registry_sharing" else None,
    )
    draft = ConsentDocument.objects.create(
        kind=kind,
        registry=old.registry,
        version=old.version + 1,
        title=old.title,
        text=old.text + " (Updated.)",
    )
    return services.consent_document_publish(document=draft, by=staff)


@pytest.fixture
def carol_verified(clinician_carol):
    verify_clinician(clinician_carol)
    return clinician_carol


@pytest.fixture
def carol_grant(patient_alice, carol_verified):
    """Alice shares diary, medicines and questionnaires with Dr Carol."""
    return make_grant(patient_alice, carol_verified)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(autouse=True)
def _consent_defaults(request):
    """The first registry and v1 documents, even after a transactional test (anywhere in the
    run) flushed what the data migration made."""
    if request.node.get_closest_marker("django_db"):
        from consent.defaults import ensure_defaults

        ensure_defaults()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Persona factories hash a password per user; a fast hasher keeps these tests quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
