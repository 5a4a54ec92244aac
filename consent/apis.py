"""API v1 for consent, sharing, the clinician's patients and the patient's access log.

Thin views over the same services and selectors as the pages; explicit Input/Output
serializers per endpoint.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from consent import fhir, selectors, services
from consent.models import AccessOutcome, ConsentDocument, ConsentScope, ConsentVia, Registry
from consent.models import ShareScope as Scope
from consent.nhs import validate_nhs_number


def _raise_400(exc: DjangoValidationError):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    raise ValidationError(detail) from exc


class _RoleOnly(BasePermission):
    role = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.role == self.role:
            return True
        # A denied authorisation is logged; the route names no patient, so 403 reveals nothing.
        services.access_log_record(
            actor=user, patient_id=None, outcome=AccessOutcome.DENIED, request=request._request
        )
        return False


class PatientOnly(_RoleOnly):
    role = Role.PATIENT
    message = "Only patients can use this endpoint."


class ClinicianOnly(_RoleOnly):
    role = Role.CLINICIAN
    message = "Only clinicians can use this endpoint."


def _paginate(view: APIView, request, items: list, serializer_class):
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- Consent documents ------------------------------------------------------------------------


class RegistryOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ConsentDocumentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    registry = RegistryOutput(allow_null=True)
    version = serializers.IntegerField()
    title = serializers.CharField()
    text = serializers.CharField()
    published_at = serializers.DateTimeField()
    is_current = serializers.BooleanField()


class ConsentDocumentListApi(APIView):
    """Published consent documents, every version, with the current one marked."""

    @extend_schema(responses={200: ConsentDocumentOutput(many=True)})
    def get(self, request):
        docs = list(selectors.published_documents().order_by("kind", "registry_id", "-version"))
        latest: dict[tuple[str, int | None], int] = {}
        for d in docs:
            latest.setdefault((d.kind, d.registry_id), d.pk)
        items = [
            {
                "id": d.public_id,
                "kind": d.kind,
                "registry": d.registry,
                "version": d.version,
                "title": d.title,
                "text": d.text,
                "published_at": d.published_at,
                "is_current": latest[(d.kind, d.registry_id)] == d.pk,
            }
            for d in docs
        ]
        return _paginate(self, request, items, ConsentDocumentOutput)


# --- Consents ----------------------------------------------------------------------------------


class ConsentStateOutput(serializers.Serializer):
    scope = serializers.CharField()
    registry = RegistryOutput(allow_null=True)
    given = serializers.BooleanField()
    given_at = serializers.DateTimeField(allow_null=True)
    agreed_version = serializers.IntegerField(allow_null=True)
    current_document_id = serializers.UUIDField()
    current_version = serializers.IntegerField()
    needs_review = serializers.BooleanField()


class ConsentGiveInput(serializers.Serializer):
    document_id = serializers.UUIDField()
    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=20)

    def validate_nhs_number(self, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return validate_nhs_number(value)
        except DjangoValidationError as exc:
            raise ValidationError(exc.messages) from exc


class ConsentEventOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    scope = serializers.CharField()
    registry = RegistryOutput(allow_null=True)
    action = serializers.CharField()
    via = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    document_id = serializers.UUIDField(source="document.public_id")
    document_version = serializers.IntegerField(source="document.version")
    fhir = serializers.DictField(required=False)


def _state_dict(s: selectors.ConsentState) -> dict:
    return {
        "scope": s.scope,
        "registry": s.registry,
        "given": s.given,
        "given_at": s.given_at,
        "agreed_version": s.agreed_document.version if s.agreed_document else None,
        "current_document_id": s.current_document.public_id,
        "current_version": s.current_document.version,
        "needs_review": s.needs_review,
    }


class ConsentListApi(APIView):
    """GET: each consent's current state. POST: give consent to a current document."""

    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(responses={200: ConsentStateOutput(many=True)})
    def get(self, request):
        states = [_state_dict(s) for s in selectors.consent_states(patient=request.user)]
        return Response(ConsentStateOutput(states, many=True).data)

    @extend_schema(request=ConsentGiveInput, responses={201: ConsentEventOutput})
    def post(self, request):
        data = ConsentGiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = ConsentDocument.objects.filter(
            public_id=data.validated_data["document_id"], published_at__isnull=False
        ).first()
        if document is None:
            raise ValidationError({"document_id": ["No published consent document has this id."]})
        try:
            event = services.consent_give(
                patient=request.user,
                document=document,
                via=ConsentVia.API,
                nhs_number=data.validated_data.get("nhs_number", ""),
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(ConsentEventOutput(event).data, status=status.HTTP_201_CREATED)


class ConsentWithdrawInput(serializers.Serializer):
    scope = serializers.ChoiceField(choices=ConsentScope.choices)
    registry = serializers.SlugField(required=False, allow_blank=True)


class ConsentWithdrawApi(APIView):
    """Withdraw a consent: a new record; the history keeps what was agreed."""

    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(request=ConsentWithdrawInput, responses={201: ConsentEventOutput})
    def post(self, request):
        data = ConsentWithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        slug = data.validated_data.get("registry") or ""
        registry = Registry.objects.filter(slug=slug).first() if slug else None
        if slug and registry is None:
            raise ValidationError({"registry": ["No registry has this name."]})
        try:
            event = services.consent_withdraw(
                patient=request.user,
                scope=data.validated_data["scope"],
                registry=registry,
                via=ConsentVia.API,
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(ConsentEventOutput(event).data, status=status.HTTP_201_CREATED)


class ConsentHistoryApi(APIView):
    """Every give and withdraw, oldest first, each with its FHIR R4 Consent resource."""

    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(responses={200: ConsentEventOutput(many=True)})
    def get(self, request):
        events = list(selectors.consent_history(patient=request.user))
        resources = {
            r["id"]: r
            for r in fhir.consent_resources(
                events, patient_reference=f"Patient/{request.user.public_id}"
            )
        }
        items = []
        for e in sorted(events, key=lambda e: (e.occurred_at, e.pk)):
            e.fhir = resources[f"consent-event-{e.public_id}"]
            items.append(e)
        return _paginate(self, request, items, ConsentEventOutput)


# --- Sharing grants ---------------------------------------------------------------------------


class GrantOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")
    patient_email = serializers.EmailField(source="patient.email")
    clinician_id = serializers.SerializerMethodField()
    clinician_email = serializers.SerializerMethodField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    state = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_clinician_id(self, grant) -> uuid.UUID | None:
        return grant.clinician.public_id if grant.clinician_id else None

    def get_clinician_email(self, grant) -> str:
        return grant.clinician.email if grant.clinician_id else grant.invited_email

    def get_state(self, grant) -> str:
        return selectors.grant_state(grant)


class GrantCreateInput(serializers.Serializer):
    clinician_email = serializers.EmailField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    ends_on = serializers.DateField(required=False, allow_null=True)


class GrantCreateOutput(GrantOutput):
    invitation_url = serializers.CharField(allow_null=True)


class GrantListApi(APIView):
    """GET: a patient's grants (given) or a clinician's (received). POST: a patient shares."""

    @extend_schema(responses={200: GrantOutput(many=True)})
    def get(self, request):
        user = request.user
        if user.role == Role.PATIENT:
            qs = selectors.grants_for_patient(patient=user)
        elif user.role == Role.CLINICIAN:
            qs = selectors.grants_for_clinician(clinician=user)
            # Each grant names its patient (their email): a read of someone else's data.
            services.access_log_record_many(
                actor=user,
                patient_ids=sorted(set(qs.values_list("patient_id", flat=True))),
                outcome=AccessOutcome.ALLOWED,
                request=request._request,
            )
        else:
            services.access_log_record(
                actor=user, patient_id=None, outcome=AccessOutcome.DENIED, request=request._request
            )
            return Response(
                {"detail": "Only patients and clinicians have sharing grants."},
                status=status.HTTP_403_FORBIDDEN,
            )
        return _paginate(
            self, request, list(qs.select_related("patient", "clinician")), GrantOutput
        )

    @extend_schema(request=GrantCreateInput, responses={201: GrantCreateOutput})
    def post(self, request):
        if not PatientOnly().has_permission(request, self):
            return Response({"detail": PatientOnly.message}, status=status.HTTP_403_FORBIDDEN)
        data = GrantCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            grant, token = services.grant_create(
                patient=request.user,
                clinician_email=data.validated_data["clinician_email"],
                scopes=data.validated_data["scopes"],
                ends_on=data.validated_data.get("ends_on"),
                invitation_url_builder=lambda t: _invitation_url(request, t),
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        grant.invitation_url = _invitation_url(request, token) if token else None
        return Response(GrantCreateOutput(grant).data, status=status.HTTP_201_CREATED)


def _invitation_url(request, token: str) -> str:
    from django.urls import reverse

    return request.build_absolute_uri(reverse("consent:invitation", args=[token]))


class GrantRevokeApi(APIView):
    """The patient stops sharing; the clinician's very next request is refused."""

    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(request=None, responses={200: GrantOutput})
    def post(self, request, grant_id: UUID):
        try:
            with services.denial_logged(actor=request.user, request=request._request):
                grant = services.grant_revoke(patient=request.user, grant_public_id=grant_id)
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(GrantOutput(grant).data)


class GrantAnswerInput(serializers.Serializer):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), required=False
    )
    ends_on = serializers.DateField(required=False, allow_null=True)


class GrantAcceptApi(APIView):
    """The patient accepts a clinician's request (optionally sharing less than asked)."""

    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(request=GrantAnswerInput, responses={200: GrantOutput})
    def post(self, request, grant_id: UUID):
        data = GrantAnswerInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with services.denial_logged(actor=request.user, request=request._request):
                grant = services.grant_answer(
                    patient=request.user,
                    grant_public_id=grant_id,
                    accept=True,
                    scopes=data.validated_data.get("scopes"),
                    ends_on=data.validated_data.get("ends_on"),
                )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(GrantOutput(grant).data)


class GrantDeclineApi(APIView):
    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(request=None, responses={200: GrantOutput})
    def post(self, request, grant_id: UUID):
        try:
            with services.denial_logged(actor=request.user, request=request._request):
                grant = services.grant_answer(
                    patient=request.user, grant_public_id=grant_id, accept=False
                )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(GrantOutput(grant).data)


class GrantRequestInput(serializers.Serializer):
    patient_email = serializers.EmailField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))


class GrantRequestApi(APIView):
    """A clinician asks a patient for access. 202 whether or not the address has an account."""

    permission_classes = [*APIView.permission_classes, ClinicianOnly]

    @extend_schema(request=GrantRequestInput, responses={202: None})
    def post(self, request):
        data = GrantRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.grant_request(
                clinician=request.user,
                patient_email=data.validated_data["patient_email"],
                scopes=data.validated_data["scopes"],
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(
            {"detail": "If this address belongs to a patient, they will see your request."},
            status=status.HTTP_202_ACCEPTED,
        )


# --- Patient: who has viewed my data -----------------------------------------------------------


class AccessLogOutput(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    who = serializers.CharField()
    role = serializers.CharField()
    what = serializers.CharField()
    outcome = serializers.CharField()


class MyAccessLogApi(APIView):
    permission_classes = [*APIView.permission_classes, PatientOnly]

    @extend_schema(responses={200: AccessLogOutput(many=True)})
    def get(self, request):
        lines = selectors.access_log_for_patient(patient=request.user)
        return _paginate(self, request, lines, AccessLogOutput)
