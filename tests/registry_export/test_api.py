"""/api/v1/exports/: destinations, runs (list, start, status with progress) and file download."""

from __future__ import annotations

import hashlib

import pytest

from consent.models import AccessLogEvent
from registry_export import services
from registry_export.models import ExportRun, RunStatus
from tests.factories import PatientFactory, ResearcherFactory
from tests.personas import login_verified
from tests.registry_export.conftest import read_published, run_now

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/exports/runs/"


@pytest.fixture
def rita(client, researcher_rita, destination):
    destination.researchers.add(researcher_rita)
    login_verified(client, researcher_rita)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_researcher_lists_only_the_destinations_they_are_allowed_on(rita, destination, registry):
    services.destination_create(
        name="Not Rita's", formats=["fhir"], consent_scope="registry_sharing", registry=registry
    )
    data = rita.get("/api/v1/exports/destinations/").json()
    assert [d["name"] for d in data] == ["UK PSSR"]
    assert data[0]["formats"] == ["fhir", "redcap"]
    assert data[0]["consent_scope"] == "registry_sharing"


def test_a_patient_cannot_use_the_export_api(client, destination):
    login_verified(client, PatientFactory())
    assert client.get("/api/v1/exports/destinations/").status_code == 403
    assert client.post(RUNS, {"destination": str(destination.pk)}).status_code == 403


def test_starting_a_run_queues_it_once(rita, destination, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        first = rita.post(
            RUNS, {"destination": str(destination.pk)}, content_type="application/json"
        )
    assert first.status_code == 202
    assert first.json()["status"] == "pending" and len(queued) == 1  # the Celery task, on commit
    again = rita.post(RUNS, {"destination": str(destination.pk)}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert ExportRun.objects.count() == 1
    run = ExportRun.objects.get()
    assert run.trigger == "researcher" and run.requested_by.email == "rita@example.org"


def test_a_researcher_not_allowed_on_the_destination_gets_404(client, destination):
    login_verified(client, ResearcherFactory())
    response = client.post(RUNS, {"destination": str(destination.pk)})
    assert response.status_code == 404
    assert not ExportRun.objects.exists()


@pytest.mark.parametrize(
    "payload", [{}, {"destination": "not-a-uuid"}, {"destination": "", "full": "maybe"}]
)
def test_a_malformed_start_request_is_a_400(rita, payload):
    response = rita.post(RUNS, payload, content_type="application/json")
    assert response.status_code == 400
    assert not ExportRun.objects.exists()


def test_a_switched_off_destination_cannot_be_started(rita, destination):
    destination.is_active = False
    destination.save()
    response = rita.post(RUNS, {"destination": str(destination.pk)})
    assert response.status_code == 404  # no longer one of the researcher's destinations


def test_status_reports_live_progress_in_rows(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    run, pending = services.export_run_plan(run_id=run.pk, partition_size=2)
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    data = rita.get(f"{RUNS}{run.public_id}/").json()
    assert data["status"] == "running"
    # Two of the four patients done: 16 of their 32 diary entries.
    assert data["progress"] == {"rows_done": 16, "rows_total": 32, "percent": 50}
    assert data["files"] == []


def test_the_run_list_shows_the_researchers_runs(rita, cohort, destination):
    run = run_now(destination)
    data = rita.get(RUNS, {"destination": str(destination.pk)}).json()
    assert [r["id"] for r in data] == [str(run.public_id)]
    assert data[0]["status"] == "succeeded" and data[0]["patients"] == 4
    assert data[0]["progress"]["percent"] == 100
    names = [f["name"] for f in data[0]["files"]]
    assert "manifest.json" in names and "Patient.00000.ndjson" in names


def test_download_streams_the_file_and_logs_each_patient_in_it(rita, cohort, destination):
    run = run_now(destination)
    url = f"{RUNS}{run.public_id}/files/Observation.00000.ndjson"
    response = rita.get(url)
    assert response.status_code == 200 and response.streaming
    content = body(response)
    assert content == read_published(run)["Observation.00000.ndjson"]
    assert response["Content-Type"] == "application/fhir+ndjson"
    assert response["X-Content-SHA256"] == hashlib.sha256(content).hexdigest()
    logged = AccessLogEvent.objects.filter(kind="file", outcome="allowed")
    assert sorted(logged.values_list("patient_id", flat=True)) == sorted(p.pk for p in cohort[:4])
    assert {r.what for r in logged} == {
        f"registry export run {run.public_id} file Observation.00000.ndjson"
    }


def test_download_of_a_run_still_running_is_a_409(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    response = rita.get(f"{RUNS}{run.public_id}/files/manifest.json")
    assert response.status_code == 409
    assert "not finished" in response.json()["detail"]
    assert AccessLogEvent.objects.filter(kind="file", outcome="denied").count() == 1


def test_download_of_a_failed_run_is_a_409(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    services.export_run_fail(run_id=run.pk, error="OSError: disk full")
    response = rita.get(f"{RUNS}{run.public_id}/files/manifest.json")
    assert response.status_code == 409 and "failed" in response.json()["detail"]


@pytest.mark.parametrize("name", ["nothing.csv", "..%2Fsecret", "manifest.json.tmp"])
def test_download_of_an_unknown_file_is_a_404(rita, cohort, destination, name):
    run = run_now(destination)
    response = rita.get(f"{RUNS}{run.public_id}/files/{name}")
    assert response.status_code == 404


def test_another_researchers_run_is_a_404(client, cohort, destination):
    run = run_now(destination)
    login_verified(client, ResearcherFactory())
    assert client.get(f"{RUNS}{run.public_id}/").status_code == 404
    assert client.get(f"{RUNS}{run.public_id}/files/manifest.json").status_code == 404
    assert run.status == RunStatus.SUCCEEDED
