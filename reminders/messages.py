"""What a reminder says. Never any health data: only that it is time for the diary (and that a
questionnaire is waiting), a signed link that opens the day, and one-click unsubscribe."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from reminders import tokens
from reminders.selectors import Due

DIARY_LINE = "It's time for today's diary."
QUESTIONNAIRE_LINE = "A short questionnaire is waiting in your diary."


@dataclass(frozen=True)
class Links:
    open_url: str
    unsubscribe_url: str


def _url(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def links_for(due: Due, *, channel: str, diary: bool) -> Links:
    target = "day" if diary else "questionnaires"
    open_token = tokens.open_token(patient_id=due.patient_id, day=due.day, target=target)
    unsubscribe = tokens.unsubscribe_token(
        patient_id=due.patient_id, channel=channel, generation=due.generation
    )
    return Links(_url("reminders:open", open_token), _url("reminders:unsubscribe", unsubscribe))


def lines_for(*, diary: bool, questionnaire: bool) -> list[str]:
    return [line for on, line in ((diary, DIARY_LINE), (questionnaire, QUESTIONNAIRE_LINE)) if on]


def reminder_email(due: Due, *, diary: bool, questionnaire: bool) -> EmailMessage:
    links = links_for(due, channel="email", diary=diary)
    subject = "Time for today's diary" if diary else "A questionnaire is waiting in your diary"
    body = "\n".join(
        [
            "Hello,",
            "",
            *lines_for(diary=diary, questionnaire=questionnaire),
            "",
            f"Open your diary: {links.open_url}",
            "",
            f"You asked {settings.SITE_NAME} to remind you. To stop these emails, open",
            f"{links.unsubscribe_url}",
            f"or change your reminders in your settings: {settings.SITE_URL}/reminders/",
            "",
        ]
    )
    unsubscribe = f"<{links.unsubscribe_url}>"
    if settings.REMINDERS_UNSUBSCRIBE_MAILTO:
        unsubscribe += f", <mailto:{settings.REMINDERS_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    return EmailMessage(
        subject=f"{subject} - {settings.SITE_NAME}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.email_address],
        headers={
            # RFC 2369 and RFC 8058: one-click unsubscribe from the mail client itself.
            "List-Unsubscribe": unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # RFC 3834: no out-of-office replies to a reminder.
            "Auto-Submitted": "auto-generated",
        },
    )


def reminder_push_payload(due: Due, *, diary: bool, questionnaire: bool) -> dict:
    """The JSON the service worker shows as a notification (encrypted on the way, RFC 8291)."""
    links = links_for(due, channel="push", diary=diary)
    return {
        "title": settings.SITE_NAME,
        "body": " ".join(lines_for(diary=diary, questionnaire=questionnaire)),
        "url": links.open_url,
        "unsubscribe": links.unsubscribe_url,
        "tag": "diary-reminder",
    }
