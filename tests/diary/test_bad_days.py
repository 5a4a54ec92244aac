"""What goes with my bad days: averages of the day's symptom score on days with and without each
factor and on days with and without a missed dose, only with at least 3 days on each side,
always with the number of days, and worded as association, never cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from diary import services
from diary.fields import FACTOR_CHOICES
from diary.selectors import patient_today
from diary.trends.associations import (
    MIN_DAYS,
    adherence_comparisons,
    day_score,
    factor_comparisons,
)
from tests.diary.conftest import save_day
from tests.personas import login_verified

BAD_DAYS = "/diary/trends/bad-days/"
D0 = date(2025, 3, 1)


@dataclass
class Day:
    date: date
    factors: tuple[str, ...]
    dryness_eyes: int = 0
    dryness_mouth: int = 0
    dryness_skin: int = 0
    fatigue: int = 0
    muscle_pain: int = 0
    joint_pain: int = 0


def day(n: int, score: int, *factors: str) -> Day:
    """A day whose six symptoms are all `score` (so its symptom score is `score`)."""
    values = dict.fromkeys(
        ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain"),
        score,
    )
    return Day(D0 + timedelta(days=n), tuple(factors), **values)


def by_key(comparisons):
    return {c.key: c for c in comparisons}


def test_day_score_is_the_mean_of_the_six_symptoms():
    assert day_score(Day(D0, (), 6, 5, 3, 7, 2, 4)) == pytest.approx(27 / 6)


def test_factor_difference_with_counts():
    days = [day(0, 6, "stress"), day(1, 7, "stress"), day(2, 8, "stress"),
            day(3, 2), day(4, 3), day(5, 4), day(6, 3)]  # fmt: skip
    stress = by_key(factor_comparisons(days))["stress"]
    assert (stress.days_with, stress.days_without) == (3, 4)
    assert stress.mean_with == 7 and stress.mean_without == 3
    assert stress.difference == 4
    assert stress.sentence == (
        "On days with stress your average symptom score was 7.0 (3 days), 4.0 points higher "
        "(worse) than on days without: 3.0 (4 days)."
    )


def test_a_factor_that_goes_with_better_days_says_lower():
    days = [day(n, 2, "travel") for n in range(3)] + [day(n, 5) for n in range(3, 6)]
    travel = by_key(factor_comparisons(days))["travel"]
    assert travel.difference == -3
    assert "3.0 points lower (better) than" in travel.sentence


@pytest.mark.parametrize(("with_", "without"), [(2, 10), (10, 2), (0, 5), (0, 0)])
def test_fewer_than_three_days_on_either_side_gives_no_figure(with_, without):
    days = [day(n, 7, "poor_sleep") for n in range(with_)]
    days += [day(100 + n, 2) for n in range(without)]
    sleep = by_key(factor_comparisons(days))["poor_sleep"]
    assert not sleep.enough and sleep.difference is None
    assert sleep.sentence.startswith("Not enough data yet:")
    assert f"{with_} day" in sleep.sentence and f"{without} day" in sleep.sentence
    assert f"at least {MIN_DAYS} of each" in sleep.sentence


def test_exactly_three_days_each_is_enough():
    days = [day(n, 4, "dry_air") for n in range(3)] + [day(n, 4) for n in range(3, 6)]
    dry = by_key(factor_comparisons(days))["dry_air"]
    assert dry.enough and dry.difference == 0
    assert "about the same as" in dry.sentence


def test_every_factor_of_the_diary_is_compared():
    assert [c.key for c in factor_comparisons([])] == [code for code, _ in FACTOR_CHOICES]


def test_adherence_days_with_a_missed_or_skipped_dose_against_days_all_taken():
    days = [day(n, 6 if n < 3 else 2) for n in range(8)]
    doses = {
        "Pilocarpine": {
            D0: ["taken", "missed"], D0 + timedelta(1): ["skipped"], D0 + timedelta(2): ["missed"],
            D0 + timedelta(3): ["taken"], D0 + timedelta(4): ["taken", "taken"],
            D0 + timedelta(5): ["taken"],
            D0 + timedelta(30): ["missed"],  # no diary entry that day: not counted
        }
    }  # fmt: skip
    (pilo,) = adherence_comparisons(days, doses)
    assert (pilo.days_with, pilo.days_without) == (3, 3)
    assert pilo.difference == 4
    assert pilo.with_label == "days you missed or skipped a dose of Pilocarpine"
    assert "(3 days)" in pilo.sentence


def test_the_wording_never_claims_a_cause():
    days = [day(n, 8, "stress") for n in range(5)] + [day(n, 1) for n in range(5, 10)]
    for comparison in factor_comparisons(days):
        text = comparison.sentence.lower()
        for word in ("cause", "because", "leads to", "triggers", "makes"):
            assert word not in text


# --- the page ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bad_days_page_shows_figures_with_counts_and_says_association(client, patient_alice):
    for n in range(4):
        save_day(patient_alice, n, factors=["stress"], fatigue=9)
    for n in range(4, 8):
        save_day(patient_alice, n, factors=[], fatigue=1)
    client.force_login(patient_alice)
    response = client.get(BAD_DAYS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "not what causes what" in page
    assert "On days with stress your average symptom score was" in page
    assert "(4 days)" in page
    assert "Not enough data yet: 0 days with screen work and 8 days without" in page
    assert "No doses recorded in this period" in page


@pytest.mark.django_db
def test_bad_days_page_compares_missed_doses(client, patient_alice):
    today = patient_today(patient_alice)
    med = services.medicine_add(
        patient=patient_alice, name="Pilocarpine", dose="5", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=10),
    )  # fmt: skip
    for n in range(6):
        save_day(patient_alice, n, fatigue=9 if n < 3 else 1)
        status = "missed" if n < 3 else "taken"
        services.dose_log_set(
            patient=patient_alice, medicine_id=med.id, day=today - timedelta(days=n), status=status
        )
    client.force_login(patient_alice)
    page = client.get(BAD_DAYS).content.decode()
    assert "On days you missed or skipped a dose of Pilocarpine your average" in page


@pytest.mark.django_db
def test_bad_days_page_unknown_range_is_a_clear_400(client, patient_alice):
    client.force_login(patient_alice)
    response = client.get(BAD_DAYS + "?range=forever")
    assert response.status_code == 400
    assert "There is no range called" in response.content.decode()


@pytest.mark.django_db
def test_bad_days_page_refuses_a_clinician_and_sends_anonymous_to_sign_in(client, clinician_carol):
    assert client.get(BAD_DAYS).status_code == 302
    login_verified(client, clinician_carol)
    assert client.get(BAD_DAYS).status_code in (403, 404)


@pytest.mark.django_db
def test_bad_days_page_shows_only_my_own_days(client, patient_alice, patient_bob):
    for n in range(4):
        save_day(patient_bob, n, factors=["stress"])
    client.force_login(patient_alice)
    page = client.get(BAD_DAYS).content.decode()
    assert "0 days filled in" in page
