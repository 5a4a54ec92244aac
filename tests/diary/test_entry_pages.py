"""Daily entry pages: the fast form, same-as-yesterday, amendments, future dates, denial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from diary import selectors
from diary.models import DailyEntry
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    values = day_values(**overrides)
    data = {k: v for k, v in values.items() if k not in {"flare", "factors"}}
    data["flare"] = "yes" if values["flare"] else "no"
    data["factors"] = values["factors"]
    return data


def day_url(day) -> str:
    return reverse("diary:entry_day", args=[day])


def test_patient_fills_in_today_and_it_is_stored_encrypted(client, patient_alice):
    client.force_login(patient_alice)
    today = patient_today(patient_alice)
    response = client.post(day_url(today), form_data(fatigue=9, note="tired"))
    assert response.status_code == 302
    entry = selectors.entry_on(patient=patient_alice, day=today)
    assert (entry.fatigue, entry.note, entry.factors) == (9, "tired", ("screen_work",))
    assert b"tired" not in bytes(DailyEntry.objects.get().payload)


def test_entry_form_renders_large_radio_rows_with_labels(client, patient_alice):
    client.force_login(patient_alice)
    html = client.get(day_url(patient_today(patient_alice))).content.decode()
    assert html.count('type="radio" name="fatigue"') == 11
    assert '<label for="id_fatigue_10">10</label>' in html
    assert "<legend>Tiredness (fatigue)</legend>" in html
    assert 'name="factors"' in html


def test_same_as_yesterday_prefills_from_the_last_entry_without_the_note(client, patient_alice):
    save_day(patient_alice, days_ago=1, fatigue=8, note="yesterday's note", flare=True)
    client.force_login(patient_alice)
    response = client.get(reverse("diary:entry_today") + "?same=1", follow=True)
    form = response.context["form"]
    assert response.context["from_yesterday"] is True
    assert form.initial["fatigue"] == 8
    assert form.initial["flare"] == "yes"
    assert form.initial["note"] == ""
    assert 'value="8" id="id_fatigue_8" required checked' in response.content.decode()


def test_saving_a_day_takes_three_interactions_from_the_dashboard(client, patient_alice):
    """Dashboard 'Same as yesterday' (1) -> change one score (2) -> Save (3)."""
    save_day(patient_alice, days_ago=1, fatigue=8)
    client.force_login(patient_alice)
    dashboard = client.get(reverse("home")).content.decode()
    same_link = reverse("diary:entry_today") + "?same=1"
    assert f'href="{same_link}"' in dashboard  # interaction 1
    form = client.get(same_link, follow=True).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["fatigue"] = 5  # interaction 2
    today = patient_today(patient_alice)
    assert client.post(day_url(today), data).status_code == 302  # interaction 3
    entry = selectors.entry_on(patient=patient_alice, day=today)
    assert entry.fatigue == 5 and entry.dryness_eyes == 6


def test_missing_scores_are_reported_per_field_and_nothing_is_saved(client, patient_alice):
    client.force_login(patient_alice)
    data = form_data()
    del data["joint_pain"]
    data["fatigue"] = 12
    response = client.post(day_url(patient_today(patient_alice)), data)
    assert response.status_code == 400
    assert "Choose a number from 0 to 10 for Joint pain." in response.content.decode()
    assert "fatigue" in response.context["form"].errors
    assert not DailyEntry.objects.exists()


def test_note_over_the_limit_is_refused_and_the_old_day_kept(client, patient_alice):
    save_day(patient_alice, note="kept")
    client.force_login(patient_alice)
    response = client.post(day_url(patient_today(patient_alice)), form_data(note="x" * 5001))
    assert response.status_code == 400
    assert "note" in response.context["form"].errors
    assert (
        selectors.entry_on(patient=patient_alice, day=patient_today(patient_alice)).note == "kept"
    )


def test_future_day_is_refused(client, patient_alice):
    client.force_login(patient_alice)
    tomorrow = patient_today(patient_alice) + timedelta(days=1)
    assert client.get(day_url(tomorrow)).status_code == 400
    assert client.post(day_url(tomorrow), form_data()).status_code == 400
    assert not DailyEntry.objects.exists()


def test_impossible_date_is_404(client, patient_alice):
    client.force_login(patient_alice)
    assert client.get("/diary/day/2025-02-30/").status_code == 404


def test_editing_a_past_day_shows_it_as_amended(client, patient_alice):
    entry = save_day(patient_alice, days_ago=2)
    client.force_login(patient_alice)
    client.post(day_url(entry.date), form_data(fatigue=1))
    response = client.get(day_url(entry.date))
    assert "Amended on" in response.content.decode()
    listing = client.get(reverse("diary:entry_list")).content.decode()
    assert "amended" in listing


def test_past_day_can_be_filled_in(client, patient_alice):
    client.force_login(patient_alice)
    day = patient_today(patient_alice) - timedelta(days=10)
    assert client.post(day_url(day), form_data()).status_code == 302
    assert selectors.entry_on(patient=patient_alice, day=day) is not None


def test_entry_list_shows_own_days_and_missing_days(client, patient_alice, patient_bob):
    save_day(patient_alice, days_ago=1, note="alice's note")
    save_day(patient_bob, days_ago=0, note="bob's note")
    client.force_login(patient_alice)
    html = client.get(reverse("diary:entry_list")).content.decode()
    assert "alice&#x27;s note" in html
    assert "bob" not in html.lower().replace("bob@", "")
    today = patient_today(patient_alice)
    assert day_url(today) in html  # today is missing, so it is offered


def test_delete_a_day(client, patient_alice):
    entry = save_day(patient_alice, days_ago=1)
    client.force_login(patient_alice)
    client.post(reverse("diary:entry_delete", args=[entry.date]))
    assert not DailyEntry.objects.exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("diary:entry_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["clinician_carol", "researcher_rita", "staff_sam"])
def test_other_roles_cannot_open_diary_pages(client, request, persona):
    user = request.getfixturevalue(persona)
    login_verified(client, user)
    for name in ("diary:entry_list", "diary:entry_today", "diary:medicine_list", "diary:my_data"):
        assert client.get(reverse(name)).status_code == 403


def test_dashboard_shows_week_and_prompt(client, patient_alice):
    save_day(patient_alice, days_ago=1, flare=True)
    client.force_login(patient_alice)
    html = client.get(reverse("home")).content.decode()
    assert "How are you today?" in html
    assert "filled in, flare" in html
    assert "1 day in a row" in html
