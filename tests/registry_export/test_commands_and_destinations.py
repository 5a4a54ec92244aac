"""Destinations (service, admin, command line) and the export_run command operators script."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from consent.models import ConsentEvent, ConsentScope, NhsNumber
from consent.nhs import validate_nhs_number
from registry_export import services
from registry_export.models import Destination, ExportRun, RunStatus
from registry_export.pseudonyms import pseudonymiser_for, secret_unwrap

pytestmark = pytest.mark.django_db


def test_a_destination_without_a_consent_scope_is_refused(registry):
    with pytest.raises(ValidationError) as error:
        services.destination_create(name="No scope", formats=["fhir"], consent_scope="")
    assert "consent scope" in str(error.value)
    assert not Destination.objects.exists()


def test_a_destination_with_an_unknown_format_is_refused(registry):
    with pytest.raises(ValidationError, match="Unknown format"):
        services.destination_create(
            name="Odd", formats=["xml"], consent_scope="registry_sharing", registry=registry
        )


def test_a_new_destination_gets_its_own_wrapped_pseudonym_secret(destination, registry):
    other = services.destination_create(
        name="Other", formats=["fhir"], consent_scope="registry_sharing", registry=registry
    )
    secret = secret_unwrap(
        destination_id=destination.pk,
        blob=destination.pseudonym_secret_wrapped,
        kek_id=destination.pseudonym_kek_id,
    )
    assert len(secret) == 32 and secret not in bytes(destination.pseudonym_secret_wrapped)
    assert pseudonymiser_for(other).secret != secret


@pytest.fixture
def staff_admin(client, db):
    from tests.factories import StaffFactory
    from tests.personas import login_verified

    login_verified(client, StaffFactory())  # the Staff group's permissions
    return client


def test_staff_create_a_destination_in_the_admin_with_a_schedule(staff_admin, registry):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab = CrontabSchedule.objects.create(minute="0", hour="2")
    response = staff_admin.post(
        "/admin/registry_export/destination/add/",
        {
            "name": "Nightly PSSR",
            "description": "",
            "format_fhir": "on",
            "consent_scope": "registry_sharing",
            "registry": registry.pk,
            "mode": "incremental",
            "schedule": crontab.pk,
            "partition_size": 500,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    destination = Destination.objects.get(name="Nightly PSSR")
    assert pseudonymiser_for(destination).patient(1)  # a secret was made and unwraps
    task = PeriodicTask.objects.get(pk=destination.periodic_task_id)
    assert task.task == services.SCHEDULE_TASK and task.crontab_id == crontab.pk
    assert json.loads(task.args) == [str(destination.pk)]


def test_the_admin_refuses_a_destination_without_a_scope(staff_admin, registry):
    response = staff_admin.post(
        "/admin/registry_export/destination/add/",
        {"name": "Scopeless", "format_fhir": "on", "mode": "full", "partition_size": 100},
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Destination.objects.exists()


def test_export_destination_command_prints_the_new_id(registry):
    out = io.StringIO()
    call_command(
        "export_destination", "--name", "CLI feed", "--formats", "fhir,redcap",
        "--scope", "registry", stdout=out,
    )  # fmt: skip
    destination = Destination.objects.get(name="CLI feed")
    assert out.getvalue().strip() == str(destination.pk)
    assert destination.formats == ["fhir", "redcap"] and destination.registry == registry


def test_export_destination_command_refuses_an_unknown_scope(registry):
    with pytest.raises(CommandError, match="Unknown --scope"):
        call_command("export_destination", "--name", "X", "--scope", "everything")


def test_export_run_command_runs_in_the_foreground_and_prints_the_folder(
    cohort, destination, tmp_path
):
    out = io.StringIO()
    call_command(
        "export_run", "--destination", "UK PSSR", "--full", "--out", str(tmp_path / "copy"),
        stdout=out,
    )  # fmt: skip
    run = ExportRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "command"
    folder = Path(out.getvalue().strip())
    assert folder == tmp_path / "copy" / f"run-{run.pk}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(run.file_names)


def test_export_run_command_names_an_unknown_destination():
    with pytest.raises(CommandError, match="No destination named"):
        call_command("export_run", "--destination", "nowhere")


def test_seed_demo_gives_a_realistic_consent_mix(registry):
    call_command("seed_demo", "--patients", "60", "--days", "20", "--quiet", stdout=io.StringIO())
    events = ConsentEvent.objects.filter(patient__email__startswith="synthetic-")
    sharing = set(
        events.filter(scope=ConsentScope.REGISTRY_SHARING, action="give").values_list(
            "patient_id", flat=True
        )
    )
    withdrawn = set(events.filter(action="withdraw").values_list("patient_id", flat=True))
    linked = set(
        events.filter(scope=ConsentScope.NHS_LINKAGE, action="give").values_list(
            "patient_id", flat=True
        )
    )
    assert 40 <= len(sharing) < 60  # most, not all
    assert withdrawn and withdrawn <= sharing
    assert linked and linked <= sharing and not linked & withdrawn
    from consent.selectors import nhs_number_for_linkage

    for pid in linked:
        assert validate_nhs_number(nhs_number_for_linkage(patient_id=pid))
    assert NhsNumber.objects.count() == len(linked)
