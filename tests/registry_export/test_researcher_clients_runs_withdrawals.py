"""Researcher pages of issue 11: backend clients (register with a key file, revoke), runs with
honest states (queued, running, failed, finished, cancelled), the whole run as one zip, and the
withdrawal list. Each is refused (404, logged as denied) for another researcher's destination."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consent.models import AccessLogEvent, ConsentScope
from registry_export import services, storage
from registry_export.models import BulkAccessToken, BulkClient, ExportRun, RunStatus
from tests.factories import PatientFactory, ResearcherFactory
from tests.personas import login_verified
from tests.registry_export.bulk_helpers import bearer, ec_key, register, rsa_key, token_request
from tests.registry_export.conftest import run_now, withdraw_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita(client, researcher_rita, destination):
    destination.researchers.add(researcher_rita)
    login_verified(client, researcher_rita)
    return client


@pytest.fixture
def other_destination(registry):
    """A destination Rita is not on (another researcher's)."""
    other = services.destination_create(
        name="Other feed", formats=["fhir"], consent_scope="registry_sharing", registry=registry
    )
    other.researchers.add(ResearcherFactory())
    return other


def url(name, *args):
    return reverse(f"registry_export:{name}", args=args)


def denied_count() -> int:
    return AccessLogEvent.objects.filter(outcome="denied").count()


def key_upload(key=None, *, as_pem=True, name="key.pem") -> SimpleUploadedFile:
    key = key or rsa_key()
    if as_pem:
        return SimpleUploadedFile(name, key.as_pem(private=False))
    data = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    return SimpleUploadedFile(name, data, content_type="application/json")


# --- Backend clients --------------------------------------------------------------------------


def test_registering_a_client_with_a_pem_shows_its_client_id(rita, destination):
    response = rita.post(
        url("client_list"),
        {"destination": destination.pk, "name": "PSSR server", "public_key": key_upload()},
        follow=True,
    )
    client = BulkClient.objects.get()
    assert client.destination == destination and client.name == "PSSR server"
    page = response.content.decode()
    assert f"client_id: {client.client_id}" in page
    # Only the public key is kept, with a kid.
    assert set(client.jwks["keys"][0]) >= {"kty", "n", "e", "kid"}
    assert "d" not in client.jwks["keys"][0]


def test_registering_with_a_jwks_of_an_ec_key_works_and_the_client_gets_a_token(
    rita, client, destination
):
    key = ec_key()
    rita.post(
        url("client_list"),
        {
            "destination": destination.pk,
            "name": "EC server",
            "public_key": key_upload(key, as_pem=False, name="jwks.json"),
        },
    )
    registered = BulkClient.objects.get()
    response = token_request(client, registered.client_id, key, alg="ES384")
    assert response.status_code == 200 and response.json()["access_token"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", "Not a JWKS"),
        (b"{not json", "Not valid JSON"),
        (b"   ", "The file is empty"),
    ],
)
def test_a_bad_key_file_is_a_form_error_and_nothing_is_stored(rita, destination, content, message):
    response = rita.post(
        url("client_list"),
        {
            "destination": destination.pk,
            "name": "Broken",
            "public_key": SimpleUploadedFile("k.pem", content),
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    assert not BulkClient.objects.exists()


@pytest.mark.parametrize("as_pem", [True, False])
def test_a_private_key_is_refused_with_advice(rita, destination, as_pem):
    key = rsa_key()
    if as_pem:
        upload = SimpleUploadedFile("private.pem", key.as_pem(private=True))
    else:
        jwks = {"keys": [key.as_dict(private=True)]}
        upload = SimpleUploadedFile("jwks.json", json.dumps(jwks).encode())
    response = rita.post(
        url("client_list"),
        {"destination": destination.pk, "name": "Oops", "public_key": upload},
    )
    assert response.status_code == 400
    assert "This file holds a private key" in response.content.decode()
    assert not BulkClient.objects.exists()


def test_an_ec_key_on_another_curve_is_refused(rita, destination):
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", private=True)
    response = rita.post(
        url("client_list"),
        {"destination": destination.pk, "name": "P-256", "public_key": key_upload(key)},
    )
    assert response.status_code == 400 and "P-384" in response.content.decode()
    assert not BulkClient.objects.exists()


def test_a_client_for_another_destination_is_refused_and_logged(rita, other_destination):
    before = denied_count()
    response = rita.post(
        url("client_list"),
        {"destination": other_destination.pk, "name": "Sneaky", "public_key": key_upload()},
    )
    assert response.status_code == 400
    assert "cannot register a client for another destination" in response.content.decode()
    assert not BulkClient.objects.exists()
    assert denied_count() == before + 1


def test_a_duplicate_client_name_is_a_form_error(rita, destination, tmp_path):
    register(destination, rsa_key(), tmp_path, name="PSSR server")
    response = rita.post(
        url("client_list"),
        {"destination": destination.pk, "name": "PSSR server", "public_key": key_upload()},
    )
    assert response.status_code == 400
    assert BulkClient.objects.count() == 1


def test_the_client_list_shows_only_clients_of_the_researchers_destinations(
    rita, destination, other_destination, tmp_path
):
    mine = register(destination, rsa_key(), tmp_path, name="mine")
    theirs = register(other_destination, rsa_key(), tmp_path, name="theirs")
    page = rita.get(url("client_list")).content.decode()
    assert mine in page and theirs not in page


def test_revoking_a_client_stops_its_tokens_at_once(rita, client, destination, tmp_path):
    key = rsa_key()
    client_id = register(destination, key, tmp_path)
    auth = bearer(client, client_id, key)
    assert client.get("/fhir/metadata").status_code == 200
    registered = BulkClient.objects.get(client_id=client_id)
    response = rita.post(url("client_revoke", registered.public_id), follow=True)
    assert "is revoked" in response.content.decode()
    registered.refresh_from_db()
    assert not registered.is_active and not BulkAccessToken.objects.exists()
    kickoff = client.get(
        f"/fhir/Group/{destination.name}/$export",
        HTTP_ACCEPT="application/fhir+json",
        HTTP_PREFER="respond-async",
        **auth,
    )
    assert kickoff.status_code == 401
    # A new token is refused too.
    assert token_request(client, client_id, key).status_code == 401
    assert "Revoked" in rita.get(url("client_list")).content.decode()


def test_revoking_a_client_of_another_destination_is_a_logged_404(
    rita, other_destination, tmp_path
):
    theirs = register(other_destination, rsa_key(), tmp_path, name="theirs")
    registered = BulkClient.objects.get(client_id=theirs)
    before = denied_count()
    assert rita.post(url("client_revoke", registered.public_id)).status_code == 404
    registered.refresh_from_db()
    assert registered.is_active and denied_count() == before + 1


def test_revoke_needs_a_post(rita, destination, tmp_path):
    register(destination, rsa_key(), tmp_path)
    assert rita.get(url("client_revoke", BulkClient.objects.get().public_id)).status_code == 405


# --- Runs: honest states ------------------------------------------------------------------------


def test_runs_page_shows_every_state_with_partitions_and_errors(
    rita, researcher_rita, cohort, destination, registry
):
    finished = run_now(destination)
    cancelled, _ = services.export_run_request(
        destination=destination, trigger="command", dispatch=False
    )
    services.export_run_cancel(run_id=cancelled.pk, reason="Cancelled by a test.")
    failed, _ = services.export_run_request(
        destination=destination, trigger="command", dispatch=False
    )
    services.export_run_plan(run_id=failed.pk, partition_size=2)
    services.export_run_fail(run_id=failed.pk, error="ExportError: disk full")
    # One run at a time per destination: the queued one is of Rita's second destination.
    second = services.destination_create(
        name="Second feed", formats=["fhir"], consent_scope="registry_sharing", registry=registry
    )
    second.researchers.add(researcher_rita)
    waiting, _ = services.export_run_request(destination=second, trigger="command", dispatch=False)
    page = rita.get(url("run_list")).content.decode()
    for text in ("Finished", "Cancelled", "Failed", "Queued", "disk full", "Cancelled by a test."):
        assert text in page
    assert f"{finished.partitions_done} of {finished.partitions_total}" in page
    assert "0 of 2" in page  # the failed run's partitions
    assert "Not planned yet" in page
    assert waiting.status == RunStatus.PENDING


def test_a_running_run_shows_partitions_written_so_far(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    services.export_run_plan(run_id=run.pk, partition_size=2)
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    page = rita.get(url("run_detail", run.public_id)).content.decode()
    assert "Running" in page and "Partitions written: 1 of 2" in page
    assert "Partitions of run" in page and url("run_cancel", run.public_id) in page


def test_cancelling_a_running_run_removes_its_files_and_it_reads_cancelled(
    rita, cohort, destination, django_capture_on_commit_callbacks
):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    services.export_run_plan(run_id=run.pk, partition_size=2)
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    assert storage.parts_dir(run).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = rita.post(url("run_cancel", run.public_id), follow=True)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None
    assert "Cancelled by researcher Rita." == run.error
    assert "is cancelled" in response.content.decode()
    assert not storage.parts_dir(run).exists()
    # The other partition's task finds nothing to do, and finalize does not resurrect it.
    assert not services.export_partition_write(
        run_id=run.pk, attempt=1, index=1, enqueue_finalize=False
    )
    assert not services.export_run_finalize(run_id=run.pk)
    # Its files are not served, with the reason.
    response = rita.get(url("run_zip", run.public_id))
    assert response.status_code == 409 and "was cancelled" in response.content.decode()
    # The next request starts a new run rather than re-opening the cancelled one.
    again, created = services.export_run_request(
        destination=destination, trigger="command", dispatch=False
    )
    assert created and again.pk != run.pk


def test_cancelling_a_finished_run_changes_nothing(rita, cohort, destination):
    run = run_now(destination)
    response = rita.post(url("run_cancel", run.public_id), follow=True)
    assert "cannot be cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_runs_of_another_destination_are_not_listed_and_their_pages_are_logged_404s(
    rita, cohort, other_destination
):
    theirs = run_now(other_destination)
    assert f"Run {theirs.pk}<" not in rita.get(url("run_list")).content.decode()
    before = denied_count()
    assert rita.get(url("run_detail", theirs.public_id)).status_code == 404
    assert rita.post(url("run_cancel", theirs.public_id)).status_code == 404
    assert rita.get(url("run_zip", theirs.public_id)).status_code == 404
    assert denied_count() == before + 3


# --- The whole run as one zip -----------------------------------------------------------------


def test_the_zip_holds_every_file_and_the_manifest_byte_for_byte(rita, cohort, destination):
    run = run_now(destination)
    response = rita.get(url("run_zip", run.public_id))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert f'filename="uk-pssr-run-{run.label}.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    folder = storage.run_dir(run)
    names = [f"uk-pssr-run-{run.label}/{f['name']}" for f in run.files]
    assert archive.namelist() == names
    for f in run.files:
        stored = (folder / f["name"]).read_bytes()
        assert archive.read(f"uk-pssr-run-{run.label}/{f['name']}") == stored
    manifest = json.loads(archive.read(f"uk-pssr-run-{run.label}/manifest.json"))
    assert manifest["run"]["id"] == str(run.public_id)
    # Logged per patient in the run, as a file download.
    logged = AccessLogEvent.objects.filter(kind="file", outcome="allowed", what__contains="zip")
    assert logged.count() == run.patients_total == 4


def test_the_zip_of_a_queued_run_explains_why_not(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    before = denied_count()
    response = rita.get(url("run_zip", run.public_id))
    assert response.status_code == 409 and "not finished" in response.content.decode()
    assert denied_count() == before + 1


def test_the_zip_of_a_run_with_a_withdrawn_patient_is_gone(rita, cohort, destination, registry):
    run = run_now(destination)
    withdraw_consent(cohort[0], ConsentScope.REGISTRY_SHARING, registry)
    response = rita.get(url("run_zip", run.public_id))
    assert response.status_code == 410
    assert "withdrawn their consent" in response.content.decode()


# --- Withdrawal list ----------------------------------------------------------------------------


def test_withdrawal_list_shows_pseudonyms_and_whether_the_registry_fetched_them(
    rita, cohort, destination, registry
):
    from registry_export.pseudonyms import pseudonymiser_for

    first = run_now(destination)
    leaving = cohort[1]
    withdraw_consent(leaving, ConsentScope.REGISTRY_SHARING, registry)
    second = run_now(destination)
    pseudonym = pseudonymiser_for(destination).patient(leaving.pk)
    page = rita.get(url("withdrawal_list", destination.pk)).content.decode()
    assert pseudonym in page and "Not yet" in page
    assert f">Run {second.label}<" in page
    # Never an internal id.
    assert f"patient {leaving.pk}" not in page
    # The registry fetches the second run (the zip holds withdrawals.csv): now marked fetched.
    assert rita.get(url("run_zip", second.public_id)).status_code == 200
    page = rita.get(url("withdrawal_list", destination.pk)).content.decode()
    assert "Yes, " in page and "Not yet" not in page
    assert first.pk != second.pk


def test_withdrawal_list_empty(rita, destination):
    page = rita.get(url("withdrawal_list", destination.pk)).content.decode()
    assert "has listed a withdrawal yet" in page


def test_withdrawal_list_of_another_destination_is_a_logged_404(rita, other_destination):
    before = denied_count()
    assert rita.get(url("withdrawal_list", other_destination.pk)).status_code == 404
    assert denied_count() == before + 1


# --- Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["run_list", "client_list"])
def test_a_patient_cannot_open_the_new_pages(client, name):
    login_verified(client, PatientFactory())
    assert client.get(url(name)).status_code == 403


def test_a_researcher_without_two_factor_cannot_register_a_client(
    client, researcher_rita, destination
):
    destination.researchers.add(researcher_rita)
    client.force_login(researcher_rita)
    response = client.post(
        url("client_list"),
        {"destination": destination.pk, "name": "x", "public_key": key_upload()},
    )
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]
    assert not BulkClient.objects.exists()
    assert ExportRun.objects.count() == 0
