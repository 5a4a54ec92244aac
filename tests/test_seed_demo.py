import io

import pytest
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_one_user_per_role_and_prints_their_logins():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    for role in Role.values:
        assert User.objects.filter(role=role).count() == 1
    assert "TOTP secret:" in text
    clinician = User.objects.get(role=Role.CLINICIAN)
    line = next(line for line in text.splitlines() if clinician.email in line)
    assert clinician.check_password(line.split("password: ")[1].split()[0])
    assert User.objects.get(role=Role.PATIENT).birth_year == 1969
    assert clinician.birth_year is None


def test_seed_demo_can_run_twice():
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert User.objects.count() == 4


def test_seed_demo_gives_the_demo_researcher_a_destination_with_a_finished_run(
    settings, tmp_path, client
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from registry_export.models import Destination, ExportRun, RunStatus
    from tests.personas import login_verified

    settings.REGISTRY_EXPORT_ROOT = tmp_path / "exports"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    researcher = User.objects.get(role=Role.RESEARCHER)
    destination = Destination.objects.get(researchers=researcher)
    run = ExportRun.objects.get(destination=destination)
    assert run.status == RunStatus.SUCCEEDED and run.patients_total == 1
    assert "Demo registry export: run" in out.getvalue()
    # The researcher sees it at once, and can download it.
    login_verified(client, researcher)
    page = client.get(f"/exports/runs/{run.pk}/").content.decode()
    assert "Finished" in page and "manifest.json" in page
    assert client.get(f"/exports/runs/{run.pk}/zip/").status_code == 200
    # Run again: nothing new, and the researcher's second factor is kept.
    device = TOTPDevice.objects.get(user=researcher, name="Demo authenticator")
    call_command("seed_demo", stdout=io.StringIO(), quiet=True)
    assert ExportRun.objects.count() == 1 and Destination.objects.count() == 1
    assert TOTPDevice.objects.get(user=researcher, name="Demo authenticator").key == device.key
