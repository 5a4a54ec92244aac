"""The patient's PDF summary of a chosen period: charts and figures drawn on the server, text
throughout, the name on the first page only; an empty, reversed, future or pre-diary period is
a clear 400 message, never a 500."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from diary import services
from diary.selectors import patient_today
from tests.diary.conftest import save_day
from tests.personas import login_verified
from tests.questionnaire_data import esspri, osdi

pytestmark = pytest.mark.django_db
URL = "/diary/trends/summary/"


@pytest.fixture
def alice_period(patient_alice):
    patient_alice.display_name = "Alice Example"
    patient_alice.save()
    today = patient_today(patient_alice)
    for n in range(60):
        save_day(patient_alice, n, fatigue=n % 10, flare=n in (3, 4))
    med = services.medicine_add(
        patient=patient_alice, name="Pilocarpine", dose="5", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=30),
    )  # fmt: skip
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    esspri(patient_alice, today - timedelta(days=28), 7, 6, 5)
    esspri(patient_alice, today - timedelta(days=14), 5, 5, 4)
    osdi(patient_alice, today - timedelta(days=7), 1)
    return patient_alice


def _get(client, start, end):
    return client.get(URL, {"date_from": start.isoformat(), "date_to": end.isoformat()})


def test_summary_pdf_has_text_charts_and_the_name_on_page_one_only(client, alice_period):
    client.force_login(alice_period)
    today = patient_today(alice_period)
    response = _get(client, today - timedelta(days=59), today)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    assert len(pages) >= 2
    assert "Alice Example" in pages[0]
    assert all("Alice Example" not in page for page in pages[1:])
    assert "Symptoms (7-day averages" in text and "Tiredness" in text
    assert "Flare days (2)" in text
    assert "ESSPRI" in text and "Meaningful improvement" in text
    assert "OSDI" in text and "Moderate" in text
    assert "Pilocarpine 5 mg" in text
    assert reader.metadata.title.startswith("Diary summary")


def test_a_period_before_the_diary_starts_is_cut_to_the_first_day(client, alice_period):
    client.force_login(alice_period)
    today = patient_today(alice_period)
    response = _get(client, today - timedelta(days=400), today)
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "so the summary starts there" in text


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (0, 10, "The period ends before it starts"),
        (-1, -5, "The period cannot end after today"),
        (900, 800, "Your diary starts on"),
    ],
)
def test_bad_periods_get_a_clear_message(client, alice_period, start, end, message):
    client.force_login(alice_period)
    today = patient_today(alice_period)
    response = _get(client, today - timedelta(days=start), today - timedelta(days=end))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_empty_period_says_nothing_is_recorded(client, patient_alice):
    today = patient_today(patient_alice)
    save_day(patient_alice, 40)
    client.force_login(patient_alice)
    response = _get(client, today - timedelta(days=20), today)
    assert response.status_code == 400
    assert "Nothing is recorded between" in response.content.decode()


@pytest.mark.parametrize("query", [{"date_from": "yesterday", "date_to": ""}, {"date_from": "x"}])
def test_malformed_dates_are_form_errors(client, alice_period, query):
    client.force_login(alice_period)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()


def test_the_form_page_and_who_may_use_it(client, alice_period, clinician_carol):
    assert client.get(URL).status_code == 302  # anonymous: sign in
    login_verified(client, clinician_carol)
    assert client.get(URL).status_code in (403, 404)
    client.force_login(alice_period)
    page = client.get(URL)
    assert page.status_code == 200 and 'type="date"' in page.content.decode()
