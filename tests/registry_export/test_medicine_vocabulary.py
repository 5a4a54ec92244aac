"""What of a typed dose and unit may leave: a plain number with a unit that has a UCUM code."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from diary.fields import MEDICINE_UNITS
from diary.records import MedicineView
from registry_export import sources
from registry_export.formats.vocabulary import strength_of, ucum_unit


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("200", "200"), (" 0.50 ", "0.5"), ("2,5", "2.5"), ("007", "7"), ("1.0", "1")]
    + [(text, "") for text in ("two", "200mg", "1/2", "", "-5", "1e3", "Dr Who 5")],
)
def test_strength_is_a_plain_decimal_or_nothing(typed, expected):
    assert strength_of(typed) == expected


def test_every_offered_unit_has_a_ucum_code_and_free_text_has_none():
    assert all(ucum_unit(unit) for unit in MEDICINE_UNITS)
    assert ucum_unit(" ML ") == "mL" and ucum_unit("mcg") == "ug" and ucum_unit("drops") == "[drp]"
    assert ucum_unit("spoonfuls from Mum") == ""


def test_a_dose_leaves_only_with_its_coded_unit():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    selection = sources.Selection(
        scope="registry_sharing", registry_id=None, at=at, since=None, linkage=False
    )

    def med(dose, unit):
        return MedicineView(
            id=uuid.uuid4(),
            patient_id=1,
            name="typed name",
            dose=dose,
            unit=unit,
            schedule="once_daily",
            start_date=date(2026, 1, 1),
            end_date=None,
            code="other",
        )

    rows = sources._medications(
        1, [med("200", "mg"), med("200", "squirts"), med("a lot", "mg")], selection
    )
    assert [(r.strength, r.unit, r.frequency) for r in rows] == [
        ("200", "mg", "once_daily"),
        ("", "", "once_daily"),
        ("", "", "once_daily"),
    ]
    assert all(r.code == "other" for r in rows)
