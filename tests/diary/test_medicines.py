"""Medicines and doses: add, change dose, stop, daily checklist, adherence; API and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from diary import selectors, services
from diary.models import DoseLog, Medicine
from diary.selectors import patient_today

pytestmark = pytest.mark.django_db


def add_med(patient, days_ago=10, schedule="twice_daily", name="Hydroxychloroquine"):
    return services.medicine_add(
        patient=patient,
        name=name,
        dose="200",
        unit="mg",
        schedule=schedule,
        start_date=patient_today(patient) - timedelta(days=days_ago),
    )


def test_add_change_and_stop_through_the_api(alice_api, patient_alice):
    today = patient_today(patient_alice)
    response = alice_api.post(
        "/api/v1/medicines/",
        {
            "name": "Pilocarpine",
            "dose": "5",
            "unit": "mg",
            "schedule": "three_times_daily",
            "start_date": (today - timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    url = f"/api/v1/medicines/{response.json()['id']}/"
    changed = alice_api.patch(
        url, {"dose": "10", "effective": (today - timedelta(days=5)).isoformat()}, format="json"
    ).json()
    assert changed["dose"] == "10" and changed["unit"] == "mg"
    assert [h["dose"] for h in changed["history"]] == ["5", "10"]
    stopped = alice_api.patch(url, {"end_date": today.isoformat()}, format="json").json()
    assert stopped["end_date"] == today.isoformat()
    assert b"Pilocarpine" not in bytes(Medicine.objects.get().payload)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"schedule": "hourly"}, "schedule"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"start_date": "soon"}, "start_date"),
        ({"end_date": "2000-01-01"}, "end_date"),
    ],
)
def test_bad_medicine_input_is_400(alice_api, data, field):
    base = {
        "name": "Methotrexate",
        "dose": "15",
        "unit": "mg",
        "schedule": "weekly",
        "start_date": "2024-01-01",
    }
    response = alice_api.post("/api/v1/medicines/", {**base, **data}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Medicine.objects.exists()


def test_stop_before_start_is_400_and_nothing_changes(alice_api, patient_alice):
    med = add_med(patient_alice)
    response = alice_api.patch(
        f"/api/v1/medicines/{med.id}/", {"dose": "400", "end_date": "2000-01-01"}, format="json"
    )
    assert response.status_code == 400
    view = selectors.medicine_get(patient=patient_alice, medicine_id=med.id)
    assert view.end_date is None and view.dose == "200"


def test_someone_elses_medicine_is_404(bob_api, patient_alice):
    med = add_med(patient_alice)
    url = f"/api/v1/medicines/{med.id}/"
    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"dose": "1"}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert bob_api.get("/api/v1/medicines/").json()["count"] == 0


def test_dose_for_someone_elses_medicine_is_404(bob_api, patient_alice):
    med = add_med(patient_alice)
    today = patient_today(patient_alice).isoformat()
    response = bob_api.post(
        "/api/v1/doses/",
        {"medicine": str(med.id), "date": today, "status": "taken"},
        format="json",
    )
    assert response.status_code == 404
    assert "medicine" in response.json()
    assert not DoseLog.objects.exists()


def test_record_doses_and_list_them(alice_api, patient_alice):
    med = add_med(patient_alice)
    today = patient_today(patient_alice).isoformat()
    for slot, status in ((1, "taken"), (2, "missed")):
        response = alice_api.post(
            "/api/v1/doses/",
            {"medicine": str(med.id), "date": today, "slot": slot, "status": status},
            format="json",
        )
        assert response.status_code == 201
    again = alice_api.post(
        "/api/v1/doses/",
        {"medicine": str(med.id), "date": today, "slot": 2, "status": "taken"},
        format="json",
    )
    assert again.status_code == 201
    listed = alice_api.get(f"/api/v1/doses/?from={today}&to={today}").json()
    assert sorted((r["slot"], r["status"]) for r in listed["results"]) == [
        (1, "taken"),
        (2, "taken"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "forgot"}, "status"),
        ({"slot": 3}, "slot"),
        ({"date": "future"}, "date"),
        ({"date": "before-start"}, "date"),
        ({"medicine": "not-a-uuid"}, "medicine"),
    ],
)
def test_bad_dose_input_is_400(alice_api, patient_alice, change, field):
    med = add_med(patient_alice, days_ago=3)
    today = patient_today(patient_alice)
    data = {"medicine": str(med.id), "date": today.isoformat(), "slot": 1, "status": "taken"}
    data.update(change)
    if data["date"] == "future":
        data["date"] = (today + timedelta(days=1)).isoformat()
    if data["date"] == "before-start":
        data["date"] = (today - timedelta(days=30)).isoformat()
    response = alice_api.post("/api/v1/doses/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not DoseLog.objects.exists()


def test_adherence_counts_due_taken_missed_skipped(patient_alice):
    med = add_med(patient_alice, days_ago=2, schedule="once_daily")
    today = patient_today(patient_alice)
    for days_ago, status in ((2, "taken"), (1, "skipped")):
        services.dose_log_set(
            patient=patient_alice,
            medicine_id=med.id,
            day=today - timedelta(days=days_ago),
            status=status,
        )
    [row] = selectors.adherence(
        patient=patient_alice, date_from=today - timedelta(days=30), date_to=today
    )
    assert (row.expected, row.taken, row.skipped, row.missed, row.unrecorded) == (3, 1, 1, 0, 1)
    assert row.percent == 50.0


def test_weekly_and_as_needed_schedules(patient_alice):
    weekly = add_med(patient_alice, days_ago=14, schedule="weekly", name="Methotrexate")
    add_med(patient_alice, days_ago=14, schedule="as_needed", name="Artificial tears")
    today = patient_today(patient_alice)
    rows = selectors.adherence(
        patient=patient_alice, date_from=today - timedelta(days=14), date_to=today
    )
    assert [(r.medicine.id, r.expected) for r in rows] == [(weekly.id, 3)]


def test_pages_add_change_stop_and_checklist(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(
        reverse("diary:medicine_add"),
        {
            "choice": "other",
            "other_name": "Saliva spray",
            "dose": "1",
            "unit": "spray",
            "schedule": "once_daily",
            "start_date": today.isoformat(),
        },
    )
    assert response.status_code == 302
    [med] = selectors.medicines_for(patient=patient_alice)
    assert med.name == "Saliva spray"
    client.post(
        reverse("diary:medicine_change", args=[med.id]),
        {"dose": "2", "unit": "spray", "schedule": "twice_daily", "effective": today.isoformat()},
    )
    day_page = client.get(reverse("diary:entry_day", args=[today])).content.decode()
    assert "Saliva spray 2 spray (dose 2)" in day_page
    response = client.post(
        reverse("diary:dose_checklist", args=[today]),
        {"doses-dose_0": "taken", "doses-dose_1": "missed"},
    )
    assert response.status_code == 302
    logs = selectors.dose_logs_between(patient=patient_alice, date_from=today, date_to=today)
    assert sorted(log.status for log in logs) == ["missed", "taken"]
    listing = client.get(reverse("diary:medicine_list")).content.decode()
    assert "Saliva spray" in listing and "50.0%" in listing
    client.post(reverse("diary:medicine_stop", args=[med.id]), {"end_date": today.isoformat()})
    assert Medicine.objects.get().end_date == today


def test_add_page_refuses_other_without_a_name(client, patient_alice):
    client.force_login(patient_alice)
    response = client.post(
        reverse("diary:medicine_add"),
        {
            "choice": "other",
            "other_name": "",
            "dose": "1",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": "2024-01-01",
        },
    )
    assert response.status_code == 400
    assert "Type the name of the medicine." in response.content.decode()
    assert not Medicine.objects.exists()


def test_add_page_offers_the_common_medicines(client, patient_alice):
    client.force_login(patient_alice)
    html = client.get(reverse("diary:medicine_add")).content.decode()
    for name in ("Hydroxychloroquine", "Cevimeline", "Ciclosporin eye drops", "Rituximab"):
        assert name in html


def test_someone_elses_medicine_page_is_404(client, patient_alice, patient_bob):
    med = add_med(patient_alice)
    client.force_login(patient_bob)
    assert client.get(reverse("diary:medicine_change", args=[med.id])).status_code == 404
    assert (
        client.post(
            reverse("diary:medicine_stop", args=[med.id]), {"end_date": "2030-01-01"}
        ).status_code
        == 404
    )


def test_adherence_period_form_rejects_reversed_period(client, patient_alice):
    client.force_login(patient_alice)
    response = client.get(
        reverse("diary:medicine_list") + "?date_from=2024-05-02&date_to=2024-05-01"
    )
    assert response.status_code == 400
    assert "before its start" in response.content.decode()


def test_adherence_api_over_a_chosen_period(alice_api, bob_api, patient_alice):
    med = add_med(patient_alice, days_ago=5, schedule="once_daily")
    today = patient_today(patient_alice)
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    start = (today - timedelta(days=1)).isoformat()
    response = alice_api.get(f"/api/v1/medicines/adherence/?from={start}&to={today.isoformat()}")
    assert response.status_code == 200
    [row] = response.json()
    assert (row["expected"], row["taken"], row["unrecorded"], row["percent"]) == (2, 1, 1, 50.0)
    assert row["medicine"]["name"] == "Hydroxychloroquine"
    assert bob_api.get("/api/v1/medicines/adherence/").json() == []
    bad = alice_api.get("/api/v1/medicines/adherence/?from=2024-05-02&to=2024-05-01")
    assert bad.status_code == 400 and "to" in bad.json()
