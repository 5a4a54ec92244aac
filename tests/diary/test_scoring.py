"""The scoring module against worked examples from the instruments' published definitions.

ESSPRI: Seror et al., Ann Rheum Dis 2011 (score = mean of 3 scales) and 2016 (PASS < 5; MCII a
fall of >= 1 point or >= 15 %). OSDI: Schiffman et al., Arch Ophthalmol 2000 (sum x 25 / number
answered) and Miller et al. 2010 (bands 0-12, 13-22, 23-32, 33-100). EQ-5D-5L: Herdman et al.
2011 (5-digit profile MO SC UA PD AD, levels 1-5; EQ VAS 0-100).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from diary.models import Instrument as InstrumentChoice
from diary.questionnaires.definitions import NOT_APPLICABLE, all_instruments, get_instrument
from diary.questionnaires.scoring import (
    Change,
    NotEnoughAnswers,
    band_for,
    change_between,
    eq5d_profile,
    format_score,
    score_answers,
    sum_scaled_score,
)

ESSPRI = get_instrument("esspri")
OSDI = get_instrument("osdi")
EQ5D = get_instrument("eq5d5l")


def osdi_answers(values: list) -> dict:
    return {f"q{n}": v for n, v in enumerate(values, 1)}


def test_every_stored_instrument_code_has_a_definition_and_back():
    assert set(all_instruments()) == set(InstrumentChoice.values)


# --- ESSPRI ---------------------------------------------------------------------------------
def test_esspri_is_the_mean_of_dryness_fatigue_and_pain():
    _, result = score_answers(ESSPRI, {"dryness": 5, "fatigue": 6, "pain": 7})
    assert result.score == 6.0
    assert result.acceptable is False


@pytest.mark.parametrize(
    ("answers", "score", "acceptable"),
    [
        ((4, 5, 5), 14 / 3, True),  # 4.67: below 5 is the acceptable state
        ((5, 5, 5), 5.0, False),  # exactly 5 is not below 5
        ((0, 0, 0), 0.0, True),
        ((10, 10, 10), 10.0, False),
    ],
)
def test_esspri_acceptable_state_is_strictly_below_five(answers, score, acceptable):
    _, result = score_answers(
        ESSPRI, dict(zip(("dryness", "fatigue", "pain"), answers, strict=True))
    )
    assert result.score == pytest.approx(score)
    assert result.acceptable is acceptable


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (6.0, 5.0, Change.IMPROVED),  # a fall of exactly 1 point
        (6.0, 5.1, Change.IMPROVED),  # 0.9 points but exactly 15 %
        (20 / 3, 17 / 3, Change.IMPROVED),  # 6.67 -> 5.67: 1 point despite float noise
        (4.0, 3.5, Change.NO_MEANINGFUL_CHANGE),  # 0.5 points, 12.5 %
        (2.0, 1.7, Change.IMPROVED),  # 0.3 points is 15 % of 2
        (5.0, 6.0, Change.WORSENED),  # a rise of 1 point
        (2.0, 2.3, Change.WORSENED),  # a rise of 15 %
        (6.0, 6.5, Change.NO_MEANINGFUL_CHANGE),
        (0.0, 0.67, Change.NO_MEANINGFUL_CHANGE),  # no relative change from zero
        (6.0, 6.0, Change.NO_MEANINGFUL_CHANGE),
    ],
)
def test_esspri_meaningful_change_is_one_point_or_fifteen_percent(previous, current, expected):
    assert change_between(ESSPRI, previous, current) is expected


def test_instruments_without_a_change_rule_report_none():
    assert change_between(OSDI, 40.0, 10.0) is None
    assert change_between(ESSPRI, None, 5.0) is None


# --- OSDI -----------------------------------------------------------------------------------
def test_osdi_with_all_twelve_answered_summing_to_24_is_50():
    _, result = score_answers(OSDI, osdi_answers([2] * 12))
    assert result.score == 50.0
    assert result.answered == 12
    assert result.band.key == "severe"


def test_osdi_with_nine_answered_summing_to_18_is_50():
    values = [2] * 9 + [NOT_APPLICABLE] * 3
    _, result = score_answers(OSDI, osdi_answers(values))
    assert result.score == 50.0
    assert result.answered == 9


def test_osdi_not_applicable_items_are_left_out_of_the_denominator():
    # Schiffman 2000: (sum of answered) x 25 / answered; 5 answered, sum 3 -> 15.
    values = [1, 1, 1, 0, 0] + [NOT_APPLICABLE] * 7
    _, result = score_answers(OSDI, osdi_answers(values))
    assert result.score == 15.0
    assert result.band.key == "mild"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "normal"),
        (12, "normal"),
        (12.5, "normal"),  # below the next band's lower edge
        (13, "mild"),
        (22, "mild"),
        (23, "moderate"),
        (32, "moderate"),
        (33, "severe"),
        (100, "severe"),
    ],
)
def test_osdi_severity_band_edges(score, band):
    assert band_for(OSDI, score).key == band


def test_osdi_extremes_are_0_and_100():
    assert score_answers(OSDI, osdi_answers([0] * 12))[1].score == 0.0
    assert score_answers(OSDI, osdi_answers([4] * 12))[1].score == 100.0


def test_osdi_refuses_to_score_when_nothing_was_answered():
    with pytest.raises(NotEnoughAnswers):
        sum_scaled_score([None] * 12, scale=25)


def test_osdi_needs_its_five_symptom_items_answered():
    # Items 1-5 have no "not applicable": a complete OSDI has at least five answers.
    assert OSDI.scoring["min_answered"] == 5
    values = [1, 2, 3, 2, 1] + [NOT_APPLICABLE] * 7
    _, result = score_answers(OSDI, osdi_answers(values))
    assert result.answered == 5 and result.score == 9 * 25 / 5
    with pytest.raises(NotEnoughAnswers):
        sum_scaled_score([1, 2, 3, 2] + [None] * 8, scale=25, min_answered=5)


def test_osdi_items_one_to_five_cannot_be_not_applicable():
    values = [NOT_APPLICABLE] + [1] * 11
    with pytest.raises(ValidationError) as caught:
        score_answers(OSDI, osdi_answers(values))
    assert set(caught.value.message_dict) == {"q1"}


def test_osdi_out_of_range_and_missing_items_are_named():
    answers = osdi_answers([1] * 12)
    answers["q3"] = 5
    answers["q7"] = "often"
    del answers["q12"]
    with pytest.raises(ValidationError) as caught:
        score_answers(OSDI, answers)
    errors = caught.value.message_dict
    assert errors["q3"] == ["Must be from 0 to 4."]
    assert "not applicable" in errors["q7"][0]
    assert errors["q12"] == ["This item is required."]


# --- EQ-5D-5L and EQ VAS ---------------------------------------------------------------------
def test_eq5d_profile_is_the_five_levels_in_mo_sc_ua_pd_ad_order():
    answers = {"AD": 3, "PD": 1, "UA": 2, "SC": 1, "MO": 1, "VAS": 72}
    cleaned, result = score_answers(EQ5D, answers)
    assert result.profile == "11213"
    assert result.score == 72.0  # the EQ VAS is the clear score
    assert result.level_sum == 8
    assert list(cleaned) == ["MO", "SC", "UA", "PD", "AD", "VAS"]


def test_eq5d_full_health_and_worst_state():
    assert eq5d_profile([1, 1, 1, 1, 1]) == "11111"
    assert eq5d_profile([5, 5, 5, 5, 5]) == "55555"


@pytest.mark.parametrize("levels", [[0, 1, 1, 1, 1], [1, 1, 6, 1, 1], [1, 1, 1, 1]])
def test_eq5d_profile_refuses_levels_outside_one_to_five(levels):
    with pytest.raises(ValueError):
        eq5d_profile(levels)


@pytest.mark.parametrize(
    ("item", "value", "message"),
    [
        ("MO", 0, "Must be from 1 to 5."),
        ("AD", 6, "Must be from 1 to 5."),
        ("VAS", 101, "Must be from 0 to 100."),
        ("VAS", -1, "Must be from 0 to 100."),
        ("VAS", 50.5, "Enter a whole number from 0 to 100."),
        ("SC", True, "Enter a whole number from 1 to 5."),
        ("UA", NOT_APPLICABLE, "Enter a whole number from 1 to 5."),
    ],
)
def test_eq5d_refuses_bad_levels_and_vas(item, value, message):
    answers = {"MO": 1, "SC": 1, "UA": 1, "PD": 1, "AD": 1, "VAS": 80, item: value}
    with pytest.raises(ValidationError) as caught:
        score_answers(EQ5D, answers)
    assert caught.value.message_dict == {item: [message]}


# --- Shape errors -----------------------------------------------------------------------------
def test_unknown_items_and_non_objects_are_refused():
    with pytest.raises(ValidationError) as caught:
        score_answers(ESSPRI, {"dryness": 1, "fatigue": 1, "pain": 1, "itch": 3})
    assert "itch" in caught.value.message_dict["non_field_errors"][0]
    with pytest.raises(ValidationError):
        score_answers(ESSPRI, [1, 2, 3])


@pytest.mark.parametrize(("score", "text"), [(6.0, "6"), (14 / 3, "4.7"), (None, "-")])
def test_scores_are_shown_with_at_most_one_decimal(score, text):
    assert format_score(score) == text
