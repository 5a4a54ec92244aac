from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_createuser_makes_a_clinician_and_prints_a_generated_password():
    out = io.StringIO()
    call_command(
        "createuser",
        "--role",
        "clinician",
        "--email",
        "dr.who@example.org",
        "--generate-password",
        stdout=out,
    )
    user = User.objects.get(email="dr.who@example.org")
    assert user.role == Role.CLINICIAN
    password = out.getvalue().split("Password: ")[1].split()[0]
    assert user.check_password(password)


def test_createuser_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="Unknown role 'wizard'"):
        call_command("createuser", "--role", "wizard", "--email", "x@example.org")
    assert not User.objects.exists()


def test_createuser_refuses_a_duplicate_email(patient_alice):
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "createuser",
            "--role",
            "researcher",
            "--email",
            patient_alice.email,
            "--generate-password",
        )


def test_only_the_staff_role_reaches_the_admin(client, staff_sam, clinician_carol):
    from tests.personas import login_verified

    assert staff_sam.is_staff and not clinician_carol.is_staff
    login_verified(client, staff_sam)
    assert client.get("/admin/").status_code == 200
