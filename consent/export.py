"""The consent app's part of a patient's own export (diary.export.EXPORT_PARTS): their consent
history, whom they shared their diary with, and the access log of who read their data."""

from __future__ import annotations

from consent import selectors
from consent.models import ConsentAction
from diary.export import ExportPart, csv_text

ALL_LINES = 1_000_000  # the whole access log, not the page's most recent 500

HISTORY_COLUMNS = ["occurred_at", "action", "scope", "registry", "document", "version", "via"]
SHARING_COLUMNS = [
    "clinician", "invited_email", "status", "diary", "medicines", "questionnaires", "imaging",
    "created_at", "starts_at", "ends_at", "revoked_at",
]  # fmt: skip
ACCESS_COLUMNS = ["occurred_at", "who", "role", "what", "outcome"]


def _iso(value):
    return value.isoformat() if value else None


def _history(patient) -> list[dict]:
    return [
        {
            "id": str(event.public_id),
            "occurred_at": _iso(event.occurred_at),
            "action": event.action,
            "scope": event.scope,
            "registry": event.registry.name if event.registry else None,
            "document": event.document.title,
            "version": event.document.version,
            "via": event.via,
        }
        for event in reversed(list(selectors.consent_history(patient=patient)))
    ]


def _sharing(patient) -> list[dict]:
    grants = selectors.grants_for_patient(patient=patient).select_related("clinician")
    return [
        {
            "clinician": (g.clinician.display_name or g.clinician.email) if g.clinician else None,
            "invited_email": g.invited_email or None,
            "status": selectors.grant_state(g),
            "diary": g.share_diary,
            "medicines": g.share_medicines,
            "questionnaires": g.share_questionnaires,
            "imaging": g.share_imaging,
            "created_at": _iso(g.created_at),
            "starts_at": _iso(g.starts_at),
            "ends_at": _iso(g.ends_at),
            "revoked_at": _iso(g.revoked_at),
        }
        for g in grants.order_by("created_at", "pk")
    ]


def _access_log(patient) -> list[dict]:
    return [
        {
            "occurred_at": _iso(line.occurred_at),
            "who": line.who,
            "role": line.role,
            "what": line.what,
            "outcome": line.outcome,
        }
        for line in reversed(selectors.access_log_for_patient(patient=patient, limit=ALL_LINES))
    ]


def _fhir_consent(row: dict, patient) -> dict:
    """One consent event as a FHIR R4 Consent (status active when given, inactive when
    withdrawn; the scope as text: our scopes are not in a FHIR code system)."""
    return {
        "resourceType": "Consent",
        "id": f"consent-event-{row['id']}",
        "status": "active" if row["action"] == ConsentAction.GIVE else "inactive",
        "scope": {"text": row["scope"]},
        "category": [{"text": row["document"]}],
        "patient": {"reference": f"Patient/{patient.public_id}"},
        "dateTime": row["occurred_at"],
        "policyRule": {"text": f"{row['document']}, version {row['version']}"},
    }


def consent_export_part(*, patient) -> ExportPart:
    history, sharing, access = _history(patient), _sharing(patient), _access_log(patient)
    return ExportPart(
        key="consent",
        data={
            "consent_history": history,
            "sharing": sharing,
            "access_log": access,
            "nhs_number": selectors.own_nhs_number(patient=patient),
        },
        csv_files={
            "consent_history.csv": csv_text(history, HISTORY_COLUMNS),
            "sharing.csv": csv_text(sharing, SHARING_COLUMNS),
            "access_log.csv": csv_text(access, ACCESS_COLUMNS),
        },
        fhir_resources=[_fhir_consent(row, patient) for row in history],
        readme=(
            "consent_history.csv  each consent you gave or withdrew, and when\n"
            "sharing.csv          the clinicians you shared your diary with, and what they see\n"
            "access_log.csv       who read your data (or was refused), when and what\n"
        ),
    )
