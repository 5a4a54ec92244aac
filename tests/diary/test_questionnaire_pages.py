"""Questionnaire pages: what is due (each instrument on its own rhythm), answering with accessible
radio groups, history with scores and bands, and the site's licensed wording."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse

from diary import services as diary_services
from diary.models import QuestionnaireResponse
from diary.questionnaires.definitions import all_instruments
from diary.questionnaires.selectors import questionnaire_schedule, questionnaires_due
from diary.selectors import patient_today, questionnaire_get
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

LIST = reverse("diary:questionnaire_list")


def answered(patient, instrument: str, *, days_ago: int, score: float = 3.0):
    """A stored response whose recall period ended `days_ago` days ago."""
    end = patient_today(patient) - timedelta(days=days_ago)
    answers = {
        "esspri": {"dryness": 3, "fatigue": 3, "pain": 3},
        "osdi": {f"q{n}": 1 for n in range(1, 13)},
        "eq5d5l": {"MO": 1, "SC": 1, "UA": 1, "PD": 2, "AD": 1, "VAS": 80},
    }[instrument]
    return diary_services.questionnaire_response_save(
        patient=patient,
        instrument=instrument,
        answers=answers,
        score=score,
        period_start=end - timedelta(days=6),
        period_end=end,
    )


@pytest.fixture
def alice_web(client, patient_alice):
    client.force_login(patient_alice)
    return client


# --- What is due --------------------------------------------------------------------------
def test_everything_is_due_before_the_first_answers(patient_alice):
    assert [s.code for s in questionnaires_due(patient=patient_alice)] == [
        "esspri",
        "osdi",
        "eq5d5l",
    ]


@pytest.mark.parametrize(("instrument", "every"), [("esspri", 14), ("osdi", 7), ("eq5d5l", 30)])
def test_each_instrument_is_due_again_after_its_own_interval(patient_alice, instrument, every):
    assert all_instruments()[instrument].due_every_days == every
    answered(patient_alice, instrument, days_ago=every - 1)
    due = {s.code for s in questionnaires_due(patient=patient_alice)}
    assert instrument not in due
    QuestionnaireResponse.objects.all().delete()
    answered(patient_alice, instrument, days_ago=every)
    assert instrument in {s.code for s in questionnaires_due(patient=patient_alice)}


def test_the_schedule_gives_the_next_due_date(patient_alice):
    answered(patient_alice, "esspri", days_ago=4)
    status = next(s for s in questionnaire_schedule(patient=patient_alice) if s.code == "esspri")
    assert status.days_until_due == 10
    assert status.next_due == patient_today(patient_alice) + timedelta(days=10)


def test_list_page_says_which_are_due(alice_web, patient_alice):
    answered(patient_alice, "esspri", days_ago=2)
    page = alice_web.get(LIST).content.decode()
    assert "Not due yet" in page and "in 12 days" in page
    assert page.count("Due now") == 2
    assert "Answer OSDI now" in page and "Answer ESSPRI early" in page
    assert "Last score: <strong>3</strong> (acceptable state)" in page
    assert page.count("Last score") == 1


def test_dashboard_says_which_questionnaires_are_due(alice_web, patient_alice):
    answered(patient_alice, "osdi", days_ago=1)
    page = alice_web.get("/").content.decode()
    assert "Questionnaires due" in page
    assert "Answer the ESSPRI" in page and "Answer the EQ-5D-5L" in page
    assert "Answer the OSDI" not in page
    for code in ("esspri", "osdi", "eq5d5l"):
        answered(patient_alice, code, days_ago=0)
    assert "Questionnaires due" not in alice_web.get("/").content.decode()


# --- Answering ------------------------------------------------------------------------------
def test_answer_page_uses_a_fieldset_and_legend_per_item(alice_web):
    page = alice_web.get(reverse("diary:questionnaire_answer", args=["osdi"])).content.decode()
    assert page.count("<fieldset") == 12
    assert page.count("<legend>") == 12
    assert page.count('value="na"') == 7  # items 6-12 only
    # Licensed text is not shipped: a plain sentence for the patient, no developer words.
    assert "These questions are in our own words" in page
    assert "Placeholder wording" not in page and "QUESTIONNAIRE_TEXT_DIR" not in page


def test_missing_licensed_wording_is_logged_for_operators(alice_web, caplog):
    with caplog.at_level("WARNING", logger="diary.questionnaires.views"):
        alice_web.get(reverse("diary:questionnaire_answer", args=["eq5d5l"]))
    assert "questionnaire eq5d5l shown with placeholder wording" in caplog.text


def test_answering_esspri_stores_it_and_shows_the_score(alice_web, patient_alice):
    url = reverse("diary:questionnaire_answer", args=["esspri"])
    response = alice_web.post(url, {"dryness": "5", "fatigue": "6", "pain": "7"}, follow=True)
    assert response.status_code == 200
    stored = QuestionnaireResponse.objects.get(patient=patient_alice)
    assert questionnaire_get(patient=patient_alice, response_id=stored.id).score == 6.0
    page = response.content.decode()
    assert "Your ESSPRI score is 6." in page
    assert "Acceptable state" in page


def test_an_incomplete_form_is_refused_with_item_errors_and_stores_nothing(alice_web):
    url = reverse("diary:questionnaire_answer", args=["osdi"])
    response = alice_web.post(url, {"q1": "2", "q6": "9"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert 'href="#q-q2"' in page
    assert not QuestionnaireResponse.objects.exists()


def test_eq_vas_out_of_range_is_refused(alice_web):
    url = reverse("diary:questionnaire_answer", args=["eq5d5l"])
    data = {"MO": "1", "SC": "1", "UA": "1", "PD": "1", "AD": "1", "VAS": "150"}
    response = alice_web.post(url, data)
    assert response.status_code == 400
    assert not QuestionnaireResponse.objects.exists()


def test_unknown_instrument_page_is_404(alice_web):
    assert alice_web.get("/diary/questionnaires/sf36/").status_code == 404


# --- History and detail ------------------------------------------------------------------
def test_history_shows_scores_bands_and_changes(alice_web, patient_alice):
    answered(patient_alice, "esspri", days_ago=28, score=6.0)
    answered(patient_alice, "esspri", days_ago=14, score=4.5)
    answered(patient_alice, "osdi", days_ago=3, score=25.0)
    page = alice_web.get(reverse("diary:questionnaire_history", args=["esspri"])).content
    page = page.decode()
    assert "Meaningful improvement" in page and "First score" in page
    assert page.index("4.5") < page.index(">6<")  # newest first
    osdi_page = alice_web.get(reverse("diary:questionnaire_history", args=["osdi"])).content
    assert b"Moderate" in osdi_page


def test_a_response_page_shows_the_eq5d_profile(alice_web, patient_alice):
    response = answered(patient_alice, "eq5d5l", days_ago=0, score=80)
    page = alice_web.get(reverse("diary:questionnaire_detail", args=[response.id])).content
    assert b"11121" in page


def test_someone_elses_response_is_404(client, patient_alice, patient_bob):
    response = answered(patient_alice, "esspri", days_ago=0)
    client.force_login(patient_bob)
    assert client.get(reverse("diary:questionnaire_detail", args=[response.id])).status_code == 404


def test_clinicians_get_403_and_anonymous_users_go_to_login(client, clinician_carol):
    anonymous = client.get(LIST)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    login_verified(client, clinician_carol)
    assert client.get(LIST).status_code == 403
    url = reverse("diary:questionnaire_answer", args=["esspri"])
    assert client.post(url, {"dryness": "1", "fatigue": "1", "pain": "1"}).status_code == 403
    assert not QuestionnaireResponse.objects.exists()


# --- A site's licensed wording ----------------------------------------------------------------
def test_a_site_supplies_its_licensed_wording(alice_web, tmp_path):
    wording = {
        "wording_notice": "Official text used under licence.",
        "items": {"q1": {"text": "LICENSED TEXT ONE", "options": {"4": "LICENSED ALWAYS"}}},
    }
    (tmp_path / "osdi.json").write_text(json.dumps(wording))
    with override_settings(QUESTIONNAIRE_TEXT_DIR=str(tmp_path)):
        osdi = all_instruments()["osdi"]
        assert osdi.wording == "licensed"
        page = alice_web.get(reverse("diary:questionnaire_answer", args=["osdi"])).content
    page = page.decode()
    assert "LICENSED TEXT ONE" in page and "LICENSED ALWAYS" in page
    assert "These questions are in our own words" not in page
    assert osdi.scoring["scale"] == 25  # texts only: the scoring is untouched


@pytest.mark.parametrize(
    "wording",
    [
        {"items": {"q1": {"min": 1}}},  # not a text
        {"items": {"q99": {"text": "x"}}},  # no such item
        {"scoring": {"method": "mean"}},  # scoring cannot be replaced
        {"items": {"q1": {"options": {"7": "x"}}}},  # no such answer
    ],
)
def test_a_wording_file_that_changes_more_than_texts_is_refused(tmp_path, wording):
    (tmp_path / "osdi.json").write_text(json.dumps(wording))
    with (
        override_settings(QUESTIONNAIRE_TEXT_DIR=str(tmp_path)),
        pytest.raises(ImproperlyConfigured),
    ):
        all_instruments()
