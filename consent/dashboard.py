"""The patient dashboard's consent panel: consents to review after a new version was published,
and clinicians' requests waiting for an answer.

Registered in diary.dashboard.PANEL_PROVIDERS by ConsentConfig.ready (consent may depend on the
diary, not the other way round); shown only when there is something to do.
"""

from __future__ import annotations

from django.http import HttpRequest

from consent import selectors


def dashboard_panel(request: HttpRequest) -> tuple[str, dict] | None:
    reviews = selectors.consents_needing_review(patient=request.user)
    waiting = selectors.pending_requests_for_patient(patient=request.user).count()
    if not reviews and not waiting:
        return None
    return (
        "consent/_dashboard_notice.html",
        {"consent_reviews_needed": reviews, "sharing_requests_waiting": waiting},
    )
