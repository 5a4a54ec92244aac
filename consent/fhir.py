"""Consent events as FHIR R4 Consent resources (http://hl7.org/fhir/R4/consent.html).

A "give" event is a Consent with provision.type = permit, active until it is withdrawn or
superseded (then inactive, with provision.period.end). A "withdraw" event is an active Consent
with provision.type = deny: in FHIR an opt-out is itself a consent statement.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from consent.models import ConsentAction, ConsentEvent, ConsentScope

# The project's canonical base for its own code systems and consent policies.
CANONICAL_BASE = settings.FHIR_CANONICAL_BASE
SCOPE_CODE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/consent-scope"
# R4 Consent.scope is bound (extensible) to http://hl7.org/fhir/ValueSet/consent-scope.
FHIR_CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"


def policy_uri(event: ConsentEvent) -> str:
    doc = event.document
    target = f"/{doc.registry.slug}" if doc.registry_id else ""
    return f"{CANONICAL_BASE}/consent-documents/{doc.kind}{target}/v{doc.version}"


def consent_resource(
    event: ConsentEvent,
    *,
    ended_at: datetime | None,
    patient_reference: str | None = None,
) -> dict:
    """The FHIR R4 Consent for one event. `ended_at`: when a later event superseded it.

    `patient_reference` lets the registry export put a pseudonymised reference in place of the
    patient's public id (never the integer key, issue 16).
    """
    permit = event.action == ConsentAction.GIVE
    period: dict[str, str] = {"start": event.occurred_at.isoformat()}
    if ended_at is not None:
        period["end"] = ended_at.isoformat()
    scope_label = ConsentScope(event.scope).label
    if event.registry_id:
        scope_label = f"{scope_label}: {event.registry.name}"
    return {
        "resourceType": "Consent",
        "id": f"consent-event-{event.public_id}",
        "status": "inactive" if ended_at is not None else "active",
        "scope": {
            "coding": [
                {
                    "system": FHIR_CONSENT_SCOPE_SYSTEM,
                    "code": "research",
                    "display": "Research",
                }
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]},
            {
                "coding": [
                    {"system": SCOPE_CODE_SYSTEM, "code": event.scope, "display": scope_label}
                ]
            },
        ],
        "patient": {"reference": patient_reference or f"Patient/{event.patient.public_id}"},
        "dateTime": event.occurred_at.isoformat(),
        "policy": [{"uri": policy_uri(event)}],
        "provision": {
            "type": "permit" if permit else "deny",
            "period": period,
            "purpose": [{"system": SCOPE_CODE_SYSTEM, "code": event.scope, "display": scope_label}],
        },
    }


def consent_resources(events: list[ConsentEvent], **kwargs) -> list[dict]:
    """Resources for one patient's events in time order; each ends when the next on its topic
    begins."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.pk))
    next_on_topic: dict[int, datetime] = {}
    last_seen: dict[tuple[str, int | None], ConsentEvent] = {}
    for e in ordered:
        prev = last_seen.get((e.scope, e.registry_id))
        if prev is not None:
            next_on_topic[prev.pk] = e.occurred_at
        last_seen[(e.scope, e.registry_id)] = e
    return [consent_resource(e, ended_at=next_on_topic.get(e.pk), **kwargs) for e in ordered]
