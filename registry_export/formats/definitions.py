"""The project's own FHIR R4 definitions: a CodeSystem for each local code system and a
Questionnaire for each instrument, so that every local code and canonical URL in an export
resolves (issue 11). Each run ships them (CodeSystem.ndjson, Questionnaire.ndjson) and /fhir/
serves them at their canonical URLs (settings.FHIR_CANONICAL_BASE).

They hold no patient data. Item texts of a licensed instrument are not published: a site that
holds the licence shows the official wording to its patients, but the public Questionnaire names
the item only (the diary's own placeholder wording is ours to publish).
"""

from __future__ import annotations

import json

from diary.questionnaires.definitions import Instrument, Item, all_instruments
from registry_export.formats.vocabulary import (
    EQ5D_DIMENSIONS,
    FACTOR_CODE_SYSTEM,
    INSTRUMENT_CODE_SYSTEM,
    MEDICINE_LOCAL_SYSTEM,
    MEDICINE_OTHER,
    MEDICINE_OTHER_LABEL,
    QUESTIONNAIRE_BASE,
    SCHEDULE_CODE_SYSTEM,
    SYMPTOM_CODE_SYSTEM,
    factor_choices,
    instrument_observations,
    schedule_choices,
    symptom_fields,
)

DEFINITIONS_VERSION = "2"
QUESTIONNAIRE_FILE = "Questionnaire.ndjson"
CODESYSTEM_FILE = "CodeSystem.ndjson"
PUBLISHER = "My Sjogren's Diary"
_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def _id_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _code_system(url: str, name: str, title: str, description: str, concepts) -> dict:
    return {
        "resourceType": "CodeSystem",
        "id": _id_of(url),
        "url": url,
        "version": DEFINITIONS_VERSION,
        "name": name,
        "title": title,
        "status": "active",
        "publisher": PUBLISHER,
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts],
    }


def code_systems() -> list[dict]:
    symptoms = [(f.fhir_code, f.label) for f in symptom_fields()]
    symptoms += [("flare", "Flare"), ("factor", "Factor")]
    instruments = [
        (obs.code, obs.display)
        for code in all_instruments()
        for obs in instrument_observations(code)
    ]
    return [
        _code_system(
            SYMPTOM_CODE_SYSTEM,
            "DiarySymptom",
            "Diary daily symptom scores",
            "The daily diary's scores (0-10), the flare flag and the factor observation.",
            symptoms,
        ),
        _code_system(
            FACTOR_CODE_SYSTEM,
            "DiaryFactors",
            "Diary factors",
            "Factors a patient can tick on a diary day.",
            [(c.code, c.label) for c in factor_choices()],
        ),
        _code_system(
            INSTRUMENT_CODE_SYSTEM,
            "DiaryInstruments",
            "Questionnaire scores and values",
            "Totals of ESSPRI and OSDI; EQ-5D-5L dimension levels and EQ VAS (no EQ-5D-5L "
            "total exists).",
            instruments,
        ),
        _code_system(
            MEDICINE_LOCAL_SYSTEM,
            "DiaryMedicines",
            "Medicines outside the coded list",
            "Listed medicines are coded in WHO ATC (http://www.whocc.no/atc); this system only "
            "holds the code for any other medicine, whose typed name is never exported.",
            [(MEDICINE_OTHER, MEDICINE_OTHER_LABEL)],
        ),
        _code_system(
            SCHEDULE_CODE_SYSTEM,
            "DiaryMedicineSchedules",
            "Medicine schedules",
            "How often a medicine is taken, as the diary records it.",
            [(c.code, c.label) for c in schedule_choices()],
        ),
    ]


def _item_text(instrument: Instrument, item: Item) -> str:
    if instrument.wording == "licensed":
        return f"{instrument.short_name} item {item.key}"
    return item.text


def _item(instrument: Instrument, item: Item) -> dict:
    out: dict = {
        "linkId": item.key,
        "text": _item_text(instrument, item),
        "type": "integer",
        # OSDI items 6-12 may be "not applicable": then they have no answer.
        "required": not item.allows_not_applicable,
    }
    if instrument.code == "eq5d5l" and item.key in {*EQ5D_DIMENSIONS, "VAS"}:
        out["code"] = [
            {
                "system": INSTRUMENT_CODE_SYSTEM,
                "code": f"{instrument.code}-{item.key.lower()}",
            }
        ]
    if item.kind == "choice":
        out["answerOption"] = [{"valueInteger": value} for value in item.values]
    else:
        out["extension"] = [
            {"url": _MIN_VALUE, "valueInteger": item.min_value},
            {"url": _MAX_VALUE, "valueInteger": item.max_value},
        ]
    return out


def questionnaire(instrument: Instrument) -> dict:
    return {
        "resourceType": "Questionnaire",
        "id": instrument.code,
        "url": f"{QUESTIONNAIRE_BASE}/{instrument.code}",
        "version": DEFINITIONS_VERSION,
        "name": "".join(c for c in instrument.short_name.title() if c.isalnum()),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": PUBLISHER,
        "description": f"{instrument.reference} Wording: {instrument.wording_notice}",
        "item": [_item(instrument, item) for item in instrument.items],
    }


def questionnaires() -> list[dict]:
    return [questionnaire(i) for i in all_instruments().values()]


def resources(resource_type: str) -> list[dict]:
    if resource_type == "Questionnaire":
        return questionnaires()
    if resource_type == "CodeSystem":
        return code_systems()
    return []


def resource(resource_type: str, resource_id: str) -> dict | None:
    return next((r for r in resources(resource_type) if r["id"] == resource_id), None)


def _ndjson(items: list[dict]) -> bytes:
    return b"".join(
        (json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n").encode() for r in items
    )


def definition_files() -> list[tuple[str, bytes, int, str]]:
    """(name, bytes, count, resource type) of the definitions a FHIR run ships."""
    found = [(QUESTIONNAIRE_FILE, questionnaires(), "Questionnaire")]
    found.append((CODESYSTEM_FILE, code_systems(), "CodeSystem"))
    return [(name, _ndjson(items), len(items), rtype) for name, items, rtype in found]
