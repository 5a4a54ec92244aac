"""API v1 for imaging: /api/v1/imaging/studies/ (upload, list) and .../{id}/result/.

Thin views over the same selectors and services as the pages, with explicit Input/Output
serializers. Clinicians only; every study is reached through an imaging grant (404 without).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import TwoFactorSatisfied
from imaging import selectors, services
from imaging.inputs import MAX_BYTES

DEMO = "Demonstration model trained on synthetic images, not for clinical use."


class ClinicianOnly(BasePermission):
    message = "Only clinicians can use the imaging API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.CLINICIAN)


class StudyUploadInput(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1)
    file = serializers.FileField(allow_empty_file=True)

    def validate_file(self, upload):
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError("The file is larger than 50 MB.")
        return upload


class StudyListInput(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1)


class ResultOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    bundle_name = serializers.CharField()
    bundle_version = serializers.CharField()
    pipeline = serializers.JSONField()
    confidence = serializers.FloatField(allow_null=True)
    needs_review = serializers.BooleanField()
    review_reason = serializers.CharField()
    scores = serializers.JSONField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class StudyOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.IntegerField(source="patient_id")
    kind = serializers.CharField()
    modality = serializers.CharField()
    body_part = serializers.CharField()
    laterality = serializers.CharField()
    view = serializers.CharField()
    rows = serializers.IntegerField()
    columns = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    result_status = serializers.SerializerMethodField()

    def get_result_status(self, obj) -> str | None:
        result = selectors.latest_result(study=obj)
        return result.status if result else None


class JointOutput(serializers.Serializer):
    joint = serializers.CharField()
    model = serializers.JSONField()
    confirmed_jsn = serializers.IntegerField(allow_null=True)
    confirmed_erosion = serializers.IntegerField(allow_null=True)
    reviewed_by = serializers.SerializerMethodField()
    reviewed_at = serializers.SerializerMethodField()

    def get_reviewed_by(self, row) -> int | None:
        return row.review.reviewed_by_id if row.review else None

    def get_reviewed_at(self, row) -> str | None:
        return row.review.reviewed_at.isoformat() if row.review else None


class RaReviewOutput(serializers.Serializer):
    """The clinician's answer on the RA pattern beside the model's probability."""

    model_probability = serializers.FloatField(source="review.model_probability")
    ra_pattern = serializers.BooleanField(source="review.ra_pattern")
    action = serializers.CharField(source="review.action")
    reviewed_by = serializers.IntegerField(source="review.reviewed_by_id")
    reviewed_at = serializers.DateTimeField(source="review.reviewed_at")


def _raise_400(exc: DjangoValidationError):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
    raise ValidationError(detail) from exc


class StudyListApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("patient", int, required=True)],
        responses=StudyOutput(many=True),
    )
    def get(self, request):
        params = StudyListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        _, studies = selectors.studies_for_patient(
            clinician=request.user,
            patient_id=params.validated_data["patient"],
            request=request._request,
        )
        return Response(StudyOutput(studies, many=True).data)

    @extend_schema(request=StudyUploadInput, responses={202: StudyOutput})
    def post(self, request):
        body = StudyUploadInput(data=request.data)
        body.is_valid(raise_exception=True)
        patient = selectors.patient_for_upload(
            clinician=request.user,
            patient_id=body.validated_data["patient"],
            request=request._request,
        )
        try:
            study, _ = services.study_upload(
                uploaded_by=request.user,
                patient=patient,
                data=body.validated_data["file"].read(),
                request=request._request,
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(StudyOutput(study).data, status=status.HTTP_202_ACCEPTED)


class StudyResultApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]

    @extend_schema(responses={200: ResultOutput})
    def get(self, request, study_id):
        study = selectors.study_for_clinician(
            clinician=request.user, study_id=study_id, request=request._request
        )
        result = selectors.latest_result(study=study)
        if result is None:
            return Response({"detail": "No result yet."}, status=status.HTTP_404_NOT_FOUND)
        data = ResultOutput(result).data
        data["joints"] = JointOutput(selectors.joint_rows(result=result), many=True).data
        ra = selectors.ra_row(result=result)
        data["ra_pattern_review"] = RaReviewOutput(ra).data if ra and ra.review else None
        data["notice"] = DEMO
        return Response(data)
