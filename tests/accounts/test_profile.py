"""A person changes their own details: name, the time zone their diary day follows, and
(patients only) a year of birth, on the settings page and through the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from tests.personas import login_verified

PROFILE_API = "/api/v1/me/profile/"


def _post(client, **data):
    return client.post(reverse("account_profile"), data)


def test_patient_saves_name_time_zone_and_birth_year(client, patient_alice):
    client.force_login(patient_alice)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'name="birth_year"' in page and 'name="time_zone"' in page

    response = _post(client, display_name="Alice A", time_zone="Europe/Oslo", birth_year="1968")

    assert response.status_code == 302
    stored = User.objects.get(pk=patient_alice.pk)
    assert (stored.display_name, stored.time_zone, stored.birth_year) == (
        "Alice A",
        "Europe/Oslo",
        1968,
    )
    assert "Your details are saved." in client.get(reverse("account_settings")).content.decode()


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"birth_year": "1850"}, "birth_year", "greater than or equal to 1900"),
        ({"birth_year": str(timezone.now().year + 1)}, "birth_year", "no later than"),
        ({"birth_year": "nineteen"}, "birth_year", "Enter a whole number"),
    ],
)
def test_bad_details_get_a_form_error_and_nothing_changes(
    client, patient_alice, data, field, message
):
    patient_alice.birth_year = 1970
    patient_alice.save()
    client.force_login(patient_alice)
    response = _post(client, **{"display_name": "Changed", "time_zone": "Europe/London", **data})

    assert response.status_code == 400
    assert message in " ".join(response.context["profile_form"].errors[field])
    stored = User.objects.get(pk=patient_alice.pk)
    assert (stored.display_name, stored.birth_year) == (patient_alice.display_name, 1970)


def test_a_clinician_has_no_birth_year_field(client, clinician_carol):
    login_verified(client, clinician_carol)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'name="birth_year"' not in page
    response = _post(client, display_name="Dr C", time_zone="Europe/London", birth_year="1970")
    assert response.status_code == 302
    assert User.objects.get(pk=clinician_carol.pk).birth_year is None


def test_profile_api_reads_and_patches(patient_alice):
    api = APIClient()
    api.force_authenticate(patient_alice)
    assert api.get(PROFILE_API).json()["birth_year"] is None

    response = api.patch(
        PROFILE_API, {"birth_year": 1975, "time_zone": "America/New_York"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["birth_year"], response.json()["time_zone"]) == (
        1975,
        "America/New_York",
    )
    assert User.objects.get(pk=patient_alice.pk).display_name == patient_alice.display_name


def test_profile_api_refuses_bad_values_field_by_field(patient_alice, clinician_carol):
    api = APIClient()
    api.force_authenticate(patient_alice)
    response = api.patch(
        PROFILE_API, {"time_zone": "Nowhere/Here", "birth_year": 1800}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"time_zone", "birth_year"}
    assert User.objects.get(pk=patient_alice.pk).time_zone == patient_alice.time_zone

    api.force_authenticate(clinician_carol)
    refused = api.patch(PROFILE_API, {"birth_year": 1970}, format="json")
    assert refused.status_code in (400, 403)
    assert User.objects.get(pk=clinician_carol.pk).birth_year is None


def test_patient_chooses_a_larger_text_size_and_every_page_uses_it(client, patient_alice):
    client.force_login(patient_alice)
    assert 'class="text-' not in client.get(reverse("account_settings")).content.decode()
    response = _post(client, display_name="", time_zone="Europe/London", text_size="150")
    assert response.status_code == 302
    assert User.objects.get(pk=patient_alice.pk).text_size == 150
    assert '<html lang="en-GB" class="text-150">' in client.get("/diary/").content.decode()


@pytest.mark.parametrize("size", ["90", "250", "big", "101"])
def test_a_text_size_not_offered_is_a_form_error(client, patient_alice, size):
    client.force_login(patient_alice)
    response = _post(client, display_name="Changed", time_zone="Europe/London", text_size=size)
    assert response.status_code == 400
    assert "Choose one of the text sizes" in " ".join(
        response.context["profile_form"].errors["text_size"]
    )
    stored = User.objects.get(pk=patient_alice.pk)
    assert (stored.text_size, stored.display_name) == (100, patient_alice.display_name)


def test_profile_api_sets_the_text_size_and_refuses_one_not_offered(patient_alice):
    api = APIClient()
    api.force_authenticate(patient_alice)
    assert api.patch(PROFILE_API, {"text_size": 130}, format="json").json()["text_size"] == 130
    response = api.patch(PROFILE_API, {"text_size": 300}, format="json")
    assert response.status_code == 400
    assert "text_size" in response.json()
    assert User.objects.get(pk=patient_alice.pk).text_size == 130


def test_the_database_refuses_a_text_size_not_offered(patient_alice):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=patient_alice.pk).update(text_size=120)
