"""NHS number validation (NHS Data Dictionary: "NHS NUMBER", modulus 11 check digit)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

# Weights for the first nine digits, per the NHS Data Dictionary.
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_nhs_number(raw: str) -> str:
    """Digits only: people write NHS numbers as 3-3-4 groups with spaces or dashes."""
    return "".join(ch for ch in (raw or "") if ch not in " -")


def validate_nhs_number(raw: str) -> str:
    """Return the 10-digit NHS number, or raise ValidationError saying what is wrong.

    Check digit: 11 - (sum of digit x weight mod 11); a result of 11 means 0, and a result of 10
    means the number is not valid (no NHS number is ever issued with it).
    """
    number = normalise_nhs_number(raw)
    if not number:
        raise ValidationError("Enter your 10-digit NHS number.", code="nhs_number_missing")
    if not number.isdigit() or not number.isascii():
        raise ValidationError(
            "An NHS number has only digits (spaces are fine), for example 943 476 5919.",
            code="nhs_number_not_digits",
        )
    if len(number) != 10:
        raise ValidationError(
            f"An NHS number has 10 digits; this one has {len(number)}.",
            code="nhs_number_length",
        )
    total = sum(int(d) * w for d, w in zip(number[:9], _WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10 or check != int(number[9]):
        raise ValidationError(
            "This is not a valid NHS number: please check each digit against your NHS letter "
            "or the NHS App.",
            code="nhs_number_check_digit",
        )
    return number
