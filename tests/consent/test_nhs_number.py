"""NHS number validation: 10 digits, modulus 11 check digit (NHS Data Dictionary)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from consent.nhs import validate_nhs_number


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("9434765919", "9434765919"),  # the NHS's published example number
        ("943 476 5919", "9434765919"),  # written in 3-3-4 groups
        ("943-476-5919", "9434765919"),
        ("4010232137", "4010232137"),
        ("0000000000", "0000000000"),  # remainder 0: 11 - 0 = 11, which means check digit 0
    ],
)
def test_valid_nhs_numbers_are_accepted_and_normalised(raw, expected):
    assert validate_nhs_number(raw) == expected


@pytest.mark.parametrize(
    "raw, code, fragment",
    [
        ("9434765918", "nhs_number_check_digit", "not a valid NHS number"),  # wrong check digit
        ("4010232138", "nhs_number_check_digit", "not a valid NHS number"),
        # Weighted sum of 123456789 is 210, remainder 1: the check digit would be 10 (invalid).
        ("1234567890", "nhs_number_check_digit", "not a valid NHS number"),
        ("943476591", "nhs_number_length", "has 9"),  # too short
        ("94347659190", "nhs_number_length", "has 11"),  # too long
        ("", "nhs_number_missing", "Enter your 10-digit"),
        ("94347A5919", "nhs_number_not_digits", "only digits"),
        ("９４３４７６５９１９", "nhs_number_not_digits", "only digits"),  # full-width digits
    ],
)
def test_invalid_nhs_numbers_are_refused_with_a_clear_message(raw, code, fragment):
    with pytest.raises(ValidationError) as info:
        validate_nhs_number(raw)
    assert info.value.code == code
    assert fragment in info.value.messages[0]


def test_check_digit_10_is_never_valid_whatever_the_last_digit():
    # 1234567890: weighted sum of the first nine digits is 1*10+2*9+...+9*2 = 210 (mod 11 = 1),
    # so the check would be 10: no tenth digit can make it valid.
    for last in "0123456789":
        with pytest.raises(ValidationError):
            validate_nhs_number("123456789" + last)
