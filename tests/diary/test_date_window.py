"""The diary's date window (diary/dates.py): from the birth year (or 1920) to today, the same in
forms, the API, URLs and services; a period asked for is bounded; nothing outside is stored."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from diary import dates, services
from diary.models import DailyEntry, DoseLog, Medicine, QuestionnaireResponse
from diary.selectors import patient_today
from tests.diary.conftest import day_values

pytestmark = pytest.mark.django_db

ANCIENT = ["0001-01-01", "0202-02-02", "1900-06-01", "1919-12-31"]


def _nothing_stored():
    assert not DailyEntry.objects.exists()
    assert not Medicine.objects.exists()
    assert not DoseLog.objects.exists()
    assert not QuestionnaireResponse.objects.exists()


# --- The window itself ----------------------------------------------------------------------


def test_window_runs_from_the_fixed_floor_or_the_birth_year_to_today(patient_alice):
    window = dates.window_for(patient_alice)
    assert window.first == dates.FIXED_FLOOR == date(1920, 1, 1)
    assert window.last == patient_today(patient_alice)
    patient_alice.birth_year = 1961
    assert dates.window_for(patient_alice).first == date(1961, 1, 1)
    assert "the year you were born" in dates.window_for(patient_alice).before_message()


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ANCIENT)
def test_an_ancient_day_in_a_url_is_a_404_not_a_500(client, patient_alice, day):
    client.raise_request_exception = False
    client.force_login(patient_alice)
    assert client.get(f"/diary/day/{day}/").status_code == 404
    assert client.post(f"/diary/day/{day}/", {"fatigue": "3"}).status_code == 404
    assert client.get(f"/api/v1/entries/{day}/").status_code == 404
    put = client.put(f"/api/v1/entries/{day}/", day_values(), content_type="application/json")
    assert put.status_code in (400, 404)
    _nothing_stored()


@pytest.mark.parametrize("day", ["9999-12-31", "3000-01-01"])
def test_a_far_future_day_in_a_url_is_a_404(client, patient_alice, day):
    client.raise_request_exception = False
    client.force_login(patient_alice)
    assert client.get(f"/diary/day/{day}/").status_code == 404
    assert client.get(f"/api/v1/entries/{day}/").status_code == 404


def test_the_first_day_of_the_window_opens(client, patient_alice):
    client.force_login(patient_alice)
    assert client.get("/diary/day/1920-01-01/").status_code == 200
    patient_alice.birth_year = 1980
    patient_alice.save(update_fields=["birth_year"])
    assert client.get("/diary/day/1979-12-31/").status_code == 404
    assert client.get("/diary/day/1980-01-01/").status_code == 200


# --- Services, API and forms ----------------------------------------------------------------


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1900, 6, 1), date(1919, 12, 31)])
def test_services_refuse_every_kind_of_date_before_the_window(patient_alice, day):
    with pytest.raises(ValidationError) as entry:
        services.entry_save(patient=patient_alice, entry_date=day, values=day_values())
    assert "1920" in entry.value.message_dict["date"][0]
    with pytest.raises(ValidationError) as medicine:
        services.medicine_add(
            patient=patient_alice,
            name="Pilocarpine",
            dose="5",
            unit="mg",
            schedule="once_daily",
            start_date=day,
        )
    assert "start_date" in medicine.value.message_dict
    with pytest.raises(ValidationError) as questionnaire:
        services.questionnaire_response_save(
            patient=patient_alice,
            instrument="esspri",
            answers={},
            score=1.0,
            period_start=day,
            period_end=patient_today(patient_alice),
        )
    assert "period_start" in questionnaire.value.message_dict
    _nothing_stored()


def test_birth_year_moves_the_floor(patient_alice):
    patient_alice.birth_year = 1975
    with pytest.raises(ValidationError, match="the year you were born"):
        services.entry_save(
            patient=patient_alice, entry_date=date(1974, 12, 31), values=day_values()
        )
    entry, _ = services.entry_save(
        patient=patient_alice, entry_date=date(1975, 1, 1), values=day_values()
    )
    assert entry.date == date(1975, 1, 1)


@pytest.mark.parametrize("day", ANCIENT)
def test_api_refuses_ancient_dates_with_a_message(alice_api, patient_alice, day):
    entry = alice_api.post("/api/v1/entries/", {"date": day, **day_values()}, format="json")
    assert entry.status_code == 400
    assert "on or after 01 January 1920" in entry.json()["date"][0]
    medicine = alice_api.post(
        "/api/v1/medicines/",
        {
            "name": "Pilocarpine",
            "dose": "5",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": day,
        },
        format="json",
    )
    assert medicine.status_code == 400
    assert "1920" in medicine.json()["start_date"][0]
    _nothing_stored()


def test_medicine_dates_may_be_planned_up_to_a_year_ahead(alice_api, patient_alice):
    today = patient_today(patient_alice)
    body = {"name": "Pilocarpine", "dose": "5", "unit": "mg", "schedule": "once_daily"}
    soon = alice_api.post(
        "/api/v1/medicines/",
        {**body, "start_date": (today + timedelta(days=7)).isoformat()},
        format="json",
    )
    assert soon.status_code == 201
    late = alice_api.post(
        "/api/v1/medicines/",
        {**body, "start_date": (today + timedelta(days=400)).isoformat()},
        format="json",
    )
    assert late.status_code == 400
    assert "at most a year" in late.json()["start_date"][0]
    stop = alice_api.patch(
        f"/api/v1/medicines/{soon.json()['id']}/", {"end_date": "1900-01-01"}, format="json"
    )
    assert stop.status_code == 400
    assert Medicine.objects.get().end_date is None


def test_dose_on_an_ancient_day_is_refused(alice_api, patient_alice):
    medicine = services.medicine_add(
        patient=patient_alice,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="once_daily",
        start_date=date(1920, 1, 1),
    )
    response = alice_api.post(
        "/api/v1/doses/",
        {"medicine": str(medicine.id), "date": "1900-01-01", "status": "taken"},
        format="json",
    )
    assert response.status_code == 400
    assert "1920" in str(response.json())
    assert not DoseLog.objects.exists()


@pytest.mark.parametrize("day", ANCIENT)
def test_the_medicine_form_refuses_an_ancient_start(client, patient_alice, day):
    client.force_login(patient_alice)
    response = client.post(
        "/diary/medicines/add/",
        {
            "choice": "N07AX01",  # pilocarpine (oral)
            "dose": "5",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": day,
        },
    )
    assert response.status_code == 400
    assert "on or after 01 January 1920" in response.content.decode()
    _nothing_stored()


# --- Periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/trends/?from=0001-01-01&to=0002-01-01",
        "/api/v1/trends/?from=1900-01-01",
        "/api/v1/medicines/adherence/?from=0001-01-01",
        "/api/v1/entries/?from=0001-01-01",
        "/api/v1/doses/?from=1900-01-01&to=1901-01-01",
        "/api/v1/questionnaires/?from=0001-01-01",
    ],
)
def test_a_period_before_the_window_is_a_400_with_a_message(alice_api, url):
    response = alice_api.get(url)
    assert response.status_code == 400, url
    messages = " ".join(sum(response.json().values(), []))
    assert "on or after 01 January 1920" in messages


def test_a_period_longer_than_ten_years_is_refused_everywhere(alice_api, client, patient_alice):
    patient_alice.birth_year = 1950
    patient_alice.save(update_fields=["birth_year"])
    for url in ("/api/v1/trends/", "/api/v1/medicines/adherence/", "/api/v1/entries/"):
        response = alice_api.get(f"{url}?from=1960-01-01&to=1975-01-01")
        assert response.status_code == 400, url
        assert "at most 3660 days" in response.json()["from"][0]
    client.force_login(patient_alice)
    page = client.get("/diary/medicines/?date_from=1960-01-01&date_to=1975-01-01")
    assert page.status_code == 400
    assert "at most 3660 days" in page.content.decode()


def test_a_period_ending_in_the_future_is_clamped_to_today(alice_api, patient_alice):
    today = patient_today(patient_alice)
    response = alice_api.get(f"/api/v1/trends/?to={(today + timedelta(days=3)).isoformat()}")
    assert response.status_code == 200
    assert response.json()["date_to"] == today.isoformat()
    future = alice_api.get(f"/api/v1/trends/?from={(today + timedelta(days=3)).isoformat()}")
    assert future.status_code == 400
    assert "future" in future.json()["from"][0]


def test_the_medicines_page_with_an_ancient_period_is_a_form_error(client, patient_alice):
    client.force_login(patient_alice)
    response = client.get("/diary/medicines/?date_from=0001-01-01&date_to=0002-01-01")
    assert response.status_code == 400
    assert "on or after 01 January 1920" in response.content.decode()


def test_all_time_trends_are_bounded_even_with_rows_from_before_the_window(client, patient_alice):
    """Rows stored before the window existed (year 1, 1950) do not make "All time" walk
    centuries: the page answers, over at most MAX_PERIOD_DAYS."""
    import uuid as _uuid

    from diary import crypto
    from diary.models import ENTRY_RECORD
    from diary.trends.selectors import range_dates

    services.entry_save(
        patient=patient_alice, entry_date=patient_today(patient_alice), values=day_values()
    )
    for old in (date(1, 1, 1), date(1950, 6, 1)):
        entry_id = _uuid.uuid4()
        DailyEntry.objects.create(
            id=entry_id,
            patient=patient_alice,
            date=old,
            payload=crypto.encrypt_json(
                patient_id=patient_alice.pk,
                record_type=ENTRY_RECORD,
                record_id=str(entry_id),
                payload={**day_values()},
            ),
        )
    first, last = range_dates(patient=patient_alice, key="all")
    assert (last - first).days + 1 == dates.MAX_PERIOD_DAYS
    client.force_login(patient_alice)
    assert client.get("/diary/trends/?range=all").status_code == 200
