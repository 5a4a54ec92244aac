"""The installable app (issue 12): manifest, service worker and offline page, served by the app
itself from the site root, under the strict Content-Security-Policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from pwa.templatetags.pwa import owner_tag

pytestmark = pytest.mark.django_db


def test_manifest_is_json_with_what_an_installable_app_needs(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["name"] == "My Sjögren's Diary"
    assert manifest["short_name"]
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_manifest_icons_are_served_pngs_of_their_stated_size(client):
    from io import BytesIO

    from PIL import Image

    for icon in json.loads(client.get("/manifest.webmanifest").content)["icons"]:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        body = b"".join(response.streaming_content) if response.streaming else response.content
        image = Image.open(BytesIO(body))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]


def test_service_worker_is_served_from_the_root_with_the_precache_list(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert "self.__WB_MANIFEST" not in script
    urls = {entry["url"] for entry in _precache_list(script)}
    assert {"/static/css/site.css", "/static/pwa/pwa.js", "/static/diary/day_form.js"} <= urls
    assert "/offline/" in urls


def _precache_list(script: str) -> list[dict]:
    match = re.search(r'\[\{"url": .*?\}\]', script)
    assert match, "no precache list in the served worker"
    return json.loads(match.group(0))


def test_precache_revisions_change_with_the_files(client, tmp_path, settings):
    first = {e["url"]: e["revision"] for e in _precache_list(client.get("/sw.js").content.decode())}
    assert all(re.fullmatch(r"[0-9a-f]{20}", rev) for rev in first.values())
    # A copy of the stylesheet with one more byte, found first: its revision changes.
    (tmp_path / "css").mkdir()
    original = finders.find("css/site.css")
    (tmp_path / "css" / "site.css").write_bytes(Path(original).read_bytes() + b"\n")
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    finders.get_finder.cache_clear()
    try:
        second = {
            e["url"]: e["revision"] for e in _precache_list(client.get("/sw.js").content.decode())
        }
    finally:
        finders.get_finder.cache_clear()
    assert second["/static/css/site.css"] != first["/static/css/site.css"]
    assert second["/static/pwa/pwa.js"] == first["/static/pwa/pwa.js"]


def test_policy_allows_the_worker_and_manifest_from_this_site_only(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "worker-src 'self'" in policy
    assert "manifest-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_offline_page_shows_no_one_even_to_a_signed_in_patient(client, patient_alice):
    client.force_login(patient_alice)
    response = client.get("/offline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are offline" in html
    assert "Alice" not in html
    assert "Sign out" not in html
    assert 'data-user=""' in html and 'data-offline-page="1"' in html


def test_page_script_is_a_module_at_the_end_of_the_body_before_page_scripts(client, patient_alice):
    client.force_login(patient_alice)
    html = client.get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    head, body = html.split("</head>", 1)
    assert "pwa/pwa.js" not in head
    tag = re.search(r'<script type="module" id="pwa-script" src="/static/pwa/pwa.js"[^>]*>', body)
    assert tag, "no page script"
    # Just above the page's own scripts (the day form's), after the footer.
    assert body.index("</footer>") < tag.start() < body.index("diary/day_form.js")


def test_page_script_tags_the_owner_without_naming_them(client, patient_alice, patient_bob):
    client.force_login(patient_alice)
    html = client.get("/").content.decode()
    tag = owner_tag(patient_alice)
    assert f'data-user="{tag}"' in html and 'data-patient="1"' in html
    assert tag != owner_tag(patient_bob)
    assert re.fullmatch(r"[0-9a-f]{32}", tag)  # a keyed hash: no id, name or e-mail


def test_signed_out_and_clinician_pages_are_not_marked_as_a_patients(client, clinician_carol):
    html = client.get("/accounts/login/").content.decode()
    assert 'data-user="" data-patient="0"' in html
    from tests.personas import login_verified

    staff_client = Client()
    login_verified(staff_client, clinician_carol)
    html = staff_client.get("/").content.decode()
    assert 'data-patient="0"' in html


def test_worker_routes_answer_get_only(client):
    assert client.post("/sw.js").status_code == 405
    assert client.post("/manifest.webmanifest").status_code == 405


# --- the page scripts' words (issue 13): Django's JavaScript catalogue ---------------------


def _catalog_src(html: str) -> str:
    match = re.search(r'<script src="(/jsi18n/[^"]+)" defer></script><script type="module"', html)
    assert match, "no catalogue script before the page script"
    return match.group(1)


def test_a_german_patient_gets_the_german_catalogue_before_the_page_script(client):
    from tests.factories import PatientFactory

    anna = PatientFactory(email="anna.de@example.org", language="de")
    client.force_login(anna)
    src = _catalog_src(client.get("/offline/").content.decode())
    assert src == "/jsi18n/de/"
    response = client.get(src)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    script = response.content.decode()
    assert '"Saved on this device": "Auf diesem Ger\\u00e4t gespeichert"' in script
    assert "django.gettext" in script and "django.interpolate" in script
    # Only the project's own catalogue: none of Django's admin words.
    assert "Show all dates" not in script and '"Today"' not in script


def test_an_english_patient_gets_the_english_catalogue_without_german(client, patient_alice):
    client.force_login(patient_alice)
    src = _catalog_src(client.get("/offline/").content.decode())
    assert src == "/jsi18n/en-gb/"
    script = client.get(src).content.decode()
    assert "Auf diesem Ger" not in script
    assert "django.gettext" in script


def test_the_catalogue_url_names_its_language_whoever_asks(client, patient_alice):
    # The words follow the URL, not the visitor: a URL is cacheable and precacheable.
    client.force_login(patient_alice)
    assert "Auf diesem Ger" in client.get("/jsi18n/de/").content.decode()


def test_an_unknown_language_is_refused(client):
    for language in ("fr", "xx", "en"):
        response = client.get(f"/jsi18n/{language}/")
        assert response.status_code == 404, language
    assert client.post("/jsi18n/de/").status_code == 405


def test_the_catalogue_is_cached_per_language_and_revalidated_with_its_etag(client):
    from django.core.cache import cache

    from pwa.views import catalog_revision

    cache.delete(f"pwa:jsi18n:de:{catalog_revision('de')}")
    first = client.get("/jsi18n/de/")
    assert first["Cache-Control"] == "no-cache"
    assert cache.get(f"pwa:jsi18n:de:{catalog_revision('de')}") == first.content
    assert cache.get(f"pwa:jsi18n:en-gb:{catalog_revision('en-gb')}") is None
    assert catalog_revision("de") != catalog_revision("en-gb")
    again = client.get("/jsi18n/de/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert client.get("/jsi18n/de/", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_the_worker_precaches_every_languages_catalogue(client):
    script = client.get("/sw.js").content.decode()
    entries = {e["url"]: e["revision"] for e in _precache_list(script)}
    assert {"/jsi18n/en-gb/", "/jsi18n/de/"} <= entries.keys()
    assert entries["/jsi18n/de/"] != entries["/jsi18n/en-gb/"]
