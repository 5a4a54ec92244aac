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


def test_seed_demo_again_never_resets_passwords_or_second_factors():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.staff_access import STAFF_GROUP_NAME

    call_command("seed_demo", "--quiet", stdout=io.StringIO())
    clinician = User.objects.get(role=Role.CLINICIAN)
    clinician.set_password("my own new password 42")
    clinician.save(update_fields=["password"])
    device = TOTPDevice.objects.get(user=clinician)
    secret_before = device.key
    out = io.StringIO()
    call_command("seed_demo", "--patients", "1", "--days", "3", stdout=out)
    clinician.refresh_from_db()
    assert clinician.check_password("my own new password 42")
    assert list(TOTPDevice.objects.filter(user=clinician)) == [device]
    assert TOTPDevice.objects.get(user=clinician).key == secret_before
    text = out.getvalue()
    assert "password unchanged" in text and "TOTP secret:" not in text
    assert "password: " not in text
    staff = User.objects.get(role=Role.STAFF)
    assert staff.groups.filter(name=STAFF_GROUP_NAME).exists() and not staff.is_superuser


def test_seed_demo_gives_back_a_second_factor_that_was_removed():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("seed_demo", "--quiet", stdout=io.StringIO())
    researcher = User.objects.get(role=Role.RESEARCHER)
    TOTPDevice.objects.filter(user=researcher).delete()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if researcher.email in line)
    assert "TOTP secret:" in line and "password unchanged" in line


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
    page = client.get(f"/exports/runs/{run.public_id}/").content.decode()
    assert "Finished" in page and "manifest.json" in page
    assert client.get(f"/exports/runs/{run.public_id}/zip/").status_code == 200
    # Run again: nothing new, and the researcher's second factor is kept.
    device = TOTPDevice.objects.get(user=researcher, name="Demo authenticator")
    call_command("seed_demo", stdout=io.StringIO(), quiet=True)
    assert ExportRun.objects.count() == 1 and Destination.objects.count() == 1
    assert TOTPDevice.objects.get(user=researcher, name="Demo authenticator").key == device.key
