"""Staff pages for clinician accounts: create a clinician, then verify them deliberately."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Role, User
from consent.models import AccessLogEvent, ClinicianProfile
from tests.factories import ClinicianFactory, StaffFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

NEW = {
    "email": "Dr.New@Example.org",
    "display_name": "Dr New",
    "professional_register": "GMC",
    "registration_number": "1234567",
    "organisation": "Leeds Teaching Hospitals",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(client, staff_sam):
    login_verified(client, staff_sam)
    return client


def test_staff_create_a_clinician_who_gets_an_email_to_choose_a_password(staff_client):
    response = staff_client.post(reverse("consent:staff_clinician_new"), NEW)
    assert response.status_code == 302
    made = User.objects.get(email="dr.new@example.org")
    assert made.role == Role.CLINICIAN and not made.has_usable_password()
    assert not made.is_staff and not made.groups.exists()
    profile = made.clinician_profile
    assert (profile.professional_register, profile.registration_number) == ("GMC", "1234567")
    assert not profile.is_verified
    assert [m.to for m in mail.outbox] == [["dr.new@example.org"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    page = staff_client.get(response["Location"]).content.decode()
    assert "Created dr.new@example.org" in page and "Verify" in page


def test_staff_verify_a_clinician_only_after_ticking_the_register_check(staff_client, staff_sam):
    doc = ClinicianFactory(email="doc@example.org")
    url = reverse("consent:staff_clinician_verify", args=[doc.public_id])
    refused = staff_client.post(url, {})
    assert refused.status_code == 400
    assert "Tick the box" in refused.content.decode()
    assert not ClinicianProfile.objects.filter(user=doc, verified_at__isnull=False).exists()
    done = staff_client.post(url, {"checked": "on"})
    assert done.status_code == 302
    profile = ClinicianProfile.objects.get(user=doc)
    assert profile.is_verified and profile.verified_by == staff_sam
    page = staff_client.get(reverse("consent:staff_clinicians")).content.decode()
    assert "Verified" in page and "by Sam" in page


def test_the_list_shows_clinicians_waiting_first(staff_client, staff_sam):
    from consent.services import clinician_verify

    verified = ClinicianFactory(email="a-verified@example.org", display_name="A Verified")
    clinician_verify(clinician=verified, by=staff_sam)
    ClinicianFactory(email="z-waiting@example.org", display_name="Z Waiting")
    page = staff_client.get(reverse("consent:staff_clinicians")).content.decode()
    assert page.index("z-waiting@example.org") < page.index("a-verified@example.org")


@pytest.mark.parametrize(
    "change, field_error",
    [
        ({"email": "not an email"}, "Enter a valid email address"),
        ({"registration_number": ""}, "This field is required"),
        ({"email": "sam@example.org"}, "already exists"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_stored(staff_client, change, field_error):
    before = User.objects.count()
    response = staff_client.post(reverse("consent:staff_clinician_new"), {**NEW, **change})
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert User.objects.count() == before and not ClinicianProfile.objects.exists()
    assert not mail.outbox


def test_verifying_someone_who_is_not_a_clinician_is_404(staff_client, patient_alice, root):
    for user in (patient_alice, root):
        url = reverse("consent:staff_clinician_verify", args=[user.public_id])
        assert staff_client.post(url, {"checked": "on"}).status_code == 404
    assert not ClinicianProfile.objects.exists()


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root@example.org", "root password 1234")


def test_a_switched_off_clinician_is_not_verified(staff_client):
    doc = ClinicianFactory(is_active=False)
    url = reverse("consent:staff_clinician_verify", args=[doc.public_id])
    response = staff_client.post(url, {"checked": "on"})
    assert response.status_code == 400 and "switched off" in response.content.decode()
    assert not ClinicianProfile.objects.filter(verified_at__isnull=False).exists()


@pytest.mark.parametrize("persona", ["patient_alice", "clinician_carol", "researcher_rita"])
def test_other_roles_are_refused_and_the_refusal_is_logged(client, request, persona):
    user = request.getfixturevalue(persona)
    login_verified(client, user)
    for url in (reverse("consent:staff_clinicians"), reverse("consent:staff_clinician_new")):
        assert client.get(url).status_code == 403
    assert client.post(reverse("consent:staff_clinician_new"), NEW).status_code == 403
    assert not User.objects.filter(email="dr.new@example.org").exists()
    assert AccessLogEvent.objects.filter(actor_id=user.pk, outcome="denied").count() == 3


def test_staff_without_the_group_permissions_are_refused(client):
    bare = StaffFactory()
    bare.groups.clear()
    login_verified(client, bare)
    assert client.get(reverse("consent:staff_clinicians")).status_code == 403
    assert client.post(reverse("consent:staff_clinician_new"), NEW).status_code == 403


def test_staff_need_two_factor_for_these_pages(client, staff_sam):
    client.force_login(staff_sam)
    response = client.get(reverse("consent:staff_clinicians"))
    assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]
