"""Researcher pages: destinations, run now, runs with live progress, downloads, the cohort."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from consent.models import AccessLogEvent, ConsentScope
from registry_export import services
from registry_export.models import ExportRun
from tests.factories import ClinicianFactory, PatientFactory, ResearcherFactory
from tests.personas import login_verified
from tests.registry_export.conftest import give_consent, run_now, write_diary

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita(client, researcher_rita, destination):
    destination.researchers.add(researcher_rita)
    login_verified(client, researcher_rita)
    return client


def url(name, *args):
    return reverse(f"registry_export:{name}", args=args)


def test_the_exports_page_lists_the_researchers_destinations_and_runs(
    rita, cohort, destination, registry
):
    services.destination_create(
        name="Hidden feed", formats=["fhir"], consent_scope="registry_sharing", registry=registry
    )
    run = run_now(destination)
    page = rita.get(url("destination_list")).content.decode()
    assert "UK PSSR" in page and "Hidden feed" not in page
    assert url("run_detail", run.public_id) in page
    assert url("run_now", destination.pk) in page


def test_run_now_queues_a_run_and_shows_it(rita, destination, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = rita.post(url("run_now", destination.pk))
    run = ExportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == url("run_detail", run.public_id)
    assert len(queued) == 1
    # A second click while it waits does not start another run.
    rita.post(url("run_now", destination.pk))
    assert ExportRun.objects.count() == 1


def test_run_now_on_a_destination_not_allowed_is_a_404(client, destination):
    login_verified(client, ResearcherFactory())
    assert client.post(url("run_now", destination.pk)).status_code == 404
    assert not ExportRun.objects.exists()


def test_run_now_needs_a_post(rita, destination):
    assert rita.get(url("run_now", destination.pk)).status_code == 405


@pytest.mark.parametrize("factory", [PatientFactory, ClinicianFactory])
def test_patients_and_clinicians_cannot_open_the_export_pages(client, destination, factory):
    login_verified(client, factory())
    for name in ("destination_list", "cohort"):
        assert client.get(url(name)).status_code == 403


def test_a_researcher_without_two_factor_is_sent_to_verify(client, researcher_rita, destination):
    client.force_login(researcher_rita)
    response = client.get(url("destination_list"))
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]


def test_run_page_has_a_progress_bar_driven_by_static_script(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    services.export_run_plan(run_id=run.pk, partition_size=2)
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    page = rita.get(url("run_detail", run.public_id)).content.decode()
    assert re.search(r'<progress id="run-progress" max="32" value="16"', page)
    assert "16 of 32 rows (50%)" in page
    assert f'data-status-url="/api/v1/exports/runs/{run.public_id}/"' in page
    assert 'src="/static/registry_export/run_progress.js"' in page
    # The CSP forbids inline script: every script element loads a file.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))


def test_the_progress_script_exists_and_polls_the_status_url():
    from django.contrib.staticfiles import finders

    path = finders.find("registry_export/run_progress.js")
    text = Path(path).read_text()
    assert "data-status-url" in text and "rows_done" in text


def test_a_finished_run_page_lists_files_with_checksums(rita, cohort, destination):
    run = run_now(destination)
    page = rita.get(url("run_detail", run.public_id)).content.decode()
    for f in run.files:
        assert f["sha256"] in page
        assert url("run_file", run.public_id, f["name"]) in page


def test_downloading_from_the_page_streams_and_logs(rita, cohort, destination):
    run = run_now(destination)
    response = rita.get(url("run_file", run.public_id, "redcap_records.00000.csv"))
    assert response.status_code == 200 and response.streaming
    assert b"record_id,redcap_repeat_instrument" in b"".join(response.streaming_content)
    assert AccessLogEvent.objects.filter(kind="file", outcome="allowed").count() == 4


def test_downloading_from_a_run_in_progress_explains_why_not(rita, cohort, destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    response = rita.get(url("run_file", run.public_id, "manifest.json"))
    assert response.status_code == 409
    assert "not finished" in response.content.decode()


def test_unknown_file_on_the_page_is_a_404(rita, cohort, destination):
    run = run_now(destination)
    assert rita.get(url("run_file", run.public_id, "passwords.txt")).status_code == 404


def test_cohort_suppresses_cells_of_fewer_than_five_patients(rita, cohort, destination):
    page = rita.get(url("cohort")).content.decode()
    # Four consenting patients: every figure about them is suppressed.
    assert "Fewer than 5 (suppressed)" in page
    assert page.count("Suppressed (fewer than 5 patients)") >= 1
    assert ">4<" not in page


def test_cohort_shows_counts_and_monthly_figures_from_five_patients(
    rita, researcher_rita, cohort, registry
):
    from registry_export import selectors

    for n in range(3):
        extra = PatientFactory()
        write_diary(extra, days=8, seed=10 + n)
        give_consent(extra, ConsentScope.REGISTRY_SHARING, registry)
    result = selectors.cohort_for(user=researcher_rita)
    assert result.consenting == 7 and result.with_entries == 7
    shown = [c for c in result.flare_rate_by_month if not c.suppressed]
    assert shown and all(c.patients >= 5 for c in shown)
    hidden = [c for c in result.flare_rate_by_month if c.suppressed]
    assert all(c.patients is None and c.value is None for c in hidden)
    # Only the one patient with an ESSPRI: that month is suppressed.
    assert [c.suppressed for c in result.esspri_by_month] == [True]
    page = rita.get(url("cohort")).content.decode()
    assert "<dd>7</dd>" in page
