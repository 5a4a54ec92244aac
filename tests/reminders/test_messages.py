"""The pre-rendered reminder is the same message Django's EmailMessage renders."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import date

import pytest
from django.core import mail

from reminders import messages
from reminders.selectors import Due


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
