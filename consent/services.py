"""Writes for consent: consent events, sharing grants, clinician verification, the access log.

Services take keyword-only arguments, run in one transaction, validate with full_clean() and
raise django.core.exceptions.ValidationError with a message a patient can act on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import user_create
from consent import access_chain
from consent.models import (
    AccessKind,
    AccessLogEvent,
    AccessOutcome,
    ClinicianProfile,
    ConsentAction,
    ConsentDocument,
    ConsentEvent,
    ConsentScope,
    ConsentVia,
    GrantStatus,
    NhsNumber,
    Registry,
    ShareScope,
    SharingGrant,
    hash_invitation_token,
)
from consent.nhs import validate_nhs_number

logger = logging.getLogger(__name__)

NHS_RECORD_TYPE = "consent.nhs_number"


# --- Access log --------------------------------------------------------------------------------


def _request_what(request: HttpRequest | None) -> tuple[str, str]:
    """(kind, what) for a request: the route name and path, never the query or the body."""
    if request is None:
        return AccessKind.FILE, "background task"
    kind = AccessKind.API if request.path.startswith("/api/") else AccessKind.PAGE
    try:
        name = resolve(request.path_info).view_name
    except Resolver404:
        name = "unrouted"
    return kind, f"{name} {request.method} {request.path}"[:300]


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return get_client_ip_address(request) or None


# A visit ends after this long without another read of the same patient by the same person.
VISIT_IDLE = timedelta(minutes=30)
VISIT_SESSION_KEY = "access_visits"


def _visit_for(request: HttpRequest | None, actor: User | None, patient_id: int | None) -> str:
    """The id of the actor's current visit to this patient's data, kept in their session (so it
    holds across processes); a new one after VISIT_IDLE. Blank without a browser session."""
    session = getattr(request, "session", None)
    if (
        session is None
        or patient_id is None
        or actor is None
        or not getattr(actor, "is_authenticated", False)
        or actor.pk == patient_id
        or request.path.startswith("/api/")  # token clients have no sitting; no session rows
    ):
        return ""
    now = timezone.now().timestamp()
    idle = VISIT_IDLE.total_seconds()
    visits = {k: v for k, v in (session.get(VISIT_SESSION_KEY) or {}).items() if now - v[1] < idle}
    current = visits.get(str(patient_id))
    visit = current[0] if current else uuid.uuid4().hex
    visits[str(patient_id)] = [visit, now]
    session[VISIT_SESSION_KEY] = visits
    return visit


def _log_row(
    *,
    actor: User | None,
    patient_id: int | None,
    what: str | None,
    outcome: str,
    request: HttpRequest | None,
    kind: str | None,
) -> AccessLogEvent:
    req_kind, req_what = _request_what(request)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AccessLogEvent(
        occurred_at=timezone.now(),
        actor_id=actor.pk if authenticated else None,
        actor_role=actor.role if authenticated else "anonymous",
        patient_id=patient_id,
        kind=kind or req_kind,
        what=(what or req_what)[:300],
        outcome=outcome,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        client_address=_client_address(request),
        visit=_visit_for(request, actor, patient_id) if outcome == AccessOutcome.ALLOWED else "",
    )


def access_log_record(
    *,
    actor: User | None,
    patient_id: int | None,
    what: str | None = None,
    outcome: str,
    request: HttpRequest | None,
    kind: str | None = None,
) -> AccessLogEvent:
    """Append one access-log row. `what` defaults to the request's route name and path.

    Other apps call this for their reads and exports (kind="file" for a downloaded file).
    """
    if outcome not in AccessOutcome.values:
        raise ValueError(f"Unknown outcome {outcome!r}.")
    row = _log_row(
        actor=actor, patient_id=patient_id, what=what, outcome=outcome, request=request, kind=kind
    )
    row.save(force_insert=True)
    if outcome == AccessOutcome.DENIED:
        logger.info(
            "access denied actor=%s patient=%s what=%s",
            row.actor_id,
            patient_id,
            row.what.split(" ", 1)[0],
        )
    return row


def access_log_record_many(
    *,
    actor: User,
    patient_ids: Iterable[int],
    what: str | None = None,
    outcome: str,
    request: HttpRequest | None,
    kind: str | None = None,
) -> None:
    """One row per patient, in one INSERT (a list page that shows several patients' data)."""
    rows = [
        _log_row(
            actor=actor, patient_id=pid, what=what, outcome=outcome, request=request, kind=kind
        )
        for pid in patient_ids
    ]
    AccessLogEvent.objects.bulk_create(access_chain.hashed(rows))


@contextmanager
def denial_logged(*, actor: User, request: HttpRequest | None) -> Iterator[None]:
    """Log a 404 raised inside (someone else's grant id, a used invitation) as denied."""
    try:
        yield
    except Http404:
        access_log_record(
            actor=actor, patient_id=None, outcome=AccessOutcome.DENIED, request=request
        )
        raise


def login_failed_record(*, credentials: dict, request: HttpRequest | None) -> None:
    """A failed sign-in (or wrong two-factor code): the account tried, never the password."""
    email = str(credentials.get("email") or credentials.get("username") or "").lower()
    user = User.objects.filter(email=email).only("pk", "role").first() if email else None
    AccessLogEvent.objects.create(
        actor_id=user.pk if user else None,
        actor_role=user.role if user else "unknown",
        patient_id=user.pk if user and user.role == Role.PATIENT else None,
        kind=AccessKind.LOGIN,
        what="sign-in failed",
        outcome=AccessOutcome.DENIED,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        client_address=_client_address(request),
    )


# --- Consent documents ------------------------------------------------------------------------


@transaction.atomic
def consent_document_publish(*, document: ConsentDocument, by: User) -> ConsentDocument:
    """Publish a draft. Patients who consented under an older version are then asked to review."""
    document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
    if document.is_published:
        raise ValidationError(f"{document} is already published; publish a new version instead.")
    newer = ConsentDocument.objects.filter(
        kind=document.kind,
        registry=document.registry,
        published_at__isnull=False,
        version__gt=document.version,
    ).exists()
    if newer:
        raise ValidationError(
            f"A newer version than {document.version} is already published: "
            "give this draft a higher version number."
        )
    document.published_at = timezone.now()
    document.published_by = by
    document.full_clean()
    document.save(update_fields=["published_at", "published_by"])
    return document


def current_document(*, kind: str, registry: Registry | None) -> ConsentDocument | None:
    return (
        ConsentDocument.objects.filter(kind=kind, registry=registry, published_at__isnull=False)
        .order_by("-version")
        .first()
    )


# --- Consent events ---------------------------------------------------------------------------


def _lock_patient(patient: User) -> User:
    """Serialise a patient's consent and sharing changes (two tabs, a double click)."""
    if patient.role != Role.PATIENT:
        raise ValidationError("Only patients give or withdraw consent.")
    return User.objects.select_for_update().get(pk=patient.pk)


def _latest_event(*, patient: User, scope: str, registry: Registry | None) -> ConsentEvent | None:
    return (
        ConsentEvent.objects.filter(patient=patient, scope=scope, registry=registry)
        .select_related("document")
        .order_by("-occurred_at", "-id")
        .first()
    )


@transaction.atomic
def consent_give(
    *, patient: User, document: ConsentDocument, via: str, nhs_number: str = ""
) -> ConsentEvent:
    """Agree to the current version of a consent document (a new event; nothing is edited)."""
    patient = _lock_patient(patient)
    if not document.is_published:
        raise ValidationError({"document": "This consent document has not been published."})
    current = current_document(kind=document.kind, registry=document.registry)
    if current is None or current.pk != document.pk:
        raise ValidationError(
            {
                "document": (
                    f"Version {document.version} of this document is not the current one"
                    f" (the current version is {current.version}): please read and agree to"
                    " the current version."
                    if current
                    else "This consent document is not current."
                )
            }
        )
    latest = _latest_event(patient=patient, scope=document.kind, registry=document.registry)
    if latest and latest.action == ConsentAction.GIVE and latest.document_id == document.pk:
        raise ValidationError({"document": "You have already given this consent."})
    if document.kind == ConsentScope.NHS_LINKAGE:
        if nhs_number:
            try:
                nhs_number_set(patient=patient, nhs_number=nhs_number)
            except ValidationError as exc:
                raise ValidationError({"nhs_number": exc.messages}) from exc
        elif not NhsNumber.objects.filter(patient=patient).exists():
            raise ValidationError(
                {"nhs_number": "Linking with NHS records needs your 10-digit NHS number."}
            )
    event = ConsentEvent(
        patient=patient,
        document=document,
        scope=document.kind,
        registry=document.registry,
        action=ConsentAction.GIVE,
        via=via,
    )
    event.full_clean()
    event.save()
    return event


@transaction.atomic
def consent_withdraw(
    *, patient: User, scope: str, registry: Registry | None = None, via: str
) -> ConsentEvent:
    """Withdraw: a new event pointing at the document that was agreed; the history stays."""
    if scope not in ConsentScope.values:
        raise ValidationError({"scope": f"Unknown consent scope {scope!r}."})
    if scope == ConsentScope.REGISTRY_SHARING and registry is None:
        raise ValidationError({"registry": "Say which registry to stop sharing with."})
    if scope != ConsentScope.REGISTRY_SHARING:
        registry = None
    patient = _lock_patient(patient)
    latest = _latest_event(patient=patient, scope=scope, registry=registry)
    if latest is None or latest.action != ConsentAction.GIVE:
        raise ValidationError(
            {"scope": "This consent is not currently given, so there is nothing to withdraw."}
        )
    event = ConsentEvent(
        patient=patient,
        document=latest.document,
        scope=scope,
        registry=registry,
        action=ConsentAction.WITHDRAW,
        via=via,
    )
    event.full_clean()
    event.save()
    return event


def consent_erasure_record(patient: User) -> None:
    """Erasure hook (diary.services.ERASURE_HOOKS): withdraw every consent in force, so that
    registry exports list the patient for deletion after the account is gone."""
    if patient.role != Role.PATIENT:
        return
    latest: dict[tuple[str, int | None], ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(patient=patient).order_by("occurred_at", "id"):
        latest[(event.scope, event.registry_id)] = event
    for event in latest.values():
        if event.action == ConsentAction.GIVE:
            ConsentEvent.objects.create(
                patient=patient,
                document_id=event.document_id,
                scope=event.scope,
                registry_id=event.registry_id,
                action=ConsentAction.WITHDRAW,
                via=ConsentVia.ERASURE,
            )


def nhs_number_set(*, patient: User, nhs_number: str) -> NhsNumber:
    """Validate and store the NHS number, encrypted with the patient's data key."""
    from diary import crypto

    number = validate_nhs_number(nhs_number)
    crypto.ensure_patient_key(patient.pk)
    row = NhsNumber.objects.filter(patient=patient).first() or NhsNumber(
        id=uuid.uuid4(), patient=patient
    )
    row.ciphertext = crypto.encrypt_json(
        patient_id=patient.pk,
        record_type=NHS_RECORD_TYPE,
        record_id=str(row.id),
        payload={"nhs_number": number},
    )
    row.updated_at = timezone.now()
    row.save()
    return row


# --- Clinicians -------------------------------------------------------------------------------


@transaction.atomic
def clinician_verify(*, clinician: User, by: User) -> ClinicianProfile:
    if clinician.role != Role.CLINICIAN:
        raise ValidationError("Only clinician accounts can be verified as clinicians.")
    profile, _ = ClinicianProfile.objects.select_for_update().get_or_create(user=clinician)
    if profile.verified_at is None:
        profile.verified_at = timezone.now()
        profile.verified_by = by
        profile.full_clean()
        profile.save(update_fields=["verified_at", "verified_by"])
    return profile


STAFF_ONBOARD_PERMISSIONS = ("accounts.add_user", "consent.add_clinicianprofile")


@transaction.atomic
def clinician_onboard(
    *,
    email: str,
    display_name: str,
    professional_register: str,
    registration_number: str,
    organisation: str,
    by: User,
) -> ClinicianProfile:
    """Staff create a clinician account with its register details, not yet verified.

    The account has no usable password: the clinician sets one from the e-mailed link and enrols
    an authenticator at first sign-in. Verification is a separate, deliberate step
    (clinician_verify) once staff have checked the register entry.
    """
    if not (by.role == Role.STAFF and by.has_perms(STAFF_ONBOARD_PERMISSIONS)):
        raise PermissionDenied("Only staff may create clinician accounts.")
    email = (email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "An account with this email address already exists."})
    user = user_create(
        email=email, role=Role.CLINICIAN, password=None, display_name=display_name.strip()
    )
    profile = ClinicianProfile(
        user=user,
        professional_register=professional_register.strip(),
        registration_number=registration_number.strip(),
        organisation=organisation.strip(),
    )
    profile.full_clean()
    profile.save()
    logger.info("clinician account created user=%s by=%s", user.pk, by.pk)
    return profile


# --- Sharing grants ---------------------------------------------------------------------------


def _clean_scopes(scopes: Iterable[str]) -> dict[str, bool]:
    chosen = set(scopes or [])
    unknown = chosen - set(ShareScope.values)
    if unknown:
        raise ValidationError(
            {
                "scopes": f"Unknown: {', '.join(sorted(unknown))}. Choose from "
                f"{', '.join(ShareScope.values)}."
            }
        )
    if not chosen:
        raise ValidationError({"scopes": "Choose at least one thing to share."})
    return {f"share_{s}": s in chosen for s in ShareScope.values}


def _end_of_day(ends_on: date, tz_name: str) -> datetime:
    """The grant lasts to the end of `ends_on` in the patient's time zone."""
    try:
        tz = ZoneInfo(tz_name)
    except Exception:  # noqa: BLE001 - an unknown zone falls back to UTC
        tz = ZoneInfo("UTC")
    return datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=tz)


def _check_ends_on(ends_on: date | None, patient: User) -> datetime | None:
    if ends_on is None:
        return None
    ends_at = _end_of_day(ends_on, patient.time_zone)
    if ends_at <= timezone.now():
        raise ValidationError({"ends_on": "The end date must be today or later."})
    return ends_at


def _supersede_live_grants(
    *, patient: User, clinician: User, now: datetime, keep_id: int | None = None
) -> None:
    """A new grant to the same clinician replaces the old one (revoked now)."""
    SharingGrant.objects.filter(
        patient=patient,
        clinician=clinician,
        revoked_at__isnull=True,
        status__in=[GrantStatus.ACCEPTED, GrantStatus.REQUESTED],
    ).exclude(pk=keep_id).update(revoked_at=now)


@transaction.atomic
def grant_create(
    *,
    patient: User,
    clinician_email: str,
    scopes: Iterable[str],
    ends_on: date | None = None,
    invitation_url_builder=None,
) -> tuple[SharingGrant, str | None]:
    """Share with a clinician by email. Returns (grant, raw invitation token or None).

    An address without a clinician account becomes an invitation (only the token's hash is
    stored). An address of another kind of account is treated the same way, so the form never
    tells a patient which addresses have accounts.
    """
    patient = _lock_patient(patient)
    flags = _clean_scopes(scopes)
    email = (clinician_email or "").strip().lower()
    if not email:
        raise ValidationError({"clinician_email": "Enter your clinician's email address."})
    if email == patient.email.lower():
        raise ValidationError({"clinician_email": "You cannot share your diary with yourself."})
    ends_at = _check_ends_on(ends_on, patient)
    now = timezone.now()
    clinician = User.objects.filter(email=email, role=Role.CLINICIAN, is_active=True).first()
    raw_token = None
    grant = SharingGrant(
        patient=patient,
        status=GrantStatus.ACCEPTED,
        starts_at=now,
        created_at=now,
        answered_at=now,
        ends_at=ends_at,
        **flags,
    )
    if clinician is not None:
        _supersede_live_grants(patient=patient, clinician=clinician, now=now)
        grant.clinician = clinician
    else:
        raw_token = SharingGrant.new_invitation_token()
        grant.invited_email = email
        grant.invitation_token_hash = hash_invitation_token(raw_token)
    grant.full_clean()
    grant.save()
    if raw_token and invitation_url_builder is not None:
        url = invitation_url_builder(raw_token)
        # The message names no patient: only the link identifies the invitation.
        transaction.on_commit(
            lambda: send_mail(
                "You have been invited to see a patient's diary",
                "A patient of My Sjögren's Diary would like to share their diary with you.\n"
                f"Sign in as a verified clinician, then open: {url}\n",
                settings.DEFAULT_FROM_EMAIL,
                [email],
                fail_silently=True,
            )
        )
    return grant, raw_token


def _own_grant(*, patient: User, grant_public_id: uuid.UUID) -> SharingGrant:
    """The patient's own grant named by its public id (URLs never carry the integer key)."""
    grant = (
        SharingGrant.objects.select_for_update()
        .filter(public_id=grant_public_id, patient=patient)
        .first()
    )
    if grant is None:
        raise Http404("No such sharing.")
    return grant


@transaction.atomic
def grant_revoke(*, patient: User, grant_public_id: uuid.UUID) -> SharingGrant:
    """Stop sharing now: the very next request by the clinician is refused."""
    patient = _lock_patient(patient)
    grant = _own_grant(patient=patient, grant_public_id=grant_public_id)
    if grant.revoked_at is not None:
        raise ValidationError("This sharing was already stopped.")
    if grant.status == GrantStatus.DECLINED:
        raise ValidationError("You declined this request; there is nothing to stop.")
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    return grant


@transaction.atomic
def grant_request(*, clinician: User, patient_email: str, scopes: Iterable[str]) -> None:
    """A clinician asks a patient for access. Says nothing about whether the address exists."""
    if clinician.role != Role.CLINICIAN:
        raise ValidationError("Only clinicians can ask for access.")
    profile = ClinicianProfile.objects.filter(user=clinician).first()
    if profile is None or not profile.is_verified:
        raise ValidationError(
            "Your clinician account has not been verified by staff yet, so you cannot ask "
            "patients for access."
        )
    flags = _clean_scopes(scopes)
    email = (patient_email or "").strip().lower()
    if not email:
        raise ValidationError({"patient_email": "Enter the patient's email address."})
    patient = User.objects.filter(email=email, role=Role.PATIENT, is_active=True).first()
    if patient is None:
        logger.info("access request to an unknown address by clinician=%s", clinician.pk)
        return
    pending = SharingGrant.objects.filter(
        patient=patient,
        clinician=clinician,
        status=GrantStatus.REQUESTED,
        revoked_at__isnull=True,
    ).exists()
    if pending:
        return
    now = timezone.now()
    grant = SharingGrant(
        patient=patient,
        clinician=clinician,
        status=GrantStatus.REQUESTED,
        created_at=now,
        starts_at=now,
        **flags,
    )
    grant.full_clean()
    grant.save()


@transaction.atomic
def grant_answer(
    *,
    patient: User,
    grant_public_id: uuid.UUID,
    accept: bool,
    scopes: Iterable[str] | None = None,
    ends_on: date | None = None,
) -> SharingGrant:
    """Accept (optionally narrowing what is shared) or decline a clinician's request."""
    patient = _lock_patient(patient)
    grant = _own_grant(patient=patient, grant_public_id=grant_public_id)
    if grant.status != GrantStatus.REQUESTED or grant.revoked_at is not None:
        raise ValidationError("This request has already been answered.")
    now = timezone.now()
    grant.answered_at = now
    if not accept:
        grant.status = GrantStatus.DECLINED
        grant.save(update_fields=["status", "answered_at"])
        return grant
    requested = set(grant.scopes)
    flags = _clean_scopes(scopes if scopes is not None else requested)
    extra = {k for k, v in flags.items() if v} - {f"share_{s}" for s in requested}
    if extra:
        raise ValidationError({"scopes": "You can share only what the clinician asked for."})
    _supersede_live_grants(patient=patient, clinician=grant.clinician, now=now, keep_id=grant.pk)
    for key, value in flags.items():
        setattr(grant, key, value)
    grant.status = GrantStatus.ACCEPTED
    grant.starts_at = now
    grant.ends_at = _check_ends_on(ends_on, patient)
    grant.full_clean()
    grant.save()
    return grant


@transaction.atomic
def invitation_claim(*, clinician: User, raw_token: str) -> SharingGrant:
    """A registered clinician takes up an invitation sent to their email address."""
    grant = (
        SharingGrant.objects.select_for_update()
        .filter(
            invitation_token_hash=hash_invitation_token(raw_token or ""),
            clinician__isnull=True,
            revoked_at__isnull=True,
        )
        .first()
    )
    if grant is None or clinician.role != Role.CLINICIAN:
        raise Http404("No such invitation.")
    if grant.invited_email.lower() != clinician.email.lower():
        raise ValidationError(
            "This invitation was sent to a different email address than the one you signed in with."
        )
    if grant.ends_at is not None and grant.ends_at <= timezone.now():
        raise ValidationError("This invitation has ended.")
    _supersede_live_grants(patient=grant.patient, clinician=clinician, now=timezone.now())
    grant.clinician = clinician
    grant.invitation_token_hash = ""
    grant.full_clean()
    grant.save(update_fields=["clinician", "invitation_token_hash"])
    return grant
