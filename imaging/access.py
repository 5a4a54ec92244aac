"""One line in the patient's access log for an allowed imaging action (upload, review), shared by
the radiograph and MRI services."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


def access_allowed_log(
    actor: User, patient_id: int, what: str, request: HttpRequest | None
) -> None:
    from consent.models import AccessOutcome
    from consent.services import access_log_record

    access_log_record(
        actor=actor,
        patient_id=patient_id,
        what=what,
        outcome=AccessOutcome.ALLOWED,
        request=request,
    )
