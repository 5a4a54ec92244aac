"""Shared persona fixtures: patient_alice, patient_bob, clinician_carol, clinician_dave, ..."""

from __future__ import annotations

import pytest
from django_otp import DEVICE_ID_SESSION_KEY

from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    ResearcherFactory,
    StaffFactory,
    confirmed_totp,
)


@pytest.fixture
def patient_alice(db):
    return PatientFactory(email="alice@example.org", display_name="Alice")


@pytest.fixture
def patient_bob(db):
    return PatientFactory(email="bob@example.org", display_name="Bob")


@pytest.fixture
def clinician_carol(db):
    return ClinicianFactory(email="carol@example.org", display_name="Dr Carol")


@pytest.fixture
def clinician_dave(db):
    return ClinicianFactory(email="dave@example.org", display_name="Dr Dave")


@pytest.fixture
def researcher_rita(db):
    return ResearcherFactory(email="rita@example.org", display_name="Rita")


@pytest.fixture
def staff_sam(db):
    return StaffFactory(email="sam@example.org", display_name="Sam")


def login_verified(client, user):
    """Sign `user` in through the session with a confirmed, verified TOTP device."""
    device = confirmed_totp(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
