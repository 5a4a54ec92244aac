"""Fixtures for the diary tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from diary import services
from diary.selectors import patient_today


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Persona factories hash a password per user; a fast hasher keeps these tests quick
    (the real hasher is the foundation's concern and is tested there)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_api(patient_alice):
    client = APIClient()
    client.force_login(patient_alice)
    return client


@pytest.fixture
def bob_api(patient_bob):
    client = APIClient()
    client.force_login(patient_bob)
    return client


def day_values(**overrides) -> dict:
    values = {
        "dryness_eyes": 6,
        "dryness_mouth": 5,
        "dryness_skin": 3,
        "fatigue": 7,
        "muscle_pain": 2,
        "joint_pain": 4,
        "flare": False,
        "factors": ["screen_work"],
        "note": "",
    }
    values.update(overrides)
    return values


def save_day(patient, days_ago: int = 0, **overrides):
    day = patient_today(patient) - timedelta(days=days_ago)
    entry, _ = services.entry_save(patient=patient, entry_date=day, values=day_values(**overrides))
    return entry
