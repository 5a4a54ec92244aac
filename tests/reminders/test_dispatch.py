"""Dispatch with real parts: mail over SMTP to aiosmtpd, pushes to a local push service that the
test decrypts with the subscription's own keys (RFC 8291)."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, time, timedelta

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.test import Client

from diary import services as diary_services
from diary.models import QuestionnaireResponse
from reminders import services
from reminders.models import PushSubscription, ReminderSend, ReminderSettings, SendStatus
from tests.factories import PatientFactory
from tests.reminders.conftest import enable_reminders, new_browser_keys, utc

# 2026-03-10 is a Tuesday; London is on GMT then, so 19:05 UTC is 19:05 there.
TICK = utc(2026, 3, 10, 19, 5)
TODAY = date(2026, 3, 10)
SECRET_NOTE = "SECRET-NOTE-about-dry-eyes"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://diary.example.org"
    settings.SITE_NAME = "Test Diary"
    settings.DEFAULT_FROM_EMAIL = "reminders@diary.example.org"


SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def day_values(score: int = 3, **extra) -> dict:
    return {**dict.fromkeys(SYMPTOMS, score), **extra}


def patient(email="alice@example.org", tz="Europe/London", joined=None):
    # Joined after the tick unless said otherwise, so no questionnaire is due yet.
    return PatientFactory(email=email, time_zone=tz, date_joined=joined or utc(2026, 12, 1, 0, 0))


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.django_db
def test_email_arrives_with_one_click_unsubscribe_and_no_health_data(smtp_sink):
    alice = patient(joined=utc(2026, 3, 1, 9, 0))
    for day in (date(2026, 3, 8), date(2026, 3, 9)):
        diary_services.entry_save(
            patient=alice,
            entry_date=day,
            values=day_values(9, flare=True, note=SECRET_NOTE),
        )
    enable_reminders(alice)

    stats = services.reminders_dispatch(now=TICK)

    assert stats.emails_sent == 1
    [message] = smtp_sink.messages
    assert message["To"] == "alice@example.org"
    assert message["From"] == "reminders@diary.example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https://diary\.example\.org/reminders/unsubscribe/[^>]+/)>",
                               message["List-Unsubscribe"].strip()).group(1)  # fmt: skip
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Test Diary" in message["Subject"]
    text = body_of(message)
    assert "It's time for today's diary." in text
    words = re.sub(r"https://\S+", "", text)
    assert not re.search(r"\d", words)  # no score, no date, nothing counted
    for leak in ("NOTE", "dry", "fatigue", "flare", "Alice"):
        assert leak.lower() not in words.lower(), leak
    assert SECRET_NOTE not in message.as_string()

    # The signed link opens today's page for Alice (after signing in), nobody else.
    open_url = re.search(r"https://diary\.example\.org(/reminders/open/\S+/)", text).group(1)
    anonymous = Client()
    response = anonymous.get(open_url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    signed_in = Client()
    signed_in.force_login(alice)
    response = signed_in.get(open_url)
    assert response.status_code == 302
    assert response["Location"] == f"/diary/day/{TODAY.isoformat()}/"
    bob = patient(email="bob@example.org")
    other = Client()
    other.force_login(bob)
    assert other.get(open_url).status_code == 403

    # One-click unsubscribe as a mail client does it (RFC 8058): POST, no cookie, no CSRF.
    mail_client = Client(enforce_csrf_checks=True)
    path = unsubscribe.removeprefix("https://diary.example.org")
    response = mail_client.post(path, data="List-Unsubscribe=One-Click",
                                content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 200
    row = ReminderSettings.objects.get(patient=alice)
    assert row.email is False and row.enabled is True


@pytest.mark.django_db
def test_two_ticks_send_once_and_the_send_is_recorded(smtp_sink):
    alice = patient()
    enable_reminders(alice)
    first = services.reminders_dispatch(now=TICK)
    second = services.reminders_dispatch(now=TICK + timedelta(minutes=5))
    assert (first.emails_sent, second.emails_sent, second.claimed) == (1, 0, 0)
    assert len(smtp_sink.messages) == 1
    send = ReminderSend.objects.get(patient=alice)
    assert (send.day, send.kind, send.status, send.channels) == (
        TODAY,
        "diary",
        SendStatus.SENT,
        "email",
    )


@pytest.mark.django_db
def test_no_reminder_once_the_day_is_logged(smtp_sink):
    alice = patient(joined=utc(2026, 3, 10, 8, 0))
    diary_services.entry_save(patient=alice, entry_date=TODAY, values=day_values())
    enable_reminders(alice)
    # Alice's questionnaires fall due on her first day, so only that nudge is left to send.
    QuestionnaireResponse.objects.all().delete()
    stats = services.reminders_dispatch(now=TICK)
    [message] = smtp_sink.messages
    assert "questionnaire" in message["Subject"]
    assert "today's diary" not in body_of(message)
    assert stats.claimed == 1


@pytest.mark.django_db
def test_each_patient_is_reminded_at_their_own_local_time_and_days(smtp_sink):
    london = patient("london@example.org", "Europe/London")
    auckland = patient("auckland@example.org", "Pacific/Auckland")  # 08:05 on Wednesday there
    new_york = patient("ny@example.org", "America/New_York")  # 15:05 there
    not_tuesday = patient("weekend@example.org", "Europe/London")
    for p in (london, auckland, new_york):
        enable_reminders(p)
    enable_reminders(not_tuesday, days=0b1100000)
    enable_reminders(patient("off@example.org"), enabled=False)
    services.reminders_dispatch(now=TICK)
    assert [m["To"] for m in smtp_sink.messages] == ["london@example.org"]
    services.reminders_dispatch(now=utc(2026, 3, 11, 0, 10))  # 19:10 in New York
    assert sorted(m["To"] for m in smtp_sink.messages) == ["london@example.org", "ny@example.org"]
    services.reminders_dispatch(now=utc(2026, 3, 11, 6, 5))  # 19:05 Wednesday in Auckland
    assert len(smtp_sink.messages) == 3


@pytest.mark.django_db
def test_quiet_hours_hold_the_reminder_back(smtp_sink):
    early = patient()
    enable_reminders(early, remind_at=time(6, 0), quiet_start=time(22, 0), quiet_end=time(7, 0))
    services.reminders_dispatch(now=utc(2026, 3, 10, 6, 30))
    assert smtp_sink.messages == []
    services.reminders_dispatch(now=utc(2026, 3, 10, 7, 0))
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db
def test_questionnaire_nudges_once_per_recall_period(smtp_sink):
    alice = patient(joined=utc(2026, 3, 9, 8, 0))
    enable_reminders(alice)
    for day in (TODAY, TODAY + timedelta(days=1)):
        diary_services.entry_save(patient=alice, entry_date=day, values=day_values(2))
    services.reminders_dispatch(now=TICK)
    services.reminders_dispatch(now=TICK + timedelta(days=1))
    # Due since sign-up, nudged once; the next nudge waits for the shortest recall period.
    assert [m["Subject"].split(" - ")[0] for m in smtp_sink.messages] == [
        "A questionnaire is waiting in your diary"
    ]
    assert "questionnaire" in body_of(smtp_sink.messages[0])


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verified_es256_claims(token: str, public_b64: str) -> dict:
    """Check a VAPID JWT's ES256 signature (RFC 7518 section 3.4: raw r || s) and return it."""
    header, claims, signature = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_b64))
    raw = _unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(_unb64(header))["alg"] == "ES256"
    return json.loads(_unb64(claims))


def _decrypt(received_body: bytes, keys) -> dict:
    plain = http_ece.decrypt(
        received_body, private_key=keys.private_key, auth_secret=keys.auth_secret,
        version="aes128gcm",
    )  # fmt: skip
    return json.loads(plain)


@pytest.mark.django_db
def test_push_payload_decrypts_with_the_subscription_keys(push_service, smtp_sink):
    alice = patient()
    enable_reminders(alice, email=False, push=True)
    keys = new_browser_keys()
    services.push_subscription_save(
        patient=alice, endpoint=push_service.endpoint("alice"), p256dh=keys.p256dh, auth=keys.auth
    )
    stats = services.reminders_dispatch(now=TICK)
    assert stats.pushes_sent == 1 and smtp_sink.messages == []
    [(path, headers, body)] = push_service.received
    assert path == "/push/alice"
    assert headers["Content-Encoding"] == "aes128gcm"
    assert int(headers["TTL"]) > 0
    # VAPID (RFC 8292): a JWT for this push service, signed by the server's key.
    token, key = re.fullmatch(r"vapid t=([^,]+), ?k=(\S+)", headers["Authorization"]).groups()
    assert key == settings.VAPID_PUBLIC_KEY
    claims = verified_es256_claims(token, key)
    assert claims["aud"] == push_service.base
    assert claims["sub"] == "mailto:reminders@diary.example.org"

    payload = _decrypt(body, keys)
    assert payload["title"] == "Test Diary"
    assert payload["body"] == "It's time for today's diary."
    assert payload["url"].startswith("https://diary.example.org/reminders/open/")
    assert payload["unsubscribe"].startswith("https://diary.example.org/reminders/unsubscribe/")
    assert set(payload) == {"title", "body", "url", "unsubscribe", "tag"}
    send = ReminderSend.objects.get(patient=alice)
    assert send.channels == "push"


@pytest.mark.parametrize("status", [404, 410])
@pytest.mark.django_db
def test_a_gone_subscription_is_removed_not_retried(push_service, smtp_sink, status):
    alice = patient()
    enable_reminders(alice, email=True, push=True)
    dead, alive = new_browser_keys(), new_browser_keys()
    for name, keys in (("dead", dead), ("alive", alive)):
        services.push_subscription_save(
            patient=alice, endpoint=push_service.endpoint(name), p256dh=keys.p256dh, auth=keys.auth
        )
    push_service.status_for["/push/dead"] = status
    stats = services.reminders_dispatch(now=TICK)
    assert stats.subscriptions_removed == 1
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        push_service.endpoint("alive")
    ]
    services.reminders_dispatch(now=TICK + timedelta(days=1))
    paths = [p for p, _, _ in push_service.received]
    assert paths.count("/push/dead") == 1 and paths.count("/push/alive") == 2
    assert len(smtp_sink.messages) == 2


@pytest.mark.django_db
def test_a_push_service_error_keeps_the_subscription_and_email_still_goes(push_service, smtp_sink):
    alice = patient()
    enable_reminders(alice, email=True, push=True)
    keys = new_browser_keys()
    services.push_subscription_save(
        patient=alice, endpoint=push_service.endpoint("busy"), p256dh=keys.p256dh, auth=keys.auth
    )
    push_service.status_for["/push/busy"] = 503
    services.reminders_dispatch(now=TICK)
    assert PushSubscription.objects.count() == 1
    assert ReminderSend.objects.get().channels == "email"


@pytest.mark.django_db
def test_an_unreachable_smtp_server_marks_the_send_failed(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 8159, False
    settings.EMAIL_TIMEOUT = 2
    enable_reminders(patient())
    stats = services.reminders_dispatch(now=TICK)
    assert stats.failed == 1
    assert ReminderSend.objects.get().status == SendStatus.FAILED


@pytest.mark.django_db
def test_without_vapid_keys_push_is_off_and_email_still_goes(push_service, smtp_sink, settings):
    alice = patient()
    enable_reminders(alice, email=True, push=True)
    keys = new_browser_keys()
    services.push_subscription_save(
        patient=alice, endpoint=push_service.endpoint("a"), p256dh=keys.p256dh, auth=keys.auth
    )
    settings.VAPID_PRIVATE_KEY = ""
    stats = services.reminders_dispatch(now=TICK)
    assert (stats.emails_sent, stats.pushes_sent) == (1, 0)
    assert push_service.received == []
