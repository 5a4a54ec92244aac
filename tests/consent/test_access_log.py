"""The access log: every read of someone else's data and every refusal, append-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from consent import access_chain, selectors
from consent.models import AccessLogEvent
from tests.consent.conftest import make_grant
from tests.factories import PASSWORD
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only"
)


def _create(**fields) -> AccessLogEvent:
    (row,) = access_chain.hashed([AccessLogEvent(**fields)])
    row.save(force_insert=True)
    return row


def _row_text(row: AccessLogEvent) -> str:
    return " ".join(str(getattr(row, f.attname)) for f in AccessLogEvent._meta.concrete_fields)


def test_allowed_read_writes_one_row_in_the_same_request(api_client, patient_alice, carol_grant):
    login_verified(api_client, carol_grant.clinician)
    response = api_client.get(
        reverse("api_patient_summary", args=[patient_alice.public_id]),
        HTTP_X_REQUEST_ID="req-0123456789",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200

    row = AccessLogEvent.objects.get()
    assert row.outcome == "allowed"
    assert (row.actor_id, row.actor_role, row.patient_id) == (
        carol_grant.clinician.pk,
        "clinician",
        patient_alice.pk,
    )
    assert row.kind == "api"
    assert row.what.startswith("api_patient_summary GET /api/v1/patients/")
    assert row.request_id == "req-0123456789" == response["X-Request-ID"]
    assert row.client_address == "203.0.113.9"
    # No patient data: not the name, not the email, not the period asked for.
    text = _row_text(row)
    assert "alice" not in text.lower() and "Alice" not in text


def test_denied_read_is_logged_as_denied(api_client, patient_alice, clinician_dave):
    login_verified(api_client, clinician_dave)
    response = api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id]))
    assert response.status_code == 404
    row = AccessLogEvent.objects.get()
    assert (row.outcome, row.actor_id, row.patient_id) == (
        "denied",
        clinician_dave.pk,
        patient_alice.pk,
    )


def test_my_patients_logs_a_read_per_listed_patient(
    client, patient_alice, patient_bob, carol_verified
):
    make_grant(patient_alice, carol_verified)
    make_grant(patient_bob, carol_verified)
    login_verified(client, carol_verified)
    assert client.get(reverse("clinic:patients")).status_code == 200
    rows = AccessLogEvent.objects.filter(outcome="allowed")
    assert sorted(r.patient_id for r in rows) == sorted([patient_alice.pk, patient_bob.pk])
    assert {r.what.split(" ")[0] for r in rows} == {"clinic:patients"}


def test_clinician_grant_list_logs_a_read_per_named_patient(
    api_client, patient_alice, patient_bob, carol_verified
):
    make_grant(patient_alice, carol_verified)
    make_grant(patient_bob, carol_verified, revoked_at=timezone.now())  # still lists Bob's email
    login_verified(api_client, carol_verified)
    listed = api_client.get(reverse("api_grants")).json()["results"]
    assert {g["patient_email"] for g in listed} == {"alice@example.org", "bob@example.org"}
    rows = AccessLogEvent.objects.filter(outcome="allowed", actor_id=carol_verified.pk)
    assert sorted(r.patient_id for r in rows) == sorted([patient_alice.pk, patient_bob.pk])

    api_client.force_login(patient_alice)  # a patient listing her own grants reads nobody's
    before = AccessLogEvent.objects.count()
    assert api_client.get(reverse("api_grants")).status_code == 200
    assert AccessLogEvent.objects.count() == before


def test_failed_login_is_logged_without_the_password(client, patient_alice):
    response = client.post(
        reverse("account_login"), {"login": "alice@example.org", "password": "wrong password!"}
    )
    assert response.status_code == 200
    row = AccessLogEvent.objects.get(kind="login")
    assert (row.outcome, row.actor_id, row.what) == ("denied", patient_alice.pk, "sign-in failed")
    assert "wrong password" not in _row_text(row)
    assert PASSWORD not in _row_text(row)


def test_failed_login_for_an_unknown_address_is_logged_with_no_actor(client):
    client.post(reverse("account_login"), {"login": "who@example.org", "password": "x" * 12})
    row = AccessLogEvent.objects.get(kind="login")
    assert row.actor_id is None and row.actor_role == "unknown"


def test_role_refusal_on_a_clinician_route_is_logged(client, patient_alice):
    client.force_login(patient_alice)
    assert client.get(reverse("clinic:patients")).status_code == 403
    row = AccessLogEvent.objects.get()
    assert (row.outcome, row.actor_id, row.patient_id) == ("denied", patient_alice.pk, None)


def test_log_survives_the_erasure_of_the_accounts_it_names(api_client, patient_alice, carol_grant):
    login_verified(api_client, carol_grant.clinician)
    api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id]))
    clinician_id = carol_grant.clinician.pk
    carol_grant.clinician.delete()
    patient_alice.delete()
    row = AccessLogEvent.objects.get()
    assert row.actor_id == clinician_id


def test_patient_sees_who_viewed_their_data_in_plain_words(
    client, api_client, patient_alice, patient_bob, carol_grant
):
    login_verified(api_client, carol_grant.clinician)
    api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id]))
    api_client.get(reverse("api_patient_summary", args=[patient_bob.public_id]))  # denied, Bob's

    client.force_login(patient_alice)
    page = client.get(reverse("consent:access_log"))
    text = page.content.decode()
    assert "Dr Carol (clinician) looked at your pre-appointment summary on" in text
    every = client.get(reverse("consent:access_log"), {"all": "1"}).content.decode()
    assert "Read your pre-appointment summary through the API" in every
    overview = client.get(reverse("consent:overview")).content.decode()
    assert reverse("consent:access_log") in overview

    api = client.get(reverse("api_my_access_log")).json()["results"]
    assert [(line["who"], line["outcome"]) for line in api] == [("Dr Carol", "allowed")]
    client.force_login(patient_bob)
    bob_lines = client.get(reverse("api_my_access_log")).json()["results"]
    assert [(line["who"], line["outcome"]) for line in bob_lines] == [("Dr Carol", "refused")]


@pytest.mark.parametrize(
    "kind, what, plain",
    [
        ("page", "imaging:study GET /imaging/studies/1/", "opened one of your radiographs"),
        ("page", "imaging upload study=42", "added a radiograph to your record"),
        ("file", "registry export run 3 file Patient.ndjson", "research registry file"),
        ("page", "diary:entry_day GET /diary/2024-01-01/", "opened a page of diary"),
        ("api", "unrouted GET /api/v1/x/", "read your data through the API"),
    ],
)
def test_reads_by_other_apps_are_described_in_plain_words(
    patient_alice, clinician_carol, kind, what, plain
):
    _create(
        actor_id=clinician_carol.pk,
        actor_role="clinician",
        patient_id=patient_alice.pk,
        kind=kind,
        what=what,
        outcome="allowed",
    )
    (line,) = selectors.access_log_for_patient(patient=patient_alice)
    assert plain in line.what


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_accesslogevent SET outcome = 'allowed'",
        "DELETE FROM consent_accesslogevent",
    ],
)
def test_trigger_refuses_update_delete_and_truncate(patient_alice, statement):
    _create(
        actor_id=1,
        actor_role="clinician",
        patient_id=patient_alice.pk,
        kind="page",
        what="x",
        outcome="denied",
    )
    # Even the table's owner (the tests' role): TRUNCATE by the app's role is in test_db_roles.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AccessLogEvent.objects.get().outcome == "denied"


@postgres_only
def test_orm_update_and_delete_are_refused_too(patient_alice):
    row = _create(
        actor_id=1,
        actor_role="clinician",
        patient_id=patient_alice.pk,
        kind="page",
        what="x",
        outcome="denied",
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEvent.objects.filter(pk=row.pk).update(outcome="allowed")
    with pytest.raises(DatabaseError), transaction.atomic():
        row.delete()
    assert AccessLogEvent.objects.filter(pk=row.pk, outcome="denied").exists()


def test_admin_can_view_but_never_edit_or_delete_the_log(client, staff_sam, patient_alice):
    row = _create(
        actor_id=1,
        actor_role="clinician",
        patient_id=patient_alice.pk,
        kind="page",
        what="x",
        outcome="denied",
    )
    from django.contrib.auth.models import Permission

    # Even a staff user holding every permission on the log cannot change it.
    staff_sam.user_permissions.set(
        Permission.objects.filter(content_type__app_label="consent", codename__endswith="event")
    )
    login_verified(client, staff_sam)
    changelist = reverse("admin:consent_accesslogevent_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert b"delete_selected" not in page.content
    assert client.get(reverse("admin:consent_accesslogevent_add")).status_code == 403
    assert (
        client.get(reverse("admin:consent_accesslogevent_delete", args=[row.pk])).status_code == 403
    )
    change = reverse("admin:consent_accesslogevent_change", args=[row.pk])
    client.post(change, {"outcome": "allowed"})
    row.refresh_from_db()
    assert row.outcome == "denied"
