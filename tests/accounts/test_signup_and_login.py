from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Role, User
from tests.factories import PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db


def test_sign_up_makes_a_patient_who_must_verify_their_email(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "New.Person@Example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert user.role == Role.PATIENT
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    client.logout()
    refused = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert refused.status_code == 302 and "confirm-email" in refused["Location"]

    assert client.post(link.group(1)).status_code == 302
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"] == user


def test_sign_up_cannot_choose_a_role(client):
    client.post(
        "/accounts/signup/",
        {
            "email": "sneaky@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": "clinician",
        },
    )
    assert User.objects.get(email="sneaky@example.org").role == Role.PATIENT


def test_wrong_password_gets_a_form_error(client):
    patient = PatientFactory()
    response = client.post("/accounts/login/", {"login": patient.email, "password": "wrong"})
    assert response.status_code == 200
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()


def test_repeated_wrong_passwords_lock_the_account(client, settings):
    patient = PatientFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"login": patient.email, "password": "wrong"})
    response = client.post("/accounts/login/", {"login": patient.email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_patient_home_and_navigation(client):
    patient = PatientFactory(display_name="Alice")
    client.force_login(patient)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Hello, Alice" in response.content
    assert b'href="#main"' in response.content


def test_logout_needs_post_and_ends_the_session(client):
    patient = PatientFactory()
    client.force_login(patient)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
