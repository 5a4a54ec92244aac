"""Registry export: destinations, runs and their partitions (DESIGN.md section 5).

A run covers one period of one destination. Its consent snapshot time is the end of the period
and is fixed when the run is created, so a re-run after a failure reads exactly the same consent
state and writes byte-identical files.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The start of the period of a full run (and of the first incremental run). A fixed instant,
# never NULL, so that the unique constraint on (destination, period) also holds for full runs.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConsentScope(models.TextChoices):
    # Values are consent's scope names (see the agreed interface of the consent app).
    REGISTRY_SHARING = "registry_sharing", "Registry sharing"
    NHS_LINKAGE = "nhs_linkage", "NHS data linkage"


class ExportMode(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental (changes since the last successful run)"
    FULL = "full", "Full (everything, every run)"


class Destination(models.Model):
    """A registry that receives pseudonymised exports. Configured by staff in the admin."""

    # A UUID made in Python so that the wrapped pseudonym secret can name its owner as AAD.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    format_fhir = models.BooleanField("FHIR R4 NDJSON", default=True)
    format_redcap = models.BooleanField("REDCap-style CSV", default=False)
    consent_scope = models.CharField(
        max_length=32,
        choices=ConsentScope.choices,
        help_text="Only patients with this consent active when a run starts are exported. "
        "NHS numbers are written only for an NHS-linkage destination.",
    )
    registry = models.ForeignKey(
        "consent.Registry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="export_destinations",
        help_text="The registry whose sharing consent the patients gave (registry sharing only).",
    )
    mode = models.CharField(max_length=16, choices=ExportMode.choices, default=ExportMode.FULL)
    schedule = models.ForeignKey(
        "django_celery_beat.CrontabSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="When runs start automatically (leave empty for on-demand runs only).",
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    researchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="export_destinations",
        limit_choices_to={"role": "researcher"},
        help_text="Researchers who may start runs and download their files.",
    )
    partition_size = models.PositiveIntegerField(
        default=2000, help_text="Patients per partition (one Celery task each)."
    )
    is_active = models.BooleanField(default=True)
    # The per-destination pseudonym secret, wrapped by the first key-encryption key (AES-GCM).
    pseudonym_secret_wrapped = models.BinaryField(editable=False)
    pseudonym_kek_id = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(format_fhir=True) | Q(format_redcap=True),
                name="destination_has_a_format",
            ),
            models.CheckConstraint(
                condition=Q(consent_scope__in=ConsentScope.values),
                name="destination_scope_valid",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=ExportMode.values), name="destination_mode_valid"
            ),
            # Registry-sharing consent is given per registry (consent app), so such a
            # destination must name its registry; a linkage destination must not.
            models.CheckConstraint(
                condition=(
                    Q(consent_scope=ConsentScope.REGISTRY_SHARING) & Q(registry__isnull=False)
                )
                | (Q(consent_scope=ConsentScope.NHS_LINKAGE) & Q(registry__isnull=True)),
                name="destination_registry_iff_registry_sharing",
            ),
            models.CheckConstraint(
                condition=Q(partition_size__gte=1), name="destination_partition_size_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def formats(self) -> list[str]:
        return [f for f, on in (("fhir", self.format_fhir), ("redcap", self.format_redcap)) if on]

    @property
    def is_linkage(self) -> bool:
        return self.consent_scope == ConsentScope.NHS_LINKAGE


def short_id(public_id: object) -> str:
    """The first 8 hex digits of a public id, for naming a run to a person."""
    return str(public_id)[:8]


class RunStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"
    # Stopped on purpose (a researcher, or a Bulk Data client's DELETE): not an error, and not
    # re-opened by the next request, which starts a new run.
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    RESEARCHER = "researcher", "Researcher"
    COMMAND = "command", "Command line"
    BULK = "bulk", "FHIR Bulk Data client"


class ExportRun(models.Model):
    """One export of one destination for one period:
    pending -> running -> succeeded | failed | cancelled."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    destination = models.ForeignKey(Destination, on_delete=models.PROTECT, related_name="runs")
    full = models.BooleanField(default=True)
    period_start = models.DateTimeField()
    # Also the consent snapshot time: the consent state at this instant decides who is included.
    period_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    patients_total = models.PositiveIntegerField(default=0)
    withdrawals_total = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    partitions_total = models.PositiveIntegerField(default=0)
    partitions_done = models.PositiveIntegerField(default=0)
    # [{"name", "sha256", "bytes", "count"}] of the finished files (manifest.json last).
    files = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One run per destination and period: a re-run reuses the row (and its snapshot).
            models.UniqueConstraint(
                fields=["destination", "period_start", "period_end"],
                name="export_run_one_per_destination_period",
            ),
            # At most one run of a destination waiting or running at a time.
            models.UniqueConstraint(
                fields=["destination"],
                condition=Q(status__in=["pending", "running"]),
                name="export_run_one_active_per_destination",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="export_run_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="export_run_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(rows_done__lte=models.F("rows_total")),
                name="export_run_rows_done_within_total",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(status__in=["succeeded", "failed", "cancelled"]),
                name="export_run_finished_only_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"Export run {self.label} of {self.destination_id} ({self.status})"

    @property
    def label(self) -> str:
        """How pages and messages name the run: the start of its public id (never the integer
        key, which would tell how many runs there have been)."""
        return short_id(self.public_id)

    @property
    def consent_snapshot_at(self) -> datetime:
        return self.period_end

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def file_names(self) -> list[str]:
        return [f["name"] for f in self.files]


class ExportRunMember(models.Model):
    """A patient included in a run: the next run lists those who left as withdrawals.

    The patient id is a plain integer, not a foreign key: an erased patient must still be
    listed as withdrawn by the next run, so the row outlives the user.
    """

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="members")
    patient_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "patient_id"], name="export_member_unique")
        ]

    def __str__(self) -> str:
        return f"patient {self.patient_id} in run {self.run_id}"


class PartitionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"


class ExportPartition(models.Model):
    """A contiguous range of the run's patients (in id order), written by one Celery task."""

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="partitions")
    # The run's attempt that planned it: a retry after a failure plans afresh, and a late task
    # of an older attempt finds nothing to do.
    attempt = models.PositiveIntegerField()
    index = models.PositiveIntegerField()
    first_patient_id = models.BigIntegerField()
    last_patient_id = models.BigIntegerField()
    patients = models.PositiveIntegerField()
    rows_total = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=PartitionStatus.choices, default=PartitionStatus.PENDING
    )
    rows_done = models.PositiveBigIntegerField(default=0)
    # {file name: {"sha256", "bytes", "count"}} of this partition's part files.
    parts = models.JSONField(default=dict, blank=True)
    # The lease of the worker writing it (issue 16): a random token and when it runs out, by
    # the database's clock. The writer renews it while it writes; once it has run out, any
    # worker may take the partition over (services.export_runs_reclaim), so a killed worker
    # holds its partition for minutes (settings.REGISTRY_EXPORT_LEASE_SECONDS), not until the
    # broker redelivers its task.
    lease_owner = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "attempt", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "attempt", "index"], name="export_partition_unique"
            ),
            models.CheckConstraint(
                condition=Q(last_patient_id__gte=models.F("first_patient_id")),
                name="export_partition_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PartitionStatus.values),
                name="export_partition_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(lease_owner="", lease_expires_at__isnull=True)
                | (~Q(lease_owner="") & Q(lease_expires_at__isnull=False)),
                name="export_partition_lease_owner_iff_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"partition {self.index} (attempt {self.attempt}) of run {self.run_id}"


class ExportRunWithdrawal(models.Model):
    """A patient a run lists as withdrawn (withdrawals.csv, Bulk Data `deleted`).

    Listed by every later run of the destination until the registry has fetched a run's list
    (`acknowledged_at`), so a registry that skipped a run still learns of the withdrawal.
    """

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="withdrawals")
    patient_id = models.BigIntegerField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "patient_id"], name="export_withdrawal_unique")
        ]

    def __str__(self) -> str:
        return f"patient {self.patient_id} withdrawn in run {self.run_id}"


# --- FHIR Bulk Data Access: SMART Backend Services clients and export jobs ---------------------


class BulkClient(models.Model):
    """A registry's backend client (SMART Backend Services), for exactly one destination."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=120)
    destination = models.ForeignKey(
        Destination, on_delete=models.PROTECT, related_name="bulk_clients"
    )
    # The client's public keys as a JWKS ({"keys": [...]}, public members only, each with kid).
    jwks = models.JSONField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["destination", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "name"], name="bulk_client_unique_name_per_destination"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class BulkAccessToken(models.Model):
    """A short-lived bearer token; only its SHA-256 is stored."""

    client = models.ForeignKey(BulkClient, on_delete=models.CASCADE, related_name="tokens")
    token_sha256 = models.CharField(max_length=64, unique=True)
    scope = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="bulk_token_expires_after_creation",
            )
        ]

    def __str__(self) -> str:
        return f"access token of {self.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class BulkAssertionUse(models.Model):
    """A client assertion's `jti`, kept until the assertion expires: a replay is refused."""

    client = models.ForeignKey(BulkClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="bulk_assertion_jti_once")
        ]

    def __str__(self) -> str:
        return f"assertion {self.jti} of {self.client_id}"


class BulkExportJob(models.Model):
    """One Bulk Data kick-off: a client's view (types, request) of an export run."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(BulkClient, on_delete=models.CASCADE, related_name="jobs")
    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="bulk_jobs")
    request_url = models.TextField()
    # Resource types asked for (`_type`); the run's files of other types are not listed.
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    output_format = models.CharField(max_length=40, default="application/fhir+ndjson")
    created_at = models.DateTimeField(default=timezone.now)
    # Set by DELETE on the status URL: the job's manifest and files are no longer served.
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"bulk job {self.pk} of {self.client_id}"
