"""REDCap records (flat CSV), data dictionary, repeating-instrument setup and a CDISC ODM project.

The export is a REDCap *classic* project (no events) with repeating instruments, which REDCap
creates from the files a run ships (docs/registry_redcap.md):

- `redcap_project.xml`: the whole project as CDISC ODM 1.3.1 with REDCap's extensions ("Create
  a new project" -> "Upload a REDCap project XML file"): forms, fields, choices, repeating
  instruments;
- or `redcap_data_dictionary.csv` (Project Setup -> Data Dictionary) plus
  `redcap_repeating_instruments.csv` (Project Setup -> Repeating instruments -> Upload);
- then every `redcap_records.NNNNN.csv` through the Data Import Tool or the API.

Records: `record_id`, `redcap_repeat_instrument`, `redcap_repeat_instance`, then every field of
the dictionary (checkboxes expanded to `field___code`). The participant row (non-repeating) leaves
the two repeat columns empty. Each repeating instrument is numbered on its own from 1 per record:
a diary day by its place in date order, a questionnaire by completion among the patient's
responses to that instrument, a medicine by its start date. Numbers stay the same from run to run
while the data do not change; what a back-filled day does is in docs/registry_redcap.md.

Only codes, numbers and dates are written: no diary note, no typed medicine name, dose or unit.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date
from xml.sax.saxutils import escape, quoteattr

from diary.questionnaires.definitions import Instrument, Item, all_instruments
from registry_export.formats import PartFiles
from registry_export.formats.vocabulary import (
    MEDICINE_OTHER,
    MEDICINE_OTHER_LABEL,
    UNIT_CHOICES,
    factor_choices,
    medicine_choices,
    schedule_choices,
    symptom_fields,
)
from registry_export.pseudonyms import Pseudonymiser
from registry_export.rows import EntryRow, MedicationRow, PatientData, QuestionnaireRow

REDCAP_FORMAT_VERSION = "2"
RECORDS_FILE = "redcap_records.csv"
DICTIONARY_FILE = "redcap_data_dictionary.csv"
REPEATING_FILE = "redcap_repeating_instruments.csv"
ODM_FILE = "redcap_project.xml"
# Written by every partition (the records); the project files are written once per run.
FILES = [RECORDS_FILE]
PROJECT_TITLE = "My Sjogren's Diary registry export"

# REDCap's data dictionary columns, in REDCap's order (the 18 columns of its template).
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
REPEAT_COLUMNS = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]

PARTICIPANT = "participant"
DAILY_DIARY = "daily_diary"
MEDICATION = "medication"
# Form labels (REDCap shows them; the form names are the variables' "Form Name").
FORM_LABELS = {
    PARTICIPANT: "Participant",
    DAILY_DIARY: "Daily diary",
    MEDICATION: "Medication",
}


def _redcap_code(code: str) -> str:
    """A choice code REDCap accepts (letters, digits, underscores): UCUM's "[drp]" -> "drp"."""
    return re.sub(r"[^a-z0-9_]", "", code.lower().replace("%", "percent"))


@dataclass(frozen=True)
class Variable:
    name: str
    form: str
    field_type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    required: bool = False
    section: str = ""
    annotation: str = ""

    def columns(self) -> list[str]:
        if self.field_type == "checkbox":
            return [f"{self.name}___{code}" for code, _ in self.choices]
        return [self.name]

    @property
    def choices_text(self) -> str:
        # REDCap's format: "code, Label | code, Label".
        return " | ".join(f"{code}, {label}" for code, label in self.choices)

    def dictionary_row(self) -> list[str]:
        row = dict.fromkeys(DICTIONARY_COLUMNS, "")
        row.update(
            {
                "Variable / Field Name": self.name,
                "Form Name": self.form,
                "Section Header": self.section,
                "Field Type": self.field_type,
                "Field Label": self.label,
                "Choices, Calculations, OR Slider Labels": self.choices_text,
                "Field Note": self.note,
                "Text Validation Type OR Show Slider Number": self.validation,
                "Text Validation Min": self.minimum,
                "Text Validation Max": self.maximum,
                "Identifier?": "y" if self.identifier else "",
                "Required Field?": "y" if self.required else "",
                "Field Annotation": self.annotation,
            }
        )
        return [row[c] for c in DICTIONARY_COLUMNS]


def _integer(name, form, label, low, high, **kw) -> Variable:
    return Variable(
        name, form, "text", label, validation="integer", minimum=str(low), maximum=str(high), **kw
    )


def _date(name, form, label, **kw) -> Variable:
    return Variable(name, form, "text", label, validation="date_ymd", **kw)


# --- Questionnaires ---------------------------------------------------------------------------
def questionnaire_forms() -> dict[str, Instrument]:
    """The repeating questionnaire forms, one per instrument, by form name (= instrument code)."""
    return dict(all_instruments())


def _item_variable(instrument: Instrument, item: Item) -> Variable:
    name = f"{instrument.code}_{item.key.lower()}"
    note = ""
    if item.allows_not_applicable:
        note = "Blank when the patient answered 'not applicable' (no answer)."
    if item.kind == "choice":
        # "Not applicable" is no answer (a blank), not a choice.
        choices = tuple((str(o.value), o.label) for o in item.options if isinstance(o.value, int))
        return Variable(name, instrument.code, "radio", item.text, choices=choices, note=note)
    label = item.text
    if item.kind == "vas":
        label = f"EQ VAS: {item.text}" if instrument.code == "eq5d5l" else item.text
        note = f"{item.min_value} = {item.min_label}; {item.max_value} = {item.max_label}"
    return _integer(name, instrument.code, label, item.min_value, item.max_value, note=note)


def _questionnaire_variables(instrument: Instrument) -> list[Variable]:
    form = instrument.code
    out = [
        Variable(
            f"{form}_completed",
            form,
            "text",
            "Completed (UTC)",
            validation="datetime_seconds_ymd",
            section=instrument.name,
        ),
        _date(f"{form}_recall_from", form, "Recall period from"),
        _date(f"{form}_recall_to", form, "Recall period to"),
    ]
    out += [_item_variable(instrument, item) for item in instrument.items]
    method = instrument.scoring["method"]
    if method == "sum_scaled":
        out.append(
            _integer(
                f"{form}_answered",
                form,
                "Items answered (not 'not applicable')",
                instrument.scoring.get("min_answered", 1),
                len(instrument.items),
            )
        )
    if method in ("mean", "sum_scaled"):
        low, high = instrument.score_range
        out.append(
            Variable(
                f"{form}_score",
                form,
                "text",
                f"{instrument.short_name} score",
                validation="number",
                minimum=f"{low:g}",
                maximum=f"{high:g}",
                note=instrument.reference.split(". ")[0],
            )
        )
    # EQ-5D-5L has no total score: its five levels are a profile, not numbers to add (EuroQol
    # EQ-5D-5L user guide), and an index value needs a country value set (not exported).
    return out


# --- The dictionary ---------------------------------------------------------------------------
def variables(*, linkage: bool) -> list[Variable]:
    """Every variable of the export, in form order (record_id first, as REDCap requires)."""
    out = [
        Variable("record_id", PARTICIPANT, "text", "Pseudonym", required=True),
        _integer("birth_year", PARTICIPANT, "Year of birth", 1900, 2100),
    ]
    if linkage:
        out.append(
            Variable(
                "nhs_number",
                PARTICIPANT,
                "text",
                "NHS number",
                note="Only with NHS data linkage consent",
                identifier=True,
            )
        )
    out += [
        Variable(
            "consent_scope",
            PARTICIPANT,
            "dropdown",
            "Consent scope",
            choices=(("registry_sharing", "Registry sharing"), ("nhs_linkage", "NHS data linkage")),
        ),
        _date("consent_date", PARTICIPANT, "Consent given"),
        _integer(
            "diary_days",
            PARTICIPANT,
            "Diary days held",
            0,
            100000,
            note="Daily diary instances above this number are no longer current (a day was "
            "deleted): remove them.",
        ),
        _integer("medication_count", PARTICIPANT, "Medicines listed", 0, 10000),
        _date("diary_date", DAILY_DIARY, "Diary date"),
    ]
    for f in symptom_fields():
        out.append(_integer(f.name, DAILY_DIARY, f.label, f.minimum, f.maximum, note=f.help_text))
    out += [
        Variable("flare", DAILY_DIARY, "yesno", "Flare"),
        Variable(
            "factors",
            DAILY_DIARY,
            "checkbox",
            "Factors",
            choices=tuple((c.code, c.label) for c in factor_choices()),
        ),
        Variable("amended", DAILY_DIARY, "yesno", "Changed after the day"),
    ]
    for instrument in questionnaire_forms().values():
        out += _questionnaire_variables(instrument)
    medicines = tuple((c.code, c.label) for c in medicine_choices())
    out += [
        Variable(
            "med_code",
            MEDICATION,
            "dropdown",
            "Medicine (WHO ATC code)",
            choices=(*medicines, (MEDICINE_OTHER, MEDICINE_OTHER_LABEL)),
        ),
        Variable(
            "med_strength",
            MEDICATION,
            "text",
            "Dose per administration",
            validation="number",
            note="Blank when the dose was not recorded as a number",
        ),
        Variable(
            "med_unit",
            MEDICATION,
            "dropdown",
            "Unit of the dose (UCUM)",
            choices=tuple((_redcap_code(c.code), f"{c.label} ({c.code})") for c in UNIT_CHOICES),
        ),
        Variable(
            "med_frequency",
            MEDICATION,
            "dropdown",
            "How often",
            choices=tuple((c.code, c.label) for c in schedule_choices()),
        ),
        _date("med_start", MEDICATION, "Started"),
        _date("med_end", MEDICATION, "Stopped"),
    ]
    return out


def repeating_forms() -> list[str]:
    return [DAILY_DIARY, *questionnaire_forms(), MEDICATION]


def form_labels() -> dict[str, str]:
    labels = dict(FORM_LABELS)
    labels.update({code: i.short_name for code, i in questionnaire_forms().items()})
    return labels


def record_header(*, linkage: bool) -> list[str]:
    cols = list(REPEAT_COLUMNS)
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
    """The records header; PartFiles writes it at the top of each partition's file."""
    return _csv_bytes([record_header(linkage=linkage)])


def dictionary_bytes(*, linkage: bool) -> bytes:
    rows = [DICTIONARY_COLUMNS] + [v.dictionary_row() for v in variables(linkage=linkage)]
    return _csv_bytes(rows)


def repeating_bytes() -> bytes:
    """REDCap's repeating instruments upload (classic project: form_name, custom_form_label)."""
    return _csv_bytes([["form_name", "custom_form_label"]] + _repeat_labels())


def _repeat_labels() -> list[list[str]]:
    labels = {DAILY_DIARY: "[diary_date]", MEDICATION: "[med_code]"}
    labels.update({code: f"[{code}_completed]" for code in questionnaire_forms()})
    return [[form, labels[form]] for form in repeating_forms()]


def project_files(*, linkage: bool) -> list[tuple[str, bytes, int]]:
    """(name, bytes, count) of the per-run project files: what REDCap needs to create the
    project the records import into."""
    dictionary = dictionary_bytes(linkage=linkage)
    return [
        (DICTIONARY_FILE, dictionary, dictionary.count(b"\r\n") - 1),
        (REPEATING_FILE, repeating_bytes(), len(repeating_forms())),
        (ODM_FILE, odm_bytes(linkage=linkage), 1),
    ]


# --- CDISC ODM (REDCap project XML) ------------------------------------------------------------
# REDCap's ODM data types and validation names (as REDCap writes them in its own project XML).
_ODM_TYPES = {
    "integer": ("integer", "int"),
    "number": ("float", "float"),
    "date_ymd": ("date", "date_ymd"),
    "datetime_seconds_ymd": ("datetime", "datetime_seconds_ymd"),
}
_COMPLETE = (("0", "Incomplete"), ("1", "Unverified"), ("2", "Complete"))


def _a(**attrs: str) -> str:
    return "".join(f" {k.replace('__', ':')}={quoteattr(v)}" for k, v in attrs.items())


def _codelist(oid: str, name: str, variable: str, data_type: str, items, **extra) -> str:
    codes = "".join(
        f"<CodeListItem{_a(CodedValue=code)}><Decode><TranslatedText>{escape(label)}"
        "</TranslatedText></Decode></CodeListItem>"
        for code, label in items
    )
    attrs = _a(OID=oid, Name=name, DataType=data_type, redcap__Variable=variable, **extra)
    return f"<CodeList{attrs}>{codes}</CodeList>"


def _item_defs(v: Variable) -> tuple[list[str], list[str], list[str]]:
    """(ItemRef OIDs, ItemDefs, CodeLists) of one variable."""
    question = f"<Question><TranslatedText>{escape(v.label)}</TranslatedText></Question>"
    # REDCap's own names for its field types in ODM (its database's): a dropdown is "select".
    field_type = {"dropdown": "select", "notes": "textarea"}.get(v.field_type, v.field_type)
    common = {"redcap__Variable": v.name, "redcap__FieldType": field_type}
    if v.note:
        common["redcap__FieldNote"] = v.note
    if v.section:
        common["redcap__SectionHeader"] = v.section
    if v.identifier:
        common["redcap__Identifier"] = "y"
    if v.required:
        common["redcap__RequiredField"] = "y"
    if v.field_type == "checkbox":
        refs, defs, lists = [], [], []
        for code, _label in v.choices:
            oid = f"{v.name}___{code}"
            refs.append(oid)
            defs.append(
                f"<ItemDef{_a(OID=oid, Name=oid, DataType='boolean', Length='1', **common)}>"
                f"{question}<CodeListRef{_a(CodeListOID=f'{oid}.choices')}/></ItemDef>"
            )
            lists.append(
                _codelist(
                    f"{oid}.choices",
                    oid,
                    v.name,
                    "boolean",
                    (("1", "Checked"), ("0", "Unchecked")),
                    redcap__CheckboxChoices=v.choices_text,
                )
            )
        return refs, defs, lists
    if v.field_type in ("radio", "dropdown", "yesno"):
        items = v.choices or (("1", "Yes"), ("0", "No"))
        data_type = "boolean" if v.field_type == "yesno" else "text"
        attrs = _a(OID=v.name, Name=v.name, DataType=data_type, Length="999", **common)
        body = f"{question}<CodeListRef{_a(CodeListOID=f'{v.name}.choices')}/>"
        listed = _codelist(f"{v.name}.choices", v.name, v.name, data_type, items)
        return [v.name], [f"<ItemDef{attrs}>{body}</ItemDef>"], [listed]
    data_type, validation = _ODM_TYPES.get(v.validation, ("text", ""))
    extra = {"redcap__TextValidationType": validation} if validation else {}
    attrs = _a(OID=v.name, Name=v.name, DataType=data_type, Length="999", **common, **extra)
    return [v.name], [f"<ItemDef{attrs}>{question}{_range_checks(v)}</ItemDef>"], []


def _range_checks(v: Variable) -> str:
    """Minimum and maximum as ODM RangeChecks (soft, as REDCap writes its validation range)."""
    message = f"The value should be between {v.minimum or '-'} and {v.maximum or '-'}."
    return "".join(
        f"<RangeCheck{_a(Comparator=comparator, SoftHard='Soft')}>"
        f"<CheckValue>{escape(value)}</CheckValue>"
        f"<ErrorMessage><TranslatedText>{escape(message)}</TranslatedText></ErrorMessage>"
        "</RangeCheck>"
        for comparator, value in (("GE", v.minimum), ("LE", v.maximum))
        if value
    )


def odm_bytes(*, linkage: bool) -> bytes:
    """The project as REDCap's "Upload a REDCap project XML file" reads it (CDISC ODM 1.3.1 with
    REDCap's namespace), metadata only: the records come in the CSV files."""
    by_form: dict[str, list[Variable]] = {}
    for v in variables(linkage=linkage):
        by_form.setdefault(v.form, []).append(v)
    labels = form_labels()
    forms, groups, items, lists = [], [], [], []
    for form, fields in by_form.items():
        group = f"{form}.{fields[0].name}"
        forms.append(
            f"<FormDef{_a(OID=f'Form.{form}', Name=labels[form], Repeating='No')}"
            f"{_a(redcap__FormName=form)}>"
            f"<ItemGroupRef{_a(ItemGroupOID=group, Mandatory='No')}/></FormDef>"
        )
        refs: list[str] = []
        for v in fields:
            r, d, c = _item_defs(v)
            refs += r
            items += d
            lists += c
        complete = Variable(f"{form}_complete", form, "select", "Complete?")
        refs.append(complete.name)
        items.append(
            f"<ItemDef{_a(OID=complete.name, Name=complete.name, DataType='text', Length='1')}"
            f"{_a(redcap__Variable=complete.name, redcap__FieldType='select')}>"
            "<Question><TranslatedText>Complete?</TranslatedText></Question>"
            f"<CodeListRef{_a(CodeListOID=f'{complete.name}.choices')}/></ItemDef>"
        )
        lists.append(
            _codelist(f"{complete.name}.choices", complete.name, complete.name, "text", _COMPLETE)
        )
        required = {v.name for v in fields if v.required}
        item_refs = "".join(
            f"<ItemRef{_a(ItemOID=r, Mandatory='Yes' if r in required else 'No')}"
            f"{_a(redcap__Variable=r.split('___')[0])}/>"
            for r in refs
        )
        groups.append(
            f"<ItemGroupDef{_a(OID=group, Name=labels[form], Repeating='No')}>{item_refs}"
            "</ItemGroupDef>"
        )
    repeating = "".join(
        f"<redcap:RepeatingInstrument{_a(redcap__UniqueEventName='event_1_arm_1')}"
        f"{_a(redcap__RepeatInstrument=form, redcap__CustomLabel=label)}/>"
        for form, label in _repeat_labels()
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8" ?>',
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"'
        ' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:redcap="https://projectredcap.org"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' ODMVersion="1.3.1" FileOID="sjogrens-diary-v{REDCAP_FORMAT_VERSION}"'
        ' FileType="Snapshot" Description=' + quoteattr(PROJECT_TITLE) + ">",
        '<Study OID="Project.SjogrensDiary">',
        "<GlobalVariables>",
        f"<StudyName>{escape(PROJECT_TITLE)}</StudyName>",
        "<StudyDescription>Pseudonymised registry export: metadata only.</StudyDescription>",
        f"<ProtocolName>{escape(PROJECT_TITLE)}</ProtocolName>",
        "<redcap:RecordAutonumberingEnabled>0</redcap:RecordAutonumberingEnabled>",
        "<redcap:SchedulingEnabled>0</redcap:SchedulingEnabled>",
        "<redcap:SurveysEnabled>0</redcap:SurveysEnabled>",
        # REDCap's project purpose 2 = research.
        "<redcap:Purpose>2</redcap:Purpose>",
        "<redcap:RepeatingInstrumentsAndEvents><redcap:RepeatingInstruments>"
        f"{repeating}</redcap:RepeatingInstruments></redcap:RepeatingInstrumentsAndEvents>",
        "</GlobalVariables>",
        f'<MetaDataVersion OID="Metadata.SjogrensDiary_v{REDCAP_FORMAT_VERSION}"'
        f' Name={quoteattr(PROJECT_TITLE)} redcap:RecordIdField="record_id">',
        *forms,
        *groups,
        *items,
        *lists,
        "</MetaDataVersion>",
        "</Study>",
        "</ODM>",
    ]
    return ("\n".join(lines) + "\n").encode()


# --- Records -----------------------------------------------------------------------------------
def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


# Diary-day cells by value (RedcapWriter._entries_csv): a score 0-10 (or None) as str(int(...))
# gives it, for an int and a bool or float equal to one; the flare flag as "1", "0" or blank.
_SCORE_CELLS: dict[object, str] = {None: "", **{n: str(n) for n in range(11)}}
_FLARE_CELLS: dict[object, str] = {None: "", True: "1", False: "0"}


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(float(value), 4):g}"


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
        self._instruments = questionnaire_forms()
        self._layout = self._diary_layout()
        self._no_flags_text = ",".join(self._no_flags)
        self._flag_texts: dict[tuple[str, ...], str] = {}
        self._days: dict[date, str] = {}
        # Per instrument: (item key, column, allowed whole numbers) of each item, once.
        self._items = {
            code: [(i.key, f"{code}_{i.key.lower()}", frozenset(i.values)) for i in inst.items]
            for code, inst in self._instruments.items()
        }

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
        cells = [DAILY_DIARY, "{0}"]
        cells += [f"{{{slots[i]}}}" if i in slots else "" for i in range(3, len(self.columns))]
        return ",".join(cells) + "\r\n"

    def _diary_layout(self) -> tuple[int, int] | None:
        """(column of diary_date, number of columns) when the diary day's columns follow each
        other as the fast path writes them (date, symptoms, flare, factors, amended); else None.
        """
        names = ["diary_date", *self._symptoms, "flare"]
        names += [f"factors___{code}" for code in self._factor_codes]
        names.append("amended")
        first = self._index[names[0]]
        if [self._index[n] for n in names] != list(range(first, first + len(names))):
            return None
        if len(self._symptoms) != 6 or first < 3:
            return None
        return first, len(self.columns)

    def _entries_csv(self, rid: str, entries: list[EntryRow], instances: dict[date, int]) -> str:
        """The diary-day rows of one patient. Nearly every day takes the fast path: one f-string
        of the varying cells between constant runs of commas, with the cells looked up rather
        than converted; a day with any unusual value goes through the general template. Both
        give the same bytes (tests/registry_export/test_writer_lines.py)."""
        layout = self._layout
        if layout is None:
            return "".join(self._entry_line(rid, e, instances[e.date]) for e in entries)
        first, width = layout
        prefix = f"{rid},{DAILY_DIARY},"
        gap = "," * (first - 2)  # from the instance (column 2) to diary_date
        last = first + 6 + 1 + len(self._factor_codes) + 1  # the amended column
        end = "," * (width - 1 - last) + "\r\n"
        cells, flares, amended = _SCORE_CELLS, _FLARE_CELLS, ("0", "1")
        iso = self._iso_day
        flags_of = self._flags_of
        no_flags = self._no_flags_text
        out = []
        append = out.append
        for e in entries:
            s = e.scores
            try:
                if len(s) != 6:
                    raise KeyError(len(s))
                a, b, c = cells[s[0]], cells[s[1]], cells[s[2]]
                d, f, g = cells[s[3]], cells[s[4]], cells[s[5]]
                flare = flares[e.flare]
            except KeyError:
                append(self._entry_line(rid, e, instances[e.date]))
                continue
            flags = flags_of(e.factors) if e.factors else no_flags
            append(
                f"{prefix}{instances[e.date]}{gap}{iso(e.date)},{a},{b},{c},{d},{f},{g},{flare},"
                f"{flags},{amended[bool(e.amended)]}{end}"
            )
        return "".join(out)

    def _entry_line(self, rid: str, e: EntryRow, instance: int) -> str:
        """One diary-day row from the general template (any values)."""
        scores = ["" if s is None else str(int(s)) for s in e.scores]
        flare = "" if e.flare is None else "1" if e.flare else "0"
        chosen = e.factors
        codes = self._factor_codes
        flags = ["1" if code in chosen else "0" for code in codes] if chosen else self._no_flags
        return f"{rid},{self._entry_format}".format(
            instance, e.date.isoformat(), *scores, flare, *flags, "1" if e.amended else "0"
        )

    def _flags_of(self, factors: tuple[str, ...]) -> str:
        """The factor checkbox cells ("0,1,0,...") of a set of factors, kept per writer."""
        text = self._flag_texts.get(factors)
        if text is None:
            codes = self._factor_codes
            text = ",".join("1" if code in factors else "0" for code in codes)
            self._flag_texts[factors] = text
        return text

    def _iso_day(self, day: date) -> str:
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = day.isoformat()
        return text

    def _row(self, record_id: str, instrument: str, instance: int | str, **values) -> list[str]:
        row = [""] * len(self.columns)
        row[0], row[1], row[2] = record_id, instrument, str(instance)
        for name, value in values.items():
            row[self._index[name]] = value
        return row

    def write(self, data: PatientData) -> None:
        rid = self.ps.patient(data.patient.patient_id)
        instances = data.entry_instances
        if instances is None:
            # Hand-made rows: the days given are all the patient's days.
            days = sorted({e.date for e in (*data.entries, *data.renumbered)})
            instances = {day: n for n, day in enumerate(days, start=1)}
        entries = sorted((*data.entries, *data.renumbered), key=lambda e: e.date)
        head = [self._participant(rid, data, len(instances))]
        rows = self._questionnaires(rid, data.questionnaires)
        meds = sorted(data.medications, key=lambda m: (m.start or date.min, m.medicine_id))
        rows += [self._medication(rid, i, m) for i, m in enumerate(meds, start=1)]
        # Participant row, diary days, questionnaires, medicines: the rows with text go through
        # the csv module, the diary days through their template (_entries_csv).
        text = _csv_text(head) + self._entries_csv(rid, entries, instances) + _csv_text(rows)
        self.files.write(RECORDS_FILE, text.encode(), count=1 + len(entries) + len(rows))

    def _participant(self, rid: str, data: PatientData, diary_days: int) -> list[str]:
        values = {
            "diary_days": str(diary_days),
            "medication_count": str(len(data.medications)),
        }
        if data.patient.birth_year is not None:
            values["birth_year"] = str(data.patient.birth_year)
        if self.linkage and data.patient.nhs_number:
            values["nhs_number"] = data.patient.nhs_number
        if data.consent is not None:
            values["consent_scope"] = data.consent.scope
            values["consent_date"] = data.consent.given_at.date().isoformat()
        return self._row(rid, "", "", **values)

    def _questionnaires(self, rid: str, responses: list[QuestionnaireRow]) -> list[list[str]]:
        rows = []
        seen: dict[str, int] = {}
        for q in sorted(responses, key=lambda r: (r.completed_at, r.response_id)):
            instrument = self._instruments.get(q.instrument)
            if instrument is None:
                continue  # an instrument this dictionary does not define has no form
            seen[q.instrument] = seen.get(q.instrument, 0) + 1
            rows.append(self._questionnaire(rid, instrument, q, q.instance or seen[q.instrument]))
        return rows

    def _questionnaire(
        self, rid: str, instrument: Instrument, q: QuestionnaireRow, instance: int
    ) -> list[str]:
        form = instrument.code
        values = {
            f"{form}_completed": q.completed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{form}_recall_from": _d(q.period_start),
            f"{form}_recall_to": _d(q.period_end),
        }
        answers = dict(q.answers)
        answered = 0
        for key, column, allowed in self._items[form]:
            value = answers.get(key)
            # Only whole numbers in the item's range: "not applicable" and anything else is blank.
            if isinstance(value, int) and not isinstance(value, bool) and value in allowed:
                values[column] = str(value)
                answered += 1
        method = instrument.scoring["method"]
        if method == "sum_scaled":
            values[f"{form}_answered"] = str(answered) if answered else ""
        if method in ("mean", "sum_scaled"):
            values[f"{form}_score"] = _number(q.score)
        return self._row(rid, form, instance, **values)

    def _medication(self, rid: str, instance: int, m: MedicationRow) -> list[str]:
        values = {
            "med_code": m.code,
            "med_strength": m.strength,
            "med_unit": _redcap_code(m.unit) if m.unit else "",
            "med_frequency": m.frequency,
            "med_start": _d(m.start),
            "med_end": _d(m.end),
        }
        return self._row(rid, MEDICATION, instance, **values)
