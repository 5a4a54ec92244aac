"""Staff tools: publishing consent documents in the admin, verifying clinicians."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from consent.models import ClinicianProfile, ConsentDocument
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def consent_staff(client, staff_sam):
    # The Staff group's permissions (accounts migration 0003) are enough: no superuser needed.
    login_verified(client, staff_sam)
    return staff_sam


def test_staff_publish_a_draft_in_the_admin(client, consent_staff):
    draft = ConsentDocument.objects.create(
        kind="research_contact", version=2, title="Contact v2", text="New text"
    )
    response = client.post(
        reverse("admin:consent_consentdocument_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.published_at is not None and draft.published_by == consent_staff


def test_a_published_document_cannot_be_edited_or_deleted_in_the_admin(client, consent_staff):
    published = ConsentDocument.objects.get(kind="research_contact", version=1)
    change = reverse("admin:consent_consentdocument_change", args=[published.pk])
    client.post(
        change, {"title": "Edited", "text": "Edited", "kind": "research_contact", "version": 1}
    )
    published.refresh_from_db()
    assert published.title != "Edited"
    delete = reverse("admin:consent_consentdocument_delete", args=[published.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ConsentDocument.objects.filter(pk=published.pk).exists()


def test_staff_verify_a_clinician_in_the_admin(client, consent_staff, clinician_dave):
    profile = ClinicianProfile.objects.create(user=clinician_dave)
    client.post(
        reverse("admin:consent_clinicianprofile_changelist"),
        {"action": "verify", "_selected_action": [profile.pk]},
    )
    profile.refresh_from_db()
    assert profile.verified_at is not None and profile.verified_by == consent_staff


def test_verify_clinician_command(clinician_dave, staff_sam, capsys):
    call_command("verify_clinician", email="DAVE@example.org", by=staff_sam.email)
    assert "dave@example.org verified" in capsys.readouterr().out
    assert ClinicianProfile.objects.get(user=clinician_dave).is_verified


def test_verify_clinician_command_refuses_bad_input(patient_alice, staff_sam, clinician_dave):
    with pytest.raises(CommandError, match="No account"):
        call_command("verify_clinician", email="nobody@example.org", by=staff_sam.email)
    with pytest.raises(CommandError, match="Only clinician"):
        call_command("verify_clinician", email=patient_alice.email, by=staff_sam.email)
    with pytest.raises(CommandError, match="No staff"):
        call_command("verify_clinician", email=clinician_dave.email, by=patient_alice.email)
