"""MRI studies, results and reviews (app label "imaging"; imported by imaging.models).

Kept apart from the radiograph models, which they do not change. Everything that says
something about the patient's body is sealed with the patient's data key (diary/crypto.py):
the volume and the de-identified series in storage, the model's scores and saliency, and the
clinician's grades. Clear columns hold only what lists and queries need (geometry, status,
who and when)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from imaging.mri.contract import MRI_BUNDLES, PLANES

RECORD_MRI_VOLUME = "imaging.mri.volume"
RECORD_MRI_SERIES = "imaging.mri.series"
RECORD_MRI_SCORES = "imaging.mri.result.scores"
RECORD_MRI_SALIENCY = "imaging.mri.result.saliency"
RECORD_MRI_REVIEW = "imaging.mri.review"


class MriSource(models.TextChoices):
    DICOM = "dicom", "DICOM series"
    NIFTI = "nifti", "NIfTI"


class MriStudy(models.Model):
    """One uploaded MRI series, read, de-identified and normalised at upload (imaging.mri.volume).

    Storage holds the normalised volume (`volume_blob_name`) and, for DICOM, the de-identified
    files as a zip (`series_blob_name`), both sealed with the patient's key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mri_studies"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="mri_uploads"
    )
    bundle_name = models.CharField(max_length=32, choices=[(b, b) for b in MRI_BUNDLES])
    source = models.CharField(max_length=8, choices=MriSource.choices)
    modality = models.CharField(max_length=16, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    series_description = models.CharField(max_length=64, blank=True)  # sequence words only
    study_date_shifted = models.CharField(max_length=8, blank=True)
    plane = models.CharField(max_length=8, choices=[(p, p) for p in PLANES])
    slices = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    spacing_mm = models.JSONField(default=list)  # (between slices, row, column)
    files = models.PositiveIntegerField(default=0)  # DICOM files in the series; 0 for NIfTI
    volume_blob_name = models.CharField(max_length=255, unique=True)
    series_blob_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(plane__in=PLANES), name="mri_study_plane_valid"),
            models.CheckConstraint(
                condition=Q(bundle_name__in=MRI_BUNDLES), name="mri_study_bundle_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=MriSource.values), name="mri_study_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(slices__gte=2, rows__gt=0, columns__gt=0), name="mri_study_has_voxels"
            ),
        ]

    def __str__(self) -> str:
        return f"MRI study {self.pk} ({self.plane}, {self.slices} slices)"

    @property
    def kind_label(self) -> str:
        return {
            "spine-berlin": "Spine MRI",
            "sij-axspa": "Sacroiliac joint MRI",
            "hand-mri-arthritis": "Hand MRI",
        }.get(self.bundle_name, "MRI")


class MriStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SCORED = "scored", "Scored"
    NEEDS_REVIEW = "needs_review", "Needs manual review"
    FAILED = "failed", "Failed"


MRI_FINAL = (MriStatus.SCORED, MriStatus.NEEDS_REVIEW, MriStatus.FAILED)


class MriResult(models.Model):
    """One bundle's output for one study, exactly as produced, encrypted (`scores_blob`: the
    MriScore as JSON; `saliency_blob`: the saliency map at the viewer's size, uint8)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(MriStudy, on_delete=models.CASCADE, related_name="results")
    bundle = models.ForeignKey("imaging.Bundle", on_delete=models.PROTECT, null=True, blank=True)
    bundle_name = models.CharField(max_length=100, blank=True)
    bundle_version = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=MriStatus.choices, default=MriStatus.QUEUED)
    scores_blob = models.BinaryField(null=True, blank=True)
    saliency_blob = models.BinaryField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    review_reason = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MriStatus.values), name="mri_result_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=MriStatus.FAILED) | ~Q(error=""),
                name="mri_result_failed_has_error",
            ),
            models.CheckConstraint(
                condition=~Q(status=MriStatus.NEEDS_REVIEW) | ~Q(review_reason=""),
                name="mri_result_review_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=MriStatus.SCORED) | Q(scores_blob__isnull=False),
                name="mri_result_scored_has_scores",
            ),
        ]

    def __str__(self) -> str:
        return f"MRI result {self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in MRI_FINAL


class MriReviewKind(models.TextChoices):
    """As the radiographs' review kinds: only independent gradings are evidence of agreement."""

    INDEPENDENT = "independent", "Graded independently (the model's grades shown beside)"
    ACCEPTED_MODEL = "accepted_model", "Accepted the model's grades"
    MANUAL = "manual", "Graded manually (the model abstained)"


class MriReview(models.Model):
    """One submit of a clinician's grades of every region of a result, in one transaction.

    `grades_blob` (encrypted JSON) holds, per region, the clinician's grade beside the model's
    grade and whether the model abstained; the model's output stays on the result, unchanged.
    Append-only: the latest submit is the confirmed reading. Its id is a UUID, as every id an
    URL or the API shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    result = models.ForeignKey(MriResult, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=16, choices=MriReviewKind.choices)
    grades_blob = models.BinaryField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mri_reviews"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [models.Index(fields=["result", "-reviewed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MriReviewKind.values), name="mri_review_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.reviewed_by_id}"
