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
