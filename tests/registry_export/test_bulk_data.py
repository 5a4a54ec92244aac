"""FHIR Bulk Data Access server: the checks of the public Bulk Data test kits (kick-off 202 with
Content-Location, status fields, one type per file, no-token download refused, bad JWT 400,
cancel), SMART Backend Services tokens, and every bad input as a 4xx OperationOutcome."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest

from consent.models import AccessLogEvent, ConsentScope
from registry_export import services, storage
from registry_export.models import (
    BulkAccessToken,
    BulkClient,
    BulkExportJob,
    ExportRun,
    RunStatus,
)
from tests.registry_export.bulk_helpers import (
    FHIR,
    KICKOFF_HEADERS,
    assertion,
    bearer,
    body,
    ec_key,
    register,
    rsa_key,
    token_request,
)

pytestmark = pytest.mark.django_db


def group_url(destination) -> str:
    return f"{FHIR}Group/{quote(destination.name)}/$export"


@pytest.fixture
def key():
    return rsa_key()


@pytest.fixture
def client_id(destination, key, tmp_path):
    return register(destination, key, tmp_path)


@pytest.fixture
def auth(client, client_id, key):
    return bearer(client, client_id, key)


def kickoff(client, destination, auth, query: str = "", **extra):
    return client.get(group_url(destination) + query, **KICKOFF_HEADERS, **auth, **extra)


def job_of(response) -> BulkExportJob:
    return BulkExportJob.objects.get(pk=urlsplit(response["Content-Location"]).path.split("/")[-1])


def finish(job: BulkExportJob) -> ExportRun:
    """What a worker does with the queued run."""
    return services.export_run_foreground(run=job.run)


def status_path(response) -> str:
    return urlsplit(response["Content-Location"]).path


def assert_outcome(response, status: int, text: str) -> None:
    assert response.status_code == status, response.content
    data = response.json()
    assert data["resourceType"] == "OperationOutcome"
    assert text in data["issue"][0]["diagnostics"]


# --- Discovery ------------------------------------------------------------------------------


def test_metadata_is_a_capability_statement_naming_the_export_operation(client):
    response = client.get(f"{FHIR}metadata")
    assert response.status_code == 200
    data = response.json()
    assert data["resourceType"] == "CapabilityStatement"
    assert data["fhirVersion"] == "4.0.1"
    ops = data["rest"][0]["resource"][0]["operation"]
    assert ops[0]["name"] == "export" and ops[0]["definition"].endswith("group-export")


def test_metadata_lists_the_questionnaires_and_code_systems_served_under_fhir(client):
    """Issue 11: a client learns from /metadata that the definitions can be read and searched
    by canonical url, beside the export operation; and each interaction it lists answers."""
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    data = client.get(f"{FHIR}metadata").json()
    CapabilityStatement.model_validate(data)  # a valid R4(B) CapabilityStatement
    rest = data["rest"][0]
    assert rest["operation"][0]["name"] == "export"
    by_type = {r["type"]: r for r in rest["resource"]}
    assert by_type["Group"]["operation"][0]["name"] == "export"
    for rtype in ("Questionnaire", "CodeSystem"):
        listed = by_type[rtype]
        assert {i["code"] for i in listed["interaction"]} == {"read", "search-type"}
        assert [p["name"] for p in listed["searchParam"]] == ["url"]
        # What the statement promises is there: search, search by url, read by id.
        bundle = client.get(f"{FHIR}{rtype}").json()
        assert bundle["type"] == "searchset" and bundle["total"] >= 1
        first = bundle["entry"][0]["resource"]
        by_url = client.get(f"{FHIR}{rtype}", {"url": first["url"]}).json()
        assert [e["resource"]["id"] for e in by_url["entry"]] == [first["id"]]
        assert client.get(f"{FHIR}{rtype}/{first['id']}").json() == first
        # And what it does not promise is refused.
        assert client.get(f"{FHIR}{rtype}", {"name": "x"}).status_code == 400
        assert client.get(f"{FHIR}{rtype}/no-such-definition").status_code == 404
    # The exported types are listed without interactions: they come only through $export.
    assert "interaction" not in by_type["Observation"]


def test_smart_configuration_names_the_token_endpoint_and_backend_services(client):
    data = client.get(f"{FHIR}.well-known/smart-configuration").json()
    assert data["token_endpoint"] == "http://testserver/fhir/auth/token"
    assert data["grant_types_supported"] == ["client_credentials"]
    assert data["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(data["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    assert "system/*.read" in data["scopes_supported"]


# --- Tokens ---------------------------------------------------------------------------------


def test_a_signed_rs384_assertion_gets_a_short_lived_token_stored_hashed(client, client_id, key):
    response = token_request(client, client_id, key)
    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "bearer" and data["expires_in"] <= 300
    assert data["scope"] == "system/*.read"
    stored = BulkAccessToken.objects.get()
    assert data["access_token"] not in stored.token_sha256
    assert len(stored.token_sha256) == 64
    assert AccessLogEvent.objects.filter(outcome="allowed", what__contains="issued").exists()


def test_an_es384_key_from_a_jwks_file_works(client, destination, tmp_path):
    key = ec_key()
    cid = register(destination, key, tmp_path, name="ec-client", as_pem=False)
    response = token_request(client, cid, key, alg="ES384")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "form, error",
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_assertion_type": "urn:other"}, "invalid_request"),
        ({"client_assertion": "not-a-jwt"}, "invalid_request"),
    ],
)
def test_a_bad_grant_is_refused_with_an_oauth_error(client, client_id, key, form, error):
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(client_id, key),
        **form,
    }
    response = client.post(f"{FHIR}auth/token", data)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert not BulkAccessToken.objects.exists()
    assert AccessLogEvent.objects.filter(outcome="denied", what__contains=error).exists()


@pytest.mark.parametrize(
    "claims, text",
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": int(time.time()) + 3600}, "five minutes"),
        ({"aud": "http://elsewhere/token"}, "aud"),
        ({"sub": "someone-else"}, "iss and sub"),
        ({"jti": None}, "jti"),
    ],
)
def test_a_bad_assertion_is_a_400_invalid_grant(client, client_id, key, claims, text):
    response = token_request(client, client_id, key, **claims)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert text in response.json()["error_description"]
    assert not BulkAccessToken.objects.exists()


def test_a_replayed_assertion_is_refused(client, client_id, key):
    signed = assertion(client_id, key)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    assert client.post(f"{FHIR}auth/token", form).status_code == 200
    again = client.post(f"{FHIR}auth/token", form)
    assert again.status_code == 400 and "used already" in again.json()["error_description"]
    assert BulkAccessToken.objects.count() == 1


def test_an_unknown_client_or_a_foreign_key_or_alg_is_401(client, client_id, key):
    assert token_request(client, "nobody", key).status_code == 401
    other = token_request(client, client_id, rsa_key())
    assert other.status_code == 401 and other.json()["error"] == "invalid_client"
    rs256 = token_request(client, client_id, key, alg="RS256")
    assert rs256.status_code == 401 and "RS384" in rs256.json()["error_description"]
    assert not BulkAccessToken.objects.exists()
    assert (
        AccessLogEvent.objects.filter(outcome="denied", what__startswith="bulk token").count() == 3
    )


def test_an_expired_access_token_is_refused(client, destination, auth):
    issued = BulkAccessToken.objects.get().created_at
    BulkAccessToken.objects.update(expires_at=issued + timedelta(microseconds=1))
    assert_outcome(kickoff(client, destination, auth), 401, "bearer access token")


def test_the_command_refuses_an_unreadable_key_and_an_unknown_destination(destination, tmp_path):
    from django.core.management import CommandError, call_command

    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(CommandError, match="PEM"):
        call_command("export_client", destination=destination.name, name="x", public_key=str(bad))
    with pytest.raises(CommandError, match="No destination"):
        call_command("export_client", destination="Nope", name="x", public_key=str(bad))


# --- Kick-off, status, manifest, downloads ----------------------------------------------------


def test_kickoff_status_manifest_and_downloads(client, cohort, destination, auth):
    response = kickoff(client, destination, auth)
    assert response.status_code == 202
    location = response["Content-Location"]
    assert location.startswith("http://testserver/fhir/bulk-status/")

    running = client.get(status_path(response), **auth)
    assert running.status_code == 202
    assert running["Retry-After"].isdigit() and "%" in running["X-Progress"]

    run = finish(job_of(response))
    done = client.get(status_path(response), **auth)
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["transactionTime"].endswith("Z")
    assert manifest["request"].endswith(group_url(destination).replace(" ", "%20"))
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == [] and manifest["deleted"] == []
    types = {o["type"] for o in manifest["output"]}
    assert {"Patient", "Observation", "Consent"} <= types
    for item in manifest["output"]:
        assert item["url"].startswith("http://testserver/fhir/bulk-files/")
        got = client.get(urlsplit(item["url"]).path, HTTP_ACCEPT="application/fhir+ndjson", **auth)
        assert got.status_code == 200 and got.streaming
        assert got["Content-Type"] == "application/fhir+ndjson"
        lines = body(got).decode().splitlines()
        assert len(lines) == item["count"]
        # One resource type per file.
        assert {json.loads(line)["resourceType"] for line in lines} == {item["type"]}
    logged = AccessLogEvent.objects.filter(kind="file", outcome="allowed")
    assert set(logged.values_list("patient_id", flat=True)) == {p.pk for p in cohort[:4]}
    assert run.status == RunStatus.SUCCEEDED


def test_type_and_post_parameters_kickoff(client, cohort, destination, auth):
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_type", "valueString": "Patient,Consent"},
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
        ],
    }
    response = client.post(
        group_url(destination), json.dumps(params), content_type="application/fhir+json",
        **KICKOFF_HEADERS, **auth,
    )  # fmt: skip
    assert response.status_code == 202, response.content
    finish(job_of(response))
    manifest = client.get(status_path(response), **auth).json()
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Consent"}


def test_a_download_without_a_token_is_refused(client, cohort, destination, auth):
    response = kickoff(client, destination, auth)
    finish(job_of(response))
    url = client.get(status_path(response), **auth).json()["output"][0]["url"]
    refused = client.get(urlsplit(url).path)
    assert_outcome(refused, 401, "bearer access token")
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert not AccessLogEvent.objects.filter(kind="file", outcome="allowed").exists()


def test_since_asks_for_changes_after_the_instant(client, cohort, destination, auth):
    response = kickoff(client, destination, auth, "?_since=2020-01-01T00:00:00Z")
    assert response.status_code == 202
    run = job_of(response).run
    assert run.full is False and run.period_start.year == 2020


def test_cancel_stops_the_run_removes_its_files_and_forgets_the_job(
    client, cohort, destination, auth, django_capture_on_commit_callbacks
):
    response = kickoff(client, destination, auth)
    job = job_of(response)
    run, _ = services.export_run_plan(run_id=job.run_id, partition_size=2)
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    assert storage.parts_dir(run).exists()
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = client.delete(status_path(response), **auth)
    assert cancelled.status_code == 202
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and "Cancelled" in run.error
    assert not storage.parts_dir(run).exists() and not storage.run_dir(run).exists()
    assert_outcome(client.get(status_path(response), **auth), 404, "No export job")


def test_a_failed_run_is_a_500_operation_outcome(client, cohort, destination, auth):
    response = kickoff(client, destination, auth)
    services.export_run_fail(run_id=job_of(response).run_id, error="OSError: disk full")
    failed = client.get(status_path(response), **auth)
    assert_outcome(failed, 500, "disk full")


# --- Bad input: a clear 4xx OperationOutcome, and nothing changed ----------------------------


@pytest.mark.parametrize(
    "query, status, text",
    [
        ("?_since=yesterday", 400, "not a FHIR instant"),
        ("?_since=2026-13-40T00:00:00Z", 400, "not a valid date"),
        ("?_since=2999-01-01T00:00:00Z", 400, "in the future"),
        ("?_type=Encounter", 400, "not exported"),
        ("?_typeFilter=Observation%3Fcode%3D1", 400, "not supported"),
        ("?patient=Patient/1", 400, "not supported"),
        ("?_outputFormat=text/csv", 400, "_outputFormat"),
    ],
)
def test_bad_kickoff_parameters(client, cohort, destination, auth, query, status, text):
    assert_outcome(kickoff(client, destination, auth, query), status, text)
    assert not ExportRun.objects.exists() and not BulkExportJob.objects.exists()


def test_bad_kickoff_headers_and_body(client, destination, auth):
    url = group_url(destination)
    assert_outcome(client.get(url, HTTP_PREFER="respond-async", **auth), 400, "Accept")
    assert_outcome(client.get(url, HTTP_ACCEPT="application/fhir+json", **auth), 400, "Prefer")
    bad_body = client.post(
        url, "{", content_type="application/fhir+json", **KICKOFF_HEADERS, **auth
    )
    assert_outcome(bad_body, 400, "not JSON")
    assert not ExportRun.objects.exists()


def test_unknown_group_and_another_destinations_group_are_404(client, destination, registry, auth):
    other = services.destination_create(
        name="Other registry", formats=["fhir"], consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
    )  # fmt: skip
    assert_outcome(
        client.get(f"{FHIR}Group/Nope/$export", **KICKOFF_HEADERS, **auth), 404, "No group"
    )
    assert_outcome(kickoff(client, other, auth), 404, "No group")
    assert not ExportRun.objects.exists()


def test_a_client_cannot_see_another_clients_status_or_files(
    client, cohort, destination, auth, tmp_path
):
    response = kickoff(client, destination, auth)
    finish(job_of(response))
    manifest = client.get(status_path(response), **auth).json()
    other_key = rsa_key()
    other_auth = bearer(client, register(destination, other_key, tmp_path, "second"), other_key)
    assert_outcome(client.get(status_path(response), **other_auth), 404, "No export job")
    assert_outcome(client.delete(status_path(response), **other_auth), 404, "No export job")
    file_path = urlsplit(manifest["output"][0]["url"]).path
    assert_outcome(client.get(file_path, **other_auth), 404, "No export job")
    assert BulkExportJob.objects.get().cancelled_at is None


def test_a_download_before_completion_is_a_409(client, cohort, destination, auth):
    response = kickoff(client, destination, auth)
    job = job_of(response)
    path = f"{FHIR}bulk-files/{job.pk}/Patient.00000.ndjson"
    assert_outcome(client.get(path, **auth), 409, "not finished")
    job.run.refresh_from_db()
    assert job.run.status == RunStatus.PENDING


def test_a_destination_without_fhir_cannot_get_a_client(destination, registry, tmp_path):
    from django.core.management import CommandError

    services.destination_create(
        name="REDCap only", formats=["redcap"], consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
    )  # fmt: skip
    with pytest.raises(CommandError, match="does not export FHIR"):
        register(type("D", (), {"name": "REDCap only"})(), rsa_key(), tmp_path)


def test_staff_register_a_client_from_the_admin_and_a_bad_key_is_a_form_error(
    client, destination, key
):
    from tests.factories import StaffFactory
    from tests.personas import login_verified

    sam = StaffFactory()  # the Staff group's permissions
    login_verified(client, sam)
    url = "/admin/registry_export/bulkclient/add/"
    bad = client.post(url, {"name": "x", "destination": destination.pk, "public_key": "nope"})
    assert bad.status_code == 200 and "PEM" in bad.content.decode()
    assert not BulkClient.objects.exists()
    pem = key.as_pem(private=False).decode()
    added = client.post(url, {"name": "pssr", "destination": destination.pk, "public_key": pem})
    assert added.status_code == 302
    made = BulkClient.objects.get()
    assert made.client_id and made.jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in made.jwks["keys"][0]  # public members only
    assert token_request(client, made.client_id, key).status_code == 200
