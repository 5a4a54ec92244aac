"""A patient's erasure removes their imaging studies, results, reviews and stored files."""

from __future__ import annotations

import pytest

from diary import services as diary_services
from imaging import inference, services
from imaging.joints import JOINTS
from imaging.models import JointReview, Result, Review, Study
from tests.imaging.conftest import grant

pytestmark = pytest.mark.django_db


def _stored_files(media):
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


@pytest.fixture
def two_patients_with_studies(
    carol_imaging, patient_alice, patient_bob, hand_png, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    grant(patient_bob, carol_imaging, ("imaging",))
    studies = {}
    for patient in (patient_alice, patient_bob):
        with django_capture_on_commit_callbacks(execute=True):
            study, _ = services.study_upload(
                uploaded_by=carol_imaging, patient=patient, data=hand_png
            )
        studies[patient.pk] = study
    result = Result.objects.get(study=studies[patient_alice.pk])
    assert result.status == "scored"
    services.result_review_grade(
        result=result,
        reviewer=carol_imaging,
        grades={j: (1, 0) for j in JOINTS},
        ra_pattern=False,
    )
    return studies


def test_the_erasure_hook_is_registered():
    assert services.patient_imaging_erase in diary_services.ERASURE_HOOKS


def test_erasure_removes_the_patients_studies_and_files_only(
    two_patients_with_studies, patient_alice, patient_bob, _media
):
    bob_study = two_patients_with_studies[patient_bob.pk]
    assert len(_stored_files(_media)) == 2
    diary_services.patient_erase(patient=patient_alice)
    assert list(Study.objects.values_list("pk", flat=True)) == [bob_study.pk]
    assert Result.objects.filter(study__patient_id=patient_alice.pk).count() == 0
    assert JointReview.objects.count() == 0 and Review.objects.count() == 0
    (left,) = _stored_files(_media)
    bob_study.refresh_from_db()
    assert bob_study.deidentified and left.name == bob_study.blob_name.rsplit("/", 1)[-1]
    # Bob's file still decrypts: his key and his study are untouched.
    assert services.study_file_bytes(study=bob_study).startswith(b"\x89PNG")


def test_a_task_queued_before_erasure_finds_nothing_to_run(
    two_patients_with_studies, patient_alice
):
    result_id = Result.objects.get(study=two_patients_with_studies[patient_alice.pk]).pk
    diary_services.patient_erase(patient=patient_alice)
    assert inference.result_run(result_id=result_id) is None
