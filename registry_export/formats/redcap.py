"""REDCap-style flat CSV (one record per pseudonym, repeating instruments) and its data dictionary.

Layout as REDCap's "flat" import expects for a longitudinal project with repeating instruments:
`record_id`, `redcap_event_name`, `redcap_repeat_instrument`, `redcap_repeat_instance`, then
every field of the dictionary (checkboxes expanded to `field___code`). The non-repeating
participant row leaves the two repeat columns empty. The dictionary is generated from
diary/fields.py through registry_export.formats.vocabulary, like the diary forms themselves.

Free-text diary notes are not exported: free text can identify a person, and a pseudonymised
registry extract must not carry it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

from registry_export.formats import PartFiles
from registry_export.formats.vocabulary import factor_choices, symptom_fields
from registry_export.pseudonyms import Pseudonymiser
from registry_export.rows import EntryRow, MedicationRow, PatientData, QuestionnaireRow

REDCAP_FORMAT_VERSION = "1"
RECORDS_FILE = "redcap_records.csv"
DICTIONARY_FILE = "redcap_data_dictionary.csv"
FILES = [RECORDS_FILE]
EVENT_NAME = "diary_arm_1"

# REDCap's data dictionary columns, in REDCap's order.
DICTIONARY_COLUMNS = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]

# Stable repeat instances, so that an incremental import updates rather than duplicates:
# a diary day is its day number, a questionnaire its minute of completion, counted from here.
INSTANCE_ORIGIN = date(2000, 1, 1)
_ORIGIN_DT = datetime(2000, 1, 1, tzinfo=UTC)
# Day number 1 is INSTANCE_ORIGIN itself.
_ORIGIN_ORDINAL = INSTANCE_ORIGIN.toordinal() - 1


@dataclass(frozen=True)
class Variable:
    name: str
    form: str
    field_type: str
    label: str
    choices: str = ""
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    required: bool = False
    checkbox_codes: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        if self.field_type == "checkbox":
            return [f"{self.name}___{code}" for code in self.checkbox_codes]
        return [self.name]

    def dictionary_row(self) -> list[str]:
        row = dict.fromkeys(DICTIONARY_COLUMNS, "")
        row.update(
            {
                "Variable / Field Name": self.name,
                "Form Name": self.form,
                "Field Type": self.field_type,
                "Field Label": self.label,
                "Choices, Calculations, OR Slider Labels": self.choices,
                "Field Note": self.note,
                "Text Validation Type OR Show Slider Number": self.validation,
                "Text Validation Min": self.minimum,
                "Text Validation Max": self.maximum,
                "Identifier?": "y" if self.identifier else "",
                "Required Field?": "y" if self.required else "",
            }
        )
        return [row[c] for c in DICTIONARY_COLUMNS]


def variables(*, linkage: bool) -> list[Variable]:
    """Every variable of the export, in form order (record_id first, as REDCap requires)."""
    out = [
        Variable("record_id", "participant", "text", "Pseudonym", required=True),
        Variable(
            "birth_year",
            "participant",
            "text",
            "Year of birth",
            validation="integer",
            minimum="1900",
            maximum="2100",
        ),
    ]
    if linkage:
        out.append(
            Variable(
                "nhs_number",
                "participant",
                "text",
                "NHS number",
                note="Only with NHS data linkage consent",
                identifier=True,
            )
        )
    out += [
        Variable("consent_scope", "participant", "text", "Consent scope"),
        Variable("consent_date", "participant", "text", "Consent given", validation="date_ymd"),
        Variable("diary_date", "daily_diary", "text", "Diary date", validation="date_ymd"),
    ]
    for f in symptom_fields():
        out.append(
            Variable(
                f.name,
                "daily_diary",
                "text",
                f.label,
                note=f.help_text,
                validation="integer",
                minimum=str(f.minimum),
                maximum=str(f.maximum),
            )
        )
    factors = factor_choices()
    out += [
        Variable("flare", "daily_diary", "yesno", "Flare"),
        Variable(
            "factors",
            "daily_diary",
            "checkbox",
            "Factors",
            choices=" | ".join(f"{c.code}, {c.label}" for c in factors),
            checkbox_codes=tuple(c.code for c in factors),
        ),
        Variable("amended", "daily_diary", "yesno", "Changed after the day"),
        Variable("q_instrument", "questionnaire", "text", "Instrument"),
        Variable("q_score", "questionnaire", "text", "Total score", validation="number"),
        Variable("q_period_start", "questionnaire", "text", "Recall from", validation="date_ymd"),
        Variable("q_period_end", "questionnaire", "text", "Recall to", validation="date_ymd"),
        Variable(
            "q_completed", "questionnaire", "text", "Completed", validation="datetime_seconds_ymd"
        ),
        Variable("med_name", "medication", "text", "Medicine"),
        Variable("med_dose", "medication", "text", "Dose"),
        Variable("med_unit", "medication", "text", "Unit"),
        Variable("med_schedule", "medication", "text", "Schedule"),
        Variable("med_start", "medication", "text", "Started", validation="date_ymd"),
        Variable("med_end", "medication", "text", "Stopped", validation="date_ymd"),
    ]
    return out


def record_header(*, linkage: bool) -> list[str]:
    cols = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for v in variables(linkage=linkage)[1:]:
        cols += v.columns()
    return cols


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # RFC 4180 line ends
    return buffer.getvalue()


def _csv_bytes(rows: list[list[str]]) -> bytes:
    return _csv_text(rows).encode()


def header_bytes(*, linkage: bool) -> bytes:
    return _csv_bytes([record_header(linkage=linkage)])


def dictionary_bytes(*, linkage: bool) -> bytes:
    rows = [DICTIONARY_COLUMNS] + [v.dictionary_row() for v in variables(linkage=linkage)]
    return _csv_bytes(rows)


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


class RedcapWriter:
    def __init__(self, files: PartFiles, pseudonyms: Pseudonymiser, *, as_of: date, linkage: bool):
        self.files = files
        self.ps = pseudonyms
        self.linkage = linkage
        self.columns = record_header(linkage=linkage)
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._symptoms = [f.name for f in symptom_fields()]
        self._factor_codes = [c.code for c in factor_choices()]
        self._no_flags = ["0"] * len(self._factor_codes)
        self._entry_format = self._entry_template()

    def _entry_template(self) -> str:
        """The CSV line of a diary day after `record_id,`, as a str.format template.

        Every value of a diary-day row is a constant, a pseudonym (hex), an ISO date, an integer,
        "0", "1" or empty: nothing the csv module would quote, so the line is the same bytes as
        csv.writer gives, without building a row list per day (millions of days per run).
        """
        names = ["diary_date", *self._symptoms, "flare"]
        names += [f"factors___{code}" for code in self._factor_codes]
        names.append("amended")
        slots = {self._index[name]: n for n, name in enumerate(names, start=1)}
        cells = [EVENT_NAME, "daily_diary", "{0}"]
        cells += [f"{{{slots[i]}}}" if i in slots else "" for i in range(4, len(self.columns))]
        return ",".join(cells) + "\r\n"

    def _entries_csv(self, rid: str, entries: list[EntryRow]) -> str:
        line = f"{rid},{self._entry_format}".format
        codes = self._factor_codes
        origin = _ORIGIN_ORDINAL
        out = []
        for e in entries:
            scores = ["" if s is None else str(int(s)) for s in e.scores]
            flare = "" if e.flare is None else "1" if e.flare else "0"
            chosen = e.factors
            flags = ["1" if code in chosen else "0" for code in codes] if chosen else self._no_flags
            out.append(
                line(
                    e.date.toordinal() - origin,
                    e.date.isoformat(),
                    *scores,
                    flare,
                    *flags,
                    "1" if e.amended else "0",
                )
            )
        return "".join(out)

    def _row(self, record_id: str, instrument: str, instance: int | str, **values) -> list[str]:
        row = [""] * len(self.columns)
        row[0], row[1], row[2], row[3] = record_id, EVENT_NAME, instrument, str(instance)
        for name, value in values.items():
            row[self._index[name]] = value
        return row

    def write(self, data: PatientData) -> None:
        rid = self.ps.patient(data.patient.patient_id)
        head = [self._participant(rid, data)]
        rows = [self._questionnaire(rid, q) for q in data.questionnaires]
        meds = sorted(data.medications, key=lambda m: (m.start or date.min, m.medicine_id))
        rows += [self._medication(rid, i, m) for i, m in enumerate(meds, start=1)]
        # Participant row, diary days, questionnaires, medicines: the rows with free text go
        # through the csv module, the diary days through their template (_entries_csv).
        text = _csv_text(head) + self._entries_csv(rid, data.entries) + _csv_text(rows)
        self.files.write(RECORDS_FILE, text.encode(), count=1 + len(data.entries) + len(rows))

    def _participant(self, rid: str, data: PatientData) -> list[str]:
        values = {}
        if data.patient.birth_year is not None:
            values["birth_year"] = str(data.patient.birth_year)
        if self.linkage and data.patient.nhs_number:
            values["nhs_number"] = data.patient.nhs_number
        if data.consent is not None:
            values["consent_scope"] = data.consent.scope
            values["consent_date"] = data.consent.given_at.date().isoformat()
        row = self._row(rid, "", "", **values)
        return row

    def _questionnaire(self, rid: str, q: QuestionnaireRow) -> list[str]:
        completed = q.completed_at.astimezone(UTC)
        instance = int((completed - _ORIGIN_DT).total_seconds() // 60) + 1
        values = {
            "q_instrument": q.instrument,
            "q_score": "" if q.score is None else f"{round(float(q.score), 4):g}",
            "q_period_start": _d(q.period_start),
            "q_period_end": _d(q.period_end),
            "q_completed": completed.strftime("%Y-%m-%d %H:%M:%S"),
        }
        return self._row(rid, "questionnaire", instance, **values)

    def _medication(self, rid: str, instance: int, m: MedicationRow) -> list[str]:
        values = {
            "med_name": m.name,
            "med_dose": m.dose,
            "med_unit": m.unit,
            "med_schedule": m.schedule,
            "med_start": _d(m.start),
            "med_end": _d(m.end),
        }
        return self._row(rid, "medication", instance, **values)
