"""Imaging: studies (encrypted files), bundle records, results and the clinician's review."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from imaging.joints import EROSION_GRADES, JOINTS, JSN_GRADES
from imaging.sealed import SealedJSONField

RECORD_STUDY = "imaging.study"
RECORD_OVERLAY = "imaging.result.overlay"
RECORD_PREVIEW = "imaging.study.preview"

# Grades, scores and confidences are health data: each is sealed with the patient's key
# (imaging.sealed, issue 16). What stays clear is workflow (status, needs_review, who reviewed
# and when, confirm/override) and ids; docs/hardening.md says why per column.
_RESULT_PATIENT = "study.patient_id"
_REVIEW_PATIENT = "result.study.patient_id"
# Review rows get their id from the database on insert, so their blobs are bound to what makes
# each row unique instead (one row per joint per submit; one RA row per submit).
_JOINT_REVIEW_ID = ("result_id", "review_id", "joint")
_RA_REVIEW_ID = ("result_id", "review_id")


def _sealed(record_type: str, patient: str, record_id=("pk",), **kwargs) -> SealedJSONField:
    return SealedJSONField(record_type=record_type, patient=patient, record_id=record_id, **kwargs)


def _grade(levels: int) -> list:
    return [MinValueValidator(0), MaxValueValidator(levels - 1)]


_PROBABILITY = [MinValueValidator(0), MaxValueValidator(1)]


class StudyKind(models.TextChoices):
    DICOM = "dicom", "DICOM"
    PNG = "png", "PNG"
    JPEG = "jpeg", "JPEG"


class Study(models.Model):
    """One uploaded radiograph. The stored file (de-identified DICOM, or a re-encoded PNG) is
    sealed with the patient's data key before it reaches storage; only de-identified header
    fields stay in clear columns."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imaging_studies"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="imaging_uploads",
    )
    kind = models.CharField(max_length=8, choices=StudyKind.choices)
    modality = models.CharField(max_length=16, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    laterality = models.CharField(max_length=8, blank=True)
    view = models.CharField(max_length=16, blank=True)
    study_date_shifted = models.CharField(max_length=8, blank=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    # False while the stored file is the upload as received (sealed, waiting for the worker to
    # de-identify it); such a file is never served or exported.
    deidentified = models.BooleanField(default=True)
    blob_name = models.CharField(max_length=255, unique=True)
    preview_blob = models.BinaryField(null=True, blank=True)  # encrypted 8-bit PNG, <= 512 px
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=StudyKind.values), name="study_kind_valid"),
            models.CheckConstraint(condition=Q(rows__gt=0, columns__gt=0), name="study_has_pixels"),
        ]

    def __str__(self) -> str:
        return f"Study {self.pk} ({self.kind})"

    def apply_header(self, header: dict) -> None:
        """The de-identified header fields (imaging.inputs.header_fields), cut to the columns."""
        self.modality = header.get("modality", "")[:16]
        self.body_part = header.get("body_part", "")[:64]
        self.laterality = header.get("laterality", "")[:8]
        self.view = header.get("view", "")[:16]
        self.study_date_shifted = header.get("study_date_shifted", "")[:8]


class Bundle(models.Model):
    """A bundle version seen on disk: results point here so a card can be shown later."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=32)
    task = models.CharField(max_length=255)
    role = models.CharField(max_length=32)
    metadata = models.JSONField(default=dict)
    first_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="bundle_name_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class ResultStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SCORED = "scored", "Scored"
    NEEDS_REVIEW = "needs_review", "Needs manual review (not scored)"
    FAILED = "failed", "Failed"


FINAL_STATUSES = (ResultStatus.SCORED, ResultStatus.NEEDS_REVIEW, ResultStatus.FAILED)


class Result(models.Model):
    """The model's output for one study, exactly as produced; reviews live in JointReview."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="results")
    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, null=True, blank=True)
    bundle_name = models.CharField(max_length=100, blank=True)
    bundle_version = models.CharField(max_length=32, blank=True)
    pipeline = models.JSONField(default=dict, blank=True)  # role -> name/version of each bundle
    status = models.CharField(
        max_length=16, choices=ResultStatus.choices, default=ResultStatus.QUEUED
    )
    # image level: RA pattern
    scores = _sealed("imaging.result.scores", _RESULT_PATIENT, default=dict)
    joint_scores = _sealed("imaging.result.joint_scores", _RESULT_PATIENT, default=list)
    confidence = _sealed("imaging.result.confidence", _RESULT_PATIENT, validators=_PROBABILITY)
    needs_review = models.BooleanField(default=False)
    review_reason = models.TextField(blank=True)
    overlay_blob = models.BinaryField(null=True, blank=True)  # encrypted RGBA PNG
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ResultStatus.values), name="result_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=ResultStatus.FAILED) | ~Q(error=""),
                name="result_failed_has_error",
            ),
            models.CheckConstraint(
                condition=~Q(status=ResultStatus.NEEDS_REVIEW) | ~Q(review_reason=""),
                name="result_review_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Result {self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class ReviewAction(models.TextChoices):
    """Per score: whether the clinician's value is the model's (computed, not chosen)."""

    CONFIRM = "confirm", "Same as the model's result"
    OVERRIDE = "override", "Differs from the model's result"


class ReviewKind(models.TextChoices):
    """How a clinician reached the grades of one submit. Only independent gradings are
    evidence of agreement between the model and clinicians: an acceptance copies the model's
    grades, and a manual grading has no model grade to compare with."""

    INDEPENDENT = "independent", "Graded independently (the model's grades shown beside)"
    ACCEPTED_MODEL = "accepted_model", "Accepted the model's grades"
    MANUAL = "manual", "Graded manually (the model abstained)"


class Review(models.Model):
    """One submit of a clinician's review of a result: every joint (and the RA pattern) in one
    transaction, with how the grades were reached, by whom and when. The rows per score
    (JointReview, RaReview) point here; the model's output stays on the Result, unchanged."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="submissions")
    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imaging_submissions"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [
            models.Index(fields=["result", "-reviewed_at"]),
            models.Index(fields=["kind", "reviewed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ReviewKind.values), name="review_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.reviewed_by_id}"


class JointReview(models.Model):
    """A clinician's grades of one joint, kept beside the model's output.

    Append-only history: the latest row per (result, joint) is the confirmed value. Rows saved
    before one-submit reviews have no `review` (their form was pre-filled with the model's
    grades, so they are not counted as independent gradings)."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="reviews")
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="joints"
    )
    joint = models.CharField(max_length=8, choices=[(j, j) for j in JOINTS])
    action = models.CharField(max_length=8, choices=ReviewAction.choices)
    # none: abstained
    model_jsn = _sealed(
        "imaging.jointreview.model_jsn",
        _REVIEW_PATIENT,
        _JOINT_REVIEW_ID,
        validators=_grade(JSN_GRADES),
    )
    model_erosion = _sealed(
        "imaging.jointreview.model_erosion",
        _REVIEW_PATIENT,
        _JOINT_REVIEW_ID,
        validators=_grade(EROSION_GRADES),
    )
    model_confidence = _sealed(
        "imaging.jointreview.model_confidence",
        _REVIEW_PATIENT,
        _JOINT_REVIEW_ID,
        validators=_PROBABILITY,
    )
    # below the bundle's threshold
    model_abstained = _sealed(
        "imaging.jointreview.model_abstained", _REVIEW_PATIENT, _JOINT_REVIEW_ID, default=False
    )
    jsn = _sealed(
        "imaging.jointreview.jsn",
        _REVIEW_PATIENT,
        _JOINT_REVIEW_ID,
        blank=False,
        validators=_grade(JSN_GRADES),
    )
    erosion = _sealed(
        "imaging.jointreview.erosion",
        _REVIEW_PATIENT,
        _JOINT_REVIEW_ID,
        blank=False,
        validators=_grade(EROSION_GRADES),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imaging_reviews"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [models.Index(fields=["result", "joint", "-reviewed_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(joint__in=list(JOINTS)), name="review_joint_valid"),
            models.CheckConstraint(
                condition=Q(action__in=ReviewAction.values), name="review_action_valid"
            ),
            models.UniqueConstraint(fields=["review", "joint"], name="review_one_row_per_joint"),
        ]

    def __str__(self) -> str:
        return f"{self.joint} {self.action} by {self.reviewed_by_id}"


class RaReview(models.Model):
    """A clinician's confirmation or override of the image-level RA pattern, kept beside the
    model's probability. Append-only history: the latest row per result is the confirmed value."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="ra_reviews")
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="ra"
    )
    action = models.CharField(max_length=8, choices=ReviewAction.choices)
    model_probability = _sealed(
        "imaging.rareview.model_probability",
        _REVIEW_PATIENT,
        _RA_REVIEW_ID,
        validators=_PROBABILITY,
    )
    ra_pattern = _sealed("imaging.rareview.ra_pattern", _REVIEW_PATIENT, _RA_REVIEW_ID, blank=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="imaging_ra_reviews"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [models.Index(fields=["result", "-reviewed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=ReviewAction.values), name="ra_review_action_valid"
            ),
            models.UniqueConstraint(fields=["review"], name="ra_review_one_per_submit"),
        ]

    def __str__(self) -> str:
        return f"RA pattern {self.action} by {self.reviewed_by_id}"


# The MRI models live in their own module (imaging.mri.models) and register under this app.
from imaging.mri.models import MriResult, MriReview, MriStudy  # noqa: E402, F401
