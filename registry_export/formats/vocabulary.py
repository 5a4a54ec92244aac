"""Codes and field definitions shared by the FHIR and REDCap writers.

Everything about the diary's fields comes from diary/fields.py (the definitions the diary forms
use), so that an export and its data dictionary cannot drift from the forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from diary import fields as diary_fields

# The canonical base of the project's FHIR definitions (settings.FHIR_CANONICAL_BASE): every
# URL below resolves there, /fhir/CodeSystem/<id> and /fhir/Questionnaire/<id> (issue 11).
FHIR_BASE = settings.FHIR_CANONICAL_BASE
# Canonical URLs of the project's own code systems (FHIR R4 CodeSystem.url).
FACTOR_CODE_SYSTEM = f"{FHIR_BASE}/CodeSystem/diary-factors"
INSTRUMENT_CODE_SYSTEM = f"{FHIR_BASE}/CodeSystem/diary-instruments"
MEDICINE_LOCAL_SYSTEM = f"{FHIR_BASE}/CodeSystem/diary-medicines"
SCHEDULE_CODE_SYSTEM = f"{FHIR_BASE}/CodeSystem/diary-medicine-schedules"
QUESTIONNAIRE_BASE = f"{FHIR_BASE}/Questionnaire"
PSEUDONYM_SYSTEM = f"{FHIR_BASE}/NamingSystem/registry-pseudonym"
# WHO ATC (the system URI HL7 terminology gives it) and UCUM.
ATC_SYSTEM = diary_fields.MEDICINE_CODE_SYSTEM
UCUM_SYSTEM = "http://unitsofmeasure.org"
MEDICINE_OTHER = diary_fields.MEDICINE_OTHER
MEDICINE_OTHER_LABEL = "Other medicine (not in the coded list; its name is not exported)"
# The diary's own CodeSystem for the daily scores (defined beside the fields it codes).
SYMPTOM_CODE_SYSTEM = diary_fields.FHIR_CODE_SYSTEM
# NHS Digital's identifier system for the NHS number.
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


@dataclass(frozen=True)
class ScoreField:
    name: str
    label: str
    minimum: int
    maximum: int
    help_text: str
    fhir_code: str


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


def symptom_fields() -> list[ScoreField]:
    """The six daily symptom scores, in the diary's order."""
    return [
        ScoreField(
            name=f.name,
            label=f.label,
            minimum=f.min_value,
            maximum=f.max_value,
            help_text=f.help_text,
            fhir_code=f.fhir_code,
        )
        for f in diary_fields.SYMPTOM_FIELDS
    ]


def factor_choices() -> list[Choice]:
    return [Choice(code=code, label=label) for code, label in diary_fields.FACTOR_CHOICES]


FLARE_LABEL = diary_fields.FLARE_LABEL


# --- Medicines: only codes leave ---------------------------------------------------------------
def medicine_choices() -> list[Choice]:
    return [Choice(code=code, label=name) for code, name in diary_fields.MEDICINE_CHOICES]


def schedule_choices() -> list[Choice]:
    return [Choice(code=code, label=label) for code, label in diary_fields.SCHEDULE_CHOICES]


# Units patients type, mapped to UCUM (https://ucum.org); anything else is not exported.
UCUM_UNITS: dict[str, tuple[str, str]] = {
    # typed (case-folded) -> (UCUM code, display)
    "mg": ("mg", "milligram"),
    "milligram": ("mg", "milligram"),
    "milligrams": ("mg", "milligram"),
    "g": ("g", "gram"),
    "mcg": ("ug", "microgram"),
    "µg": ("ug", "microgram"),
    "ug": ("ug", "microgram"),
    "microgram": ("ug", "microgram"),
    "micrograms": ("ug", "microgram"),
    "ml": ("mL", "millilitre"),
    "millilitre": ("mL", "millilitre"),
    "millilitres": ("mL", "millilitre"),
    "drop": ("[drp]", "drop"),
    "drops": ("[drp]", "drop"),
    "tablet": ("{tablet}", "tablet"),
    "tablets": ("{tablet}", "tablet"),
    "capsule": ("{capsule}", "capsule"),
    "capsules": ("{capsule}", "capsule"),
    "iu": ("[iU]", "international unit"),
    "%": ("%", "percent"),
}
UNIT_CHOICES: list[Choice] = sorted(
    {Choice(code=code, label=label) for code, label in UCUM_UNITS.values()},
    key=lambda c: c.label,
)
_DECIMAL = re.compile(r"^\d{1,7}(?:[.,]\d{1,4})?$")


def ucum_unit(typed: str) -> str:
    """The UCUM code of a typed unit, or "" when it is not one of the known units."""
    found = UCUM_UNITS.get(" ".join(str(typed or "").split()).casefold())
    return found[0] if found else ""


def strength_of(typed: str) -> str:
    """The dose as a plain decimal ("200", "0.5"), or "" when the typed dose is anything else
    (free text is not exported)."""
    text = str(typed or "").strip()
    if not _DECIMAL.match(text):
        return ""
    whole, _, fraction = text.replace(",", ".").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


# --- Questionnaire values exported as Observations ------------------------------------------
@dataclass(frozen=True)
class ObservationDef:
    """One Observation a questionnaire response gives: `source` is "score" (the response's
    total) or the item key whose answer it carries."""

    code: str
    display: str
    source: str


# EQ-5D-5L dimensions (Herdman et al., Qual Life Res 2011), in the profile's order.
EQ5D_DIMENSIONS = {
    "MO": "Mobility",
    "SC": "Self-care",
    "UA": "Usual activities",
    "PD": "Pain / discomfort",
    "AD": "Anxiety / depression",
}


def instrument_observations(instrument: str) -> list[ObservationDef]:
    """The Observations of a response, coded in the project's diary-instruments CodeSystem.

    ESSPRI and OSDI have a total score (their published definitions). EQ-5D-5L has none: the
    five levels form a profile whose digits must not be added (EuroQol), so each dimension's
    level and the EQ VAS (0-100) are exported on their own. An EQ-5D-5L index value would need
    a named country value set; none is applied here.
    """
    from diary.questionnaires.definitions import all_instruments

    found = all_instruments().get(instrument)
    if found is None:
        return []
    method = found.scoring["method"]
    if method == "eq5d_profile":
        out = [
            ObservationDef(f"{instrument}-{key.lower()}", f"EQ-5D-5L {label} level (1-5)", key)
            for key, label in EQ5D_DIMENSIONS.items()
        ]
        vas = found.scoring["vas_item"]
        out.append(ObservationDef(f"{instrument}-{vas.lower()}", "EQ VAS (0-100)", vas))
        return out
    return [ObservationDef(f"{instrument}-score", f"{found.short_name} score", "score")]
