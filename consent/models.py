"""Consent, sharing grants and the access log (DESIGN.md sections 2 and 4).

Consent history is append-only: giving and withdrawing are both new `ConsentEvent` rows, never
edits, so that the history shows what was agreed, to which document version, when and how.
The access log keeps plain integer ids (not foreign keys) so that erasing an account deletes the
user while the record of who saw what stays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ConsentScope(models.TextChoices):
    RESEARCH_CONTACT = "research_contact", "Contact about research studies"
    REGISTRY_SHARING = "registry_sharing", "Share pseudonymised diary data with a registry"
    NHS_LINKAGE = "nhs_linkage", "Link my diary with NHS records"
    IMAGING_RESEARCH = "imaging_research", "Research use of my imaging"


class ShareScope(models.TextChoices):
    """What a sharing grant lets a clinician see."""

    DIARY = "diary", "Diary (symptoms and flares)"
    MEDICINES = "medicines", "Medicines and adherence"
    QUESTIONNAIRES = "questionnaires", "Questionnaires and scores"
    IMAGING = "imaging", "Imaging"


class Registry(models.Model):
    """A named research registry a patient may share pseudonymised data with."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200, unique=True)
    website = models.URLField(blank=True)

    class Meta:
        verbose_name_plural = "registries"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentDocument(models.Model):
    """A versioned, plain-language consent text. Published documents are never edited."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=32, choices=ConsentScope.choices)
    registry = models.ForeignKey(
        Registry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        help_text="Required for registry sharing: the registry this document covers.",
    )
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="Plain-language text shown to patients.")
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["kind", "registry_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "version"],
                condition=Q(registry__isnull=True),
                name="consent_document_unique_kind_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "registry", "version"],
                condition=Q(registry__isnull=False),
                name="consent_document_unique_kind_registry_version",
            ),
            # Registry sharing always names its registry; other kinds never do.
            models.CheckConstraint(
                condition=(Q(kind=ConsentScope.REGISTRY_SHARING) & Q(registry__isnull=False))
                | (~Q(kind=ConsentScope.REGISTRY_SHARING) & Q(registry__isnull=True)),
                name="consent_document_registry_iff_registry_sharing",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ConsentScope.values), name="consent_document_kind_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="consent_document_version_1"),
        ]

    def __str__(self) -> str:
        target = f" ({self.registry})" if self.registry_id else ""
        return f"{self.get_kind_display()}{target} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ConsentAction(models.TextChoices):
    GIVE = "give", "Gave consent"
    WITHDRAW = "withdraw", "Withdrew consent"


class ConsentVia(models.TextChoices):
    WEB = "web", "Website"
    API = "api", "API"
    ERASURE = "erasure", "Account deleted"


class ConsentEvent(models.Model):
    """One giving or withdrawing of consent. Append-only: the current state is the latest row."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Kept when the account is erased (no database constraint, nothing cascades): the erasure
    # writes a withdrawal first, and a registry must still learn of it from its next export's
    # withdrawal list. The rows hold ids and dates only, never health data.
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="consent_events",
    )
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="events")
    # Copied from the document so that "current state per scope and registry" is one index scan.
    scope = models.CharField(max_length=32, choices=ConsentScope.choices)
    registry = models.ForeignKey(
        Registry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=8, choices=ConsentAction.choices)
    via = models.CharField(max_length=8, choices=ConsentVia.choices)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["scope", "patient", "occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=ConsentAction.values), name="consent_event_action_valid"
            ),
            models.CheckConstraint(
                condition=Q(via__in=ConsentVia.values), name="consent_event_via_valid"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=ConsentScope.values), name="consent_event_scope_valid"
            ),
            models.CheckConstraint(
                condition=(Q(scope=ConsentScope.REGISTRY_SHARING) & Q(registry__isnull=False))
                | (~Q(scope=ConsentScope.REGISTRY_SHARING) & Q(registry__isnull=True)),
                name="consent_event_registry_iff_registry_sharing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.scope} (patient {self.patient_id})"


class NhsNumber(models.Model):
    """A patient's NHS number, encrypted with their data key (it identifies them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nhs_number"
    )
    ciphertext = models.BinaryField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"NHS number of patient {self.patient_id}"


class ClinicianProfile(models.Model):
    """Staff verify each clinician (e.g. against the GMC register) before they see patients."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinician_profile"
    )
    professional_register = models.CharField(
        max_length=100, blank=True, help_text="e.g. GMC, NMC, HCPC"
    )
    registration_number = models.CharField(max_length=50, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"Clinician profile of {self.user}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class GrantStatus(models.TextChoices):
    REQUESTED = "requested", "Requested by the clinician"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


def hash_invitation_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class SharingGrant(models.Model):
    """A patient lets one clinician see chosen parts of their diary, until revoked or ended.

    A grant to an email address without a clinician account is an invitation: only the SHA-256
    of its token is stored; the clinician claims it after registration and verification.
    """

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants_given"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="grants_received",
    )
    invited_email = models.EmailField(blank=True)
    invitation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    share_diary = models.BooleanField(default=False)
    share_medicines = models.BooleanField(default=False)
    share_questionnaires = models.BooleanField(default=False)
    share_imaging = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=GrantStatus.choices, default=GrantStatus.ACCEPTED
    )
    created_at = models.DateTimeField(default=timezone.now)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinician", "patient", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=GrantStatus.values), name="grant_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(share_diary=True)
                | Q(share_medicines=True)
                | Q(share_questionnaires=True)
                | Q(share_imaging=True),
                name="grant_shares_something",
            ),
            models.CheckConstraint(
                condition=Q(clinician__isnull=False) | ~Q(invited_email=""),
                name="grant_has_clinician_or_invitation",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="grant_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Grant {self.pk}: patient {self.patient_id} to {self.clinician_id or 'invite'}"

    @staticmethod
    def new_invitation_token() -> str:
        return secrets.token_urlsafe(32)

    @property
    def scopes(self) -> list[str]:
        return [s for s in ShareScope.values if getattr(self, f"share_{s}")]

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.status == GrantStatus.ACCEPTED
            and self.clinician_id is not None
            and self.revoked_at is None
            and self.starts_at <= at
            and (self.ends_at is None or self.ends_at > at)
        )


class AccessOutcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AccessKind(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API endpoint"
    FILE = "file", "File"
    LOGIN = "login", "Sign-in"


class AccessLogEvent(models.Model):
    """Append-only record of a read of someone else's data, an export, or a refusal.

    Never holds patient data: ids, a route name or path, and the outcome. Ids are plain integers
    (no foreign keys) so erasure of an account leaves the log intact. On PostgreSQL a trigger
    (migrations 0002, 0006) refuses UPDATE and DELETE, and TRUNCATE by anyone but the table's
    owner; the app runs as a role that may only INSERT and SELECT here (`db_app_role`). Rows are
    sealed into a hash chain (AccessLogSeal, consent/access_chain.py).
    """

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_role = models.CharField(max_length=16, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=8, choices=AccessKind.choices)
    what = models.CharField(max_length=300)
    outcome = models.CharField(max_length=8, choices=AccessOutcome.choices)
    request_id = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    # One viewing: the reads by one person of one patient's data within a sitting (a page, its
    # charts, images and PDF). The raw log keeps every row; the patient's page shows one line
    # per visit. Blank where there is no sitting (API tokens, background tasks, refusals).
    visit = models.CharField(max_length=32, blank=True, db_index=True)

    # A hash of this row's content (consent/access_chain.py); the chain itself is AccessLogSeal.
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(row_hash__regex=r"^[0-9a-f]{64}$"), name="access_log_row_hashed"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=AccessOutcome.values), name="access_log_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AccessKind.values), name="access_log_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.outcome} {self.what}"

    def save(self, *args, **kwargs):
        self.row_hash = self.content_hash()  # bulk_create callers use access_chain.hashed
        super().save(*args, **kwargs)

    def content_hash(self) -> str:
        """SHA-256 over every field but the id (consent/access_chain.py verifies it)."""
        occurred = self.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        fields = (
            occurred,
            "" if self.actor_id is None else str(self.actor_id),
            self.actor_role,
            "" if self.patient_id is None else str(self.patient_id),
            self.kind,
            self.what,
            self.outcome,
            self.request_id,
            self.client_address or "",
            self.visit,
        )
        return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


class AccessLogSeal(models.Model):
    """The access log's hash chain: row `event` sealed at position `seq`, linked to the seal
    before it. Append-only like the log (no foreign-key constraint, so that a row deleted
    behind the application's back shows as a break instead of blocking the deletion)."""

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(
        AccessLogEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="seal"
    )
    link_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"seal {self.seq} of row {self.event_id}"
