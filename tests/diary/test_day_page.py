"""The day page: one form for the entry and the doses, its JSON answers for the offline
replay (saved, duplicate, conflict, invalid) and the HTML conflict choice."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from diary import selectors, services
from diary.models import DoseLog, SaveReceipt
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day
from tests.diary.test_day_save import add_medicine
from tests.diary.test_entry_pages import form_data
from tests.personas import login_verified

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def day_url(day) -> str:
    return reverse("diary:entry_day", args=[day])


def day_doses(patient, day) -> dict[int, str]:
    """slot -> status of the day's recorded doses, read (and decrypted) through the selector."""
    logs = selectors.dose_logs_between(patient=patient, date_from=day, date_to=day)
    return {log.slot: log.status for log in logs}


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"(?: value="([^"]*)")?', html)
    assert match, f"no hidden input {name}"
    return match.group(1) or ""


def test_the_day_form_holds_entry_doses_and_replay_fields(client, patient_alice):
    med = add_medicine(patient_alice, times="08:00, 20:00")
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    html = client.get(day_url(today)).content.decode()
    assert f'<form id="day-form" method="post" class="entry-form" action="{day_url(today)}"' in html
    form = html[html.index('id="day-form"') : html.index("</form>", html.index('id="day-form"'))]
    assert 'name="fatigue"' in form and f'name="dose-{med.id}-1"' in form
    assert uuid.UUID(hidden(form, "idempotency_key"))
    assert hidden(form, "base_version") == ""  # nothing stored yet
    assert "Pilocarpine 5 mg, 08:00" in form and "Pilocarpine 5 mg, 20:00" in form
    assert 'name="all_taken" value="1"' in form
    assert "day_form.js" in html
    # A second rendering gets a fresh key.
    again = client.get(day_url(today)).content.decode()
    assert hidden(again, "idempotency_key") != hidden(form, "idempotency_key")


def test_one_post_saves_entry_and_doses(client, patient_alice):
    med = add_medicine(patient_alice)
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    data = {**form_data(fatigue=6), f"dose-{med.id}-1": "taken", f"dose-{med.id}-2": "skipped"}
    response = client.post(day_url(today), data)
    assert response.status_code == 302
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 6
    assert day_doses(patient_alice, today) == {1: "taken", 2: "skipped"}


def test_all_taken_as_planned_marks_every_dose_taken(client, patient_alice):
    add_medicine(patient_alice, schedule="three_times_daily")
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(day_url(today), {**form_data(), "all_taken": "1"})
    assert response.status_code == 302
    assert day_doses(patient_alice, today) == {1: "taken", 2: "taken", 3: "taken"}
    assert selectors.entry_on(patient=patient_alice, day=today) is not None


def test_a_failing_part_saves_nothing_and_keeps_every_typed_value(client, patient_alice):
    med = add_medicine(patient_alice)
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    data = {**form_data(fatigue=6, note="kept note"), f"dose-{med.id}-1": "taken"}
    del data["joint_pain"]
    response = client.post(day_url(today), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert 'value="6" id="id_fatigue_6" required checked' in html
    assert "kept note</textarea>" in html
    assert re.search(rf'name="dose-{med.id}-1" value="taken"[^>]*checked', html)
    assert not DoseLog.objects.exists()
    assert selectors.entry_on(patient=patient_alice, day=today) is None


def test_doses_alone_can_be_ticked_off_before_the_scores(client, patient_alice):
    med = add_medicine(patient_alice, schedule="once_daily")
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(day_url(today), {"flare": "no", f"dose-{med.id}-1": "taken"})
    assert response.status_code == 302
    assert day_doses(patient_alice, today) == {1: "taken"}
    assert selectors.entry_on(patient=patient_alice, day=today) is None


def test_the_old_dose_url_still_saves_doses(client, patient_alice):
    add_medicine(patient_alice)
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(
        reverse("diary:dose_checklist", args=[today]),
        {"doses-dose_0": "taken", "doses-dose_1": "missed"},
    )
    assert response.status_code == 302 and response["Location"] == day_url(today)
    assert sorted(day_doses(patient_alice, today).values()) == ["missed", "taken"]


# --- JSON answers (the offline replay) -------------------------------------------------------
def test_json_save_then_duplicate_key_is_applied_once(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    key = str(uuid.uuid4())
    first = client.post(day_url(today), {**form_data(fatigue=3), "idempotency_key": key}, **JSON)
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "saved" and body["date"] == today.isoformat()
    assert body["version"] == selectors.day_version(patient=patient_alice, day=today)
    again = client.post(day_url(today), {**form_data(fatigue=9), "idempotency_key": key}, **JSON)
    assert again.status_code == 200
    assert again.json() == {**body, "status": "duplicate"}
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 3
    assert SaveReceipt.objects.count() == 1


def test_another_patients_key_does_not_collide(client, patient_alice, patient_bob):
    key = str(uuid.uuid4())
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    assert (
        client.post(day_url(today), {**form_data(), "idempotency_key": key}, **JSON).json()[
            "status"
        ]
        == "saved"
    )
    client.force_login(patient_bob)
    bob_day = patient_today(patient_bob)
    answer = client.post(day_url(bob_day), {**form_data(fatigue=1), "idempotency_key": key}, **JSON)
    assert answer.json()["status"] == "saved"
    assert selectors.entry_on(patient=patient_bob, day=bob_day).fatigue == 1


def test_json_conflict_answers_409_with_both_versions(client, patient_alice):
    med = add_medicine(patient_alice, schedule="once_daily")
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice,
        entry_date=today,
        values=day_values(fatigue=2),
        doses=[(med.id, 1, "taken")],
    )
    stale = selectors.day_version(patient=patient_alice, day=today)
    services.day_save(patient=patient_alice, entry_date=today, values=day_values(fatigue=5))
    mine = {**form_data(fatigue=9), f"dose-{med.id}-1": "missed", "base_version": stale}
    response = client.post(day_url(today), {**mine, "idempotency_key": "k"}, **JSON)
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "conflict" and body["date"] == today.isoformat()
    assert body["server"]["fatigue"] == "5" and body["server"]["flare"] == "no"
    assert body["server"]["factors"] == ["screen_work"]
    assert body["server"][f"dose-{med.id}-1"] == "taken"
    assert body["mine"]["fatigue"] == "9" and body["mine"][f"dose-{med.id}-1"] == "missed"
    assert body["server_version"] == selectors.day_version(patient=patient_alice, day=today)
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 5
    assert day_doses(patient_alice, today) == {1: "taken"}
    assert not SaveReceipt.objects.filter(key="k").exists()  # not applied: a retry may apply it
    # Keep mine: resubmit with the server's version as base.
    retry = {**mine, "base_version": body["server_version"], "idempotency_key": "k"}
    assert client.post(day_url(today), retry, **JSON).json()["status"] == "saved"
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 9


def test_json_future_day_is_400_and_nothing_changes(client, patient_alice):
    client.force_login(patient_alice)
    tomorrow = patient_today(patient_alice) + timedelta(days=1)
    response = client.post(day_url(tomorrow), form_data(), **JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid" and "future" in body["errors"]["date"][0]
    assert not patient_alice.diary_entries.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"fatigue": "eleven"},
        {"fatigue": "11"},
        {"flare": "maybe"},
        {"factors": "cosmic_rays"},
        {"note": "x" * 5001},
        {"idempotency_key": "k" * 65},
        {"dose-not-a-medicine-1": "taken"},
    ],
)
def test_json_malformed_values_are_400_and_nothing_stored_is_lost(client, patient_alice, change):
    med = add_medicine(patient_alice, schedule="once_daily")
    save_day(patient_alice, fatigue=4)
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    before = selectors.day_version(patient=patient_alice, day=today)
    data = {**form_data(fatigue=7), f"dose-{med.id}-1": "taken", **change}
    response = client.post(day_url(today), data, **JSON)
    if "dose-not-a-medicine-1" in change:
        # An unknown dose field is no field of the form: ignored, the rest is saved.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid" and body["errors"]
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 4
    assert selectors.day_version(patient=patient_alice, day=today) == before
    assert not DoseLog.objects.exists()


def test_json_bad_dose_status_is_400(client, patient_alice):
    med = add_medicine(patient_alice, schedule="once_daily")
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(day_url(today), {**form_data(), f"dose-{med.id}-1": "eaten"}, **JSON)
    assert response.status_code == 400
    assert f"dose-{med.id}-1" in response.json()["errors"]
    assert selectors.entry_on(patient=patient_alice, day=today) is None


def test_json_needs_a_signed_in_patient(client, clinician_carol):
    today = patient_today(clinician_carol)
    anonymous = client.post(day_url(today), form_data(), **JSON)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    login_verified(client, clinician_carol)
    assert client.post(day_url(today), form_data(), **JSON).status_code == 403


# --- HTML conflict ----------------------------------------------------------------------------
def test_html_conflict_shows_both_versions_and_overwrites_nothing(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    page = client.get(day_url(today)).content.decode()
    base = hidden(page, "base_version")
    save_day(patient_alice, fatigue=5, note="from the phone")  # another device, meanwhile
    data = {**form_data(fatigue=9, note="from the laptop"), "base_version": base}
    response = client.post(
        day_url(today), {**data, "idempotency_key": hidden(page, "idempotency_key")}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "This day was changed somewhere else" in html
    assert "from the phone" in html and "from the laptop" in html
    assert "Keep mine" in html and "Keep the saved one" in html
    assert selectors.entry_on(patient=patient_alice, day=today).note == "from the phone"
    # Keep mine: the re-rendered form carries the saved version as its base.
    server_version = selectors.day_version(patient=patient_alice, day=today)
    assert hidden(html, "base_version") == server_version
    keep_mine = {
        **data,
        "base_version": server_version,
        "idempotency_key": hidden(html, "idempotency_key"),
    }
    assert client.post(day_url(today), keep_mine).status_code == 302
    assert selectors.entry_on(patient=patient_alice, day=today).note == "from the laptop"


def test_html_double_submit_saves_once(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    data = {**form_data(fatigue=2), "idempotency_key": "double", "base_version": ""}
    assert client.post(day_url(today), data).status_code == 302
    response = client.post(day_url(today), data, follow=True)
    assert "was already saved" in response.content.decode()
    assert SaveReceipt.objects.count() == 1


def test_same_as_yesterday_prefills_the_doses_too(client, patient_alice):
    med = add_medicine(patient_alice, schedule="once_daily")
    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice,
        entry_date=today - timedelta(days=1),
        values=day_values(),
        doses=[(med.id, 1, "skipped")],
    )
    client.force_login(patient_alice)
    response = client.get(reverse("diary:entry_today") + "?same=1", follow=True)
    assert response.context["form"].initial[f"dose-{med.id}-1"] == "skipped"


def test_medicine_form_takes_dose_times(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    data = {
        "choice": "N07AX01",  # pilocarpine (oral), ATC
        "dose": "5",
        "unit": "mg",
        "schedule": "twice_daily",
        "times": "08:00",
        "start_date": today.isoformat(),
    }
    refused = client.post(reverse("diary:medicine_add"), data)
    assert refused.status_code == 400
    assert "Give 2 time(s)" in refused.content.decode()
    assert not selectors.medicines_for(patient=patient_alice)
    assert (
        client.post(reverse("diary:medicine_add"), {**data, "times": "08:00, 20:00"}).status_code
        == 302
    )
    [med] = selectors.medicines_for(patient=patient_alice)
    assert med.times == ("08:00", "20:00")
    change = client.get(reverse("diary:medicine_change", args=[med.id])).content.decode()
    assert 'value="08:00, 20:00"' in change
    client.post(
        reverse("diary:medicine_change", args=[med.id]),
        {
            "dose": "5",
            "unit": "mg",
            "schedule": "twice_daily",
            "times": "07:30, 19:30",
            "effective": today.isoformat(),
        },
    )
    assert selectors.medicine_get(patient=patient_alice, medicine_id=med.id).times == (
        "07:30",
        "19:30",
    )


def test_json_replay_passes_csrf_in_the_header_or_the_body(patient_alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    page = client.get(day_url(today))
    token = page.cookies["csrftoken"].value
    refused = client.post(day_url(today), form_data(), **JSON)
    assert refused.status_code == 403
    assert selectors.entry_on(patient=patient_alice, day=today) is None
    by_header = client.post(
        day_url(today), {**form_data(), "idempotency_key": "h"}, HTTP_X_CSRFTOKEN=token, **JSON
    )
    assert by_header.status_code == 200 and by_header.json()["status"] == "saved"
    in_body = client.post(
        day_url(today),
        {**form_data(fatigue=1), "csrfmiddlewaretoken": token, "idempotency_key": "b"},
        **JSON,
    )
    assert in_body.status_code == 200
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 1


def test_the_medicine_list_shows_the_dose_times(client, patient_alice):
    add_medicine(patient_alice, times="08:00, 20:00")
    client.force_login(patient_alice)
    html = client.get(reverse("diary:medicine_list")).content.decode()
    assert "twice a day, at 08:00 and 20:00." in html
