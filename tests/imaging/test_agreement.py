"""The staff page on agreement between the model and clinicians' independent gradings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from imaging import selectors, services
from imaging.joints import JOINTS
from imaging.models import Review
from tests.imaging.review_helpers import make_result
from tests.personas import login_verified

pytestmark = pytest.mark.django_db
URL = "/imaging/agreement/"
MODEL = {j: (2, 1) for j in JOINTS}


def _grade(patient, reviewer, grades, *, when=None, **result_kw):
    result = make_result(patient, grades=MODEL, **result_kw)
    review = services.result_review_grade(
        result=result, reviewer=reviewer, grades=grades, ra_pattern=True
    )
    if when is not None:
        Review.objects.filter(pk=review.pk).update(reviewed_at=when)
    return result


def _staff_page(client, staff):
    login_verified(client, staff)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_no_reviews_says_so_plainly(client, staff_sam):
    html = _staff_page(client, staff_sam)
    assert "No reviews yet." in html


def test_figures_per_joint_count_only_independent_gradings(
    client, staff_sam, patient_alice, carol_imaging
):
    exact = MODEL
    off_by_one = {j: (3, 1) for j in JOINTS}
    off_by_two = {j: (4, 3) for j in JOINTS}
    for _ in range(10):
        _grade(patient_alice, carol_imaging, exact)
    for _ in range(8):
        _grade(patient_alice, carol_imaging, off_by_one)
    for _ in range(2):
        _grade(patient_alice, carol_imaging, off_by_two)
    # Acceptances copy the model: they must not raise the agreement figures.
    for _ in range(5):
        services.result_review_accept_model(
            result=make_result(patient_alice, grades=MODEL), reviewer=carol_imaging
        )
    # A manual grading has no model grade; neither has a joint the model abstained on.
    manual = make_result(patient_alice, status="needs_review")
    services.result_review_grade(
        result=manual, reviewer=carol_imaging, grades=MODEL, ra_pattern=False
    )
    _grade(patient_alice, carol_imaging, exact, abstain=("MCP1",))

    (report,) = selectors.agreement_report(user=staff_sam)
    assert report.bundle == "hand_joint_scorer 0.2.0"
    mcp1, mcp2 = report.joints["MCP1"], report.joints["MCP2"]
    assert mcp1.n == 20  # the abstained MCP1 is left out
    assert mcp2.n == 21
    assert mcp1.jsn_exact_rate == pytest.approx(10 / 20)
    assert mcp1.jsn_within_one_rate == pytest.approx(18 / 20)
    assert mcp1.erosion_exact_rate == pytest.approx(18 / 20)
    assert mcp1.erosion_within_one_rate == pytest.approx(18 / 20)
    assert report.counts == {"independent": 21, "accepted_model": 5, "manual": 1}
    assert report.abstained_joints == 1
    assert list(report.joints) == list(JOINTS)  # in anatomical order

    html = _staff_page(client, staff_sam)
    assert "hand_joint_scorer 0.2.0" in html
    assert "<td>20</td><td>50.0%</td><td>90.0%</td><td>90.0%</td><td>90.0%</td>" in html
    assert "5 acceptances of the model's grades (not counted)" in html


def test_months_and_too_few_gradings_are_shown_plainly(
    client, staff_sam, patient_alice, carol_imaging
):
    now = timezone.now()
    last_month = now.replace(day=1) - timedelta(days=3)
    for _ in range(20):
        _grade(patient_alice, carol_imaging, MODEL, when=last_month)
    for _ in range(3):
        _grade(patient_alice, carol_imaging, MODEL, when=now)
    (report,) = selectors.agreement_report(user=staff_sam)
    months = list(report.month_totals)
    assert len(months) == 2 and months[0] > months[1]  # newest first
    this, before = report.month_totals[months[0]], report.month_totals[months[1]]
    assert (this.n, before.n) == (3 * len(JOINTS), 20 * len(JOINTS))
    assert report.months[months[1]]["WRIST"].jsn_exact_rate == 1.0
    assert report.months[months[0]]["WRIST"].too_few  # 3 gradings of the wrist this month
    html = _staff_page(client, staff_sam)
    assert "Too few independent gradings to judge (3 of at least 20)" in html
    assert timezone.localtime(last_month).strftime("%B %Y") in html


def test_bundle_with_too_few_gradings_gets_a_plain_warning(
    client, staff_sam, patient_alice, carol_imaging
):
    _grade(patient_alice, carol_imaging, MODEL, bundle=("site_scorer", "1.0.0"))
    html = _staff_page(client, staff_sam)
    assert "Too few independent gradings to judge this bundle" in html
    assert "%" not in html.split("site_scorer 1.0.0")[1].split("</table>")[0]


@pytest.mark.parametrize("persona", ["patient_alice", "clinician_carol", "researcher_rita"])
def test_only_staff_see_the_agreement_page(client, request, persona):
    user = request.getfixturevalue(persona)
    if persona == "patient_alice":
        client.force_login(user)
    else:
        login_verified(client, user)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_selector_refuses_non_staff(clinician_carol):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        selectors.agreement_report(user=clinician_carol)


def test_month_is_a_calendar_month(patient_alice, carol_imaging, staff_sam):
    when = timezone.make_aware(datetime(2026, 3, 31, 23, 30))
    _grade(patient_alice, carol_imaging, MODEL, when=when)
    (report,) = selectors.agreement_report(user=staff_sam)
    (month,) = report.month_totals
    assert (month.year, month.month, month.day) == (2026, 3, 1)


def test_staff_home_links_to_the_agreement_page(client, staff_sam):
    login_verified(client, staff_sam)
    assert URL in client.get("/").content.decode()
