"""REDCap's import rules, as checks on a data dictionary and on records files.

Written from REDCap's data dictionary template and its Data Import Tool rules: the 18 dictionary
columns in order; variable names lowercase, starting with a letter, only a-z 0-9 _, at most 26
characters, unique, record id first, a form's fields contiguous; the field and validation types
REDCap knows; choices "code, Label | code, Label" with unique codes (checkbox codes letters,
digits, underscores); records with record_id, redcap_repeat_instrument, redcap_repeat_instance
and a column per field (checkboxes as var___code) whose values pass the field's validation; a
repeating instrument's rows numbered from 1 with no two rows sharing (record, instrument,
instance).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

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
FIELD_TYPES = {
    "text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file",
    "slider", "descriptive", "sql",
}  # fmt: skip
VALIDATION_TYPES = {
    "date_ymd", "date_mdy", "date_dmy", "datetime_ymd", "datetime_seconds_ymd", "email",
    "integer", "number", "phone", "time", "zipcode", "alpha_only",
}  # fmt: skip
# Project::$reserved_field_names of REDCap's source: names a project may not use.
RESERVED = {
    "redcap_event_name", "redcap_csrf_token", "redcap_survey_timestamp",
    "redcap_survey_identifier", "redcap_survey_return_code", "redcap_data_access_group",
    "hidden_edit_flag", "instance", "redcap_repeat_instance", "redcap_repeat_instrument",
    "submit", "new", "return", "continue", "case", "switch", "class", "enum", "catch", "throw",
    "document", "super", "focus", "elements", "action", "event_id", "target", "field_label",
}  # fmt: skip
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_CODE = re.compile(r"^[A-Za-z0-9_.-]+$")
CHECKBOX_CODE = re.compile(r"^[A-Za-z0-9_]+$")
CHOICE_TYPES = {"dropdown", "radio", "checkbox"}


def parse_choices(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split("|"):
        code, comma, label = part.strip().partition(",")
        assert comma, f"choice {part!r} is not 'code, Label'"
        out.append((code.strip(), label.strip()))
    return out


def check_dictionary(data: bytes) -> dict[str, dict]:
    """Every rule on the dictionary; returns its rows by variable name."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == DICTIONARY_COLUMNS, "the 18 REDCap columns, in order"
    fields = [dict(zip(DICTIONARY_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert fields[0]["Variable / Field Name"] == "record_id"
    seen_forms: list[str] = []
    by_name: dict[str, dict] = {}
    for f in fields:
        name, form, kind = f["Variable / Field Name"], f["Form Name"], f["Field Type"]
        assert NAME.match(name) and len(name) <= 26, f"variable name {name!r}"
        assert "___" not in name, f"{name}: triple underscore is kept for checkbox columns"
        assert name not in RESERVED, f"{name} is reserved by REDCap"
        assert not name.endswith("_complete"), f"{name}: REDCap adds form_complete itself"
        assert name not in by_name, f"duplicate variable {name}"
        assert NAME.match(form) and len(form) <= 50, f"form name {form!r}"
        if not seen_forms or seen_forms[-1] != form:
            assert form not in seen_forms, f"form {form} is not contiguous"
            seen_forms.append(form)
        assert kind in FIELD_TYPES, f"{name}: field type {kind!r}"
        assert f["Field Label"].strip(), f"{name}: a label"
        validation = f["Text Validation Type OR Show Slider Number"]
        if validation:
            assert kind == "text" and validation in VALIDATION_TYPES, f"{name}: {validation}"
        if f["Text Validation Min"] or f["Text Validation Max"]:
            assert validation, f"{name}: min/max need a validation type"
            for bound in (f["Text Validation Min"], f["Text Validation Max"]):
                if bound:
                    _check_value(validation, bound, name)
        choices = f["Choices, Calculations, OR Slider Labels"]
        if kind in CHOICE_TYPES:
            parsed = parse_choices(choices)
            codes = [c for c, _ in parsed]
            assert len(set(codes)) == len(codes), f"{name}: duplicate choice codes"
            pattern = CHECKBOX_CODE if kind == "checkbox" else CHOICE_CODE
            assert all(pattern.match(c) for c in codes), f"{name}: choice codes {codes}"
            assert all(label for _, label in parsed), f"{name}: empty choice label"
        else:
            assert not choices or kind in {"calc", "slider", "sql"}, f"{name}: stray choices"
        assert f["Identifier?"] in {"", "y"} and f["Required Field?"] in {"", "y"}
        by_name[name] = f
    return by_name


def _check_value(validation: str, value: str, where: str) -> None:
    if validation == "integer":
        assert re.fullmatch(r"-?\d+", value), f"{where}: {value!r} is not an integer"
    elif validation == "number":
        assert re.fullmatch(r"-?\d+(\.\d+)?", value), f"{where}: {value!r} is not a number"
    elif validation == "date_ymd":
        date.fromisoformat(value)
    elif validation == "datetime_seconds_ymd":
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


def columns_of(fields: dict[str, dict]) -> list[str]:
    cols = []
    for name, f in fields.items():
        if f["Field Type"] == "checkbox":
            codes = parse_choices(f["Choices, Calculations, OR Slider Labels"])
            cols += [f"{name}___{code}" for code, _ in codes]
        else:
            cols.append(name)
    return cols


def check_records(
    data: bytes, fields: dict[str, dict], repeating: set[str], *, contiguous: bool = True
) -> list[dict]:
    """Every rule on a records file (classic project with repeating instruments)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header = rows[0]
    assert header[:3] == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    assert "redcap_event_name" not in header, "a classic project has no events"
    assert header[3:] == columns_of(fields)[1:], "a column per field, dictionary order"
    column_field = {}
    for name, f in fields.items():
        for col in columns_of({name: f}):
            column_field[col] = (name, f)
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    keys = set()
    instances: dict[tuple[str, str], list[int]] = {}
    for rec in records:
        form, instance = rec["redcap_repeat_instrument"], rec["redcap_repeat_instance"]
        assert rec["record_id"], "every row has its record"
        if form:
            assert form in repeating, f"{form} is not a repeating instrument"
            assert instance.isdigit() and int(instance) >= 1, f"instance {instance!r}"
            instances.setdefault((rec["record_id"], form), []).append(int(instance))
        else:
            assert instance == "", "a non-repeating row has no instance"
        key = (rec["record_id"], form, instance)
        assert key not in keys, f"two rows share {key}"
        keys.add(key)
        for col in header[3:]:
            value = rec[col]
            if value == "":
                continue
            name, f = column_field[col]
            row_form = form or next(iter(fields.values()))["Form Name"]
            assert f["Form Name"] == row_form or (not form and f["Form Name"] not in repeating), (
                f"{col} filled on a {form or 'participant'} row"
            )
            _check_field_value(f, col, value)
    if contiguous:
        for (record, form), numbers in instances.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), (
                f"{form} of {record[:8]} numbered {sorted(numbers)}"
            )
    return records


def _check_field_value(f: dict, col: str, value: str) -> None:
    kind = f["Field Type"]
    if kind == "checkbox" or kind == "yesno":
        assert value in {"0", "1"}, f"{col}: {value!r}"
    elif kind in {"dropdown", "radio"}:
        codes = {c for c, _ in parse_choices(f["Choices, Calculations, OR Slider Labels"])}
        assert value in codes, f"{col}: {value!r} not among {sorted(codes)}"
    validation = f["Text Validation Type OR Show Slider Number"]
    if validation:
        _check_value(validation, value, col)
    if validation in {"integer", "number"}:
        low, high = f["Text Validation Min"], f["Text Validation Max"]
        if low:
            assert float(value) >= float(low), f"{col}: {value} < {low}"
        if high:
            assert float(value) <= float(high), f"{col}: {value} > {high}"
