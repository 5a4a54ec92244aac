"""FHIR R4 (4.0.1) NDJSON, one file per resource type as in the FHIR Bulk Data specification.

Each line is one resource. Ids of derived resources are keyed pseudonyms (never database ids),
stable across runs of one destination so that a registry can replace an amended resource.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime

from registry_export.formats import PartFiles
from registry_export.formats.vocabulary import (
    ATC_SYSTEM,
    FACTOR_CODE_SYSTEM,
    INSTRUMENT_CODE_SYSTEM,
    MEDICINE_LOCAL_SYSTEM,
    MEDICINE_OTHER,
    MEDICINE_OTHER_LABEL,
    NHS_NUMBER_SYSTEM,
    PSEUDONYM_SYSTEM,
    QUESTIONNAIRE_BASE,
    SCHEDULE_CODE_SYSTEM,
    SYMPTOM_CODE_SYSTEM,
    UCUM_SYSTEM,
    UNIT_CHOICES,
    factor_choices,
    instrument_observations,
    medicine_choices,
    schedule_choices,
    symptom_fields,
)
from registry_export.pseudonyms import Pseudonymiser
from registry_export.rows import (
    ConsentRow,
    EntryRow,
    MedicationRow,
    PatientData,
    QuestionnaireRow,
)

FHIR_VERSION = "4.0.1"
RESOURCE_FILES = {
    "Patient": "Patient.ndjson",
    "Observation": "Observation.ndjson",
    "QuestionnaireResponse": "QuestionnaireResponse.ndjson",
    "MedicationStatement": "MedicationStatement.ndjson",
    "Consent": "Consent.ndjson",
}
FILES = list(RESOURCE_FILES.values())

SURVEY_CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "survey",
                "display": "Survey",
            }
        ]
    }
]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dumps(resource: dict) -> bytes:
    return (_json(resource) + "\n").encode()


# Fragments of the diary-day Observations, in the key order of the resources built in full
# (the factor Observation as it was built by json.dumps of a dict, kept for identical bytes).
_HEAD = '{"resourceType":"Observation","id":"'
_FACTOR_CODE = _json(
    {"coding": [{"system": SYMPTOM_CODE_SYSTEM, "code": "factor", "display": "Factor"}]}
)


# The fast path's fragments (FhirWriter._day_lines): the subject up to the date, with a slot for
# the patient's reference, and the ends of the lines that carry each possible value.
_REF_SLOT = "\x00ref\x00"
_SUBJECT = f'"subject":{{"reference":"{_REF_SLOT}"}},"effectiveDateTime":"'
# A score 0-10 as Observation.valueInteger: the same text as int(score) gives, for an int and
# for a bool or float equal to one (dict lookup by value); anything else takes the slow path.
_INTEGER_ENDS = {n: f'","valueInteger":{n}}}\n' for n in range(11)}
_BOOLEAN_ENDS = {True: '","valueBoolean":true}\n', False: '","valueBoolean":false}\n'}


def _instant(value: datetime) -> str:
    # FHIR dateTime with a time must carry a zone; the database keeps UTC.
    return value.isoformat().replace("+00:00", "Z")


def _entry_status(entry: EntryRow) -> str:
    # Observation.status (R4 value set observation-status): an entry changed after its day is
    # "amended"; otherwise it is the patient's own final record. Nothing else is claimed.
    return "amended" if entry.amended else "final"


class FhirWriter:
    def __init__(self, files: PartFiles, pseudonyms: Pseudonymiser, *, as_of: date, linkage: bool):
        self.files = files
        self.ps = pseudonyms
        self.as_of = as_of
        self.linkage = linkage
        # Pre-rendered JSON fragments of the hot path: each diary-day Observation differs only in
        # its id, status, subject, date and value (hex, enums, ISO dates, integers, codes).
        self._entry_ids = pseudonyms.resource_ids("DailyEntry")
        survey = _json(SURVEY_CATEGORY)
        self._common = {
            status: f'","status":"{status}","category":{survey},"code":'
            for status in ("final", "amended")
        }
        # Per status, per symptom: everything between the entry's id and its subject, joined once.
        self._symptom_parts = {
            status: [
                f"-{index}{common}"
                + _json(
                    {
                        "coding": [
                            {"system": SYMPTOM_CODE_SYSTEM, "code": f.fhir_code, "display": f.label}
                        ]
                    }
                )
                for index, f in enumerate(symptom_fields())
            ]
            for status, common in self._common.items()
        }
        flare_code = _json(
            {"coding": [{"system": SYMPTOM_CODE_SYSTEM, "code": "flare", "display": "Flare"}]}
        )
        self._flare_parts = {
            status: f"-f{common}{flare_code}" for status, common in self._common.items()
        }
        # The middles once more, each ending where the entry's date goes (the fast path).
        self._day_middles = {
            status: [f"{part},{_SUBJECT}" for part in parts]
            for status, parts in self._symptom_parts.items()
        }
        self._flare_middles = {
            status: f"{part},{_SUBJECT}" for status, part in self._flare_parts.items()
        }
        self._factor_middles = {
            status: f"{common}{_FACTOR_CODE},{_SUBJECT}" for status, common in self._common.items()
        }
        self._six = len(symptom_fields()) == 6
        # Questionnaires: keyed ids with the common prefix hashed once, and per instrument its
        # Observations' definitions and code JSON, and its Questionnaire URL as JSON.
        self._response_ids = pseudonyms.resource_ids("QuestionnaireResponse")
        self._score_ids = pseudonyms.resource_ids("QuestionnaireScore")
        self._instrument_obs: dict[str, list[tuple[object, str]]] = {}
        self._questionnaire_urls: dict[str, str] = {}
        self._link_ids: dict[object, str] = {}
        self._days: dict[date, str] = {}
        self._day_blocks: dict[str, list[str]] = {}
        self._factor_labels = {c.code: c.label for c in factor_choices()}
        self._medicines = {c.code: c.label for c in medicine_choices()}
        self._schedules = {c.code: c.label for c in schedule_choices()}
        self._units = {c.code: c.label for c in UNIT_CHOICES}
        self._factors: dict[str, tuple[str, str]] = {}

    # --- one patient ----------------------------------------------------------------------
    def write(self, data: PatientData) -> None:
        pid = self.ps.patient(data.patient.patient_id)
        ref = f"Patient/{pid}"
        self.files.write(RESOURCE_FILES["Patient"], _dumps(self._patient(data, pid)))
        if data.consent is not None:
            self.files.write(RESOURCE_FILES["Consent"], _dumps(self._consent(data.consent, ref)))
        for med in data.medications:
            self.files.write(RESOURCE_FILES["MedicationStatement"], _dumps(self._med(med, ref)))
        obs = RESOURCE_FILES["Observation"]
        if data.entries:
            # One write per patient: a year of days is some hundreds of KiB.
            lines, count = self._day_lines(data.entries, ref)
            self.files.write(obs, "".join(lines).encode(), count=count)
        if data.questionnaires:
            responses: list[str] = []
            scores: list[str] = []
            for q in data.questionnaires:
                qr_id = self._response_ids.resource_id(q.response_id)
                responses.append(self._qr_line(q, qr_id, ref))
                scores += self._score_lines(q, qr_id, ref)
            qr_file = RESOURCE_FILES["QuestionnaireResponse"]
            self.files.write(qr_file, "".join(responses).encode(), count=len(responses))
            if scores:
                self.files.write(obs, "".join(scores).encode(), count=len(scores))

    # --- resources ------------------------------------------------------------------------
    def _patient(self, data: PatientData, pid: str) -> dict:
        identifiers = [{"system": PSEUDONYM_SYSTEM, "value": pid}]
        nhs = data.patient.nhs_number
        if self.linkage and nhs:
            identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": nhs})
        resource: dict = {"resourceType": "Patient", "id": pid, "identifier": identifiers}
        if data.patient.birth_year is not None:
            # Birth year only (FHIR date allows YYYY): a full birth date is identifying.
            resource["birthDate"] = f"{data.patient.birth_year:04d}"
        return resource

    def _day_lines(self, entries: list[EntryRow], ref: str) -> tuple[list[str], int]:
        """The Observation lines of a patient's diary days, in order, and how many there are
        (an item of the list holds one line, or a full day's seven).

        A day with all six scores and the flare flag recorded (nearly every day) is one join of
        a list of fragments in which only its id, date and values are replaced: a few list
        stores instead of seven formatted lines (the export's hot path, millions of days). Any
        other day, and a day's factors, go through _entry_observations. Both give the same
        bytes (tests/registry_export/test_writer_lines.py compares them on random days).
        """
        lines: list[str] = []
        append = lines.append
        if not self._six:
            for entry in entries:
                self._entry_observations(entry, ref, append)
            return lines, len(lines)
        blocks = {status: self._day_block(status, ref) for status in ("final", "amended")}
        factor_middles = {
            status: middle.replace(_REF_SLOT, ref)
            for status, middle in self._factor_middles.items()
        }
        ids = self._entry_ids.resource_id
        values, flags = _INTEGER_ENDS, _BOOLEAN_ENDS
        iso = self._iso_day
        join = "".join
        full_days = 0
        for entry in entries:
            status = "amended" if entry.amended else "final"
            parts = blocks[status]
            s = entry.scores
            try:
                if len(s) != 6:
                    raise KeyError(len(s))
                v0, v1, v2 = values[s[0]], values[s[1]], values[s[2]]
                v3, v4, v5 = values[s[3]], values[s[4]], values[s[5]]
                flag = flags[entry.flare]
            except KeyError:
                self._entry_observations(entry, ref, append)
                continue
            # Line k's fragments are parts[5k:5k+5]: head, id, middle, date, value (_day_block).
            h = ids(entry.entry_id)[:56]
            d = iso(entry.date)
            parts[1] = parts[6] = parts[11] = parts[16] = parts[21] = parts[26] = parts[31] = h
            parts[3] = parts[8] = parts[13] = parts[18] = parts[23] = parts[28] = parts[33] = d
            parts[4], parts[9], parts[14], parts[19], parts[24], parts[29] = v0, v1, v2, v3, v4, v5
            parts[34] = flag
            append(join(parts))
            full_days += 1
            if entry.factors:
                middle = factor_middles[status]
                for factor in sorted(entry.factors):
                    suffix, end = self._factor_ends(factor)
                    append(f"{_HEAD}{h}{suffix}{middle}{d}{end}")
        # Each full day is one item of seven lines.
        return lines, len(lines) + 6 * full_days

    def _iso_day(self, day: date) -> str:
        """day.isoformat(), kept per writer (a run's days number some thousands)."""
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = day.isoformat()
        return text

    def _day_block(self, status: str, ref: str) -> list[str]:
        """The fragments of a full day's seven lines for one patient and status: per line the
        head, the id (slot), the middle up to the date, the date (slot), the value's end (slot).
        """
        parts: list[str] = []
        middles = [*self._day_middles[status], self._flare_middles[status]]
        for middle in middles:
            parts += [_HEAD, "", middle.replace(_REF_SLOT, ref), "", ""]
        return parts

    def _entry_observations(self, entry: EntryRow, ref: str, append) -> None:
        """Append the lines of one diary day: six scores, the flare flag, one per factor.

        Built from pre-rendered fragments (see __init__): only the id, status, subject, date
        and value vary, and those are hex, enums, ISO dates, integers or JSON-escaped codes, so
        each line is byte for byte what json.dumps of the resource would give.
        """
        head = f"{_HEAD}{self._entry_ids.resource_id(entry.entry_id)[:56]}"
        status = _entry_status(entry)
        tail = f',"subject":{{"reference":"{ref}"}},"effectiveDateTime":"{entry.date.isoformat()}",'
        for score, middle in zip(entry.scores, self._symptom_parts[status], strict=True):
            if score is not None:
                append(f'{head}{middle}{tail}"valueInteger":{int(score)}}}\n')
        if entry.flare is not None:
            flag = "true" if entry.flare else "false"
            append(f'{head}{self._flare_parts[status]}{tail}"valueBoolean":{flag}}}\n')
        if entry.factors:
            common = self._common[status]
            for factor in sorted(entry.factors):
                suffix, value_json = self._factor_parts(factor)
                append(f"{head}{suffix}{common}{_FACTOR_CODE}{tail}{value_json}}}\n")

    def _factor_ends(self, factor: str) -> tuple[str, str]:
        """(id suffix, the line's end after the date) of a factor code (the fast path)."""
        suffix, value_json = self._factor_parts(factor)
        return suffix, f'",{value_json}}}\n'

    def _factor_parts(self, factor: str) -> tuple[str, str]:
        """(id suffix, '"valueCodeableConcept":{...}') of a factor code, rendered once."""
        found = self._factors.get(factor)
        if found is None:
            # base_id is 56 characters and FHIR ids at most 64: the suffix keeps 8.
            suffix = f"-x-{self._factor_slug(factor)}"[:8]
            value = {
                "coding": [
                    {
                        "system": FACTOR_CODE_SYSTEM,
                        "code": factor,
                        "display": self._factor_labels.get(factor, factor),
                    }
                ]
            }
            found = (suffix, f'"valueCodeableConcept":{_json(value)}')
            self._factors[factor] = found
        return found

    @staticmethod
    def _factor_slug(code: str) -> str:
        # FHIR ids allow only ASCII letters, digits, "-" and ".".
        return "".join(c if (c.isascii() and c.isalnum()) or c in "-." else "-" for c in code)

    def _consent(self, consent: ConsentRow, ref: str) -> dict:
        resource = {
            "resourceType": "Consent",
            "id": self.ps.resource_id("Consent", consent.patient_id, consent.scope),
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "research",
                        "display": "Research",
                    }
                ]
            },
            "category": [
                {
                    "coding": [{"system": "http://loinc.org", "code": "59284-0"}],
                    "text": consent.scope,
                }
            ],
            "patient": {"reference": ref},
            "dateTime": _instant(consent.given_at),
            "provision": {
                "type": "permit",
                "period": {"start": _instant(consent.given_at)},
                "purpose": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": "HRESCH",
                        "display": "healthcare research",
                    }
                ],
            },
        }
        if consent.policy_uri:
            resource["policy"] = [{"uri": consent.policy_uri}]
        return resource

    def _med(self, med: MedicationRow, ref: str) -> dict:
        # MedicationStatement.status (R4): stopped in the past -> completed, otherwise active.
        status = "completed" if med.end is not None and med.end < self.as_of else "active"
        resource: dict = {
            "resourceType": "MedicationStatement",
            "id": self.ps.resource_id("Medicine", med.medicine_id),
            "status": status,
            "medicationCodeableConcept": self._medicine_concept(med.code),
            "subject": {"reference": ref},
        }
        period = {}
        if med.start is not None:
            period["start"] = med.start.isoformat()
        if med.end is not None:
            period["end"] = med.end.isoformat()
        if period:
            resource["effectivePeriod"] = period
        dosage = self._dosage(med)
        if dosage:
            resource["dosage"] = [dosage]
        return resource

    def _medicine_concept(self, code: str) -> dict:
        """An ATC coding, or the local "other" code: never the name the patient typed."""
        if code in self._medicines:
            coding = {"system": ATC_SYSTEM, "code": code, "display": self._medicines[code]}
        else:
            coding = {
                "system": MEDICINE_LOCAL_SYSTEM,
                "code": MEDICINE_OTHER,
                "display": MEDICINE_OTHER_LABEL,
            }
        return {"coding": [coding]}

    def _dosage(self, med: MedicationRow) -> dict:
        """Dosage from codes only: the schedule as a timing code (and FHIR Timing.repeat where
        it has one), the dose as a UCUM quantity when it was a number with a known unit."""
        dosage: dict = {}
        if med.frequency in self._schedules:
            code = {
                "coding": [
                    {
                        "system": SCHEDULE_CODE_SYSTEM,
                        "code": med.frequency,
                        "display": self._schedules[med.frequency],
                    }
                ]
            }
            timing: dict = {"code": code}
            repeat = _SCHEDULE_REPEAT.get(med.frequency)
            if repeat:
                timing["repeat"] = repeat
            dosage["timing"] = timing
            if med.frequency == "as_needed":
                dosage["asNeededBoolean"] = True
        if med.strength and med.unit in self._units:
            dosage["doseAndRate"] = [
                {
                    "doseQuantity": {
                        "value": float(med.strength) if "." in med.strength else int(med.strength),
                        "unit": self._units[med.unit],
                        "system": UCUM_SYSTEM,
                        "code": med.unit,
                    }
                }
            ]
        return dosage

    def _qr(self, q: QuestionnaireRow, qr_id: str, ref: str) -> dict:
        # An item without an answer (an OSDI item marked "not applicable") is left out: an
        # absent answer, never a string in an integer item.
        items = []
        for link_id, answer in q.answers:
            value = _answer_value(answer)
            if value is not None:
                items.append({"linkId": str(link_id), "answer": [value]})
        resource: dict = {
            "resourceType": "QuestionnaireResponse",
            "id": qr_id,
            "questionnaire": f"{QUESTIONNAIRE_BASE}/{q.instrument.lower()}",
            "status": "completed",
            "subject": {"reference": ref},
            "authored": _instant(q.completed_at),
        }
        if items:
            resource["item"] = items
        return resource

    def _scores(self, q: QuestionnaireRow, qr_id: str, ref: str) -> list[dict]:
        """The response's Observations: a total score where the instrument defines one (ESSPRI,
        OSDI), and for EQ-5D-5L each dimension's level and the EQ VAS, never a total."""
        out = []
        answers = dict(q.answers)
        for obs in instrument_observations(q.instrument):
            if obs.source == "score":
                if q.score is None:
                    continue
                value: dict = {
                    "valueQuantity": {
                        "value": round(float(q.score), 4),
                        "unit": "score",
                        "system": UCUM_SYSTEM,
                        "code": "{score}",
                    }
                }
            else:
                answer = answers.get(obs.source)
                if not isinstance(answer, int) or isinstance(answer, bool):
                    continue
                value = {"valueInteger": answer}
            resource: dict = {
                "resourceType": "Observation",
                "id": self._score_id(q.response_id, obs),
                "status": "final",
                "category": SURVEY_CATEGORY,
                "code": {
                    "coding": [
                        {"system": INSTRUMENT_CODE_SYSTEM, "code": obs.code, "display": obs.display}
                    ]
                },
                "subject": {"reference": ref},
                "effectiveDateTime": _instant(q.completed_at),
                **value,
                "derivedFrom": [{"reference": f"QuestionnaireResponse/{qr_id}"}],
            }
            if q.period_start and q.period_end:
                resource["effectivePeriod"] = {
                    "start": q.period_start.isoformat(),
                    "end": q.period_end.isoformat(),
                }
                del resource["effectiveDateTime"]
            out.append(resource)
        return out

    # --- questionnaires, line by line (the same bytes as _dumps of _qr and _scores) -----------
    def _qr_line(self, q: QuestionnaireRow, qr_id: str, ref: str) -> str:
        url = self._questionnaire_urls.get(q.instrument)
        if url is None:
            url = _json(f"{QUESTIONNAIRE_BASE}/{q.instrument.lower()}")
            self._questionnaire_urls[q.instrument] = url
        items = []
        for link_id, answer in q.answers:
            value = _answer_json(answer)
            if value is not None:
                link = self._link_ids.get(link_id)
                if link is None:
                    link = self._link_ids[link_id] = _json(str(link_id))
                items.append(f'{{"linkId":{link},"answer":[{{{value}}}]}}')
        item = f',"item":[{",".join(items)}]' if items else ""
        return (
            f'{{"resourceType":"QuestionnaireResponse","id":"{qr_id}","questionnaire":{url},'
            f'"status":"completed","subject":{{"reference":"{ref}"}},'
            f'"authored":"{_instant(q.completed_at)}"{item}}}\n'
        )

    def _observations_of(self, instrument: str) -> list[tuple[object, str]]:
        found = self._instrument_obs.get(instrument)
        if found is None:
            found = [
                (
                    obs,
                    _json(
                        {
                            "coding": [
                                {
                                    "system": INSTRUMENT_CODE_SYSTEM,
                                    "code": obs.code,
                                    "display": obs.display,
                                }
                            ]
                        }
                    ),
                )
                for obs in instrument_observations(instrument)
            ]
            self._instrument_obs[instrument] = found
        return found

    def _score_lines(self, q: QuestionnaireRow, qr_id: str, ref: str) -> list[str]:
        out = []
        answers = dict(q.answers)
        if q.period_start and q.period_end:
            when = ""
            period = (
                f',"effectivePeriod":{{"start":"{q.period_start.isoformat()}",'
                f'"end":"{q.period_end.isoformat()}"}}'
            )
        else:
            when = f'"effectiveDateTime":"{_instant(q.completed_at)}",'
            period = ""
        derived = f',"derivedFrom":[{{"reference":"QuestionnaireResponse/{qr_id}"}}]'
        for obs, code in self._observations_of(q.instrument):
            if obs.source == "score":
                if q.score is None:
                    continue
                number = _float_json(round(float(q.score), 4))
                value = f'"valueQuantity":{{"value":{number},{_SCORE_UNIT}'
                score_id = self._score_ids.resource_id(q.response_id)
            else:
                answer = answers.get(obs.source)
                if not isinstance(answer, int) or isinstance(answer, bool):
                    continue
                value = f'"valueInteger":{int.__repr__(answer)}'
                score_id = self._score_ids.resource_id(f"{q.response_id}\x1f{obs.code}")
            out.append(
                f'{_HEAD}{score_id}","status":"final","category":{_SURVEY},"code":{code},'
                f'"subject":{{"reference":"{ref}"}},{when}{value}{derived}{period}}}\n'
            )
        return out

    def _score_id(self, response_id: str, obs) -> str:
        # A total score keeps the id it always had; other values are keyed by their code too.
        if obs.source == "score":
            return self.ps.resource_id("QuestionnaireScore", response_id)
        return self.ps.resource_id("QuestionnaireScore", response_id, obs.code)


# FHIR Timing.repeat of the diary's schedules (R4 Timing: frequency per period of periodUnit).
_SCHEDULE_REPEAT = {
    "once_daily": {"frequency": 1, "period": 1, "periodUnit": "d"},
    "twice_daily": {"frequency": 2, "period": 1, "periodUnit": "d"},
    "three_times_daily": {"frequency": 3, "period": 1, "periodUnit": "d"},
    "four_times_daily": {"frequency": 4, "period": 1, "periodUnit": "d"},
    "weekly": {"frequency": 1, "period": 1, "periodUnit": "wk"},
}


# The constant JSON of a questionnaire score's Observation (FhirWriter._score_lines).
_SURVEY = _json(SURVEY_CATEGORY)
_SCORE_UNIT = _json({"unit": "score", "system": UCUM_SYSTEM, "code": "{score}"})[1:]


def _float_json(value: float) -> str:
    # json.dumps writes a finite float as float.__repr__ does; anything else as it does.
    return float.__repr__(value) if math.isfinite(value) else _json(value)


def _answer_json(answer: object) -> str | None:
    """The members of _answer_value's object as JSON text (without the braces)."""
    if answer is None or answer == "":
        return None
    if isinstance(answer, bool):
        return '"valueBoolean":true' if answer else '"valueBoolean":false'
    if isinstance(answer, int):
        return f'"valueInteger":{int.__repr__(answer)}'
    if isinstance(answer, float):
        return f'"valueDecimal":{_float_json(round(answer, 4))}'
    return f'"valueString":{_json(str(answer))}'


def _answer_value(answer: object) -> dict | None:
    if answer is None or answer == "":
        return None
    if isinstance(answer, bool):
        return {"valueBoolean": answer}
    if isinstance(answer, int):
        return {"valueInteger": answer}
    if isinstance(answer, float):
        return {"valueDecimal": round(answer, 4)}
    return {"valueString": str(answer)}
