"""The two links in every reminder: open the day (signed, timestamped) and one-click
unsubscribe (RFC 8058), including tampered, expired and replayed links."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from reminders import services, tokens
from reminders.models import ReminderSettings
from tests.reminders.conftest import enable_reminders


def unsubscribe_url(patient, channel="email", generation=None):
    row = ReminderSettings.objects.get(patient=patient)
    token = tokens.unsubscribe_token(
        patient=patient.public_id, channel=channel, generation=generation or row.generation
    )
    return reverse("reminders:unsubscribe", kwargs={"token": token})


def one_click(url):
    client = Client(enforce_csrf_checks=True)
    return client.post(url, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")  # fmt: skip


@pytest.mark.django_db
def test_get_only_asks_and_changes_nothing(patient_alice):
    enable_reminders(patient_alice)
    response = Client().get(unsubscribe_url(patient_alice))
    assert response.status_code == 200 and b"Stop email reminders?" in response.content
    assert ReminderSettings.objects.get(patient=patient_alice).email is True


@pytest.mark.django_db
def test_one_click_turns_off_only_that_channel(patient_alice):
    enable_reminders(patient_alice, email=True, push=True, remind_at=time(6, 30))
    response = one_click(unsubscribe_url(patient_alice, "push"))
    assert response.status_code == 200 and b"no more notification reminders" in response.content
    row = ReminderSettings.objects.get(patient=patient_alice)
    assert (row.enabled, row.email, row.push, row.remind_at) == (True, True, False, time(6, 30))


@pytest.mark.django_db
def test_a_replayed_link_says_so_and_changes_nothing(patient_alice):
    enable_reminders(patient_alice)
    url = unsubscribe_url(patient_alice)
    assert one_click(url).status_code == 200
    again = one_click(url)
    assert again.status_code == 200 and b"already stopped" in again.content


@pytest.mark.django_db
def test_an_old_link_cannot_undo_turning_reminders_back_on(patient_alice):
    enable_reminders(patient_alice)
    old = unsubscribe_url(patient_alice)
    assert one_click(old).status_code == 200
    services.reminder_settings_save(
        patient=patient_alice, enabled=True, remind_at=time(20, 0), days=["mon"],
        email=True, push=False,
    )  # fmt: skip
    response = one_click(old)
    assert response.status_code == 200 and b"out of date" in response.content
    assert ReminderSettings.objects.get(patient=patient_alice).email is True


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["tampered", "cut", "other_salt", "bad_channel"])
def test_a_tampered_link_is_refused_with_a_message(patient_alice, patient_bob, how):
    enable_reminders(patient_alice)
    enable_reminders(patient_bob)
    token = tokens.unsubscribe_token(patient=patient_alice.public_id, channel="email", generation=1)
    forged = {
        "tampered": token.replace(token.split(":")[0], signing.b64_encode(
            f"[{patient_bob.pk},\"email\",1]".encode()).decode()),
        "cut": token[:-6],
        "other_salt": tokens.open_token(patient=patient_bob.public_id, day=date(2026, 1, 1)),
        "bad_channel": signing.dumps([patient_bob.pk, "sms", 1], salt=tokens.UNSUBSCRIBE_SALT),
    }[how]  # fmt: skip
    url = reverse("reminders:unsubscribe", kwargs={"token": forged})
    for response in (Client().get(url), one_click(url)):
        assert response.status_code == 400
        assert b"This link is not valid" in response.content
        assert b"Nothing was changed" in response.content
    assert ReminderSettings.objects.filter(email=True).count() == 2


@pytest.mark.django_db
def test_an_expired_open_link_says_so(client, patient_alice, settings):
    settings.REMINDERS_LINK_MAX_AGE_DAYS = 0
    token = tokens.open_token(patient=patient_alice.public_id, day=date(2026, 3, 10))
    client.force_login(patient_alice)
    import time as clock

    clock.sleep(1.1)
    response = client.get(reverse("reminders:open", kwargs={"token": token}))
    assert response.status_code == 400 and b"This link has expired" in response.content


@pytest.mark.django_db
def test_a_tampered_open_link_is_refused(client, patient_alice):
    token = tokens.open_token(patient=patient_alice.public_id, day=date(2026, 3, 10))
    client.force_login(patient_alice)
    bad = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.get(reverse("reminders:open", kwargs={"token": bad}))
    assert response.status_code == 400 and b"This link is not valid" in response.content


@pytest.mark.django_db
def test_questionnaire_link_opens_the_questionnaires(client, patient_alice):
    token = tokens.open_token(
        patient=patient_alice.public_id,
        day=date.today() - timedelta(days=1),
        target="questionnaires",
    )
    client.force_login(patient_alice)
    response = client.get(reverse("reminders:open", kwargs={"token": token}))
    assert response.status_code == 302
    assert response["Location"] == reverse("diary:questionnaire_list")


@pytest.mark.django_db
def test_a_link_names_the_patient_by_public_id_never_the_integer_key(patient_alice):
    # A signed token is only base64: anyone holding the link can read what it carries.
    token = tokens.open_token(patient=patient_alice.public_id, day=date(2026, 3, 10))
    payload = signing.b64_decode(token.split(":")[0].encode()).decode()
    assert str(patient_alice.public_id) in payload
    assert not payload.startswith(f"[{patient_alice.pk},")
    assert tokens.read_open_token(token).patient_id == patient_alice.pk


@pytest.mark.django_db
def test_a_link_signed_before_public_ids_still_unsubscribes(patient_alice):
    enable_reminders(patient_alice)
    legacy = signing.dumps([patient_alice.pk, "email", 1], salt=tokens.UNSUBSCRIBE_SALT)
    assert one_click(reverse("reminders:unsubscribe", kwargs={"token": legacy})).status_code == 200
    assert not ReminderSettings.objects.get(patient=patient_alice).email


@pytest.mark.django_db
def test_a_link_naming_an_unknown_public_id_is_refused(client):
    token = tokens.open_token(patient=uuid.uuid4(), day=date(2026, 3, 10))
    response = client.get(reverse("reminders:open", kwargs={"token": token}))
    assert response.status_code == 400 and b"This link is not valid" in response.content
