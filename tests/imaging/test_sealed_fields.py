"""imaging.sealed.SealedJSONField: grades and scores are stored sealed, bound to their row, and
never written in clear by a path that bypasses the instance (issue 16)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from diary import crypto
from imaging import services
from imaging.joints import JOINTS
from imaging.models import JointReview, Result
from tests.imaging.review_helpers import make_result

pytestmark = pytest.mark.django_db


def _graded(patient, clinician) -> Result:
    result = make_result(patient)
    grades = {joint: (2, 3) for joint in JOINTS}
    services.result_review_grade(result=result, reviewer=clinician, grades=grades, ra_pattern=True)
    return result


def test_grades_read_back_but_are_blobs_in_the_table(patient_alice, clinician_carol):
    result = _graded(patient_alice, clinician_carol)
    rows = list(JointReview.objects.filter(result=result))
    assert {(r.jsn, r.erosion, r.model_jsn) for r in rows} == {(2, 3, 1)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT jsn, erosion FROM imaging_jointreview")
        stored = cursor.fetchall()
    assert len(stored) == len(JOINTS)
    assert all(bytes(value)[0] == crypto.FORMAT_VERSION for row in stored for value in row)


def test_a_grade_copied_to_another_joint_does_not_open(patient_alice, clinician_carol):
    result = _graded(patient_alice, clinician_carol)
    first, second = JointReview.objects.filter(result=result).order_by("pk")[:2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE imaging_jointreview SET jsn = "
            "(SELECT jsn FROM imaging_jointreview WHERE id = %s) WHERE id = %s",
            [first.pk, second.pk],
        )
    moved = JointReview.objects.select_related("result__study").get(pk=second.pk)
    with pytest.raises(crypto.DecryptionError):
        _ = moved.jsn


def test_a_score_of_another_patient_does_not_open(patient_alice, patient_bob):
    alice = make_result(patient_alice)
    bob = make_result(patient_bob)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE imaging_result SET confidence = (SELECT confidence FROM imaging_result"
            " WHERE id = %s) WHERE id = %s",
            [alice.pk, bob.pk],
        )
    with pytest.raises(crypto.DecryptionError):
        _ = Result.objects.get(pk=bob.pk).confidence


def test_a_value_never_read_is_saved_back_unchanged(patient_alice):
    result = make_result(patient_alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT scores FROM imaging_result WHERE id = %s", [result.pk])
        (before,) = cursor.fetchone()
    fresh = Result.objects.get(pk=result.pk)
    fresh.error = ""
    fresh.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT scores FROM imaging_result WHERE id = %s", [result.pk])
        (after,) = cursor.fetchone()
    assert bytes(after) == bytes(before)
    assert Result.objects.get(pk=result.pk).scores == result.scores


def test_update_and_filters_on_a_sealed_value_are_refused(patient_alice):
    result = make_result(patient_alice)
    # Each in its own savepoint: update() marks the transaction for rollback on any error.
    with pytest.raises(TypeError, match="sealed"), transaction.atomic():
        Result.objects.filter(pk=result.pk).update(confidence=0.5)
    with pytest.raises(TypeError, match="sealed"), transaction.atomic():
        list(Result.objects.filter(confidence=0.9))
    assert Result.objects.get(pk=result.pk).confidence == 0.9


def test_out_of_range_grades_fail_validation(patient_alice, clinician_carol):
    result = _graded(patient_alice, clinician_carol)
    row = JointReview.objects.filter(result=result).first()
    row.jsn = 9
    with pytest.raises(Exception, match="less than or equal to 4"):
        row.full_clean()
