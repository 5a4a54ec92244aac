"""Charts that mean something: the ESSPRI's meaningful improvement from the range's first score,
OSDI over its severity bands, EQ-5D-5L dimensions and the EQ VAS, on the trends page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from diary.questionnaires.definitions import get_instrument
from diary.selectors import patient_today
from diary.trends.questionnaire_figures import (
    EQ5D_DIMENSIONS,
    eq5d_dimensions_figure,
    eq_vas_figure,
    esspri_meaning_figure,
    first_improvement,
    osdi_figure,
)
from diary.trends.selectors import trends_for
from tests.questionnaire_data import eq5d, esspri, osdi

TRENDS = "/diary/trends/"
D0 = date(2025, 1, 1)


class Row:
    """Just what the figures read from a ResponseRow."""

    def __init__(self, day: date, score: float | None, answers: dict | None = None):
        self.instrument = get_instrument("esspri")
        self.period_end = day
        self.completed_at = day
        self.score = score
        self.answers = answers or {}


def rows(*scores: float) -> list[Row]:
    return [Row(D0 + timedelta(days=14 * n), s) for n, s in enumerate(scores)]


def annotations(figure) -> list[str]:
    return [a.text for a in figure.layout.annotations]


@pytest.mark.parametrize(
    ("scores", "when", "why"),
    [
        ((6.0, 5.5, 5.0), 2, "a fall of 1 point"),
        ((4.0, 3.6, 3.4), 2, "a fall of 15% (0.6 of 4), less than 1 point"),
        ((8.0, 7.2, 7.1, 6.8), 3, "0.8 and 0.9 of 8 are not enough; 1.2 is"),
    ],
)
def test_first_meaningful_improvement_from_the_first_score(scores, when, why):
    found = first_improvement(rows(*scores))
    assert found is not None, why
    assert found.date == D0 + timedelta(days=14 * when)
    assert (found.baseline_score, found.score) == (scores[0], scores[when])


@pytest.mark.parametrize(
    "scores", [(6.0,), (6.0, 5.4, 5.2), (4.0, 5.0, 6.0), (2.0, 1.8), ()], ids=str
)
def test_no_meaningful_improvement(scores):
    # 0.8 of 6 is 13%; worsening is not improvement; 0.2 of 2 is 10%; one or no score.
    assert first_improvement(rows(*scores)) is None


def test_esspri_chart_marks_the_improvement_and_the_acceptable_state():
    figure = esspri_meaning_figure(rows(6.0, 4.8), date_from=D0, date_to=D0 + timedelta(days=30))
    star = [t for t in figure.data if t.name == "Meaningful improvement"]
    assert len(star) == 1 and list(star[0].y) == [4.8]
    texts = annotations(figure)
    assert "Acceptable: below 5" in texts
    assert "★ Meaningful improvement: 6.0 → 4.8" in texts
    assert figure.layout.shapes[1].y0 == 5  # the PASS line


def test_esspri_chart_without_improvement_has_no_star():
    figure = esspri_meaning_figure(rows(6.0, 6.5), date_from=D0, date_to=D0 + timedelta(days=30))
    assert [t.name for t in figure.data] == ["ESSPRI"]


def test_osdi_chart_shades_its_four_severity_bands():
    figure = osdi_figure(
        rows(20.0),
        date_from=D0,
        date_to=D0 + timedelta(days=30),
        bands=get_instrument("osdi").bands,
    )
    assert [(s.y0, s.y1) for s in figure.layout.shapes] == [(0, 13), (13, 23), (23, 33), (33, 100)]
    assert annotations(figure) == [
        "Normal (0 to 12)", "Mild (13 to 22)", "Moderate (23 to 32)", "Severe (33 to 100)"
    ]  # fmt: skip


def test_eq5d_charts_show_five_dimensions_and_the_eq_vas_labelled_as_such():
    answers = {"MO": 1, "SC": 2, "UA": 3, "PD": 4, "AD": 5}
    figure = eq5d_dimensions_figure([Row(D0, 70.0, answers)], date_from=D0, date_to=D0)
    assert [t.name for t in figure.data] == [label for _, label in EQ5D_DIMENSIONS]
    assert [t.y[0] for t in figure.data] == [1, 2, 3, 4, 5]
    vas = eq_vas_figure([Row(D0, 70.0)], date_from=D0, date_to=D0)
    assert vas.data[0].name == "EQ VAS"
    assert vas.layout.yaxis.title.text == "EQ VAS (0 to 100)"
    assert "100: the best health you can imagine" in annotations(vas)


# --- the page ------------------------------------------------------------------------------
@pytest.fixture
def alice_scored(patient_alice):
    today = patient_today(patient_alice)
    esspri(patient_alice, today - timedelta(days=28), 7, 6, 5)  # 6.0
    esspri(patient_alice, today - timedelta(days=14), 6, 5, 4)  # 5.0: a fall of 1 point
    osdi(patient_alice, today - timedelta(days=7), 1)  # 25: moderate
    eq5d(patient_alice, today - timedelta(days=3), (1, 2, 2, 3, 1), 65)
    return patient_alice


@pytest.mark.django_db
def test_trends_page_shows_what_the_scores_mean(client, alice_scored):
    client.force_login(alice_scored)
    page = client.get(TRENDS).content.decode()
    for data_id in ("tr-esspri-data", "tr-osdi-data", "tr-eq5d-data", "tr-vas-data"):
        assert f'data-figure="{data_id}"' in page and f'id="{data_id}"' in page
    assert "meaningful improvement" in page
    assert "5.0, down from 6.0" in page
    assert "Latest: 25 on" in page and "moderate" in page
    assert "levels 12231" in page
    assert "Latest EQ VAS: 65 out of 100" in page


@pytest.mark.django_db
def test_questionnaire_charts_only_when_asked_for(alice_scored):
    today = patient_today(alice_scored)
    data = trends_for(patient=alice_scored, date_from=today - timedelta(days=29), date_to=today)
    assert data.questionnaires is None  # e.g. the clinician's summary: its own table instead
    data = trends_for(
        patient=alice_scored, date_from=today - timedelta(days=29), date_to=today,
        include_questionnaires=True,
    )  # fmt: skip
    assert data.questionnaires.osdi_figure is not None
    assert data.esspri_improvement.score == 5.0


@pytest.mark.django_db
def test_trends_page_without_questionnaires_has_no_empty_charts(client, patient_alice):
    client.force_login(patient_alice)
    page = client.get(TRENDS).content.decode()
    assert "tr-osdi-data" not in page and "tr-vas-data" not in page
