"""The patient's own diary as an HL7 FHIR R4 Bundle (type "collection").

One Observation per diary day with a component per score (FHIR R4 Observation.component), the
flare and factors as components and the note as Observation.note; a MedicationStatement per
medicine; a QuestionnaireResponse per completed questionnaire.
"""

from __future__ import annotations

from django.conf import settings

from diary.fields import (
    FACTOR_CHOICES,
    FHIR_CODE_SYSTEM,
    MEDICINE_CODE_SYSTEM,
    MEDICINE_NAMES,
    SYMPTOM_FIELDS,
)
from diary.questionnaires.definitions import NOT_APPLICABLE

FACTOR_LABELS = dict(FACTOR_CHOICES)
FHIR_BASE = f"{settings.FHIR_CANONICAL_BASE}/"
QUESTIONNAIRE_CANONICAL = FHIR_BASE + "Questionnaire/"


def _code(code: str, display: str) -> dict:
    return {"coding": [{"system": FHIR_CODE_SYSTEM, "code": code, "display": display}]}


def _day_observation(entry, subject: dict) -> dict:
    components = [
        {"code": _code(f.fhir_code, f.label), "valueInteger": getattr(entry, f.name)}
        for f in SYMPTOM_FIELDS
    ]
    components.append({"code": _code("flare", "Flare"), "valueBoolean": entry.flare})
    components += [
        {
            "code": _code("factor", "Aggravating factor"),
            "valueCodeableConcept": _code(f, FACTOR_LABELS[f]),
        }
        for f in entry.factors
    ]
    resource = {
        "resourceType": "Observation",
        "id": str(entry.id),
        # R4 ObservationStatus: a day changed after it ended is "amended".
        "status": "amended" if entry.amended_at else "final",
        "code": _code("diary-day", "Sjögren's diary day"),
        "subject": subject,
        "effectiveDateTime": entry.date.isoformat(),
        "component": components,
    }
    if entry.note:
        resource["note"] = [{"text": entry.note}]
    return resource


def _medication_statement(med, subject: dict) -> dict:
    period = {"start": med.start_date.isoformat()}
    if med.end_date:
        period["end"] = med.end_date.isoformat()
    return {
        "resourceType": "MedicationStatement",
        "id": str(med.id),
        "status": "completed" if med.end_date else "active",
        "medicationCodeableConcept": _medicine_concept(med),
        "subject": subject,
        "effectivePeriod": period,
        "dosage": [{"text": f"{med.dose} {med.unit}, {med.schedule_label}".strip()}],
    }


def _medicine_concept(med) -> dict:
    """The patient's own export keeps the name they see, with its ATC code when listed."""
    concept: dict = {"text": med.name}
    if med.code in MEDICINE_NAMES:
        concept["coding"] = [
            {"system": MEDICINE_CODE_SYSTEM, "code": med.code, "display": MEDICINE_NAMES[med.code]}
        ]
    return concept


def _answer(value) -> list[dict]:
    # "Not applicable" (OSDI items 6-12) is no answer, not a string in an integer item.
    if value == NOT_APPLICABLE:
        return []
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, float):
        return [{"valueDecimal": value}]
    if value is None:
        return []
    return [{"valueString": str(value)}]


def _questionnaire_response(q, subject: dict) -> dict:
    items = []
    for link_id, value in (q.answers or {}).items():
        item = {"linkId": str(link_id)}
        answer = _answer(value)
        if answer:
            item["answer"] = answer
        items.append(item)
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(q.id),
        "questionnaire": QUESTIONNAIRE_CANONICAL + q.instrument,
        "status": "completed",
        "subject": subject,
        "authored": q.completed_at.isoformat(),
    }
    if items:
        resource["item"] = items
    return resource


def fhir_bundle(*, patient, entries, medicines, questionnaires) -> dict:
    patient_ref = f"Patient/{patient.public_id}"
    subject = {"reference": patient_ref}
    resources = [
        {
            "resourceType": "Patient",
            "id": str(patient.public_id),
            "telecom": [{"system": "email", "value": patient.email}],
        }
    ]
    resources += [_day_observation(e, subject) for e in entries]
    resources += [_medication_statement(m, subject) for m in medicines]
    resources += [_questionnaire_response(q, subject) for q in questionnaires]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{FHIR_BASE}{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
