"""The researcher in the browser (issue 11): signs in with a second factor, registers a registry's
backend client by uploading its public key, reads the client id, opens a finished run and
downloads it as one zip with its manifest, then opens the runs and withdrawal pages. axe runs on
every page (0 violations)."""

from __future__ import annotations

import json
import zipfile

import pytest
from joserfc.jwk import RSAKey

from consent.defaults import ensure_defaults
from consent.models import ConsentScope, Registry
from registry_export import services
from registry_export.models import BulkClient
from tests.e2e.flows import sign_in_verified
from tests.factories import PatientFactory, ResearcherFactory
from tests.registry_export.conftest import give_consent, run_now, write_diary

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(settings, tmp_path):
    settings.REGISTRY_EXPORT_ROOT = tmp_path / "exports"
    ensure_defaults()
    registry = Registry.objects.get(slug="uk-pssr")
    rita = ResearcherFactory(email="rita@example.org", display_name="Rita")
    destination = services.destination_create(
        name="UK PSSR",
        formats=["fhir", "redcap"],
        consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
        researchers=[rita],
    )
    for n in range(2):
        patient = PatientFactory()
        write_diary(patient, days=5, seed=n)
        give_consent(patient, ConsentScope.REGISTRY_SHARING, registry)
    run = run_now(destination, workers=1)
    return rita, destination, run


def test_researcher_registers_a_client_and_downloads_a_run_as_a_zip(browse, world, tmp_path):
    rita, destination, run = world
    sign_in_verified(browse, rita)
    page = browse.page
    browse.click_through(page.get_by_role("link", name="Backend clients"))
    key = RSAKey.generate_key(2048, private=True)
    key_file = tmp_path / "registry.jwks.json"
    key_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    page.get_by_label("Name").fill("PSSR registry server")
    page.get_by_label("Public key file").set_input_files(str(key_file))
    browse.submit("Register client")
    client = BulkClient.objects.get()
    assert client.destination == destination
    assert f"client_id: {client.client_id}" in page.content()
    assert page.get_by_role("cell", name=client.client_id).is_visible()

    browse.click_through(page.get_by_role("link", name="Runs", exact=True))
    browse.click_through(page.get_by_role("link", name=f"Run {run.label}", exact=True))
    assert page.get_by_text("Finished", exact=True).first.is_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download run {run.label} as one zip").click()
    download = download_info.value
    assert download.suggested_filename == f"uk-pssr-run-{run.label}.zip"
    path = tmp_path / "run.zip"
    download.save_as(str(path))
    archive = zipfile.ZipFile(path)
    assert archive.testzip() is None
    manifest = json.loads(archive.read(f"uk-pssr-run-{run.label}/manifest.json"))
    assert manifest["patients"] == 2
    assert len(archive.namelist()) == len(run.files)

    browse.click_through(page.get_by_role("link", name="withdrawal list"))
    assert page.get_by_role("heading", name="Withdrawals: UK PSSR").is_visible()
