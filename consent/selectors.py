"""Reads for consent, sharing and the access log. Every clinician read goes through here.

A page and its API twin call the same selector, so they cannot differ in who may see what;
every allowed read of another person's data writes an access-log row in the same request, and
every refusal writes a denied row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import Role, User
from consent import services
from consent.models import (
    AccessKind,
    AccessLogEvent,
    AccessOutcome,
    ClinicianProfile,
    ConsentAction,
    ConsentDocument,
    ConsentEvent,
    ConsentScope,
    GrantStatus,
    NhsNumber,
    Registry,
    ShareScope,
    SharingGrant,
)

# --- Sharing grants: who may see what ---------------------------------------------------------


def active_grants_q(*, at: datetime | None = None, prefix: str = "") -> Q:
    """The condition for a grant that is in force at `at` (default: now, on every request)."""
    at = at or timezone.now()
    p = prefix
    return (
        Q(**{f"{p}status": GrantStatus.ACCEPTED})
        & Q(**{f"{p}clinician__isnull": False})
        & Q(**{f"{p}revoked_at__isnull": True})
        & Q(**{f"{p}starts_at__lte": at})
        & (Q(**{f"{p}ends_at__isnull": True}) | Q(**{f"{p}ends_at__gt": at}))
    )


def clinician_is_verified(*, clinician: User) -> bool:
    return (
        clinician.is_authenticated
        and clinician.role == Role.CLINICIAN
        and clinician.is_active
        and ClinicianProfile.objects.filter(user=clinician, verified_at__isnull=False).exists()
    )


def clinicians_for_staff(*, user: User) -> QuerySet[User]:
    """Every clinician account with its register details, those waiting for verification first.

    Staff with the Staff group's permissions only: this is account administration, no patient
    data is read.
    """
    if not (
        user.is_authenticated
        and user.role == Role.STAFF
        and user.has_perm("consent.view_clinicianprofile")
    ):
        raise PermissionDenied("Only staff can see the list of clinicians.")
    return (
        User.objects.filter(role=Role.CLINICIAN)
        .select_related("clinician_profile", "clinician_profile__verified_by")
        .order_by(
            F("clinician_profile__verified_at").desc(nulls_first=True), "display_name", "email"
        )
    )


def active_grant(*, clinician: User, patient_id: int | None, scope: str | None = None):
    """The grant in force now from this patient to this clinician (covering `scope`), or None.

    No access-log row: callers that show data use `patient_for_clinician` or `grant_for_read`.
    """
    if not getattr(clinician, "is_authenticated", False) or clinician.role != Role.CLINICIAN:
        return None
    if scope is not None and scope not in ShareScope.values:
        raise ValueError(f"Unknown sharing scope {scope!r}.")
    qs = SharingGrant.objects.filter(
        active_grants_q(),
        clinician=clinician,
        patient_id=patient_id,
        patient__role=Role.PATIENT,
        patient__is_active=True,
    )
    if scope is not None:
        qs = qs.filter(**{f"share_{scope}": True})
    grant = qs.select_related("patient").order_by("-starts_at").first()
    if grant is None or not clinician_is_verified(clinician=clinician):
        return None
    return grant


def grant_for_read(
    *,
    clinician: User,
    patient_id: int | None,
    scope: str | None,
    request: HttpRequest | None,
    what: str = "",
) -> SharingGrant:
    """The active grant covering `scope` (None: any grant in force); logs the read as allowed,
    or logs denied and 404s. `patient_id` None: a public id that names nobody (refused alike)."""
    grant = active_grant(clinician=clinician, patient_id=patient_id, scope=scope)
    outcome = AccessOutcome.ALLOWED if grant else AccessOutcome.DENIED
    services.access_log_record(
        actor=clinician if getattr(clinician, "is_authenticated", False) else None,
        patient_id=patient_id,
        what=what or None,
        outcome=outcome,
        request=request,
    )
    if grant is None:
        raise Http404("No such patient.")
    return grant


def patient_for_clinician(
    *, clinician: User, patient_id: int | None, scope: str, request: HttpRequest | None
) -> User:
    """The patient, if an active grant to `clinician` covers `scope`; otherwise Http404.

    Both outcomes are written to the access log (allowed reads and denials alike).
    """
    return grant_for_read(
        clinician=clinician, patient_id=patient_id, scope=scope, request=request
    ).patient


def can_see(*, clinician: User, patient_id: int | None, scope: str) -> bool:
    """A check without logging, for deciding whether to show a link (never to show data)."""
    return active_grant(clinician=clinician, patient_id=patient_id, scope=scope) is not None


def active_grants_for_clinician(*, clinician: User) -> QuerySet[SharingGrant]:
    if not clinician_is_verified(clinician=clinician):
        return SharingGrant.objects.none()
    return (
        SharingGrant.objects.filter(
            active_grants_q(),
            clinician=clinician,
            patient__role=Role.PATIENT,
            patient__is_active=True,
        )
        .select_related("patient")
        .order_by("patient__display_name", "patient__email")
    )


def open_invitation(*, raw_token: str) -> SharingGrant | None:
    """The unclaimed, unrevoked invitation this link stands for, or None."""
    from consent.models import hash_invitation_token

    if not raw_token:
        return None
    return SharingGrant.objects.filter(
        invitation_token_hash=hash_invitation_token(raw_token),
        clinician__isnull=True,
        revoked_at__isnull=True,
    ).first()


def grants_for_patient(*, patient: User) -> QuerySet[SharingGrant]:
    return SharingGrant.objects.filter(patient=patient).select_related(
        "clinician", "clinician__clinician_profile"
    )


def grants_for_clinician(*, clinician: User) -> QuerySet[SharingGrant]:
    return SharingGrant.objects.filter(clinician=clinician).select_related("patient")


def pending_requests_for_patient(*, patient: User) -> QuerySet[SharingGrant]:
    return grants_for_patient(patient=patient).filter(
        status=GrantStatus.REQUESTED, revoked_at__isnull=True
    )


WAITING = "waiting for your answer"


def grant_state(grant: SharingGrant, *, at: datetime | None = None) -> str:
    """A grant's state in plain words."""
    at = at or timezone.now()
    if grant.status == GrantStatus.DECLINED:
        return "declined"
    if grant.revoked_at is not None:
        return "stopped"
    if grant.status == GrantStatus.REQUESTED:
        return WAITING
    if grant.ends_at is not None and grant.ends_at <= at:
        return "ended"
    if grant.clinician_id is None:
        return "invitation sent"
    if not _profile_verified(grant.clinician):
        return UNVERIFIED
    return "active"


UNVERIFIED = "waiting for staff to verify this clinician"


def _profile_verified(clinician: User) -> bool:
    try:
        return clinician.clinician_profile.is_verified
    except ClinicianProfile.DoesNotExist:
        return False


# --- Consent -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    scope: str
    scope_label: str
    registry: Registry | None
    current_document: ConsentDocument | None
    given: bool
    given_at: datetime | None
    agreed_document: ConsentDocument | None
    needs_review: bool

    @property
    def key(self) -> str:
        return f"{self.scope}:{self.registry.slug}" if self.registry else self.scope


def _topics() -> list[tuple[str, Registry | None]]:
    topics: list[tuple[str, Registry | None]] = []
    for scope in ConsentScope.values:
        if scope == ConsentScope.REGISTRY_SHARING:
            regs = Registry.objects.filter(documents__published_at__isnull=False).distinct()
            topics.extend((scope, r) for r in regs)
        else:
            topics.append((scope, None))
    return topics


def consent_states(*, patient: User) -> list[ConsentState]:
    """Each consent topic's current state (latest event wins; withdrawals are events too)."""
    events = list(
        ConsentEvent.objects.filter(patient=patient)
        .select_related("document", "registry")
        .order_by("occurred_at", "id")
    )
    latest: dict[tuple[str, int | None], ConsentEvent] = {}
    for e in events:
        latest[(e.scope, e.registry_id)] = e
    states = []
    for scope, registry in _topics():
        current = services.current_document(kind=scope, registry=registry)
        if current is None:
            continue
        event = latest.get((scope, registry.pk if registry else None))
        given = event is not None and event.action == ConsentAction.GIVE
        states.append(
            ConsentState(
                scope=scope,
                scope_label=ConsentScope(scope).label,
                registry=registry,
                current_document=current,
                given=given,
                given_at=event.occurred_at if given else None,
                agreed_document=event.document if given else None,
                needs_review=given and event.document.version < current.version,
            )
        )
    return states


def consents_needing_review(*, patient: User) -> list[ConsentState]:
    return [s for s in consent_states(patient=patient) if s.needs_review]


def consent_history(*, patient: User) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(patient=patient)
        .select_related("document", "registry")
        .order_by("-occurred_at", "-id")
    )


def consent_histories(*, patient_ids: Iterable[int]) -> dict[int, list[ConsentEvent]]:
    """consent_history of many patients with one query (registry exports), by patient."""
    ids = list(patient_ids)
    found: dict[int, list[ConsentEvent]] = {pid: [] for pid in ids}
    events = (
        ConsentEvent.objects.filter(patient_id__in=ids)
        .select_related("document", "registry")
        .order_by("patient_id", "-occurred_at", "-id")
    )
    for event in events:
        found[event.patient_id].append(event)
    return found


def published_documents() -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.filter(published_at__isnull=False).select_related("registry")


def _latest_action_subquery(*, scope: str, at: datetime, registry: Registry | None):
    events = ConsentEvent.objects.filter(patient=OuterRef("pk"), scope=scope, occurred_at__lte=at)
    if scope == ConsentScope.REGISTRY_SHARING:
        if registry is None:
            raise ValueError("Registry sharing consent is per registry: pass registry=.")
        events = events.filter(registry=registry)
    return Subquery(events.order_by("-occurred_at", "-id").values("action")[:1])


def patients_with_active_consent(
    *, scope: str, at: datetime, registry: Registry | None = None
) -> QuerySet:
    """Ids (flat, ordered) of patients whose consent for `scope` was in force at `at`.

    For registry sharing pass the registry. Registry exports call this at the moment a run
    starts (its consent snapshot time).
    """
    if scope not in ConsentScope.values:
        raise ValueError(f"Unknown consent scope {scope!r}.")
    return (
        User.objects.filter(role=Role.PATIENT)
        .annotate(_consent=_latest_action_subquery(scope=scope, at=at, registry=registry))
        .filter(_consent=ConsentAction.GIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def patients_withdrawn_between(
    *, scope: str, since: datetime | None, until: datetime, registry: Registry | None = None
) -> QuerySet:
    """Ids of patients who withdrew `scope` in (since, until] and had not re-consented by
    `until`: the registry's deletion list. `since=None` means from the beginning."""
    active_now = patients_with_active_consent(scope=scope, at=until, registry=registry)
    withdrawals = ConsentEvent.objects.filter(
        scope=scope, action=ConsentAction.WITHDRAW, occurred_at__lte=until
    )
    if since is not None:
        withdrawals = withdrawals.filter(occurred_at__gt=since)
    if registry is not None:
        withdrawals = withdrawals.filter(registry=registry)
    # From the events, not the user table: an erased patient must be listed too.
    return (
        withdrawals.exclude(patient_id__in=active_now)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()
    )


def consent_active(
    *, patient_id: int, scope: str, at: datetime | None = None, registry: Registry | None = None
) -> bool:
    at = at or timezone.now()
    return (
        patients_with_active_consent(scope=scope, at=at, registry=registry)
        .filter(pk=patient_id)
        .exists()
    )


def nhs_number_for_linkage(*, patient_id: int, at: datetime | None = None) -> str | None:
    """The decrypted NHS number, only while the patient's NHS-linkage consent is in force."""
    found = nhs_numbers_for_linkage(patient_ids=[patient_id], at=at or timezone.now())
    return found.get(patient_id)


def nhs_numbers_for_linkage(*, patient_ids: Iterable[int], at: datetime) -> dict[int, str]:
    """NHS numbers of many patients with a few queries (linkage exports): only those whose
    NHS-linkage consent is in force at `at` and who gave a number."""
    from diary import crypto

    ids = list(patient_ids)
    linked = set(
        patients_with_active_consent(scope=ConsentScope.NHS_LINKAGE, at=at).filter(pk__in=ids)
    )
    rows = list(NhsNumber.objects.filter(patient_id__in=linked).order_by("patient_id"))
    cache = crypto.DataKeyCache()
    cache.preload(linked)
    found = {}
    for row in rows:
        payload = crypto.decrypt_json(
            patient_id=row.patient_id,
            record_type=services.NHS_RECORD_TYPE,
            record_id=str(row.id),
            blob=bytes(row.ciphertext),
            cache=cache,
        )
        found[row.patient_id] = payload["nhs_number"]
    return found


def has_nhs_number(*, patient: User) -> bool:
    return NhsNumber.objects.filter(patient=patient).exists()


# --- Access log for the patient ---------------------------------------------------------------


@dataclass(frozen=True)
class AccessLogLine:
    occurred_at: datetime
    who: str
    role: str
    what: str
    outcome: str


# Plain words for the routes that read a patient's data; other apps add their own here.
WHAT_IN_PLAIN_WORDS: dict[str, str] = {
    # clinic/ adds its pages here (ClinicConfig.ready); the API keeps its old names.
    "consent:clinician_summary": "opened your pre-appointment summary",
    "api_patient_summary": "read your pre-appointment summary through the API",
    "consent:clinician_patients": "saw you in their patient list",
    "api_patients": "saw you in their patient list (API)",
    "api_grants": "saw your sharing with them (API)",
    # imaging/ (its pages and API go through patient_for_clinician, which logs the read)
    "imaging:patient_studies": "opened the list of your radiographs",
    "imaging:study": "opened one of your radiographs and its scores",
    "imaging:study_image": "viewed one of your radiographs",
    "imaging:study_overlay": "viewed the model's highlight map of one of your radiographs",
    "imaging:joint_review": "confirmed or corrected the scores of one of your radiographs",
    "api_imaging_studies": "read your radiographs through the API",
    "api_imaging_result": "read the scores of one of your radiographs through the API",
    # imaging/services writes "imaging upload study=<id>" for an upload
    "imaging": "added a radiograph to your record",
    # registry_export writes "registry export run <id> file <name>" for a downloaded file
    "registry": "downloaded a research registry file that includes your data, without your name",
}


def describe_what(row: AccessLogEvent) -> str:
    name = row.what.split(" ", 1)[0]
    if row.kind == AccessKind.LOGIN:
        return "a failed sign-in to your account"
    if name in WHAT_IN_PLAIN_WORDS:
        return WHAT_IN_PLAIN_WORDS[name]
    if row.kind == AccessKind.FILE:
        return f"included your data in a file ({row.what})"
    if ":" in name:  # another app's page, e.g. "imaging:study": name the app in words
        return f"opened a page of {name.split(':', 1)[0].replace('_', ' ')}"
    if row.kind == AccessKind.API:
        return "read your data through the API"
    return "opened a page with your data"


def _who(r: AccessLogEvent, names: dict[int, str]) -> str:
    if r.kind == AccessKind.LOGIN:
        return "Someone"
    if r.actor_id is None:
        return "An automated process" if r.kind == AccessKind.FILE else "Someone not signed in"
    return names.get(r.actor_id, "A user whose account has since been closed")


def access_log_for_patient(*, patient: User, limit: int = 500) -> list[AccessLogLine]:
    """Reads of (and refused attempts at) this patient's data by other people, newest first."""
    rows = list(
        AccessLogEvent.objects.filter(patient_id=patient.pk)
        .exclude(actor_id=patient.pk, kind__in=[AccessKind.PAGE, AccessKind.API])
        .order_by("-occurred_at", "-id")[:limit]
    )
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    names = {
        u.pk: (u.display_name or u.email)
        for u in User.objects.filter(pk__in=actor_ids).only("pk", "display_name", "email")
    }
    lines = []
    for r in rows:
        lines.append(
            AccessLogLine(
                occurred_at=r.occurred_at,
                who=_who(r, names),
                role=r.actor_role,
                what=describe_what(r),
                outcome="allowed" if r.outcome == AccessOutcome.ALLOWED else "refused",
            )
        )
    return lines


def access_log_rows_for_patient(*, patient: User) -> QuerySet[AccessLogEvent]:
    return AccessLogEvent.objects.filter(patient_id=patient.pk).order_by("-occurred_at", "-id")


# --- One line per visit (the patient's page) -------------------------------------------------

# What a route shows, as a noun for "X looked at your ... on <date>"; other apps add theirs
# (clinic/ in ClinicConfig.ready). Radiographs are counted by the study id in the path.
VISIT_NOUNS: dict[str, str] = {
    "consent:clinician_summary": "your pre-appointment summary",
    "api_patient_summary": "your pre-appointment summary",
    "consent:clinician_patients": "your name in their patient list",
    "api_patients": "your name in their patient list",
    "api_grants": "your sharing with them",
    "imaging:patient_studies": "the list of your radiographs",
    "api_imaging_studies": "the list of your radiographs",
}
RADIOGRAPH_ROUTES = {
    "imaging:study",
    "imaging:study_image",
    "imaging:study_overlay",
    "imaging:joint_review",
    "imaging:accept_model",
    "api_imaging_result",
    "api_imaging_review",
}
_STUDY_IN_PATH = re.compile(r"/studies/([0-9a-fA-F-]{36})/")
_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}


@dataclass(frozen=True)
class VisitLine:
    occurred_at: datetime  # the visit's first read, in the patient's time zone
    who: str
    role: str
    text: str  # "Dr X looked at your summary and two radiographs"
    outcome: str  # "allowed" or "refused"
    reads: int  # raw log rows behind this line


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _visit_text(rows: list[AccessLogEvent]) -> str:
    nouns: list[str] = []
    studies: set[str] = set()
    other: list[str] = []
    for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk)):
        name = r.what.split(" ", 1)[0]
        if name in RADIOGRAPH_ROUTES:
            found = _STUDY_IN_PATH.search(r.what)
            studies.add(found.group(1).lower() if found else r.what)
        elif name in VISIT_NOUNS:
            if VISIT_NOUNS[name] not in nouns:
                nouns.append(VISIT_NOUNS[name])
        elif describe_what(r) not in other:
            other.append(describe_what(r))
    if studies:
        n = len(studies)
        nouns.append(f"{_NUMBERS.get(n, n)} radiograph{'s' if n > 1 else ''}")
    if not nouns:
        return _join(other)
    text = "looked at " + _join(nouns)
    return text if not other else text + "; " + _join(other)


def _patient_zone(patient: User):
    from diary.selectors import patient_zone

    return patient_zone(patient)


def access_visits_for_patient(*, patient: User, limit: int = 2000) -> list[VisitLine]:
    """The access log as the patient reads it: one line per visit (all reads of one sitting
    together), refusals and reads without a sitting one line each; newest first, times in the
    patient's time zone. The raw rows stay complete in the table."""
    rows = list(
        AccessLogEvent.objects.filter(patient_id=patient.pk)
        .exclude(actor_id=patient.pk, kind__in=[AccessKind.PAGE, AccessKind.API])
        .order_by("-occurred_at", "-id")[:limit]
    )
    groups: dict[str, list[AccessLogEvent]] = {}
    for r in rows:
        key = f"v:{r.visit}" if r.visit else f"r:{r.pk}"
        groups.setdefault(key, []).append(r)
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    names = {
        u.pk: (u.display_name or u.email)
        for u in User.objects.filter(pk__in=actor_ids).only("pk", "display_name", "email")
    }
    zone = _patient_zone(patient)
    lines = []
    for group in groups.values():
        first = min(group, key=lambda r: (r.occurred_at, r.pk))
        lines.append(
            VisitLine(
                occurred_at=timezone.localtime(first.occurred_at, zone),
                who=_who(first, names),
                role=first.actor_role,
                text=_visit_text(group),
                outcome="allowed" if first.outcome == AccessOutcome.ALLOWED else "refused",
                reads=len(group),
            )
        )
    lines.sort(key=lambda line: line.occurred_at, reverse=True)
    return lines


def own_nhs_number(*, patient: User) -> str | None:
    """The patient's own NHS number, decrypted, for their own export (whatever their linkage
    consent: it is their data)."""
    from diary import crypto

    row = NhsNumber.objects.filter(patient=patient).first()
    if row is None:
        return None
    payload = crypto.decrypt_json(
        patient_id=patient.pk,
        record_type=services.NHS_RECORD_TYPE,
        record_id=str(row.id),
        blob=bytes(row.ciphertext),
    )
    return payload["nhs_number"]
