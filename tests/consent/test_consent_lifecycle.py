"""Giving and withdrawing consent: append-only history, versions, NHS numbers, FHIR."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.consent import Consent as FhirConsent

from consent import fhir, selectors, services
from consent.models import ConsentEvent, NhsNumber, Registry
from tests.consent.conftest import document, publish_new_version
from tests.factories import PatientFactory, StaffFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def _give(client, kind, **extra):
    return client.post(reverse("api_consents"), {"document_id": document(kind).public_id, **extra})


def test_patient_gives_and_withdraws_through_the_api_and_history_keeps_both(
    api_client, patient_alice
):
    api_client.force_login(patient_alice)
    assert _give(api_client, "research_contact").status_code == 201
    response = api_client.post(reverse("api_consent_withdraw"), {"scope": "research_contact"})
    assert response.status_code == 201

    events = ConsentEvent.objects.filter(patient=patient_alice).order_by("id")
    assert [(e.action, e.via, e.document.version) for e in events] == [
        ("give", "api", 1),
        ("withdraw", "api", 1),
    ]
    history = api_client.get(reverse("api_consent_history")).json()["results"]
    assert [h["action"] for h in history] == ["give", "withdraw"]
    state = {s["scope"]: s for s in api_client.get(reverse("api_consents")).json()}
    assert state["research_contact"]["given"] is False


def test_withdrawing_twice_is_a_clear_400_and_adds_nothing(api_client, patient_alice):
    api_client.force_login(patient_alice)
    _give(api_client, "imaging_research")
    api_client.post(reverse("api_consent_withdraw"), {"scope": "imaging_research"})
    before = ConsentEvent.objects.count()

    again = api_client.post(reverse("api_consent_withdraw"), {"scope": "imaging_research"})

    assert again.status_code == 400
    assert "nothing to withdraw" in again.json()["scope"][0]
    assert ConsentEvent.objects.count() == before


def test_withdrawing_what_was_never_given_is_a_400(api_client, patient_alice):
    api_client.force_login(patient_alice)
    response = api_client.post(reverse("api_consent_withdraw"), {"scope": "nhs_linkage"})
    assert response.status_code == 400
    assert not ConsentEvent.objects.exists()


def test_giving_the_same_consent_twice_is_a_400(api_client, patient_alice):
    api_client.force_login(patient_alice)
    _give(api_client, "research_contact")
    again = _give(api_client, "research_contact")
    assert again.status_code == 400
    assert "already given" in again.json()["document"][0]
    assert ConsentEvent.objects.filter(patient=patient_alice).count() == 1


def test_consenting_to_a_version_that_is_not_current_is_a_400(api_client, patient_alice):
    publish_new_version("research_contact", StaffFactory())
    api_client.force_login(patient_alice)

    response = _give(api_client, "research_contact")  # version 1, superseded by version 2

    assert response.status_code == 400
    assert "current version is 2" in response.json()["document"][0]
    assert not ConsentEvent.objects.exists()


def test_unknown_document_or_scope_is_a_400(api_client, patient_alice):
    api_client.force_login(patient_alice)
    unknown = {"document_id": str(uuid.uuid4())}
    assert api_client.post(reverse("api_consents"), unknown).status_code == 400
    bad = api_client.post(reverse("api_consent_withdraw"), {"scope": "telepathy"})
    assert bad.status_code == 400
    assert "scope" in bad.json()


def test_new_version_asks_earlier_consenters_to_review_and_keeps_old_consent(
    client, patient_alice, patient_bob
):
    services.consent_give(patient=patient_alice, document=document("research_contact"), via="web")
    new = publish_new_version("research_contact", StaffFactory())

    alice_state = {s.scope: s for s in selectors.consent_states(patient=patient_alice)}
    assert alice_state["research_contact"].needs_review is True
    assert alice_state["research_contact"].given is True  # still in force under version 1
    assert selectors.consents_needing_review(patient=patient_bob) == []

    client.force_login(patient_alice)
    page = client.get(reverse("consent:overview")).content.decode()
    assert "This document has changed since you agreed" in page
    assert "I agree to version 2" in page
    home = client.get(reverse("home")).content.decode()
    assert "We have updated 1 consent document you agreed to" in home
    assert f"{reverse('consent:overview')}#research" in home
    client.force_login(patient_bob)  # Bob never agreed: nothing to review, no panel
    assert "consent-notice" not in client.get(reverse("home")).content.decode()
    client.force_login(patient_alice)

    services.consent_give(patient=patient_alice, document=new, via="web")
    assert selectors.consents_needing_review(patient=patient_alice) == []
    versions = [e.document.version for e in selectors.consent_history(patient=patient_alice)]
    assert versions == [2, 1]  # newest first; the old consent stays in the history


def test_publishing_an_older_version_than_the_current_or_twice_is_refused():
    from django.core.exceptions import ValidationError

    from consent.models import ConsentDocument

    staff = StaffFactory()
    v3 = ConsentDocument.objects.create(kind="imaging_research", version=3, title="t", text="x")
    v4 = ConsentDocument.objects.create(kind="imaging_research", version=4, title="t", text="y")
    services.consent_document_publish(document=v4, by=staff)

    with pytest.raises(ValidationError, match="newer version"):
        services.consent_document_publish(document=v3, by=staff)
    with pytest.raises(ValidationError, match="already published"):
        services.consent_document_publish(document=v4, by=staff)
    v3.refresh_from_db()
    assert v3.published_at is None


def test_nhs_linkage_needs_a_valid_nhs_number(api_client, patient_alice):
    api_client.force_login(patient_alice)

    missing = _give(api_client, "nhs_linkage")
    assert missing.status_code == 400
    assert "NHS number" in missing.json()["nhs_number"][0]

    wrong_digit = _give(api_client, "nhs_linkage", nhs_number="943 476 5918")
    assert wrong_digit.status_code == 400
    assert "not a valid NHS number" in wrong_digit.json()["nhs_number"][0]

    short = _give(api_client, "nhs_linkage", nhs_number="943476591")
    assert short.status_code == 400
    assert "10 digits" in short.json()["nhs_number"][0]
    assert not ConsentEvent.objects.exists()
    assert not NhsNumber.objects.exists()

    ok = _give(api_client, "nhs_linkage", nhs_number="943 476 5919")
    assert ok.status_code == 201
    assert selectors.nhs_number_for_linkage(patient_id=patient_alice.pk) == "9434765919"


def test_nhs_number_is_stored_encrypted_and_released_only_with_linkage_consent(patient_alice):
    linkage = document("nhs_linkage")
    services.consent_give(
        patient=patient_alice, document=linkage, via="web", nhs_number="9434765919"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM consent_nhsnumber")
        (blob,) = cursor.fetchone()
    assert b"9434765919" not in bytes(blob)
    assert b"943 476" not in bytes(blob)

    services.consent_withdraw(patient=patient_alice, scope="nhs_linkage", via="web")
    assert selectors.nhs_number_for_linkage(patient_id=patient_alice.pk) is None


def test_invalid_nhs_number_on_the_page_shows_a_clear_message_and_stores_nothing(
    client, patient_alice
):
    client.force_login(patient_alice)
    response = client.post(
        reverse("consent:give"),
        {"document_id": document("nhs_linkage").public_id, "nhs_number": "1234567890"},
        follow=True,
    )
    assert "not a valid NHS number" in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_patient_gives_and_withdraws_on_the_page_with_one_button(client, patient_alice):
    client.force_login(patient_alice)
    page = client.get(reverse("consent:overview"))
    assert page.status_code == 200
    assert "You have not agreed." in page.content.decode()

    client.post(reverse("consent:give"), {"document_id": document("registry_sharing").public_id})
    page = client.get(reverse("consent:overview")).content.decode()
    assert "You agreed" in page

    client.post(reverse("consent:withdraw"), {"scope": "registry_sharing", "registry": "uk-pssr"})
    events = list(ConsentEvent.objects.filter(patient=patient_alice).order_by("id"))
    assert [(e.action, e.via) for e in events] == [("give", "web"), ("withdraw", "web")]
    assert events[0].registry.name == "UK Primary Sjögren's Syndrome Registry"
    history = client.get(reverse("consent:history")).content.decode()
    assert "Withdrew consent" in history and "Gave consent" in history


def test_non_patients_cannot_give_consent(api_client, clinician_carol):
    login_verified(api_client, clinician_carol)
    assert _give(api_client, "research_contact").status_code == 403
    assert api_client.get(reverse("api_consents")).status_code == 403


def test_consent_documents_api_marks_the_current_version(api_client, patient_alice):
    publish_new_version("research_contact", StaffFactory())
    api_client.force_login(patient_alice)
    docs = api_client.get(reverse("api_consent_documents")).json()["results"]
    contact = [d for d in docs if d["kind"] == "research_contact"]
    assert [(d["version"], d["is_current"]) for d in contact] == [(2, True), (1, False)]
    registry = [d for d in docs if d["kind"] == "registry_sharing"][0]
    assert registry["registry"]["name"] == "UK Primary Sjögren's Syndrome Registry"


def test_active_consent_snapshot_and_withdrawal_list_for_exports(patient_alice, patient_bob):
    carl = PatientFactory()
    registry = Registry.objects.get(slug="uk-pssr")
    doc = document("registry_sharing")
    t0 = timezone.now()
    for p in (patient_alice, patient_bob, carl):
        services.consent_give(patient=p, document=doc, via="web")
    t1 = timezone.now()
    services.consent_withdraw(
        patient=patient_bob, scope="registry_sharing", registry=registry, via="api"
    )
    services.consent_withdraw(patient=carl, scope="registry_sharing", registry=registry, via="web")
    services.consent_give(patient=carl, document=doc, via="web")  # changed their mind again
    t2 = timezone.now()

    def active(at):
        return list(
            selectors.patients_with_active_consent(
                scope="registry_sharing", at=at, registry=registry
            )
        )

    assert active(t0 - timedelta(seconds=1)) == []
    assert active(t1) == sorted([patient_alice.pk, patient_bob.pk, carl.pk])
    assert active(t2) == sorted([patient_alice.pk, carl.pk])
    withdrawn = selectors.patients_withdrawn_between(
        scope="registry_sharing", since=t1, until=t2, registry=registry
    )
    assert list(withdrawn) == [patient_bob.pk]  # carl re-consented, so is not deleted
    assert selectors.consent_active(
        patient_id=patient_alice.pk, scope="registry_sharing", registry=registry
    )


def test_each_consent_event_is_a_valid_fhir_r4_consent(patient_alice):
    services.consent_give(patient=patient_alice, document=document("research_contact"), via="web")
    services.consent_withdraw(patient=patient_alice, scope="research_contact", via="api")
    services.consent_give(patient=patient_alice, document=document("registry_sharing"), via="web")
    events = list(selectors.consent_history(patient=patient_alice))

    resources = fhir.consent_resources(events)

    parsed = [FhirConsent.model_validate(r) for r in resources]
    by_scope = [(p.provision.type, p.status, p.category[1].coding[0].code) for p in parsed]
    assert by_scope == [
        ("permit", "inactive", "research_contact"),  # ended by the withdrawal
        ("deny", "active", "research_contact"),
        ("permit", "active", "registry_sharing"),
    ]
    assert parsed[0].provision.period.end is not None
    assert parsed[2].policy[0].uri.endswith("/consent-documents/registry_sharing/uk-pssr/v1")
    assert parsed[0].patient.reference == f"Patient/{patient_alice.public_id}"
    # FHIR ids are opaque (issue 16): never the integer key of a row.
    assert {r["id"] for r in resources} == {f"consent-event-{e.public_id}" for e in events}


def test_history_api_embeds_fhir_resources(api_client, patient_alice):
    api_client.force_login(patient_alice)
    _give(api_client, "research_contact")
    item = api_client.get(reverse("api_consent_history")).json()["results"][0]
    FhirConsent.model_validate(item["fhir"])
    assert item["fhir"]["provision"]["type"] == "permit"


def test_erasure_withdraws_consent_and_the_registry_still_learns_of_it(patient_alice):
    from diary import services as diary_services

    registry = Registry.objects.get(slug="uk-pssr")
    services.consent_give(patient=patient_alice, document=document("registry_sharing"), via="web")
    services.consent_give(
        patient=patient_alice,
        document=document("nhs_linkage"),
        via="web",
        nhs_number="9434765919",
    )
    last_run = timezone.now()
    alice_id = patient_alice.pk

    diary_services.patient_erase(patient=patient_alice)

    now = timezone.now()
    assert not NhsNumber.objects.filter(patient_id=alice_id).exists()
    assert (
        list(
            selectors.patients_with_active_consent(
                scope="registry_sharing", at=now, registry=registry
            )
        )
        == []
    )
    withdrawn = selectors.patients_withdrawn_between(
        scope="registry_sharing", since=last_run, until=now, registry=registry
    )
    assert list(withdrawn) == [alice_id]
    vias = set(
        ConsentEvent.objects.filter(patient_id=alice_id, action="withdraw").values_list(
            "via", flat=True
        )
    )
    assert vias == {"erasure"}
    assert selectors.nhs_number_for_linkage(patient_id=alice_id) is None
