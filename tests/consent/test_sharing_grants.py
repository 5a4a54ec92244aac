"""Sharing with clinicians: grants by email, invitations, requests, revocation and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent import selectors
from consent.models import AccessLogEvent, GrantStatus, SharingGrant
from tests.consent.conftest import make_grant, verify_clinician
from tests.factories import ClinicianFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def _summary_url(patient):
    return reverse("api_patient_summary", args=[patient.public_id])


def test_patient_shares_by_email_and_the_clinician_sees_the_summary(
    client, api_client, patient_alice, carol_verified
):
    client.force_login(patient_alice)
    response = client.post(
        reverse("consent:share"),
        {"clinician_email": "CAROL@example.org", "scopes": ["diary", "questionnaires"]},
    )
    assert response.status_code == 302
    grant = SharingGrant.objects.get(patient=patient_alice)
    assert grant.clinician == carol_verified
    assert grant.scopes == ["diary", "questionnaires"]

    login_verified(api_client, carol_verified)
    assert api_client.get(_summary_url(patient_alice)).status_code == 200


def test_revocation_takes_effect_on_the_very_next_request(
    client, api_client, patient_alice, carol_grant
):
    login_verified(api_client, carol_grant.clinician)
    assert api_client.get(_summary_url(patient_alice)).status_code == 200

    client.force_login(patient_alice)
    client.post(reverse("consent:grant_revoke", args=[carol_grant.public_id]))

    assert api_client.get(_summary_url(patient_alice)).status_code == 404
    listed = api_client.get(reverse("api_patients")).json()["results"]
    assert listed == []


def test_expiry_takes_effect_without_anyone_acting(api_client, patient_alice, carol_grant):
    login_verified(api_client, carol_grant.clinician)
    SharingGrant.objects.filter(pk=carol_grant.pk).update(
        ends_at=timezone.now() + timedelta(seconds=1)
    )
    assert api_client.get(_summary_url(patient_alice)).status_code == 200
    SharingGrant.objects.filter(pk=carol_grant.pk).update(
        starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert api_client.get(_summary_url(patient_alice)).status_code == 404


def test_end_date_is_the_end_of_that_day_in_the_patients_time_zone(
    api_client, patient_alice, carol_verified
):
    api_client.force_login(patient_alice)
    ends_on = timezone.localdate() + timedelta(days=10)
    response = api_client.post(
        reverse("api_grants"),
        {"clinician_email": carol_verified.email, "scopes": ["diary"], "ends_on": str(ends_on)},
        format="json",
    )
    assert response.status_code == 201
    grant = SharingGrant.objects.get(public_id=response.json()["id"])
    local_end = timezone.localtime(grant.ends_at, timezone=selectors_zone(patient_alice))
    assert local_end.date() == ends_on + timedelta(days=1)
    assert (local_end.hour, local_end.minute) == (0, 0)


def selectors_zone(patient):
    from zoneinfo import ZoneInfo

    return ZoneInfo(patient.time_zone)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"clinician_email": "not-an-email", "scopes": ["diary"]}, "clinician_email"),
        ({"clinician_email": "carol@example.org", "scopes": []}, "scopes"),
        ({"clinician_email": "carol@example.org", "scopes": ["everything"]}, "scopes"),
        ({"clinician_email": "alice@example.org", "scopes": ["diary"]}, "clinician_email"),
        (
            {"clinician_email": "carol@example.org", "scopes": ["diary"], "ends_on": "2001-01-01"},
            "ends_on",
        ),
    ],
)
def test_bad_share_input_is_a_400_with_a_field_message(
    api_client, patient_alice, carol_verified, payload, field
):
    api_client.force_login(patient_alice)
    response = api_client.post(reverse("api_grants"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not SharingGrant.objects.exists()


def test_share_form_errors_are_shown_on_the_page(client, patient_alice):
    client.force_login(patient_alice)
    response = client.post(reverse("consent:share"), {"clinician_email": "x@example.org"})
    assert response.status_code == 200
    assert "Choose at least one" in response.content.decode() or "required" in (
        response.content.decode()
    )
    assert not SharingGrant.objects.exists()


def test_unregistered_clinician_gets_an_invitation_claimed_after_verification(
    client, patient_alice, django_capture_on_commit_callbacks
):
    client.force_login(patient_alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("consent:share"),
            {"clinician_email": "newdoc@example.org", "scopes": ["diary"]},
        )
    assert response.status_code == 200
    link = response.context["link"]
    assert "/consent/invitations/" in link
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newdoc@example.org"]
    assert "Alice" not in mail.outbox[0].body and "alice@" not in mail.outbox[0].body
    grant = SharingGrant.objects.get()
    assert grant.clinician is None and grant.invitation_token_hash
    assert link.rsplit("/", 2)[-2] not in grant.invitation_token_hash  # only the hash is stored

    newdoc = ClinicianFactory(email="newdoc@example.org")
    verify_clinician(newdoc)
    client.logout()
    login_verified(client, newdoc)
    path = link.split("testserver", 1)[1]
    assert client.get(path).status_code == 200
    client.post(path)
    grant.refresh_from_db()
    assert grant.clinician == newdoc
    assert selectors.can_see(clinician=newdoc, patient_id=patient_alice.pk, scope="diary")
    # The link works once.
    assert client.post(path).status_code == 404
    assert client.get(path).status_code == 404


def test_made_up_invitation_link_is_a_logged_404(client, carol_verified):
    login_verified(client, carol_verified)
    response = client.get(reverse("consent:invitation", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert AccessLogEvent.objects.filter(
        actor_id=carol_verified.pk, outcome="denied", what__startswith="consent:invitation"
    ).exists()


def test_unverified_clinician_may_accept_but_sees_the_patient_only_once_verified(
    client, patient_alice
):
    from consent import services

    _, token = services.grant_create(
        patient=patient_alice, clinician_email="newdoc@example.org", scopes=["diary"]
    )
    newdoc = ClinicianFactory(email="newdoc@example.org")
    login_verified(client, newdoc)
    page = client.get(reverse("consent:invitation", args=[token])).content.decode()
    assert "Staff have not verified your clinician account yet" in page
    client.post(reverse("consent:invitation", args=[token]))
    summary = reverse("clinic:summary", args=[patient_alice.public_id])
    assert client.get(summary).status_code == 404
    client.force_login(patient_alice)
    overview = client.get(reverse("consent:overview")).content.decode()
    assert "Waiting for staff to verify this clinician" in overview

    verify_clinician(newdoc)
    login_verified(client, newdoc)
    assert client.get(summary).status_code == 200


def test_invitation_cannot_be_claimed_by_another_clinician(client, patient_alice, carol_verified):
    from consent import services

    _, token = services.grant_create(
        patient=patient_alice, clinician_email="newdoc@example.org", scopes=["diary"]
    )
    login_verified(client, carol_verified)
    response = client.post(reverse("consent:invitation", args=[token]), follow=True)
    assert "different email address" in response.content.decode()
    assert SharingGrant.objects.get().clinician is None


def test_unverified_clinician_sees_nothing_even_with_a_grant(
    api_client, patient_alice, clinician_dave
):
    make_grant(patient_alice, clinician_dave)
    login_verified(api_client, clinician_dave)
    assert api_client.get(_summary_url(patient_alice)).status_code == 404
    assert api_client.get(reverse("api_patients")).json()["results"] == []


def test_clinician_requests_access_and_patient_accepts_with_fewer_scopes(
    client, api_client, patient_alice, carol_verified
):
    login_verified(api_client, carol_verified)
    response = api_client.post(
        reverse("api_grant_request"),
        {"patient_email": "alice@example.org", "scopes": ["diary", "medicines"]},
        format="json",
    )
    assert response.status_code == 202
    grant = SharingGrant.objects.get()
    assert grant.status == GrantStatus.REQUESTED
    assert api_client.get(_summary_url(patient_alice)).status_code == 404  # not yet

    client.force_login(patient_alice)
    home = client.get(reverse("home")).content.decode()
    assert "1 clinician asked to see your diary" in home  # the dashboard says so
    page = client.get(reverse("consent:overview")).content.decode()
    assert "asks to see your diary" in page
    client.post(
        reverse("consent:request_answer", args=[grant.public_id]),
        {"decision": "accept", "scopes": ["diary"]},
    )
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACCEPTED and grant.scopes == ["diary"]
    assert "asked to see your diary" not in client.get(reverse("home")).content.decode()
    assert api_client.get(_summary_url(patient_alice)).status_code == 200
    summary = api_client.get(_summary_url(patient_alice)).json()
    assert summary["medicines"] is None  # declined to share medicines


def test_patient_declines_a_request_and_cannot_answer_twice(
    api_client, patient_alice, carol_verified
):
    from consent import services

    services.grant_request(
        clinician=carol_verified, patient_email="alice@example.org", scopes=["diary"]
    )
    grant = SharingGrant.objects.get()
    api_client.force_login(patient_alice)
    assert api_client.post(reverse("api_grant_decline", args=[grant.public_id])).status_code == 200
    again = api_client.post(reverse("api_grant_accept", args=[grant.public_id]), format="json")
    assert again.status_code == 400
    assert "already been answered" in str(again.json())
    grant.refresh_from_db()
    assert grant.status == GrantStatus.DECLINED


def test_accepting_more_than_was_asked_is_refused(api_client, patient_alice, carol_verified):
    from consent import services

    services.grant_request(
        clinician=carol_verified, patient_email="alice@example.org", scopes=["diary"]
    )
    grant = SharingGrant.objects.get()
    api_client.force_login(patient_alice)
    response = api_client.post(
        reverse("api_grant_accept", args=[grant.public_id]),
        {"scopes": ["diary", "imaging"]},
        format="json",
    )
    assert response.status_code == 400
    assert "scopes" in response.json()


def test_request_to_an_unknown_address_reveals_nothing(api_client, carol_verified):
    login_verified(api_client, carol_verified)
    response = api_client.post(
        reverse("api_grant_request"),
        {"patient_email": "nobody@example.org", "scopes": ["diary"]},
        format="json",
    )
    assert response.status_code == 202
    assert not SharingGrant.objects.exists()


def test_unverified_clinician_cannot_request_access(api_client, clinician_dave, patient_alice):
    login_verified(api_client, clinician_dave)
    response = api_client.post(
        reverse("api_grant_request"),
        {"patient_email": "alice@example.org", "scopes": ["diary"]},
        format="json",
    )
    assert response.status_code == 400
    assert "not been verified" in str(response.json())


def test_patient_cannot_revoke_or_answer_someone_elses_grant(api_client, patient_bob, carol_grant):
    api_client.force_login(patient_bob)
    assert (
        api_client.post(reverse("api_grant_revoke", args=[carol_grant.public_id])).status_code
        == 404
    )
    assert (
        api_client.post(reverse("api_grant_decline", args=[carol_grant.public_id])).status_code
        == 404
    )
    carol_grant.refresh_from_db()
    assert carol_grant.revoked_at is None


def test_revoking_twice_is_a_400(api_client, patient_alice, carol_grant):
    api_client.force_login(patient_alice)
    assert (
        api_client.post(reverse("api_grant_revoke", args=[carol_grant.public_id])).status_code
        == 200
    )
    again = api_client.post(reverse("api_grant_revoke", args=[carol_grant.public_id]))
    assert again.status_code == 400


def test_sharing_again_replaces_the_earlier_grant(api_client, patient_alice, carol_grant):
    api_client.force_login(patient_alice)
    api_client.post(
        reverse("api_grants"),
        {"clinician_email": "carol@example.org", "scopes": ["imaging"]},
        format="json",
    )
    carol_grant.refresh_from_db()
    assert carol_grant.revoked_at is not None
    live = [g for g in SharingGrant.objects.all() if g.is_active()]
    assert len(live) == 1 and live[0].scopes == ["imaging"]


def test_grant_lists_show_each_side_its_own_grants(
    api_client, patient_alice, patient_bob, carol_grant
):
    api_client.force_login(patient_bob)
    assert api_client.get(reverse("api_grants")).json()["results"] == []
    api_client.force_login(patient_alice)
    mine = api_client.get(reverse("api_grants")).json()["results"]
    assert [(g["clinician_email"], g["state"]) for g in mine] == [("carol@example.org", "active")]
    login_verified(api_client, carol_grant.clinician)
    theirs = api_client.get(reverse("api_grants")).json()["results"]
    assert [g["patient_email"] for g in theirs] == ["alice@example.org"]


def test_patient_sees_when_a_clinician_is_not_verified_yet(client, patient_alice, clinician_dave):
    make_grant(patient_alice, clinician_dave)
    client.force_login(patient_alice)
    page = client.get(reverse("consent:overview")).content.decode()
    assert "Waiting for staff to verify this clinician" in page
    assert "Stop sharing" in page
