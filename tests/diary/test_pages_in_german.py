"""A patient who reads the portal in German sees the day page, trends and questionnaires in it;
the validated questionnaires' own wording stays as the site has it, marked with its language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diary.questionnaires.definitions import get_instrument
from diary.selectors import patient_today
from tests.diary.conftest import save_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def german_alice(client, patient_alice):
    patient_alice.language = "de"
    patient_alice.save()
    client.force_login(patient_alice)
    return patient_alice


def test_day_page_in_german(client, german_alice):
    day = patient_today(german_alice)
    response = client.get(reverse("diary:entry_day", args=[day]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de"' in html
    for text in ("Heute speichern", "Vorheriger Tag", "Trockene Augen", "Ist heute ein Schubtag?"):
        assert text in html
    assert "Save today" not in html and "Dry eyes" not in html


def test_saving_a_day_in_german_gives_a_german_message_and_errors(client, german_alice):
    day = patient_today(german_alice)
    refused = client.post(reverse("diary:entry_day", args=[day]), {"flare": "no"})
    assert refused.status_code == 400
    assert "Es wurde nichts gespeichert." in refused.content.decode()
    assert "Wählen Sie eine Zahl von 0 bis 10 für Trockene Augen." in refused.content.decode()

    scores = {name: "3" for name in ("dryness_eyes", "dryness_mouth", "dryness_skin")}
    scores |= {"fatigue": "4", "muscle_pain": "2", "joint_pain": "1", "flare": "no"}
    saved = client.post(reverse("diary:entry_day", args=[day]), scores, follow=True)
    assert "Ihr Tagebuch für" in saved.content.decode()
    assert "ist gespeichert." in saved.content.decode()


def test_trends_in_german(client, german_alice):
    for n in range(10):
        save_day(german_alice, n, fatigue=5 + n % 3)
    html = client.get(reverse("diary:trends")).content.decode()
    assert "<h1>Verlauf</h1>" in html
    assert "Zusammenfassung" in html and "Wochendurchschnitte (Tabelle)" in html
    assert "Müdigkeit (Fatigue): Durchschnitt" in html  # the summary sentence, translated
    assert "Müdigkeit (Fatigue)" in html.split('id="tr-symptom-data"')[1]  # the chart legend


def test_an_unknown_trends_range_is_refused_in_german(client, german_alice):
    response = client.get(reverse("diary:trends"), {"range": "forever"})
    assert response.status_code == 400
    assert "Es gibt keinen Zeitraum namens" in response.content.decode()


def test_questionnaire_wording_is_not_translated_and_says_why(client, german_alice):
    esspri = get_instrument("esspri")
    html = client.get(reverse("diary:questionnaire_answer", args=["esspri"])).content.decode()
    assert "Meine Antworten speichern" in html
    assert "in dem Wortlaut, in dem sie geprüft (validiert) wurden" in html
    assert esspri.items[0].text in html  # the wording as shipped, not a translation of it
    assert 'lang="en"' in html


def test_questionnaire_page_in_english_has_no_language_notice(client, patient_alice):
    client.force_login(patient_alice)
    html = client.get(reverse("diary:questionnaire_answer", args=["esspri"])).content.decode()
    assert "validated" not in html and 'lang="en"' not in html
