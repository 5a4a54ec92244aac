"""The summary's "Download PDF": drawn on the server (reportlab), text extractable (pypdf), the
same access rules and period as the page."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from consent.models import AccessLogEvent
from tests.clinic.test_patient_list_and_summary import _day, alice_diary  # noqa: F401
from tests.clinic.test_summary_imaging import _scored_study
from tests.consent.conftest import make_grant, verify_clinician
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_holds_the_summary_text(client, alice_diary, carol_verified):  # noqa: F811
    make_grant(alice_diary, carol_verified, ("diary", "medicines", "questionnaires", "imaging"))
    _scored_study(alice_diary, carol_verified)
    login_verified(client, carol_verified)

    page = client.get(reverse("clinic:summary", args=[alice_diary.public_id]))
    pdf_url = reverse("clinic:summary_pdf", args=[alice_diary.public_id])
    assert pdf_url in page.content.decode()  # the page offers the download
    response = client.get(pdf_url, {"from": str(_day(27)), "to": str(_day(0))})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = _text(response)
    assert "Pre-appointment summary: Alice" in text
    assert "Hydroxychloroquine" in text
    assert "Meaningful worsening" in text  # the ESSPRI change, as on the page
    assert "MCP2" in text  # imaging joint grades
    assert f"{_day(27):%-d %B %Y}" in text


def test_pdf_without_grant_is_404_and_logged(client, alice_diary, clinician_dave):  # noqa: F811
    verify_clinician(clinician_dave)
    login_verified(client, clinician_dave)
    response = client.get(reverse("clinic:summary_pdf", args=[alice_diary.public_id]))
    assert response.status_code == 404
    assert AccessLogEvent.objects.filter(actor_id=clinician_dave.pk, outcome="denied").exists()


def test_pdf_with_reversed_period_is_400_with_message(client, alice_diary, carol_grant):  # noqa: F811
    login_verified(client, carol_grant.clinician)
    response = client.get(
        reverse("clinic:summary_pdf", args=[alice_diary.public_id]),
        {"from": str(_day(0)), "to": str(_day(5))},
    )
    assert response.status_code == 400
    assert "reversed" in response.content.decode()
