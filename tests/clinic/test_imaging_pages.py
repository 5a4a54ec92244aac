"""Imaging pages name the patient and link back to the clinic timeline; a clinician whose grant
ended gets a 404 with a message on the result, and a review sent after the end saves nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import AccessLogEvent
from imaging.models import JointReview, Review
from tests.clinic.test_summary_imaging import _scored_study
from tests.consent.conftest import make_grant
from tests.imaging.review_helpers import full_grading
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def test_study_and_list_pages_name_the_patient_and_link_to_the_timeline(
    client, patient_alice, carol_verified
):
    make_grant(patient_alice, carol_verified, ("diary", "imaging"))
    study = _scored_study(patient_alice, carol_verified)
    login_verified(client, carol_verified)
    timeline = reverse("clinic:timeline", args=[patient_alice.public_id])
    for url in (
        reverse("imaging:study", args=[study.pk]),
        reverse("imaging:patient_studies", args=[patient_alice.public_id]),
    ):
        text = client.get(url).content.decode()
        assert 'class="patient-header"' in text
        assert f"<strong>{patient_alice.display_name}</strong>" in text
        assert f'href="{timeline}"' in text


def test_ended_grant_gets_404_with_a_message_and_saves_no_review(
    client, patient_alice, carol_verified
):
    grant = make_grant(patient_alice, carol_verified, ("diary", "imaging"))
    study = _scored_study(patient_alice, carol_verified)
    reviews_before = (Review.objects.count(), JointReview.objects.count())
    grant.ends_at = timezone.now() - timedelta(minutes=1)
    grant.save(update_fields=["ends_at"])
    login_verified(client, carol_verified)

    page = client.get(reverse("imaging:study", args=[study.pk]))
    assert page.status_code == 404
    assert "you may not have access to it" in page.content.decode()
    posted = client.post(reverse("imaging:joint_review", args=[study.pk]), full_grading(study))
    assert posted.status_code == 404
    assert (Review.objects.count(), JointReview.objects.count()) == reviews_before
    denied = AccessLogEvent.objects.filter(actor_id=carol_verified.pk, outcome="denied")
    assert denied.count() == 2
