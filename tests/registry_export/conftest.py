"""Fixtures for the registry export tests: consenting patients with diaries, destinations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from consent import services as consent_services
from consent.models import ConsentScope, Registry
from diary import services as diary_services
from diary.selectors import patient_today
from registry_export import services
from tests.factories import PatientFactory

VALID_NHS_NUMBERS = ["9434765919", "9434765870", "9434765862", "4010232137"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Factories hash a password per user; PBKDF2 would dominate these tests' run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.REGISTRY_EXPORT_ROOT = tmp_path / "exports"
    return settings.REGISTRY_EXPORT_ROOT


@pytest.fixture
def registry(db):
    # Made by consent's data migration 0003; a transactional test before this one may have
    # flushed the tables, so make sure it (and its documents) are there.
    from consent.defaults import ensure_defaults

    ensure_defaults()
    return Registry.objects.get(slug="uk-pssr")


def give_consent(patient, scope: str, registry=None, nhs_number: str = ""):
    reg = registry if scope == ConsentScope.REGISTRY_SHARING else None
    document = consent_services.current_document(kind=scope, registry=reg)
    return consent_services.consent_give(
        patient=patient, document=document, via="web", nhs_number=nhs_number
    )


def withdraw_consent(patient, scope: str, registry=None):
    reg = registry if scope == ConsentScope.REGISTRY_SHARING else None
    return consent_services.consent_withdraw(patient=patient, scope=scope, registry=reg, via="web")


def write_diary(patient, *, days: int, seed: int = 0) -> None:
    today = patient_today(patient)
    for i in range(days, 0, -1):
        k = (seed + i) % 11
        diary_services.entry_save(
            patient=patient,
            entry_date=today - timedelta(days=i),
            values={
                "dryness_eyes": k,
                "dryness_mouth": (k + 3) % 11,
                "dryness_skin": (k + 5) % 11,
                "fatigue": (k + 1) % 11,
                "muscle_pain": (k + 7) % 11,
                "joint_pain": (k + 2) % 11,
                "flare": k % 4 == 0,
                "factors": ["stress", "poor_sleep"] if k % 3 == 0 else [],
                "note": "canary-note-never-exported",
            },
        )


def add_extras(patient) -> None:
    today = patient_today(patient)
    diary_services.medicine_add(
        patient=patient,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="twice_daily",
        start_date=today - timedelta(days=60),
    )
    diary_services.questionnaire_response_save(
        patient=patient,
        instrument="esspri",
        answers={"dryness": 6, "fatigue": 5, "pain": 4},
        score=5.0,
        period_start=today - timedelta(days=14),
        period_end=today - timedelta(days=1),
        completed_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def cohort(db, registry):
    """Six patients: four consent to registry sharing, one never did, one has withdrawn."""
    patients = [PatientFactory() for _ in range(6)]
    for n, p in enumerate(patients):
        write_diary(p, days=8, seed=n)
    for p in patients[:4]:
        give_consent(p, ConsentScope.REGISTRY_SHARING, registry)
    add_extras(patients[0])
    give_consent(patients[5], ConsentScope.REGISTRY_SHARING, registry)
    withdraw_consent(patients[5], ConsentScope.REGISTRY_SHARING, registry)
    return patients


@pytest.fixture
def destination(db, registry):
    return services.destination_create(
        name="UK PSSR",
        formats=["fhir", "redcap"],
        consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
    )


def run_now(destination, **kwargs):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    return services.export_run_foreground(run=run, **kwargs)


def read_published(run) -> dict[str, bytes]:
    """The run's files as published: one file per type and partition (Patient.00000.ndjson)."""
    from registry_export import storage

    folder = storage.run_dir(run)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def read_files(run) -> dict[str, bytes]:
    """The run's files by logical name (Patient.ndjson): each type's partition files joined in
    partition order, a CSV's repeated header row kept once. Files of no partition as they are."""
    published = read_published(run)
    joined: dict[str, bytes] = {}
    for entry in sorted(run.files, key=lambda f: (f.get("group", ""), f.get("partition", 0))):
        data = published[entry["name"]]
        group = entry.get("group")
        if group is None:
            joined[entry["name"]] = data
        elif group not in joined:
            joined[group] = data
        elif group.endswith(".csv"):
            joined[group] += data.split(b"\r\n", 1)[1]
        else:
            joined[group] += data
    from registry_export.formats.fhir import RESOURCE_FILES

    # A FHIR type with no resource at all has no file; read it as empty.
    if run.destination.format_fhir:
        for name in RESOURCE_FILES.values():
            joined.setdefault(name, b"")
    return joined
