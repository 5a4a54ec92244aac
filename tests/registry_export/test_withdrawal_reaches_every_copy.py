"""Issue 11: after a withdrawal no file this system serves holds the patient's data (earlier
runs answer 410 Gone), and every later delivery lists the patient as deleted (Bulk Data
`deleted[]` and withdrawals.csv) until the registry has fetched a run that lists them. The
consent text promises exactly this."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import pytest
from django.urls import reverse

from consent.defaults import DOCUMENTS_V1
from consent.models import ConsentScope
from registry_export import services
from registry_export.models import BulkExportJob
from registry_export.pseudonyms import pseudonymiser_for
from tests.factories import ResearcherFactory
from tests.personas import login_verified
from tests.registry_export.bulk_helpers import (
    FHIR,
    KICKOFF_HEADERS,
    bearer,
    body,
    register,
    rsa_key,
)
from tests.registry_export.conftest import read_files, run_now, withdraw_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(client, destination, tmp_path):
    key = rsa_key()
    return bearer(client, register(destination, key, tmp_path), key)


def bulk_export(client, destination, auth) -> dict:
    """Kick off, let the worker do the run, return the complete-status manifest."""
    response = client.get(
        f"{FHIR}Group/{quote(destination.name)}/$export", **KICKOFF_HEADERS, **auth
    )
    assert response.status_code == 202, response.content
    status = urlsplit(response["Content-Location"]).path
    job = BulkExportJob.objects.get(pk=status.rsplit("/", 1)[-1])
    services.export_run_foreground(run=job.run)
    done = client.get(status, **auth)
    assert done.status_code == 200, done.content
    return {"status": status, **done.json()}


def fetch(client, url: str, auth) -> bytes:
    response = client.get(urlsplit(url).path, **auth)
    assert response.status_code == 200, response.content
    return body(response)


def deleted_pseudonyms(client, manifest: dict, auth) -> list[str]:
    names = []
    for item in manifest["deleted"]:
        assert item["type"] == "Bundle"
        for line in fetch(client, item["url"], auth).decode().splitlines():
            bundle = json.loads(line)
            assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
            for entry in bundle["entry"]:
                assert entry["request"]["method"] == "DELETE"
                names.append(entry["request"]["url"].removeprefix("Patient/"))
    return names


def test_an_earlier_run_stops_being_served_and_later_runs_list_the_patient_deleted(
    client, cohort, destination, registry, auth
):
    ps = pseudonymiser_for(destination)
    leaving = ps.patient(cohort[1].pk)
    first = bulk_export(client, destination, auth)
    assert first["deleted"] == []
    patient_url = next(o["url"] for o in first["output"] if o["type"] == "Patient")
    assert leaving.encode() in fetch(client, patient_url, auth)

    withdraw_consent(cohort[1], ConsentScope.REGISTRY_SHARING, registry)

    # (a) The earlier run holds their data: neither its manifest nor any file is served.
    gone = client.get(first["status"], **auth)
    assert gone.status_code == 410
    assert "withdrawn their consent" in gone.json()["issue"][0]["diagnostics"]
    refused = client.get(urlsplit(patient_url).path, **auth)
    assert refused.status_code == 410

    # (b) The next delivery leaves them out and lists them as deleted...
    second = bulk_export(client, destination, auth)
    for item in second["output"]:
        assert leaving.encode() not in fetch(client, item["url"], auth)
    # ... and so does the one after, while the registry has not fetched a `deleted` file.
    second_status = second["status"]
    third = bulk_export(client, destination, auth)
    assert client.get(second_status, **auth).status_code == 200  # no withdrawn patient in it
    assert deleted_pseudonyms(client, third, auth) == [leaving]  # fetched now
    fourth = bulk_export(client, destination, auth)
    assert fourth["deleted"] == []


def test_the_researcher_pages_refuse_an_earlier_runs_files_with_410_and_ack_on_fetch(
    client, cohort, destination, registry
):
    rita = ResearcherFactory()
    destination.researchers.add(rita)
    login_verified(client, rita)
    ps = pseudonymiser_for(destination)
    first = run_now(destination)
    withdraw_consent(cohort[2], ConsentScope.REGISTRY_SHARING, registry)

    page = client.get(reverse("registry_export:run_file", args=[first.public_id, "manifest.json"]))
    assert page.status_code == 410
    assert "withdrawn their consent" in page.content.decode()
    api = client.get(f"/api/v1/exports/runs/{first.public_id}/files/withdrawals.csv")
    assert api.status_code == 410

    second = run_now(destination)
    listed = client.get(f"/api/v1/exports/runs/{second.public_id}/files/withdrawals.csv")
    assert listed.status_code == 200
    assert ps.patient(cohort[2].pk) in body(listed).decode()
    # The registry fetched the REDCap withdrawals file: later runs need not list them again.
    third = run_now(destination)
    assert read_files(third)["withdrawals.csv"] == b"pseudonym\r\n"


def test_the_consent_text_promises_what_the_export_does(client, cohort, destination, registry):
    _title, text = DOCUMENTS_V1["registry_sharing"]
    assert "If you withdraw, nothing more is sent" in text
    assert "the registry is told to delete what it holds about you" in text
    ps = pseudonymiser_for(destination)
    run_now(destination)
    withdraw_consent(cohort[0], ConsentScope.REGISTRY_SHARING, registry)
    after = run_now(destination)
    files = read_files(after)
    # Nothing more is sent ...
    for name, data in files.items():
        if name not in ("withdrawals.csv", "Bundle.deleted.ndjson", "manifest.json"):
            assert ps.patient(cohort[0].pk).encode() not in data, name
    # ... and the registry is told to delete: in both formats' withdrawal lists.
    assert ps.patient(cohort[0].pk) in files["withdrawals.csv"].decode()
    bundle = json.loads(files["Bundle.deleted.ndjson"])
    assert bundle["entry"][0]["request"] == {
        "method": "DELETE",
        "url": f"Patient/{ps.patient(cohort[0].pk)}",
    }
