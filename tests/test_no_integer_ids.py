"""Issue 16: no page link and no API response names a row by its integer key.

Sequential keys tell anyone how many patients (grants, runs, ...) there are and invite walking
them; URLs and responses carry opaque public ids (UUIDs) instead. This module

- walks the pages as a patient, a clinician, a researcher and staff (following links from each
  role's start pages) and fails on any link, image or form address with a bare integer path
  segment, or a query parameter naming an object by an integer;
- reads the API as each role and fails on any JSON key that names an id ("id", "*_id", a person
  or object field) holding an integer, on any FHIR reference like "Patient/12", and on any URL
  in a response with an integer path segment;
- checks that the OpenAPI schema describes every path parameter and id field as a string;
- checks, route by route, that the old integer address of a real object is a 404 (never a 500)
  for the very person allowed to see it, and that someone else's UUID is refused as before.

The admin site (staff only, Django's own pages) keeps its integer addresses and is not walked.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role, User
from consent import services as consent_services
from consent.models import ConsentScope, SharingGrant
from demo.personas import DEMO_USERS
from registry_export import services as export_services
from registry_export.models import BulkClient, ExportRun
from tests.factories import ClinicianFactory, PatientFactory, ResearcherFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

INTEGER = re.compile(r"^\d+$")
FHIR_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/\d+$")
# JSON keys that name an object or a person; any of them holding an integer is a leak.
ID_KEYS = re.compile(r"(^|_)id$|Id$|^(patient|clinician|reviewed_by|run|user|owner)$")
# Query parameters that name an object (page numbers and sizes are not objects).
ID_PARAMS = re.compile(r"(^|_)id$|^(patient|clinician|run|grant|user)$")
ATTRIBUTE_URLS = re.compile(r'\s(?:href|src|action|data-[a-z-]*url)="([^"]*)"')
ANCHORS = re.compile(r'<a\s[^>]*?href="([^"#]*)')
SKIP_PREFIXES = ("/static/", "/admin/", "/accounts/logout/", "/media/")
SKIP_SUFFIXES = (".pdf", ".png", ".zip", ".csv", ".json", ".ndjson", "/export/")
PER_SHAPE = 2  # pages of one shape (one route) to open: the others differ only in data
PAGE_LIMIT = 60


def integer_parts(url: str) -> list[str]:
    """The parts of a same-site URL that name something by a bare integer."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
        return []
    if parts.path.startswith(("/static/", "/admin/")):
        return []
    found = [seg for seg in parts.path.split("/") if INTEGER.match(seg)]
    found += [
        f"{k}={v}" for k, v in parse_qsl(parts.query) if ID_PARAMS.search(k) and INTEGER.match(v)
    ]
    return found


def integer_ids(value, where: str = "$") -> list[str]:
    """Every place in a JSON document where an id is an integer, or a URL or FHIR reference
    names a row by one."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}"
            is_int = isinstance(item, int) and not isinstance(item, bool)
            if is_int and ID_KEYS.search(str(key)):
                found.append(f"{here} = {item}")
            found += integer_ids(item, here)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += integer_ids(item, f"{where}[{n}]")
    elif isinstance(value, str) and (
        FHIR_REFERENCE.match(value)
        or (value.startswith(("/", "http://testserver/")) and integer_parts(value))
    ):
        found.append(f"{where} = {value!r}")
    return found


def _shape(path: str) -> str:
    """A path with its variable parts blanked: pages of one route share a shape."""
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", path)
    return re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", path)


def crawl(client, starts: list[str]) -> tuple[list[str], list[str]]:
    """(pages opened, problems): follows same-site links breadth first, a few per shape."""
    queue, seen, shapes, opened, problems = deque(starts), set(), {}, [], []
    while queue and len(opened) < PAGE_LIMIT:
        path = queue.popleft()
        shape = _shape(path.split("?")[0])
        if path in seen or shapes.get(shape, 0) >= PER_SHAPE:
            continue
        seen.add(path)
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        opened.append(path)
        html = response.content.decode()
        problems += [
            f"{path}: {url} ({', '.join(integer_parts(url))})"
            for url in ATTRIBUTE_URLS.findall(html)
            if integer_parts(url)
        ]
        for href in ANCHORS.findall(html):
            target = urljoin(path, href.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver") or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith(SKIP_SUFFIXES):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return opened, problems


@dataclass
class World:
    patient: User
    clinician: User
    researcher: User
    staff: User
    run: ExportRun
    study: object


@pytest.fixture
def world(settings, tmp_path, django_capture_on_commit_callbacks, monkeypatch) -> World:
    """The demo world (a patient with 120 days of diary sharing everything with a verified
    clinician; a researcher with a finished export run; staff), plus a consent, a pending
    request from another clinician, a push subscription, a backend client and a reviewed
    radiograph, so that every kind of object a URL or a response can name exists."""
    from config.celery import app
    from imaging.training.synth import generate, to_png_bytes
    from reminders import services as reminder_services
    from tests.imaging.review_helpers import full_grading
    from tests.registry_export.bulk_helpers import register, rsa_key
    from tests.reminders.conftest import new_browser_keys

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REGISTRY_EXPORT_ROOT = tmp_path / "exports"
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)
    call_command("seed_demo", "--quiet", stdout=open("/dev/null", "w"))  # noqa: SIM115
    patient, clinician, researcher, staff = (User.objects.get(email=u[0]) for u in DEMO_USERS)
    document = consent_services.current_document(kind=ConsentScope.RESEARCH_CONTACT, registry=None)
    consent_services.consent_give(patient=patient, document=document, via="web")
    other = ClinicianFactory()
    consent_services.clinician_verify(clinician=other, by=staff)
    consent_services.grant_request(clinician=other, patient_email=patient.email, scopes=["diary"])
    keys = new_browser_keys()
    reminder_services.push_subscription_save(
        patient=patient, endpoint="https://push.example.org/p/1", p256dh=keys.p256dh, auth=keys.auth
    )
    run = ExportRun.objects.get()
    register(run.destination, rsa_key(), tmp_path)
    # A radiograph uploaded and reviewed by the clinician (the model runs in the worker).
    from django.test import Client

    uploader = Client()
    login_verified(uploader, clinician)
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = uploader.post(
            reverse("imaging:patient_studies", args=[patient.public_id]),
            {"file": SimpleUploadedFile("hand.png", to_png_bytes(generate(3_000_123).image))},
        )
    assert uploaded.status_code == 302
    from imaging.models import Study

    study = Study.objects.get()
    graded = uploader.post(reverse("imaging:joint_review", args=[study.pk]), full_grading(study))
    assert graded.status_code == 302
    return World(patient, clinician, researcher, staff, run, study)


def _signed_in(client, user):
    if user.role == Role.PATIENT:
        client.force_login(user)
    else:
        login_verified(client, user)
    return client


START_PAGES = {
    "patient": ["/", "/diary/", "/diary/medicines/", "/consent/", "/reminders/", "/diary/my-data/"],
    "clinician": ["/", "/clinic/patients/"],
    "researcher": ["/", "/exports/", "/exports/runs/", "/exports/clients/"],
    "staff": ["/", "/consent/staff/clinicians/"],
}


@pytest.mark.parametrize("role", list(START_PAGES))
def test_no_page_links_to_an_object_by_its_integer_key(client, world, role):
    _signed_in(client, getattr(world, role))
    opened, problems = crawl(client, START_PAGES[role])
    assert len(opened) >= 2, f"the walk opened too little to prove anything: {opened}"
    assert not problems, "links naming rows by integer key:\n" + "\n".join(problems)


def _api_urls(world: World) -> dict[str, list[str]]:
    alice = world.patient.public_id
    return {
        "patient": [
            reverse("api_profile"),
            reverse("diary_api:entry_list"),
            reverse("diary_api:medicine_list"),
            reverse("diary_api:dose_list"),
            reverse("diary_api:questionnaire_list"),
            reverse("api_consent_documents"),
            reverse("api_consents"),
            reverse("api_consent_history"),
            reverse("api_grants"),
            reverse("api_my_access_log"),
            reverse("reminder_push_subscriptions"),
        ],
        "clinician": [
            reverse("api_profile"),
            reverse("api_patients"),
            reverse("api_patient_summary", args=[alice]),
            reverse("api_grants"),
            reverse("api_imaging_studies") + f"?patient={alice}",
            reverse("api_imaging_result", args=[world.study.pk]),
        ],
        "researcher": [
            reverse("api_profile"),
            reverse("api_export_destinations"),
            reverse("api_export_runs"),
            reverse("api_export_run", args=[world.run.public_id]),
        ],
        "staff": [reverse("api_profile"), reverse("api_consent_documents")],
    }


@pytest.mark.parametrize("role", list(START_PAGES))
def test_no_api_response_names_an_object_by_its_integer_key(client, world, role):
    _signed_in(client, getattr(world, role))
    problems = []
    for url in _api_urls(world)[role]:
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, f"{url}: {response.status_code}"
        problems += [f"{url}: {p}" for p in integer_ids(response.json())]
    assert not problems, "integer ids in API responses:\n" + "\n".join(problems)


def test_the_self_export_names_no_row_by_its_integer_key(client, world):
    client.force_login(world.patient)
    response = client.get(reverse("diary_api:me_export"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    if "json" in response.get("Content-Type", ""):
        assert not integer_ids(response.json())
    else:  # a zip of JSON and CSV files: every JSON member is checked
        import io
        import json
        import zipfile

        body = b"".join(response.streaming_content) if response.streaming else response.content
        archive = zipfile.ZipFile(io.BytesIO(body))
        members = [n for n in archive.namelist() if n.endswith(".json")]
        assert members
        for name in members:
            assert not integer_ids(json.loads(archive.read(name))), name


def test_the_checks_catch_an_integer_id():
    """The detectors themselves: they must not pass everything."""
    assert integer_ids({"id": 12}) and integer_ids({"results": [{"patient_id": 3}]})
    assert integer_ids({"subject": {"reference": "Patient/7"}})
    assert integer_ids({"url": "/api/v1/exports/runs/4/files/x"})
    assert not integer_ids({"id": "6f1c2d1e-0a8b-4c55-9d61-1b8e2f6b9a10", "count": 4, "version": 2})
    assert integer_parts("/clinic/patients/12/summary/") == ["12"]
    assert integer_parts("/imaging/studies/?patient=5") == ["patient=5"]
    assert not integer_parts("/diary/day/2026-01-01/?page=2")
    assert not integer_parts("/static/css/site.2.css")


def test_the_api_schema_has_no_integer_ids(client):
    schema = client.get(reverse("api_schema") + "?format=json").json()
    problems = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                kind = parameter.get("schema", {}).get("type")
                named = parameter["in"] == "path" or ID_PARAMS.search(parameter["name"])
                if named and kind == "integer":
                    problems.append(f"{method.upper()} {path}: parameter {parameter['name']}")
    for name, component in schema["components"]["schemas"].items():
        for field, spec in component.get("properties", {}).items():
            if ID_KEYS.search(field) and spec.get("type") == "integer":
                problems.append(f"schema {name}.{field}")
    assert not problems, "integer ids in the OpenAPI schema:\n" + "\n".join(problems)


# --- Route by route: the old integer address, and someone else's UUID -----------------------


@dataclass(frozen=True)
class Probe:
    route: str
    method: str
    owner: str  # who may use the object (gets a 404 on its integer address, never a 500)
    stranger: str  # who must be refused on the object's real UUID
    obj: str  # World attribute the route names
    extra: tuple = ()
    body: tuple = ()  # a valid form, so that the refusal is about the object, not the form


DECLINE = (("decision", "decline"),)
PROBES = [
    Probe("clinic:timeline", "get", "clinician", "dave", "patient"),
    Probe("clinic:summary", "get", "clinician", "dave", "patient"),
    Probe("clinic:summary_pdf", "get", "clinician", "dave", "patient"),
    Probe("api_patient_summary", "get", "clinician", "dave", "patient"),
    Probe("imaging:patient_studies", "get", "clinician", "dave", "patient"),
    Probe("consent:grant_revoke", "post", "patient", "bob", "grant"),
    Probe(
        "consent:request_answer",
        "post",
        "patient",
        "bob",
        "request",
        (),
        (("decision", "decline"),),
    ),
    Probe("api_grant_revoke", "post", "patient", "bob", "grant"),
    Probe("api_grant_accept", "post", "patient", "bob", "request"),
    Probe("api_grant_decline", "post", "patient", "bob", "request"),
    Probe("consent:staff_clinician_verify", "post", "staff", "staff", "patient"),
    Probe("registry_export:run_detail", "get", "researcher", "reggie", "run"),
    Probe("registry_export:run_cancel", "post", "researcher", "reggie", "run"),
    Probe("registry_export:run_zip", "get", "researcher", "reggie", "run"),
    Probe("registry_export:run_file", "get", "researcher", "reggie", "run", ("manifest.json",)),
    Probe("api_export_run", "get", "researcher", "reggie", "run"),
    Probe("api_export_run_file", "get", "researcher", "reggie", "run", ("manifest.json",)),
    Probe("registry_export:client_revoke", "post", "researcher", "reggie", "client"),
]


@pytest.fixture
def probe_world(world):
    """The world, plus people with the right role but no claim on its objects."""
    dave = ClinicianFactory()
    consent_services.clinician_verify(clinician=dave, by=world.staff)
    return {
        "world": world,
        "patient": world.patient,
        "clinician": world.clinician,
        "researcher": world.researcher,
        "staff": world.staff,
        "dave": dave,
        "bob": PatientFactory(),
        "reggie": ResearcherFactory(),
        "objects": {
            "patient": world.patient,
            "grant": SharingGrant.objects.get(patient=world.patient, clinician=world.clinician),
            "request": SharingGrant.objects.get(patient=world.patient, status="requested"),
            "run": world.run,
            "client": BulkClient.objects.get(),
        },
    }


def _send(client, probe: Probe, url: str):
    return client.get(url) if probe.method == "get" else client.post(url, dict(probe.body))


@pytest.mark.parametrize("probe", PROBES, ids=[p.route for p in PROBES])
def test_old_integer_address_is_a_404_and_someone_elses_uuid_is_refused(client, probe_world, probe):
    obj = probe_world["objects"][probe.obj]
    real = reverse(probe.route, args=[obj.public_id, *probe.extra])
    integer = real.replace(str(obj.public_id), str(obj.pk))
    assert INTEGER.match(str(obj.pk)) and integer != real
    _signed_in(client, probe_world[probe.owner])
    assert _send(client, probe, integer).status_code == 404, integer
    client.logout()
    if probe.stranger == probe.owner:  # staff: the public id of someone who is no clinician
        real = reverse(probe.route, args=[probe_world["bob"].public_id, *probe.extra])
    _signed_in(client, probe_world[probe.stranger])
    response = _send(client, probe, real)
    assert response.status_code in (403, 404), f"{real}: {response.status_code}"
    # Nothing was changed by either request.
    grant = SharingGrant.objects.get(pk=probe_world["objects"]["grant"].pk)
    assert grant.revoked_at is None
    assert SharingGrant.objects.get(pk=probe_world["objects"]["request"].pk).status == "requested"
    assert BulkClient.objects.get().is_active
    assert ExportRun.objects.get(pk=probe_world["world"].run.pk).status == "succeeded"


def test_registry_pseudonyms_and_fhir_ids_are_not_integer_keys(world):
    """The registry's files never carry the integer key: Patient ids are HMAC pseudonyms."""
    import json

    from tests.registry_export.conftest import read_files

    # The demo patient consented to registry sharing (seed_demo); a fresh full run.
    run, _ = export_services.export_run_request(
        destination=world.run.destination, trigger="command", dispatch=False, full=True
    )
    run = export_services.export_run_foreground(run=run)
    patients = [json.loads(line) for line in read_files(run)["Patient.ndjson"].splitlines()]
    assert patients, "the patient consented to registry sharing"
    for resource in patients:
        assert not INTEGER.match(resource["id"]) and len(resource["id"]) >= 16
        assert resource["id"] != str(world.patient.public_id)  # a pseudonym, not the public id
