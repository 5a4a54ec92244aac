"""Codes and field definitions shared by the FHIR and REDCap writers.

Everything about the diary's fields comes from diary/fields.py (the definitions the diary forms
use), so that an export and its data dictionary cannot drift from the forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from diary import fields as diary_fields

BASE_URL = "https://sjogrens-diary.example.org"
# Canonical URLs of the project's own code systems (FHIR R4 CodeSystem.url).
FACTOR_CODE_SYSTEM = f"{BASE_URL}/fhir/CodeSystem/diary-factors"
INSTRUMENT_CODE_SYSTEM = f"{BASE_URL}/fhir/CodeSystem/diary-instruments"
QUESTIONNAIRE_BASE = f"{BASE_URL}/fhir/Questionnaire"
CONSENT_POLICY_BASE = f"{BASE_URL}/consent-documents"
PSEUDONYM_SYSTEM = f"{BASE_URL}/fhir/NamingSystem/registry-pseudonym"
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
