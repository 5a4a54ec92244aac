"""API v1 for imaging: /api/v1/imaging/studies/ (upload, list), .../{id}/result/ and
.../{id}/review/.

Thin views over the same selectors and services as the pages, with explicit Input/Output
serializers. Clinicians only; every study is reached through an imaging grant (404 without).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.models import Role
from accounts.permissions import TwoFactorSatisfied
from imaging import selectors, services
from imaging.inputs import MAX_BYTES
from imaging.joints import EROSION_GRADES, JOINTS, JSN_GRADES

DEMO = "Demonstration model trained on synthetic images, not for clinical use."


class ClinicianOnly(BasePermission):
    message = "Only clinicians can use the imaging API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.CLINICIAN)


class StudyUploadInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's id (as the patient list gives it).")
    file = serializers.FileField(allow_empty_file=True)

    def validate_file(self, upload):
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError("The file is larger than 50 MB.")
        return upload


class StudyListInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's id (as the patient list gives it).")


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
    patient = serializers.UUIDField(source="patient.public_id")
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

    def get_reviewed_by(self, row) -> str | None:
        return str(row.review.reviewed_by.public_id) if row.review else None

    def get_reviewed_at(self, row) -> str | None:
        return row.review.reviewed_at.isoformat() if row.review else None


class RaReviewOutput(serializers.Serializer):
    """The clinician's answer on the RA pattern beside the model's probability."""

    model_probability = serializers.FloatField(source="review.model_probability")
    ra_pattern = serializers.BooleanField(source="review.ra_pattern")
    action = serializers.CharField(source="review.action")
    reviewed_by = serializers.UUIDField(source="review.reviewed_by.public_id")
    reviewed_at = serializers.DateTimeField(source="review.reviewed_at")


class JointGradeInput(serializers.Serializer):
    joint = serializers.ChoiceField(choices=list(JOINTS))
    jsn = serializers.IntegerField(min_value=0, max_value=JSN_GRADES - 1)
    erosion = serializers.IntegerField(min_value=0, max_value=EROSION_GRADES - 1)


class ReviewInput(serializers.Serializer):
    """`grade`: the clinician's own grades of every joint and the RA pattern (an independent
    grading, or a manual one where the model abstained). `accept_model`: accept the model's
    grades as they are (recorded as such; no grades in the body)."""

    action = serializers.ChoiceField(choices=["grade", "accept_model"])
    joints = JointGradeInput(many=True, required=False)
    ra_pattern = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, data):
        if data["action"] == "accept_model":
            if data.get("joints") or data.get("ra_pattern") is not None:
                raise serializers.ValidationError(
                    "accept_model takes no grades: to give your own, use action 'grade'."
                )
            return data
        joints = data.get("joints") or []
        names = [j["joint"] for j in joints]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise serializers.ValidationError({"joints": f"Joint(s) graded twice: {twice}."})
        return data


class ReviewOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    reviewed_by = serializers.UUIDField(source="reviewed_by.public_id")
    reviewed_at = serializers.DateTimeField()


def _raise_400(exc: DjangoValidationError):
    if not hasattr(exc, "error_dict"):
        raise ValidationError({"detail": exc.messages}) from exc
    detail = {("detail" if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()}
    raise ValidationError(detail) from exc


class StudyListApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("patient", OpenApiTypes.UUID, required=True)],
        responses=StudyOutput(many=True),
    )
    def get(self, request):
        params = StudyListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        _, studies = selectors.studies_for_patient(
            clinician=request.user,
            public_id=params.validated_data["patient"],
            request=request._request,
        )
        return Response(StudyOutput(studies, many=True).data)

    @extend_schema(request=StudyUploadInput, responses={202: StudyOutput})
    def post(self, request):
        body = StudyUploadInput(data=request.data)
        body.is_valid(raise_exception=True)
        patient = selectors.patient_for_upload(
            clinician=request.user,
            patient_id=account_selectors.user_pk(public_id=body.validated_data["patient"]),
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
        latest = selectors.latest_review(result=result)
        data["latest_review"] = ReviewOutput(latest).data if latest else None
        data["notice"] = DEMO
        return Response(data)


class StudyReviewApi(APIView):
    """POST a review of the study's latest result. All joints in one request and one
    transaction: a partial grading, an out-of-range grade or a missing RA answer is a 400 and
    nothing is saved. 404 without an active imaging grant."""

    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]

    @extend_schema(request=ReviewInput, responses={201: ReviewOutput})
    def post(self, request, study_id):
        study = selectors.study_for_clinician(
            clinician=request.user, study_id=study_id, request=request._request
        )
        body = ReviewInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = selectors.latest_result(study=study)
        if result is None:
            return Response({"detail": "No result yet."}, status=status.HTTP_404_NOT_FOUND)
        data = body.validated_data
        try:
            if data["action"] == "accept_model":
                review = services.result_review_accept_model(
                    result=result, reviewer=request.user, request=request._request
                )
            else:
                review = services.result_review_grade(
                    result=result,
                    reviewer=request.user,
                    grades={j["joint"]: (j["jsn"], j["erosion"]) for j in data.get("joints", [])},
                    ra_pattern=data.get("ra_pattern"),
                    request=request._request,
                )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(ReviewOutput(review).data, status=status.HTTP_201_CREATED)
