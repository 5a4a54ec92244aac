"""The clinician's home page: how many patients share with them, and a way in.

Registered in accounts.views.HOME_CONTEXT_PROVIDERS by ClinicConfig.ready. Only counts grants
(consent's own data): nothing of any patient's diary is read, so nothing is logged.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from consent import selectors as consent_selectors


def clinician_home_context(request: HttpRequest) -> dict:
    clinician = request.user
    return {
        "clinic_patient_count": consent_selectors.active_grants_for_clinician(
            clinician=clinician
        ).count(),
        "clinic_verified": consent_selectors.clinician_is_verified(clinician=clinician),
        "clinic_list_url": reverse("clinic:patients"),
    }
