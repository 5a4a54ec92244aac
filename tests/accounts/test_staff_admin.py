"""Staff run the site from the admin through the "Staff" group, not as superusers: the pages they
need open (200), the rest refuse (403), and no page they can open shows a diary payload."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.staff_access import STAFF_GROUP_NAME, staff_permission_codenames
from consent.models import ConsentDocument, Registry
from diary import services as diary_services
from diary.models import DailyEntry, Medicine, PatientKey
from diary.selectors import patient_today
from imaging.models import Bundle
from registry_export.models import Destination
from tests.factories import StaffFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(client, staff_sam):
    login_verified(client, staff_sam)
    return client


def test_the_migration_made_the_staff_group_with_exactly_the_listed_permissions():
    group = Group.objects.get(name=STAFF_GROUP_NAME)
    held = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert held == staff_permission_codenames()
    assert not {app for app, _ in held} & {"diary", "auth", "otp_totp", "otp_static"}


def test_staff_are_in_the_group_and_are_not_superusers(staff_sam):
    assert staff_sam.is_staff and not staff_sam.is_superuser
    assert staff_sam.groups.filter(name=STAFF_GROUP_NAME).exists()
    assert staff_sam.has_perm("consent.add_consentdocument")
    assert not staff_sam.has_perm("auth.change_group")


def test_user_create_puts_staff_in_the_group_and_nobody_else():
    from accounts.services import user_create

    staff = user_create(email="s2@example.org", role=Role.STAFF, password=None)
    clinician = user_create(email="c2@example.org", role=Role.CLINICIAN, password=None)
    assert list(staff.groups.values_list("name", flat=True)) == [STAFF_GROUP_NAME]
    assert not clinician.groups.exists()


def test_a_flushed_database_gets_the_group_back_on_first_use():
    from accounts.services import staff_group

    Group.objects.filter(name=STAFF_GROUP_NAME).delete()
    group = staff_group()
    held = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert held == staff_permission_codenames()


ALLOWED = [
    "admin:index",
    "admin:accounts_user_changelist",
    "admin:accounts_user_add",
    "admin:accounts_apitoken_changelist",
    "admin:consent_clinicianprofile_changelist",
    "admin:consent_clinicianprofile_add",
    "admin:consent_consentdocument_changelist",
    "admin:consent_consentdocument_add",
    "admin:consent_registry_changelist",
    "admin:consent_registry_add",
    "admin:consent_consentevent_changelist",
    "admin:consent_accesslogevent_changelist",
    "admin:registry_export_destination_changelist",
    "admin:registry_export_destination_add",
    "admin:registry_export_bulkclient_changelist",
    "admin:registry_export_bulkclient_add",
    "admin:registry_export_exportrun_changelist",
    "admin:imaging_bundle_changelist",
    "admin:axes_accessattempt_changelist",
    "admin:axes_accessfailurelog_changelist",
    "admin:axes_accesslog_changelist",
]

FORBIDDEN = [
    "admin:auth_group_changelist",
    "admin:auth_group_add",
    "admin:otp_totp_totpdevice_changelist",
    "admin:otp_static_staticdevice_changelist",
    "admin:consent_sharinggrant_changelist",
    "admin:django_celery_beat_periodictask_changelist",
    "admin:sites_site_changelist",
    "admin:account_emailaddress_changelist",
]


@pytest.mark.parametrize("name", ALLOWED)
def test_staff_open_the_pages_they_need(staff_client, name):
    assert staff_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", FORBIDDEN)
def test_staff_are_refused_the_pages_they_do_not_need(staff_client, name):
    assert staff_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["admin:index", "admin:accounts_user_changelist"])
def test_other_roles_never_reach_the_admin(client, clinician_carol, name):
    login_verified(client, clinician_carol)
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_diary_has_no_admin_pages(staff_client):
    for path in ("/admin/diary/", "/admin/diary/dailyentry/", "/admin/diary/medicine/"):
        assert staff_client.get(path).status_code == 404


# --- No diary payload anywhere staff can go ---------------------------------------------------

SECRET_NOTE = "Zebra-note-7731 about my private life"
SECRET_MEDICINE = "Secretamabzumab"
_LINK = re.compile(r'href="(/admin/[^"#?]*)"')


def _crawl_admin(client, limit: int = 400) -> dict[str, str]:
    """Every admin page reachable by links from the index (no query strings), path -> HTML."""
    seen: dict[str, str] = {}
    queue = ["/admin/"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or path.startswith(("/admin/logout/", "/admin/r/")):
            continue
        response = client.get(path)
        seen[path] = response.content.decode() if response.status_code == 200 else ""
        queue.extend(p for p in _LINK.findall(seen[path]) if p not in seen)
    return seen


def test_no_admin_page_staff_can_open_shows_a_diary_payload(staff_client, patient_alice):
    today = patient_today(patient_alice)
    diary_services.entry_save(
        patient=patient_alice,
        entry_date=today - timedelta(days=1),
        values={
            "dryness_eyes": 6, "dryness_mouth": 5, "dryness_skin": 3, "fatigue": 7,
            "muscle_pain": 2, "joint_pain": 4, "flare": True, "factors": [], "note": SECRET_NOTE,
        },
    )  # fmt: skip
    diary_services.medicine_add(
        patient=patient_alice, name=SECRET_MEDICINE, dose="5", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=3),
    )  # fmt: skip
    # Something on each staff page, so that change pages are visited too.
    Destination.objects.create(
        name="PSSR", consent_scope="registry_sharing", format_fhir=True,
        registry=Registry.objects.first(),
    )  # fmt: skip
    Bundle.objects.create(name="demo-bundle", version="1.0", task="t", role="joints")
    _attempt(patient_alice.email)

    blobs = [bytes(e.payload) for e in DailyEntry.objects.all()]
    blobs += [bytes(m.payload) for m in Medicine.objects.all()]
    blobs += [bytes(k.wrapped_dek) for k in PatientKey.objects.all()]
    forbidden = [SECRET_NOTE, SECRET_MEDICINE]
    for blob in blobs:
        forbidden += [blob.hex()[:32], base64.b64encode(blob).decode()[:32], repr(blob)[2:34]]

    pages = _crawl_admin(staff_client)
    opened = [path for path, html in pages.items() if html]
    assert len(opened) > 30, opened  # the crawl really went through the staff pages
    assert "/admin/axes/accessattempt/" in opened and "/admin/imaging/bundle/" in opened
    assert not [p for p in opened if p.startswith("/admin/diary/")]
    for path, html in pages.items():
        for secret in forbidden:
            assert secret not in html, f"{path} shows diary data"


# --- A staff user acting on a superuser or on another staff user ------------------------------


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root@example.org", "root password 1234")


def test_a_superuser_page_is_read_only_for_staff(staff_client, root):
    change = reverse("admin:accounts_user_change", args=[root.pk])
    page = staff_client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = staff_client.post(
        change,
        {"email": "taken@example.org", "role": "staff", "time_zone": "UTC", "display_name": "x"},
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.email == "root@example.org" and root.is_active


def test_staff_cannot_deactivate_a_superuser_in_bulk_or_one_by_one(staff_client, root):
    change = reverse("admin:accounts_user_change", args=[root.pk])
    data = {"email": root.email, "role": "staff", "time_zone": "UTC", "display_name": ""}
    assert staff_client.post(change, data).status_code == 403  # is_active left out: unticked
    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"},
    )
    root.refresh_from_db()
    assert root.is_active


def test_staff_cannot_change_a_superusers_password(staff_client, root):
    url = reverse("admin:auth_user_password_change", args=[root.pk])
    assert staff_client.get(url).status_code == 403
    response = staff_client.post(
        url, {"password1": "a new password 99", "password2": "a new password 99",
              "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("root password 1234")


def test_staff_cannot_edit_another_staff_account(staff_client):
    other = StaffFactory(email="other-staff@example.org")
    change = reverse("admin:accounts_user_change", args=[other.pk])
    data = {"email": other.email, "role": "clinician", "time_zone": "UTC", "display_name": ""}
    assert staff_client.post(change, data).status_code == 403
    assert (
        staff_client.get(reverse("admin:auth_user_password_change", args=[other.pk])).status_code
        == 403
    )
    other.refresh_from_db()
    assert other.role == Role.STAFF and other.is_active


def test_staff_cannot_create_a_staff_account(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new-staff@example.org", "role": "staff", "display_name": "",
         "password1": "a long password 123", "password2": "a long password 123",
         "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(email="new-staff@example.org").exists()


def test_staff_cannot_promote_a_clinician_to_staff(staff_client, clinician_carol):
    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[clinician_carol.pk]),
        {"email": clinician_carol.email, "role": "staff", "time_zone": "UTC",
         "display_name": "", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302  # the role is read-only for staff: ignored
    clinician_carol.refresh_from_db()
    assert clinician_carol.role == Role.CLINICIAN and not clinician_carol.is_staff
    assert not clinician_carol.groups.exists()


def test_staff_cannot_turn_a_patient_into_a_researcher(staff_client, patient_alice):
    staff_client.post(
        reverse("admin:accounts_user_change", args=[patient_alice.pk]),
        {"email": patient_alice.email, "role": "researcher", "time_zone": "UTC",
         "display_name": "", "is_active": "on"},
    )  # fmt: skip
    patient_alice.refresh_from_db()
    assert patient_alice.role == Role.PATIENT


def test_staff_cannot_grant_themselves_superuser_or_permissions(staff_client, staff_sam):
    group = Group.objects.get(name=STAFF_GROUP_NAME)
    perms_before = set(group.permissions.values_list("pk", flat=True))
    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[staff_sam.pk]),
        {"email": staff_sam.email, "role": "staff", "time_zone": "UTC", "display_name": "Sam",
         "is_active": "on", "is_superuser": "on", "groups": [group.pk],
         "user_permissions": [1, 2, 3]},
    )  # fmt: skip
    assert response.status_code == 302  # their own name and time zone they may change
    staff_sam.refresh_from_db()
    assert not staff_sam.is_superuser and not staff_sam.user_permissions.exists()
    assert staff_sam.role == Role.STAFF
    assert (
        staff_client.post(
            reverse("admin:auth_group_change", args=[group.pk]),
            {"name": STAFF_GROUP_NAME, "permissions": [1, 2, 3]},
        ).status_code
        == 403
    )
    assert set(group.permissions.values_list("pk", flat=True)) == perms_before


def test_staff_cannot_switch_off_or_change_the_role_of_their_own_account(staff_client, staff_sam):
    staff_client.post(
        reverse("admin:accounts_user_change", args=[staff_sam.pk]),
        {"email": staff_sam.email, "role": "clinician", "time_zone": "UTC", "display_name": ""},
    )  # is_active left out: unticked
    staff_sam.refresh_from_db()
    assert staff_sam.is_active and staff_sam.role == Role.STAFF


def test_a_superuser_can_still_manage_staff_accounts(client, root):
    login_verified(client, root)
    other = StaffFactory(email="other-staff@example.org")
    response = client.post(
        reverse("admin:accounts_user_change", args=[other.pk]),
        {"email": other.email, "role": "clinician", "time_zone": "UTC", "display_name": ""},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.role == Role.CLINICIAN and not other.is_staff and not other.groups.exists()


# --- What staff do: clinicians, lockouts, consent versions, destinations, bundles ------------


def test_staff_create_a_clinician_whose_address_counts_as_verified(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "new-doc@example.org", "role": "clinician", "display_name": "Dr New",
         "password1": "a long password 123", "password2": "a long password 123",
         "usable_password": "true"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    made = User.objects.get(email="new-doc@example.org")
    assert made.role == Role.CLINICIAN and not made.is_staff and not made.groups.exists()
    assert made.emailaddress_set.get().verified


def test_staff_deactivate_a_clinician(staff_client, clinician_carol):
    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[clinician_carol.pk]),
        {"email": clinician_carol.email, "role": "clinician", "time_zone": "UTC",
         "display_name": "Dr Carol"},
    )  # fmt: skip
    assert response.status_code == 302
    clinician_carol.refresh_from_db()
    assert not clinician_carol.is_active


def _attempt(username: str) -> AccessAttempt:
    return AccessAttempt.objects.create(
        username=username, ip_address="10.0.0.9", failures_since_start=5, user_agent="ua",
        get_data="", post_data="", http_accept="", path_info="/accounts/login/",
    )  # fmt: skip


def test_staff_reset_a_clinicians_lockout(staff_client, clinician_carol):
    attempt = _attempt(clinician_carol.email)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_staff_cannot_reset_a_superusers_lockout(staff_client, root):
    attempt = _attempt(root.email)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_staff_publish_a_new_consent_document_version(staff_client, staff_sam):
    response = staff_client.post(
        reverse("admin:consent_consentdocument_add"),
        {"kind": "research_contact", "version": 2, "title": "Contact v2", "text": "New text"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    draft = ConsentDocument.objects.get(kind="research_contact", version=2)
    staff_client.post(
        reverse("admin:consent_consentdocument_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert draft.published_at is not None and draft.published_by == staff_sam


def test_staff_put_a_researcher_on_a_destination(staff_client, researcher_rita):
    registry = Registry.objects.first()
    response = staff_client.post(
        reverse("admin:registry_export_destination_add"),
        {"name": "PSSR feed", "description": "", "format_fhir": "on",
         "consent_scope": "registry_sharing", "registry": registry.pk, "mode": "incremental",
         "researchers": [researcher_rita.pk], "partition_size": 500, "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    destination = Destination.objects.get(name="PSSR feed")
    assert list(destination.researchers.all()) == [researcher_rita]


def test_staff_see_bundle_status_with_counts_only(staff_client):
    Bundle.objects.create(name="no-such-bundle", version="0.1", task="t", role="joints")
    page = staff_client.get(reverse("admin:imaging_bundle_changelist")).content.decode()
    assert "no-such-bundle" in page and "not installed" in page
    bundle = Bundle.objects.get(name="no-such-bundle")
    change = reverse("admin:imaging_bundle_change", args=[bundle.pk])
    assert staff_client.get(change).status_code == 200
    assert staff_client.post(change, {"name": "x"}).status_code == 403


def test_access_logs_stay_read_only_for_staff(staff_client, clinician_carol):
    AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="ua",
                                    http_accept="", path_info="/", locked_out=False)  # fmt: skip
    log = AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="ua",
                                   http_accept="", path_info="/")  # fmt: skip
    url = reverse("admin:axes_accesslog_delete", args=[log.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert timezone.now()


def test_the_read_only_superuser_page_offers_no_password_reset(staff_client, root):
    page = staff_client.get(reverse("admin:accounts_user_change", args=[root.pk])).content
    assert b"../password/" not in page and b"pbkdf2" not in page
    assert b"Superuser status" in page


def test_installed_bundles_are_listed_before_their_first_result(staff_client):
    from imaging import bundles as bundles_mod

    found, _ = bundles_mod.discover()
    page = staff_client.get(reverse("admin:imaging_bundle_changelist")).content.decode()
    assert found, "the project ships reference bundles"
    for bundle in found:
        assert bundle.name in page
    assert "this version" in page


def test_a_locked_out_patient_signs_in_again_once_staff_reset_the_lockout(
    staff_client, settings, patient_alice
):
    from django.test import Client

    from tests.factories import PASSWORD

    browser = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.post("/accounts/login/", {"login": patient_alice.email, "password": "wrong"})
    login = {"login": patient_alice.email, "password": PASSWORD}
    assert browser.post("/accounts/login/", login).status_code == 429

    changelist = reverse("admin:axes_accessattempt_changelist")
    listed = staff_client.get(changelist, {"locked_out": "yes"}).content.decode()
    assert patient_alice.email in listed
    attempt = AccessAttempt.objects.get(username=patient_alice.email)
    staff_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert not AccessAttempt.objects.filter(username=patient_alice.email).exists()
    response = browser.post("/accounts/login/", login)
    assert response.status_code == 302 and "_auth_user_id" in browser.session
