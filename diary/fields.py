"""The single definition of what a diary day and a medicine hold.

Forms, API serializers, validation, the REDCap data dictionary and the FHIR codes are all
generated from these tuples, so they cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_noop

SCORE_MIN = 0
SCORE_MAX = 10
NOTE_MAX_LENGTH = 5000

# Project CodeSystem for FHIR Observations of the daily scores (used by registry_export).
# Its canonical URL sits under settings.FHIR_CANONICAL_BASE, where /fhir/CodeSystem/ serves it.
FHIR_CODE_SYSTEM = f"{settings.FHIR_CANONICAL_BASE}/CodeSystem/diary-symptom"


@dataclass(frozen=True)
class SymptomField:
    name: str
    label: str
    help_text: str
    min_value: int = SCORE_MIN
    max_value: int = SCORE_MAX

    @property
    def fhir_code(self) -> str:
        return self.name.replace("_", "-")


# Labels stay English here (exports, FHIR displays and the REDCap dictionary use them as they
# are); gettext_noop marks them for translation, and pages translate them where they show them.
_DRY = gettext_noop("0 = not dry at all, 10 = the worst you can imagine")
_PAIN = gettext_noop("0 = no pain, 10 = the worst pain imaginable")
SYMPTOM_FIELDS: tuple[SymptomField, ...] = (
    SymptomField("dryness_eyes", gettext_noop("Dry eyes"), _DRY),
    SymptomField("dryness_mouth", gettext_noop("Dry mouth"), _DRY),
    SymptomField("dryness_skin", gettext_noop("Dry skin"), _DRY),
    SymptomField(
        "fatigue",
        gettext_noop("Tiredness (fatigue)"),
        gettext_noop("0 = no tiredness, 10 = the worst imaginable"),
    ),
    SymptomField("muscle_pain", gettext_noop("Muscle pain"), _PAIN),
    SymptomField("joint_pain", gettext_noop("Joint pain"), _PAIN),
)
SYMPTOM_NAMES: tuple[str, ...] = tuple(f.name for f in SYMPTOM_FIELDS)

FLARE_LABEL = gettext_noop("Is this a flare day?")
FLARE_HELP = gettext_noop("A flare is a period when your symptoms are clearly worse than usual.")

FACTOR_CHOICES: tuple[tuple[str, str], ...] = (
    ("dry_air", gettext_noop("Dry or heated air")),
    ("air_conditioning", gettext_noop("Air conditioning")),
    ("screen_work", gettext_noop("Screen work")),
    ("poor_sleep", gettext_noop("Poor sleep")),
    ("stress", gettext_noop("Stress")),
    ("travel", gettext_noop("Travel or flight")),
    ("infection", gettext_noop("Infection")),
    ("other", gettext_noop("Other")),
)
FACTOR_VALUES: frozenset[str] = frozenset(v for v, _ in FACTOR_CHOICES)
NOTE_LABEL = gettext_noop("Note")
NOTE_HELP = f"Anything else about today (up to {NOTE_MAX_LENGTH:,} characters)."
# The same, translatable (forms fill in the number).
NOTE_HELP_TEMPLATE = gettext_noop("Anything else about today (up to %(max)s characters).")

ENTRY_FIELDS: tuple[str, ...] = (*SYMPTOM_NAMES, "flare", "factors", "note")

# --- Medicines ------------------------------------------------------------------------------
# The coded list patients choose their medicines from (WHO ATC codes, source in the data file),
# plus "other" with a typed name. A typed name can hold anything, even a person's name, so it
# stays in the patient's own diary: pseudonymised exports carry the code only (issue 11).
_MEDICINES = json.loads(
    (Path(__file__).resolve().parent / "data" / "medicines.json").read_text(encoding="utf-8")
)
MEDICINE_CODE_SYSTEM: str = _MEDICINES["system"]
MEDICINE_CODE_SOURCE: str = _MEDICINES["source"]
MEDICINE_OTHER = "other"
MEDICINE_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (m["code"], m["name"]) for m in _MEDICINES["choices"]
)
MEDICINE_NAMES: dict[str, str] = dict(MEDICINE_CHOICES)
MEDICINE_CODES: frozenset[str] = frozenset(MEDICINE_NAMES) | {MEDICINE_OTHER}
COMMON_MEDICINES: tuple[str, ...] = tuple(name for _, name in MEDICINE_CHOICES)
_MEDICINE_BY_NAME: dict[str, str] = {
    **{name.casefold(): code for code, name in MEDICINE_CHOICES},
    **{alias.casefold(): code for alias, code in _MEDICINES["aliases"].items()},
}


# Units offered beside the free-text unit field (a datalist): research exports carry a dose only
# with a unit they can code (UCUM), and these are the ones they can.
MEDICINE_UNITS: tuple[str, ...] = (
    "mg",
    "g",
    "microgram",
    "mL",
    "drops",
    "tablets",
    "capsules",
    "IU",
    "%",
)


def medicine_code_for(name: str) -> str:
    """The code of a medicine named in free text (medicines recorded before the coded list):
    an exact name or known alias from the list, otherwise "other". Never a guess."""
    return _MEDICINE_BY_NAME.get(" ".join(str(name).split()).casefold(), MEDICINE_OTHER)


# Schedule value -> (label, doses per scheduled day, every how many days).
SCHEDULES: dict[str, tuple[str, int, int]] = {
    "once_daily": (gettext_noop("Once a day"), 1, 1),
    "twice_daily": (gettext_noop("Twice a day"), 2, 1),
    "three_times_daily": (gettext_noop("Three times a day"), 3, 1),
    "four_times_daily": (gettext_noop("Four times a day"), 4, 1),
    "weekly": (gettext_noop("Once a week"), 1, 7),
    "as_needed": (gettext_noop("When needed (not on the daily checklist)"), 0, 1),
    "other": (gettext_noop("Other, e.g. infusions (not on the daily checklist)"), 0, 1),
}
SCHEDULE_CHOICES: tuple[tuple[str, str], ...] = tuple((k, v[0]) for k, v in SCHEDULES.items())
MEDICINE_NAME_MAX = 120
MEDICINE_DOSE_MAX = 60
MEDICINE_UNIT_MAX = 30


def doses_on(*, schedule: str, start: date, day: date) -> int:
    """How many doses a schedule expects on a day (0 for 'as needed' or off days)."""
    _, per_day, every = SCHEDULES.get(schedule, ("", 0, 1))
    if per_day == 0 or day < start:
        return 0
    return per_day if (day - start).days % every == 0 else 0


def doses_between(*, schedule: str, start: date, first: date, last: date) -> int:
    """Doses a schedule expects from `first` to `last` inclusive: the sum of doses_on over those
    days, counted arithmetically so that a long period costs no more than a short one."""
    _, per_day, every = SCHEDULES.get(schedule, ("", 0, 1))
    first = max(first, start)
    if per_day == 0 or last < first:
        return 0
    # Days d with (d - start) % every == 0, i.e. multiples of `every` in [a, b].
    a, b = (first - start).days, (last - start).days
    return per_day * (b // every - (a - 1) // every)


# --- Validation shared by the web form, the API and the services ---------------------------
def _clean_score(name: str, value, errors: dict) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = [f"Enter a whole number from {SCORE_MIN} to {SCORE_MAX}."]
        return None
    if not SCORE_MIN <= value <= SCORE_MAX:
        errors[name] = [f"Must be from {SCORE_MIN} to {SCORE_MAX}."]
        return None
    return value


def _clean_factors(value, errors: dict) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors["factors"] = ["Send a list of factor codes."]
        return []
    unknown = sorted(set(value) - FACTOR_VALUES)
    if unknown:
        errors["factors"] = [f"Unknown factor(s): {', '.join(unknown)}."]
    return [code for code, _ in FACTOR_CHOICES if code in value]


def clean_entry_values(values: dict) -> dict:
    """Validate a complete day; returns the canonical payload or raises ValidationError."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(values) - set(ENTRY_FIELDS))
    if unknown:
        errors["non_field_errors"] = [f"Unknown field(s): {', '.join(unknown)}."]
    cleaned: dict = {}
    for name in SYMPTOM_NAMES:
        if name not in values or values[name] is None:
            errors[name] = ["This field is required."]
        else:
            cleaned[name] = _clean_score(name, values[name], errors)
    flare = values.get("flare", False)
    if not isinstance(flare, bool):
        errors["flare"] = ["Must be true or false."]
    cleaned["flare"] = bool(flare) if isinstance(flare, bool) else False
    cleaned["factors"] = _clean_factors(values.get("factors", []), errors)
    note = values.get("note", "")
    if not isinstance(note, str):
        errors["note"] = ["Must be text."]
    elif len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [
            f"Keep the note to {NOTE_MAX_LENGTH:,} characters (it has {len(note):,})."
        ]
    cleaned["note"] = note if isinstance(note, str) else ""
    if errors:
        raise ValidationError(errors)
    return cleaned


def doses_per_day(schedule: str) -> int:
    """Doses on a scheduled day (0 for 'as needed' and 'other')."""
    return SCHEDULES.get(schedule, ("", 0, 1))[1]


def clean_dose_times(*, schedule: str, times) -> list[str]:
    """Optional clock times of a schedule's doses ("08:00"), one per dose of a scheduled day,
    in order. Empty means 'no times'. Raises ValidationError({"times": [...]})."""
    if times in (None, "", [], ()):
        return []
    if isinstance(times, str):
        times = [t.strip() for t in times.replace(";", ",").split(",") if t.strip()]
    if not isinstance(times, list | tuple) or not all(isinstance(t, str) for t in times):
        raise ValidationError({"times": ["Send the times as a list like 08:00, 20:00."]})
    per_day = doses_per_day(schedule)
    if per_day == 0:
        raise ValidationError({"times": ["This schedule has no fixed doses, so no times."]})
    if len(times) != per_day:
        raise ValidationError(
            {"times": [f"Give {per_day} time(s), one per dose, e.g. 08:00, 20:00 (or none)."]}
        )
    cleaned = []
    for value in times:
        try:
            hours, minutes = (int(part) for part in value.strip().split(":"))
        except ValueError:
            hours = minutes = -1
        if not (0 <= hours <= 23 and 0 <= minutes <= 59):
            raise ValidationError({"times": [f"{value!r} is not a time like 08:00."]})
        cleaned.append(f"{hours:02d}:{minutes:02d}")
    if cleaned != sorted(cleaned) or len(set(cleaned)) != len(cleaned):
        raise ValidationError({"times": ["Put the times in order through the day, each once."]})
    return cleaned
