"""The writers' diary-day lines, built from pre-rendered fragments for speed, are exactly what a
plain serialisation of their content gives: compact JSON for FHIR, the csv module for REDCap.

Hand-made rows (no database) cover what the seeded diaries rarely have: a score or the flare flag
not recorded, an amended day, and factor codes with characters JSON must escape.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from datetime import date, timedelta

from registry_export.formats import PartFiles
from registry_export.formats.fhir import FILES as FHIR_FILES
from registry_export.formats.fhir import FhirWriter
from registry_export.formats.redcap import RECORDS_FILE, RedcapWriter, record_header
from registry_export.formats.vocabulary import symptom_fields
from registry_export.pseudonyms import Pseudonymiser
from registry_export.rows import EntryRow, PatientData, PatientRow

PS = Pseudonymiser(b"\x07" * 32)
DAY = date(2026, 3, 1)


def patient_data() -> PatientData:
    entries = [
        EntryRow(7, "e-full", DAY, (1, 2, 3, 4, 5, 6), flare=True, factors=("stress", "dry_air")),
        EntryRow(7, "e-amended", DAY + timedelta(days=1), (0, 0, 0, 0, 0, 10), False, amended=True),
        EntryRow(7, "e-gaps", DAY + timedelta(days=2), (None, 2, None, 4, 5, None), flare=None),
        EntryRow(7, "e-odd", DAY + timedelta(days=3), (9,) * 6, True, factors=('q"uo\\te', "é")),
    ]
    return PatientData(patient=PatientRow(patient_id=7), entries=entries)


def write(writer_class, names, tmp_path):
    files = PartFiles(tmp_path, names)
    writer_class(files, PS, as_of=DAY + timedelta(days=30), linkage=False).write(patient_data())
    summary = files.close()
    return summary, {name: (tmp_path / name).read_bytes() for name in names}


def test_fhir_day_lines_are_the_compact_json_of_valid_observations(tmp_path):
    summary, files = write(FhirWriter, FHIR_FILES, tmp_path)
    lines = files["Observation.ndjson"].decode().splitlines(keepends=True)
    observation = importlib.import_module("fhir.resources.R4B.observation").Observation
    for line in lines:
        resource = json.loads(line)
        assert line == json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"
        observation.model_validate(resource)
    assert summary["Observation.ndjson"]["count"] == len(lines)
    by_day: dict[str, list[dict]] = {}
    for resource in map(json.loads, lines):
        by_day.setdefault(resource["effectiveDateTime"], []).append(resource)
    full, amended, gaps, odd = (by_day[(DAY + timedelta(days=i)).isoformat()] for i in range(4))
    assert len(full) == 6 + 1 + 2 and {o["status"] for o in full} == {"final"}
    assert [o["valueInteger"] for o in full[:6]] == [1, 2, 3, 4, 5, 6]
    assert full[6]["valueBoolean"] is True
    # Factors in code order, each with its label from the diary's choices.
    factor_codes = [o["valueCodeableConcept"]["coding"][0] for o in full[7:]]
    assert [(c["code"], c["display"]) for c in factor_codes] == [
        ("dry_air", "Dry or heated air"),
        ("stress", "Stress"),
    ]
    assert {o["status"] for o in amended} == {"amended"} and amended[6]["valueBoolean"] is False
    # Nothing is invented for what was not recorded: three scores, no flare flag.
    assert [o["valueInteger"] for o in gaps] == [2, 4, 5]
    codes = [f.fhir_code for f in symptom_fields()]
    assert [o["code"]["coding"][0]["code"] for o in gaps] == [codes[1], codes[3], codes[4]]
    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in odd[7:]] == ['q"uo\\te', "é"]
    ids = [o["id"] for day in (full, amended, gaps, odd) for o in day]
    assert len(set(ids)) == len(ids) and max(map(len, ids)) <= 64


def test_redcap_day_rows_are_what_the_csv_module_writes(tmp_path):
    summary, files = write(RedcapWriter, [RECORDS_FILE], tmp_path)
    text = files[RECORDS_FILE].decode()
    rows = list(csv.reader(io.StringIO(text)))
    again = io.StringIO()
    csv.writer(again, lineterminator="\r\n").writerows(rows)
    assert again.getvalue() == text
    header = record_header(linkage=False)
    assert all(len(row) == len(header) for row in rows)
    assert summary[RECORDS_FILE]["count"] == len(rows) == 1 + 4
    days = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    names = [f.name for f in symptom_fields()]
    full, amended, gaps, odd = days
    assert full["record_id"] == PS.patient(7) and full["redcap_repeat_instrument"] == "daily_diary"
    # Hand-made rows: the days given are all the patient's days, numbered from 1 by date.
    assert [int(d["redcap_repeat_instance"]) for d in days] == [1, 2, 3, 4]
    assert [full[n] for n in names] == ["1", "2", "3", "4", "5", "6"]
    assert (full["flare"], full["factors___stress"], full["factors___dry_air"]) == ("1", "1", "1")
    assert full["factors___travel"] == "0" and full["amended"] == "0"
    assert amended["amended"] == "1" and amended["flare"] == "0"
    assert [gaps[n] for n in names] == ["", "2", "", "4", "5", ""] and gaps["flare"] == ""
    # Codes outside the diary's choices have no column: nothing of them is written.
    assert 'q"uo' not in text and odd["factors___other"] == "0"
    assert all(d["consent_scope"] == "" and d["esspri_score"] == "" for d in days)


# --- The fast paths against the general ones (issue 11, P2) ------------------------------------
# The writers take a fast path for an ordinary day (all six scores 0-10 and the flare flag
# recorded) and the general one, the line builders they had before, for anything else. On
# random days, ordinary and odd mixed, both must give the same bytes, and the FHIR lines must
# be what json.dumps gives for the resources.


def random_days(seed: int, count: int = 400) -> list[EntryRow]:
    import random

    from registry_export.formats.vocabulary import factor_choices

    rng = random.Random(seed)
    codes = [c.code for c in factor_choices()] + ['q"uo\\te', "é", "50%"]
    odd_scores = [None, True, False, 7.0, 3.6, -1, 11, 42]
    days = []
    for n in range(count):
        ordinary = rng.random() < 0.7
        if ordinary:
            scores = tuple(rng.randint(0, 10) for _ in range(6))
            flare = rng.choice([True, False])
        else:
            scores = tuple(
                rng.choice(odd_scores) if rng.random() < 0.4 else rng.randint(0, 10)
                for _ in range(6)
            )
            flare = rng.choice([None, True, False, 1, 0])
        factors = tuple(rng.sample(codes, rng.randint(0, 3))) if rng.random() < 0.5 else ()
        days.append(
            EntryRow(
                7, f"e-{seed}-{n}", DAY + timedelta(days=n), scores, flare, factors,
                amended=rng.random() < 0.2,
            )
        )  # fmt: skip
    return days


def fhir_reference_lines(writer: FhirWriter, entry: EntryRow, ref: str) -> list[str]:
    """The day's Observations built as dicts and dumped: an independent reference."""
    from registry_export.formats.fhir import SURVEY_CATEGORY
    from registry_export.formats.vocabulary import (
        FACTOR_CODE_SYSTEM,
        SYMPTOM_CODE_SYSTEM,
        factor_choices,
    )

    base = PS.resource_id("DailyEntry", entry.entry_id)[:56]
    status = "amended" if entry.amended else "final"
    labels = {c.code: c.label for c in factor_choices()}

    def resource(suffix, code, display, value, system=SYMPTOM_CODE_SYSTEM):
        coding = {"system": system, "code": code, "display": display}
        return {
            "resourceType": "Observation", "id": base + suffix, "status": status,
            "category": SURVEY_CATEGORY, "code": {"coding": [coding]},
            "subject": {"reference": ref}, "effectiveDateTime": entry.date.isoformat(), **value,
        }  # fmt: skip

    out = []
    for n, (field, score) in enumerate(zip(symptom_fields(), entry.scores, strict=True)):
        if score is not None:
            out.append(
                resource(f"-{n}", field.fhir_code, field.label, {"valueInteger": int(score)})
            )
    if entry.flare is not None:
        out.append(resource("-f", "flare", "Flare", {"valueBoolean": bool(entry.flare)}))
    for factor in sorted(entry.factors):
        slug = "".join(c if (c.isascii() and c.isalnum()) or c in "-." else "-" for c in factor)
        concept = {"coding": [{"system": FACTOR_CODE_SYSTEM, "code": factor,
                               "display": labels.get(factor, factor)}]}  # fmt: skip
        out.append(
            resource(f"-x-{slug}"[:8], "factor", "Factor", {"valueCodeableConcept": concept})
        )
    return [json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in out]


def test_fhir_fast_day_lines_equal_the_general_builder_and_json_dumps_on_random_days():
    ref = f"Patient/{PS.patient(7)}"
    for seed in range(5):
        days = random_days(seed)
        writer = FhirWriter(None, PS, as_of=DAY, linkage=False)
        fast, count = writer._day_lines(days, ref)
        general: list[str] = []
        for entry in days:
            writer._entry_observations(entry, ref, general.append)
        assert "".join(fast) == "".join(general)
        assert count == len(general)
        reference = [line for e in days for line in fhir_reference_lines(writer, e, ref)]
        assert general == reference


def test_redcap_fast_day_rows_equal_the_general_template_and_the_csv_module_on_random_days():
    for seed in range(5):
        days = random_days(seed)
        writer = RedcapWriter(None, PS, as_of=DAY, linkage=False)
        assert writer._layout is not None  # the fast path is taken
        instances = {e.date: n for n, e in enumerate(days, start=1)}
        rid = PS.patient(7)
        fast = writer._entries_csv(rid, days, instances)
        general = "".join(writer._entry_line(rid, e, instances[e.date]) for e in days)
        assert fast == general
        # And the csv module's reading of it gives back the values, cell for cell.
        header = record_header(linkage=False)
        rows = list(csv.reader(io.StringIO(fast)))
        for entry, row in zip(days, rows, strict=True):
            cells = dict(zip(header, row, strict=True))
            expected = ["" if s is None else str(int(s)) for s in entry.scores]
            assert [cells[f.name] for f in symptom_fields()] == expected
            flare = "" if entry.flare is None else "1" if entry.flare else "0"
            assert cells["flare"] == flare and cells["amended"] == str(int(entry.amended))
            assert cells["redcap_repeat_instance"] == str(instances[entry.date])


def random_responses(seed: int, count: int = 200):
    import random
    from datetime import UTC, datetime

    from diary.questionnaires.definitions import all_instruments
    from registry_export.rows import QuestionnaireRow

    rng = random.Random(seed)
    instruments = {code: i for code, i in all_instruments().items()}
    odd = [None, "", True, False, 2.5, 1 / 3, "some text", 'q"uo\\te é', 10**9, -3]
    out = []
    for n in range(count):
        code = rng.choice([*instruments, "unknown"])
        items = instruments[code].items if code in instruments else ()
        answers = tuple(
            (item.key, rng.choice(odd) if rng.random() < 0.2 else rng.choice(item.values))
            for item in items
        )
        if rng.random() < 0.2:
            answers += ((rng.choice(["x", 'li"nk', 7]), rng.choice(odd)),)
        with_period = rng.random() < 0.5
        out.append(
            QuestionnaireRow(
                patient_id=7,
                response_id=f"r-{seed}-{n}",
                instrument=code,
                score=rng.choice([None, 0, 5, 33.333333, 1e-7, 2.5, 100.0]),
                completed_at=datetime(2026, 3, 1, 9, rng.randint(0, 59), tzinfo=UTC)
                + timedelta(days=n, microseconds=rng.choice([0, 1234])),
                period_start=DAY if with_period else None,
                period_end=DAY + timedelta(days=6) if with_period else None,
                answers=answers,
            )
        )
    return out


def dumps_line(resource: dict) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"


def test_fhir_questionnaire_lines_equal_the_dumped_resources_on_random_responses():
    ref = f"Patient/{PS.patient(7)}"
    writer = FhirWriter(None, PS, as_of=DAY, linkage=False)
    questionnaire_response = importlib.import_module(
        "fhir.resources.R4B.questionnaireresponse"
    ).QuestionnaireResponse
    for seed in range(5):
        for q in random_responses(seed):
            qr_id = PS.resource_id("QuestionnaireResponse", q.response_id)
            line = writer._qr_line(q, qr_id, ref)
            assert line == dumps_line(writer._qr(q, qr_id, ref))
            questionnaire_response.model_validate(json.loads(line))
            lines = writer._score_lines(q, qr_id, ref)
            assert lines == [dumps_line(r) for r in writer._scores(q, qr_id, ref)]
