"""A run's REDCap files pass REDCap's import rules, and their repeat instances are what a
registry can import: from 1 per record and instrument, unique, stable across runs."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.utils import timezone

from diary import services as diary_services
from diary.models import DailyEntry
from diary.selectors import patient_today
from registry_export.formats import redcap as redcap_format
from registry_export.models import ExportMode
from registry_export.pseudonyms import pseudonymiser_for
from tests.registry_export import redcap_rules
from tests.registry_export.conftest import read_files, run_now

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
REDCAP = "{https://projectredcap.org}"


DAY = {
    "dryness_eyes": 3,
    "dryness_mouth": 4,
    "dryness_skin": 2,
    "fatigue": 5,
    "muscle_pain": 1,
    "joint_pain": 2,
}


def add_questionnaires(patient) -> None:
    today = patient_today(patient)
    now = timezone.now()
    osdi = {f"q{i}": (i % 5) for i in range(1, 13)}
    osdi.update({"q7": "na", "q11": "na"})
    for days_ago, answers, instrument, score in (
        (9, osdi, "osdi", 22.5),
        (3, {**osdi, "q6": "na"}, "osdi", 20.0),
        (2, {"MO": 2, "SC": 1, "UA": 3, "PD": 4, "AD": 1, "VAS": 65}, "eq5d5l", 65.0),
    ):
        diary_services.questionnaire_response_save(
            patient=patient,
            instrument=instrument,
            answers=answers,
            score=score,
            period_start=today - timedelta(days=days_ago + 6),
            period_end=today - timedelta(days=days_ago),
            completed_at=now - timedelta(days=days_ago),
        )


def records_of(files: dict[str, bytes]):
    fields = redcap_rules.check_dictionary(files[redcap_format.DICTIONARY_FILE])
    repeating = {
        row[0]
        for row in list(csv.reader(io.StringIO(files[redcap_format.REPEATING_FILE].decode())))[1:]
    }
    return fields, repeating


@pytest.mark.django_db
def test_dictionary_and_records_pass_redcaps_import_rules(cohort, destination):
    add_questionnaires(cohort[0])
    files = read_files(run_now(destination))
    fields, repeating = records_of(files)
    assert repeating == {"daily_diary", "esspri", "osdi", "eq5d5l", "medication"}
    records = redcap_rules.check_records(files[redcap_format.RECORDS_FILE], fields, repeating)
    ps = pseudonymiser_for(destination)
    mine = [r for r in records if r["record_id"] == ps.patient(cohort[0].pk)]
    forms = [r["redcap_repeat_instrument"] for r in mine]
    assert forms.count("daily_diary") == 8 and forms.count("osdi") == 2
    assert forms.count("esspri") == forms.count("eq5d5l") == forms.count("medication") == 1
    # Each instrument numbered on its own, from 1.
    by_form: dict[str, list[int]] = {}
    for r in mine[1:]:
        by_form.setdefault(r["redcap_repeat_instrument"], []).append(
            int(r["redcap_repeat_instance"])
        )
    assert by_form["daily_diary"] == list(range(1, 9))
    assert by_form["osdi"] == [1, 2] and by_form["esspri"] == [1] == by_form["eq5d5l"]
    assert mine[0]["diary_days"] == "8" and mine[0]["medication_count"] == "1"


@pytest.mark.django_db
def test_eq5d5l_exports_five_dimensions_and_the_vas_and_no_total(cohort, destination):
    add_questionnaires(cohort[0])
    files = read_files(run_now(destination))
    fields, repeating = records_of(files)
    assert {"eq5d5l_mo", "eq5d5l_sc", "eq5d5l_ua", "eq5d5l_pd", "eq5d5l_ad"} <= set(fields)
    assert fields["eq5d5l_mo"]["Field Type"] == "radio"
    assert fields["eq5d5l_vas"]["Field Label"].startswith("EQ VAS")
    assert not [name for name in fields if name.startswith("eq5d5l") and "score" in name]
    records = redcap_rules.check_records(files[redcap_format.RECORDS_FILE], fields, repeating)
    (eq,) = [r for r in records if r["redcap_repeat_instrument"] == "eq5d5l"]
    dims = [eq[f"eq5d5l_{d}"] for d in ("mo", "sc", "ua", "pd", "ad")]
    assert dims == ["2", "1", "3", "4", "1"] and eq["eq5d5l_vas"] == "65"


@pytest.mark.django_db
def test_osdi_not_applicable_is_a_blank_and_counts_as_not_answered(cohort, destination):
    add_questionnaires(cohort[0])
    files = read_files(run_now(destination))
    fields, repeating = records_of(files)
    records = redcap_rules.check_records(files[redcap_format.RECORDS_FILE], fields, repeating)
    first, second = [r for r in records if r["redcap_repeat_instrument"] == "osdi"]
    assert first["osdi_q7"] == first["osdi_q11"] == "" and first["osdi_answered"] == "10"
    assert second["osdi_q6"] == "" and second["osdi_answered"] == "9"
    assert "na" not in fields["osdi_q7"]["Choices, Calculations, OR Slider Labels"]


@pytest.mark.django_db
def test_instances_are_stable_across_runs_when_nothing_changed(cohort, destination):
    destination.mode = ExportMode.FULL
    destination.save()
    first = read_files(run_now(destination))[redcap_format.RECORDS_FILE]
    second = read_files(run_now(destination))[redcap_format.RECORDS_FILE]
    assert first == second


@pytest.mark.django_db
def test_a_backfilled_day_renumbers_later_days_in_a_full_run(cohort, destination):
    destination.mode = ExportMode.FULL
    destination.save()
    patient = cohort[0]
    ps = pseudonymiser_for(destination)

    def diary_rows(files):
        fields, repeating = records_of(files)
        records = redcap_rules.check_records(files[redcap_format.RECORDS_FILE], fields, repeating)
        return {
            r["diary_date"]: int(r["redcap_repeat_instance"])
            for r in records
            if r["record_id"] == ps.patient(patient.pk)
            and r["redcap_repeat_instrument"] == "daily_diary"
        }

    before = diary_rows(read_files(run_now(destination)))
    # Back-fill a day before the earliest one: every day moves up by one, all written again.
    earliest = min(before)
    backfilled = date.fromisoformat(earliest) - timedelta(days=3)
    diary_services.entry_save(patient=patient, entry_date=backfilled, values=DAY)
    after = diary_rows(read_files(run_now(destination)))
    assert after[backfilled.isoformat()] == 1
    assert {d: after[d] - 1 for d in before} == before


@pytest.mark.django_db
def test_an_incremental_run_rewrites_the_days_a_backfill_renumbered(cohort, destination):
    destination.mode = ExportMode.INCREMENTAL
    destination.save()
    patient = cohort[0]
    ps = pseudonymiser_for(destination)
    run_now(destination)
    days = sorted(DailyEntry.objects.filter(patient=patient).values_list("date", flat=True))
    # A gap: remove the 3rd day and fill it in again after the first run.
    gap = days[2]
    DailyEntry.objects.filter(patient=patient, date=gap).delete()
    run_now(destination)  # the gap's absence renumbers nothing it could tell the registry
    diary_services.entry_save(patient=patient, entry_date=gap, values=DAY)
    files = read_files(run_now(destination))
    fields, repeating = records_of(files)
    records = redcap_rules.check_records(
        files[redcap_format.RECORDS_FILE], fields, repeating, contiguous=False
    )
    rows = {
        r["diary_date"]: int(r["redcap_repeat_instance"])
        for r in records
        if r["record_id"] == ps.patient(patient.pk)
        and r["redcap_repeat_instrument"] == "daily_diary"
    }
    # The back-filled day and every later day are written with their new numbers.
    assert rows == {d.isoformat(): n for n, d in enumerate(days, start=1) if d >= gap}


@pytest.mark.django_db
def test_redcap_project_xml_is_odm_with_every_form_field_and_repeating_instrument(
    cohort, destination
):
    files = read_files(run_now(destination))
    fields, repeating = records_of(files)
    # Our own file, made by this run (not untrusted input).
    root = ET.fromstring(files[redcap_format.ODM_FILE])  # noqa: S314
    assert root.tag == f"{ODM}ODM" and root.get("ODMVersion") == "1.3.1"
    version = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    assert version.get(f"{REDCAP}RecordIdField") == "record_id"
    forms = [f.get(f"{REDCAP}FormName") for f in version.findall(f"{ODM}FormDef")]
    assert forms == list(dict.fromkeys(f["Form Name"] for f in fields.values()))
    item_vars = {i.get(f"{REDCAP}Variable") for i in version.findall(f"{ODM}ItemDef")}
    assert set(fields) <= item_vars
    assert {f"{form}_complete" for form in forms} <= item_vars
    refs = {
        ref.get("ItemOID")
        for group in version.findall(f"{ODM}ItemGroupDef")
        for ref in group.findall(f"{ODM}ItemRef")
    }
    assert refs == {i.get("OID") for i in version.findall(f"{ODM}ItemDef")}
    lists = {c.get("OID") for c in version.findall(f"{ODM}CodeList")}
    for item in version.findall(f"{ODM}ItemDef"):
        ref = item.find(f"{ODM}CodeListRef")
        if ref is not None:
            assert ref.get("CodeListOID") in lists
    defs = {i.get("OID"): i for i in version.findall(f"{ODM}ItemDef")}
    # REDCap's own names and validation codes: a dropdown is "select", an integer "int".
    assert defs["med_code"].get(f"{REDCAP}FieldType") == "select"
    assert defs["birth_year"].get(f"{REDCAP}TextValidationType") == "int"
    checks = {
        c.get("Comparator"): c.findtext(f"{ODM}CheckValue")
        for c in defs["birth_year"].findall(f"{ODM}RangeCheck")
    }
    assert checks == {"GE": "1900", "LE": "2100"}
    assert defs["factors___stress"].get(f"{REDCAP}Variable") == "factors"
    repeats = root.findall(f".//{REDCAP}RepeatingInstrument")
    assert {r.get(f"{REDCAP}RepeatInstrument") for r in repeats} == repeating


def _dictionary(*rows: list[str], header=redcap_rules.DICTIONARY_COLUMNS) -> bytes:
    lines = [header] + [r + [""] * (18 - len(r)) for r in rows]
    return redcap_format._csv_bytes(lines)


RECORD_ID = ["record_id", "participant", "", "text", "Pseudonym"]


@pytest.mark.parametrize(
    "bad",
    [
        ["1abc", "participant", "", "text", "Starts with a digit"],
        ["Upper", "participant", "", "text", "Upper case"],
        ["a" * 27, "participant", "", "text", "Too long"],
        ["event_id", "participant", "", "text", "Reserved"],
        ["x", "participant", "", "radio", "No comma", "1 Yes | 2 No"],
        ["x", "participant", "", "checkbox", "Bad code", "a-b, A | c, C"],
        ["x", "participant", "", "text", "Unknown validation", "", "", "integr"],
        ["x", "participant", "", "text", "Range without type", "", "", "", "1"],
        ["x", "participant", "", "stars", "Unknown type"],
        ["record_id", "participant", "", "text", "Twice"],
    ],
)
def test_the_dictionary_rules_catch_what_redcap_refuses(bad):
    with pytest.raises(AssertionError):
        redcap_rules.check_dictionary(_dictionary(RECORD_ID, bad))


def test_the_dictionary_rules_want_the_18_columns_in_order():
    swapped = list(redcap_rules.DICTIONARY_COLUMNS)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    with pytest.raises(AssertionError):
        redcap_rules.check_dictionary(_dictionary(RECORD_ID, header=swapped))


@pytest.mark.parametrize(
    "rows",
    [
        [["r1", "diary", "1", "3"], ["r1", "diary", "1", "4"]],  # two rows share an instance
        [["r1", "diary", "0", "3"]],  # instances start at 1
        [["r1", "diary", "2", "3"]],  # and count up from 1
        [["r1", "diary", "1", "11"]],  # out of the field's range
        [["r1", "", "", "3"]],  # a repeating form's field on the participant row
    ],
)
def test_the_records_rules_catch_bad_instances_and_values(rows):
    fields = redcap_rules.check_dictionary(
        _dictionary(
            RECORD_ID, ["score", "diary", "", "text", "Score", "", "", "integer", "0", "10"]
        )
    )
    data = redcap_format._csv_bytes(
        [["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "score"], *rows]
    )
    with pytest.raises(AssertionError):
        redcap_rules.check_records(data, fields, {"diary"})


def test_the_rules_accept_a_minimal_valid_project():
    fields = redcap_rules.check_dictionary(
        _dictionary(
            RECORD_ID, ["score", "diary", "", "text", "Score", "", "", "integer", "0", "10"]
        )
    )
    data = redcap_format._csv_bytes(
        [
            ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "score"],
            ["r1", "", "", ""],
            ["r1", "diary", "1", "3"],
            ["r1", "diary", "2", "10"],
        ]
    )
    assert len(redcap_rules.check_records(data, fields, {"diary"})) == 3
