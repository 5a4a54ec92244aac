"""The interface language: a signed-in person's own choice (Settings and the profile API) wins on
every request; everyone else gets the language their browser asks for (Accept-Language) among
settings.LANGUAGES; a language not offered is refused with a clear message and stores nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User

PROFILE_API = "/api/v1/me/profile/"


def _post(client, **data):
    return client.post(
        reverse("account_profile"), {"display_name": "", "time_zone": "Europe/London", **data}
    )


def test_the_settings_page_offers_each_language_in_its_own_name(client, patient_alice):
    client.force_login(patient_alice)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'name="language"' in page
    assert '<option value="de">Deutsch</option>' in page
    assert '<option value="en-gb">English</option>' in page


def test_patient_chooses_german_and_every_page_follows_on_the_next_request(client, patient_alice):
    client.force_login(patient_alice)
    response = _post(client, language="de")
    assert response.status_code == 302
    assert User.objects.get(pk=patient_alice.pk).language == "de"

    page = client.get(reverse("account_settings"))
    html = page.content.decode()
    assert page["Content-Language"] == "de"
    assert '<html lang="de"' in html
    assert "Ihre Angaben sind gespeichert." in html  # the message after saving
    assert "Meine Angaben speichern" in html and "Zwei-Faktor-Anmeldung" in html


def test_a_chosen_language_beats_the_browsers(client, patient_alice):
    patient_alice.language = "en-gb"
    patient_alice.save()
    client.force_login(patient_alice)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en-GB"' in html and "How are you today?" in html


def test_an_empty_choice_follows_the_browser(client, patient_alice):
    patient_alice.language = "de"
    patient_alice.save()
    client.force_login(patient_alice)
    assert _post(client, language="").status_code == 302
    assert User.objects.get(pk=patient_alice.pk).language == ""
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    german = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert "How are you today?" in english
    assert "Wie geht es Ihnen heute?" in german


def test_a_form_without_the_language_field_keeps_the_choice(client, patient_alice):
    patient_alice.language = "de"
    patient_alice.save()
    client.force_login(patient_alice)
    response = client.post(
        reverse("account_profile"), {"display_name": "A", "time_zone": "Europe/London"}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=patient_alice.pk).language == "de"


@pytest.mark.parametrize("code", ["fr", "xx", "DE!", "en-us", "<script>"])
def test_a_language_not_offered_is_a_form_error_and_nothing_changes(client, patient_alice, code):
    client.force_login(patient_alice)
    response = _post(client, display_name="Changed", language=code)
    assert response.status_code == 400
    errors = " ".join(response.context["profile_form"].errors["language"])
    assert "is not a language this portal offers" in errors
    stored = User.objects.get(pk=patient_alice.pk)
    assert (stored.language, stored.display_name) == ("", patient_alice.display_name)


def test_anonymous_visitor_gets_the_language_their_browser_asks_for(client):
    german = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert german.status_code == 200
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    html = german.content.decode()
    assert '<html lang="de"' in html and "Tagebuch anlegen" in html

    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert "Create a diary" in english.content.decode()


def test_a_browser_language_not_offered_falls_back_to_english(client):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    html = response.content.decode()
    assert response["Content-Language"] == "en-gb"
    assert '<html lang="en-GB"' in html and "Create a diary" in html


def test_profile_api_sets_a_language_and_refuses_one_not_offered(patient_alice):
    api = APIClient()
    api.force_authenticate(patient_alice)
    assert api.get(PROFILE_API).json()["language"] == ""

    assert api.patch(PROFILE_API, {"language": "de"}, format="json").json()["language"] == "de"

    refused = api.patch(PROFILE_API, {"language": "fr", "display_name": "X"}, format="json")
    assert refused.status_code == 400
    assert "not a language this portal offers" in refused.json()["language"][0]
    assert "en-gb, de" in refused.json()["language"][0]
    stored = User.objects.get(pk=patient_alice.pk)
    assert (stored.language, stored.display_name) == ("de", patient_alice.display_name)


def test_profile_api_refuses_an_overlong_language_code(patient_alice):
    api = APIClient()
    api.force_authenticate(patient_alice)
    response = api.patch(PROFILE_API, {"language": "x" * 40}, format="json")
    assert response.status_code == 400
    assert "language" in response.json()
    assert User.objects.get(pk=patient_alice.pk).language == ""


def test_language_middleware_sits_where_django_and_the_user_lookup_need_it(settings):
    order = settings.MIDDLEWARE.index
    locale = order("django.middleware.locale.LocaleMiddleware")
    # Django's documented place: after sessions, before CommonMiddleware.
    assert order("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < order("django.middleware.common.CommonMiddleware")
    # The person's own choice needs the user, and must come after the browser's negotiation.
    user_language = order("accounts.middleware.UserLanguageMiddleware")
    assert order("django.contrib.auth.middleware.AuthenticationMiddleware") < user_language
    assert locale < user_language
    assert settings.LOCALE_PATHS and settings.USE_I18N
