"""The pre-rendered reminder is the same message Django's EmailMessage renders."""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import replace
from datetime import date

import pytest
from django.core import mail

from reminders import messages
from reminders.selectors import Due, due_batches


@pytest.fixture
def due():
    return Due(
        patient_id=7, patient_public_id=uuid.UUID(int=7), email_address="zoë@exämple.org",
        day=date(2026, 3, 10), diary=True,
        questionnaire_day=date(2026, 3, 1), email=True, push=False, generation=3,
    )  # fmt: skip


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize(("diary", "questionnaire"), [(True, True), (True, False), (False, True)])
def test_fast_rendering_matches_django(settings, due, diary, questionnaire):
    settings.REMINDERS_UNSUBSCRIBE_MAILTO = "unsubscribe@diary.example.org"
    reference = parsed(
        messages.reminder_email(due, diary=diary, questionnaire=questionnaire)
        .message()
        .as_bytes(linesep="\r\n")
    )
    fast = parsed(messages.fast_reminder_email(due, diary=diary, questionnaire=questionnaire).raw)
    for name in ("Subject", "From", "To", "List-Unsubscribe-Post", "Auto-Submitted",
                 "Content-Type", "MIME-Version"):  # fmt: skip
        assert str(fast[name]).strip() == str(reference[name]).strip(), name
    # Tokens carry a timestamp, so compare the links' shape rather than their bytes.
    assert (
        fast["List-Unsubscribe"].split("/unsubscribe/")[0]
        == (reference["List-Unsubscribe"].strip().split("/unsubscribe/")[0])
    )
    assert "mailto:unsubscribe@diary.example.org" in fast["List-Unsubscribe"]
    assert fast["Message-ID"] and fast["Date"]
    fast_lines = fast.get_content().splitlines()
    ref_lines = reference.get_content().splitlines()
    assert len(fast_lines) == len(ref_lines)
    for mine, theirs in zip(fast_lines, ref_lines, strict=True):
        if "http" not in mine:
            assert mine == theirs


def test_the_prerendered_message_goes_through_any_django_backend(settings, due):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = messages.fast_reminder_email(due, diary=True, questionnaire=False)
    assert mail.get_connection().send_messages([message]) == 1
    assert mail.outbox[0].to == ["zoë@exämple.org"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert mail.get_connection().send_messages([message]) == 1


def test_a_patient_who_chose_german_gets_the_reminder_in_german(due):
    german = replace(due, language="de")
    fast = parsed(messages.fast_reminder_email(german, diary=True, questionnaire=True).raw)
    reference = messages.reminder_email(german, diary=True, questionnaire=True)
    assert str(fast["Subject"]).startswith("Zeit für das heutige Tagebuch")
    assert str(fast["Subject"]) == reference.subject
    body = fast.get_content()
    assert "Hallo," in body and "Ein kurzer Fragebogen wartet in Ihrem Tagebuch." in body
    assert body.splitlines()[:3] == reference.body.splitlines()[:3]
    push = messages.reminder_push_payload(german, diary=True, questionnaire=False)
    assert push["body"] == "Zeit für das heutige Tagebuch."


def test_without_a_chosen_language_the_reminder_is_in_the_default_language(due):
    from django.utils import translation

    # Whatever language happens to be active in the worker, the reminder follows the patient.
    with translation.override("de"):
        fast = parsed(messages.fast_reminder_email(due, diary=True, questionnaire=False).raw)
    assert str(fast["Subject"]).startswith("Time for today's diary")
    assert "It's time for today's diary." in fast.get_content()


@pytest.mark.django_db
def test_due_reminders_carry_the_patients_language(patient_alice, patient_bob):
    from tests.reminders.conftest import enable_reminders, utc

    patient_alice.language = "de"
    patient_alice.save()
    enable_reminders(patient_alice)
    enable_reminders(patient_bob)
    # 21:00 in London (the patients' time zone, UTC in January): after their 19:00 reminder.
    batches = list(due_batches(now=utc(2026, 1, 15, 21, 0), batch_size=10))
    languages = {d.email_address: d.language for batch in batches for d in batch}
    assert languages == {"alice@example.org": "de", "bob@example.org": ""}
