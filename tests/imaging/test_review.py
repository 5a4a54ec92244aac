"""The clinician's review: an empty form with the model's grades beside it, every joint in one
submit, accepting the model as a separate recorded action, manual grading of abstained
results, and the denials (partial, out of range, grant ended), on the pages and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import AccessLogEvent, SharingGrant
from imaging import services
from imaging.joints import JOINTS
from imaging.models import JointReview, RaReview, Result, Review
from tests.imaging.conftest import grant
from tests.imaging.review_helpers import form_data, make_result
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

MODEL = {j: (i % 5, i % 3) for i, j in enumerate(JOINTS)}  # the model's grades in make_result


def _page(study_id):
    return f"/imaging/studies/{study_id}/"


def _nothing_saved():
    assert Review.objects.count() == 0
    assert JointReview.objects.count() == 0
    assert RaReview.objects.count() == 0


@pytest.fixture
def scored(patient_alice):
    return make_result(patient_alice, grades=MODEL, ra_probability=0.8)


@pytest.fixture
def carol(client, carol_imaging):
    login_verified(client, carol_imaging)
    return carol_imaging


# --- The page ------------------------------------------------------------------------------


def test_form_starts_empty_with_the_models_grades_beside(client, carol, scored):
    html = client.get(_page(scored.study_id)).content.decode()
    # Every grade field starts on "Choose": no grade is pre-selected.
    assert not re.search(r'<option value="\d" selected>', html)
    assert not re.search(r'<option value="(yes|no)" selected>', html)
    for joint in JOINTS:
        assert f'name="jsn_{joint}"' in html and f'name="erosion_{joint}"' in html
    # The model's grades are shown beside, as text.
    cells = re.findall(r'<td class="model-grade">(\d)</td>', html)
    assert cells[:4] == [str(MODEL["MCP1"][0]), str(MODEL["MCP1"][1]),
                         str(MODEL["MCP2"][0]), str(MODEL["MCP2"][1])]  # fmt: skip
    assert "Save my grading of all joints" in html
    assert "Accept the model&#x27;s grades" in html or "Accept the model's grades" in html
    assert "Not reviewed yet." in html


def test_independent_grading_saves_every_joint_in_one_submit(client, carol, scored):
    grades = {j: ((jsn + 1) % 5, ero) for j, (jsn, ero) in MODEL.items()}
    response = client.post(_page(scored.study_id) + "review/", form_data(grades, ra="no"))
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.kind, review.reviewed_by, review.result) == ("independent", carol, scored)
    rows = {r.joint: r for r in review.joints.all()}
    assert set(rows) == set(JOINTS)
    for joint, row in rows.items():
        assert (row.jsn, row.erosion) == grades[joint]
        assert (row.model_jsn, row.model_erosion) == MODEL[joint]  # kept beside
        assert row.action == "override" and row.reviewed_at == review.reviewed_at
    ra = RaReview.objects.get()
    assert (ra.review, ra.ra_pattern, ra.model_probability, ra.action) == (
        review, False, 0.8, "override"
    )  # fmt: skip
    scored.refresh_from_db()
    assert [(j["jsn"], j["erosion"]) for j in scored.joint_scores] == list(MODEL.values())
    assert AccessLogEvent.objects.filter(
        actor_id=carol.pk, what__startswith="imaging review independent"
    ).exists()
    html = client.get(_page(scored.study_id)).content.decode()
    assert "Graded independently" in html and "by Dr Carol" in html


def test_partial_grading_is_a_form_error_and_saves_nothing(client, carol, scored):
    grades = dict(MODEL)
    grades.pop("PIP4")
    response = client.post(_page(scored.study_id) + "review/", form_data(grades))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Grade every joint before saving" in html and "PIP4" in html
    assert "Nothing was saved" in html
    # What the clinician entered is kept for them to finish.
    assert re.search(r'name="jsn_MCP2"[^>]*>.*?<option value="1" selected>', html, re.S)
    _nothing_saved()


def test_out_of_range_grade_is_a_form_error_and_saves_nothing(client, carol, scored):
    data = form_data(MODEL)
    data["jsn_MCP3"] = 9
    data["erosion_WRIST"] = -1
    response = client.post(_page(scored.study_id) + "review/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "JSN for MCP3: choose a grade from 0 to 4." in html
    assert "Erosion for WRIST: choose a grade from 0 to 5." in html
    _nothing_saved()


def test_missing_ra_answer_is_a_form_error_and_saves_nothing(client, carol, scored):
    response = client.post(_page(scored.study_id) + "review/", form_data(MODEL, ra=None))
    assert response.status_code == 400
    assert "RA pattern: choose present or absent." in response.content.decode()
    _nothing_saved()


def test_accepting_the_model_is_a_separate_recorded_action(client, carol, scored):
    response = client.post(_page(scored.study_id) + "accept/", {})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    _nothing_saved()
    response = client.post(_page(scored.study_id) + "accept/", {"confirm": "on"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.kind, review.reviewed_by) == ("accepted_model", carol)
    assert {r.joint: (r.jsn, r.erosion) for r in review.joints.all()} == MODEL
    assert all(r.action == "confirm" for r in review.joints.all())
    assert RaReview.objects.get().ra_pattern is True  # the model's 0.8
    html = client.get(_page(scored.study_id)).content.decode()
    assert "Accepted the model&#x27;s grades</strong> by Dr Carol" in html


def test_accepting_is_refused_where_the_model_abstained(client, carol, patient_alice):
    result = make_result(patient_alice, grades=MODEL, abstain=("MCP2",))
    html = client.get(_page(result.study_id)).content.decode()
    assert "The model abstained on MCP2: grade this result yourself." in html
    assert f'action="/imaging/studies/{result.study_id}/accept/"' not in html
    response = client.post(_page(result.study_id) + "accept/", {"confirm": "on"})
    assert response.status_code == 400
    assert "The model abstained on MCP2" in response.content.decode()
    _nothing_saved()
    ra_unsure = make_result(patient_alice, grades=MODEL, ra_abstain=True)
    with pytest.raises(Exception, match="RA pattern"):
        services.result_review_accept_model(result=ra_unsure, reviewer=patient_alice)
    _nothing_saved()


def test_abstained_result_opens_a_manual_form_and_says_who_graded_it_and_when(
    client, carol, patient_alice
):
    result = make_result(patient_alice, status="needs_review")
    html = client.get(_page(result.study_id)).content.decode()
    assert "Manual grading (the model abstained)" in html
    assert "Not graded yet: the model abstained" in html
    assert "accept/" not in html  # nothing to accept
    grades = {j: (2, 1) for j in JOINTS}
    response = client.post(_page(result.study_id) + "review/", form_data(grades, ra="yes"))
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.kind == "manual"
    row = review.joints.get(joint="MCP1")
    assert row.model_jsn is None and row.model_abstained is True
    html = client.get(_page(result.study_id)).content.decode()
    when = timezone.localtime(review.reviewed_at).strftime("%-d %b %Y %H:%M")
    assert f"Graded manually (the model abstained)</strong> by Dr Carol, {when}" in html


def test_failed_or_queued_result_cannot_be_reviewed(client, carol, patient_alice):
    failed = make_result(patient_alice, status="failed")
    response = client.post(_page(failed.study_id) + "review/", form_data(MODEL))
    assert response.status_code == 400
    assert "Scoring failed" in response.content.decode()
    _nothing_saved()


def test_a_failure_inside_the_submit_leaves_nothing(carol_imaging, scored, monkeypatch):
    def broken_log(*args, **kwargs):
        raise RuntimeError("access log unavailable")

    monkeypatch.setattr(services, "access_allowed_log", broken_log)
    with pytest.raises(RuntimeError):
        services.result_review_grade(
            result=scored, reviewer=carol_imaging, grades=MODEL, ra_pattern=True
        )
    _nothing_saved()


def test_service_refuses_partial_and_out_of_range_grades(carol_imaging, scored):
    from django.core.exceptions import ValidationError

    partial = {j: g for j, g in MODEL.items() if j != "WRIST"}
    with pytest.raises(ValidationError, match="missing: WRIST"):
        services.result_review_grade(
            result=scored, reviewer=carol_imaging, grades=partial, ra_pattern=True
        )
    with pytest.raises(ValidationError, match="MCP1: JSN must be a whole number from 0 to 4"):
        services.result_review_grade(
            result=scored, reviewer=carol_imaging, grades={**MODEL, "MCP1": (5, 0)}, ra_pattern=True
        )
    with pytest.raises(ValidationError, match="Unknown joint"):
        services.result_review_grade(
            result=scored, reviewer=carol_imaging, grades={**MODEL, "DIP2": (0, 0)}, ra_pattern=True
        )
    _nothing_saved()


# --- Access: the sharing grant -------------------------------------------------------------


@pytest.mark.parametrize("ended", ["ends_at", "revoked_at"])
def test_grant_ended_gives_404_on_every_review_route_and_saves_nothing(
    client, api_client, carol, scored, ended
):
    SharingGrant.objects.filter(clinician=carol).update(
        **{ended: timezone.now() - timedelta(minutes=1)}
    )
    base = _page(scored.study_id)
    assert client.get(base).status_code == 404
    assert client.post(base + "review/", form_data(MODEL)).status_code == 404
    assert client.post(base + "accept/", {"confirm": "on"}).status_code == 404
    login_verified(api_client, carol)
    api = f"/api/v1/imaging/studies/{scored.study_id}/"
    assert api_client.get(api + "result/").status_code == 404
    body = {"action": "accept_model"}
    assert api_client.post(api + "review/", body, format="json").status_code == 404
    _nothing_saved()
    assert AccessLogEvent.objects.filter(actor_id=carol.pk, outcome="denied").count() >= 5


def test_other_clinician_and_patient_cannot_review(client, scored, dave_diary_only, patient_alice):
    login_verified(client, dave_diary_only)
    assert client.post(_page(scored.study_id) + "review/", form_data(MODEL)).status_code == 404
    client.force_login(patient_alice)
    assert client.post(_page(scored.study_id) + "accept/", {"confirm": "on"}).status_code == 404
    _nothing_saved()


# --- The API -------------------------------------------------------------------------------


def _api_joints(grades):
    return [{"joint": j, "jsn": jsn, "erosion": ero} for j, (jsn, ero) in grades.items()]


@pytest.fixture
def api_carol(api_client, carol_imaging):
    login_verified(api_client, carol_imaging)
    return api_client


def _review_url(result):
    return f"/api/v1/imaging/studies/{result.study_id}/review/"


def test_api_independent_grading_then_result_shows_who_and_how(api_carol, carol_imaging, scored):
    body = {"action": "grade", "joints": _api_joints(MODEL), "ra_pattern": True}
    response = api_carol.post(_review_url(scored), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "independent"
    assert JointReview.objects.filter(review__kind="independent").count() == len(JOINTS)
    result = api_carol.get(f"/api/v1/imaging/studies/{scored.study_id}/result/").json()
    assert result["latest_review"]["kind"] == "independent"
    assert result["latest_review"]["reviewed_by"] == str(carol_imaging.public_id)
    assert result["joints"][0]["confirmed_jsn"] == MODEL["MCP1"][0]


def test_api_partial_grading_is_400_and_saves_nothing(api_carol, scored):
    partial = {j: g for j, g in MODEL.items() if not j.startswith("PIP")}
    body = {"action": "grade", "joints": _api_joints(partial), "ra_pattern": False}
    response = api_carol.post(_review_url(scored), body, format="json")
    assert response.status_code == 400
    assert "missing: PIP2, PIP3, PIP4, PIP5" in response.json()["grades"][0]
    _nothing_saved()


def test_api_out_of_range_duplicate_and_missing_ra_are_400(api_carol, scored):
    joints = _api_joints(MODEL)
    joints[0]["jsn"] = 7
    response = api_carol.post(
        _review_url(scored), {"action": "grade", "joints": joints, "ra_pattern": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "less than or equal to 4" in str(response.json()["joints"])
    twice = _api_joints(MODEL) + [{"joint": "MCP1", "jsn": 0, "erosion": 0}]
    response = api_carol.post(
        _review_url(scored), {"action": "grade", "joints": twice, "ra_pattern": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "graded twice" in str(response.json())
    response = api_carol.post(
        _review_url(scored), {"action": "grade", "joints": _api_joints(MODEL)}, format="json"
    )
    assert response.status_code == 400 and "RA pattern" in response.json()["ra_pattern"][0]
    response = api_carol.post(_review_url(scored), {"action": "maybe"}, format="json")
    assert response.status_code == 400 and "action" in response.json()
    _nothing_saved()


def test_api_accept_model_is_recorded_as_such_and_refused_where_the_model_abstained(
    api_carol, scored, patient_alice
):
    response = api_carol.post(_review_url(scored), {"action": "accept_model"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "accepted_model"
    unsure = make_result(patient_alice, grades=MODEL, abstain=("WRIST",))
    response = api_carol.post(_review_url(unsure), {"action": "accept_model"}, format="json")
    assert response.status_code == 400
    assert "abstained on WRIST" in response.json()["detail"][0]
    assert Review.objects.count() == 1
    response = api_carol.post(
        _review_url(scored),
        {"action": "accept_model", "joints": _api_joints(MODEL)},
        format="json",
    )
    assert response.status_code == 400 and "takes no grades" in str(response.json())


def test_api_manual_grading_of_an_abstained_result(api_carol, patient_alice):
    result = make_result(patient_alice, status="needs_review")
    body = {"action": "grade", "joints": _api_joints(MODEL), "ra_pattern": False}
    response = api_carol.post(_review_url(result), body, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "manual"


def test_api_review_refuses_patients_and_clinicians_without_grant(
    api_client, scored, patient_alice, clinician_dave
):
    body = {"action": "accept_model"}
    assert api_client.post(_review_url(scored), body, format="json").status_code in (401, 403)
    login_verified(api_client, patient_alice)
    assert api_client.post(_review_url(scored), body, format="json").status_code == 403
    grant(patient_alice, clinician_dave, ("diary",))
    from consent import services as consent_services
    from tests.factories import StaffFactory

    consent_services.clinician_verify(clinician=clinician_dave, by=StaffFactory())
    login_verified(api_client, clinician_dave)
    assert api_client.post(_review_url(scored), body, format="json").status_code == 404
    _nothing_saved()
    assert Result.objects.count() == 1
