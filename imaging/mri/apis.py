"""API v1 for MRI: /api/v1/imaging/mri/studies/ (upload, list), .../{id}/result/ and
.../{id}/review/. Thin views over the same selectors and services as the pages, explicit
Input/Output serializers; clinicians with an imaging grant only (404 without), as radiographs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.api_schema import error_response
from accounts.permissions import TwoFactorSatisfied
from imaging.apis import ClinicianOnly, _raise_400
from imaging.mri import selectors, services
from imaging.mri.contract import MRI_BUNDLES
from imaging.mri.views import MRI_BANNER

NO_SUCH_PATIENT = error_response(404, "No such patient, or not one sharing with you.")


class MriUploadInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's id (as the patient list gives it).")
    bundle = serializers.ChoiceField(choices=list(MRI_BUNDLES))
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        allow_empty=False,
        help_text="One zip of a DICOM series, several DICOM files of one series, or one NIfTI.",
    )

    def validate_files(self, files):
        total = sum(f.size for f in files)
        if total > settings.MRI_MAX_BYTES:
            raise serializers.ValidationError(
                f"The upload is {total // 2**20} MB; the limit is "
                f"{settings.MRI_MAX_BYTES // 2**20} MB."
            )
        return files


class MriListInput(serializers.Serializer):
    patient = serializers.UUIDField(help_text="The patient's id (as the patient list gives it).")


class MriStudyOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient.public_id")
    bundle = serializers.CharField(source="bundle_name")
    source = serializers.CharField()
    modality = serializers.CharField()
    plane = serializers.CharField()
    slices = serializers.IntegerField()
    rows = serializers.IntegerField()
    columns = serializers.IntegerField()
    spacing_mm = serializers.ListField(child=serializers.FloatField())
    series_description = serializers.CharField()
    created_at = serializers.DateTimeField()
    result_status = serializers.SerializerMethodField()

    def get_result_status(self, obj) -> str | None:
        result = selectors.latest_result(study=obj)
        return result.status if result else None


class MriResultOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    bundle_name = serializers.CharField()
    bundle_version = serializers.CharField()
    needs_review = serializers.BooleanField()
    review_reason = serializers.CharField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class MriGradeInput(serializers.Serializer):
    region = serializers.CharField(max_length=64)
    feature = serializers.CharField(max_length=32)
    grade = serializers.IntegerField(min_value=0, max_value=9)


class MriReviewInput(serializers.Serializer):
    """`grade`: the clinician's own grade of every region (independent, or manual where the
    model gave none). `accept_model`: accept the model's grades as they are (no grades sent)."""

    action = serializers.ChoiceField(choices=["grade", "accept_model"])
    grades = MriGradeInput(many=True, required=False)

    def validate(self, data):
        if data["action"] == "accept_model" and data.get("grades"):
            raise serializers.ValidationError(
                "accept_model takes no grades: to give your own, use action 'grade'."
            )
        keys = [(g["region"], g["feature"]) for g in data.get("grades") or []]
        twice = sorted({f"{r} ({f})" for r, f in keys if keys.count((r, f)) > 1})
        if twice:
            raise serializers.ValidationError({"grades": f"Graded twice: {twice}."})
        return data


class MriReviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    reviewed_by = serializers.UUIDField(source="reviewed_by.public_id")
    reviewed_at = serializers.DateTimeField()


class MriStudyListApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]
    parser_classes = [MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("patient", OpenApiTypes.UUID, required=True)],
        responses={200: MriStudyOutput(many=True), 404: NO_SUCH_PATIENT},
    )
    def get(self, request):
        params = MriListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        _, studies = selectors.mri_studies_for_patient(
            clinician=request.user,
            public_id=params.validated_data["patient"],
            request=request._request,
        )
        return Response(MriStudyOutput(studies, many=True).data)

    @extend_schema(request=MriUploadInput, responses={202: MriStudyOutput, 404: NO_SUCH_PATIENT})
    def post(self, request):
        body = MriUploadInput(
            data={
                "patient": request.data.get("patient"),
                "bundle": request.data.get("bundle"),
                "files": request.FILES.getlist("files"),
            }
        )
        body.is_valid(raise_exception=True)
        from imaging.selectors import patient_for_upload

        patient = patient_for_upload(
            clinician=request.user,
            patient_id=account_selectors.user_pk(public_id=body.validated_data["patient"]),
            request=request._request,
        )
        try:
            study, _ = services.mri_study_upload(
                uploaded_by=request.user,
                patient=patient,
                files=[(f.name, f.read()) for f in body.validated_data["files"]],
                bundle_name=body.validated_data["bundle"],
                request=request._request,
            )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(MriStudyOutput(study).data, status=status.HTTP_202_ACCEPTED)


class MriStudyResultApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]

    @extend_schema(responses={200: MriResultOutput})
    def get(self, request, study_id):
        study = selectors.mri_study_for_clinician(
            clinician=request.user, study_id=study_id, request=request._request
        )
        result = selectors.latest_result(study=study)
        if result is None:
            return Response({"detail": "No result yet."}, status=status.HTTP_404_NOT_FOUND)
        data = MriResultOutput(result).data
        scores = selectors.result_scores(result=result)
        review = selectors.latest_review(result=result)
        data["summary"] = (scores or {}).get("summary")
        data["abstained"] = (scores or {}).get("abstained")
        data["regions"] = [
            {**row.model, "confirmed_grade": row.confirmed}
            for row in (
                selectors.region_rows(result=result, review=review)
                if result.status in ("scored", "needs_review")
                else []
            )
        ]
        data["latest_review"] = MriReviewOutput(review).data if review else None
        data["reviewed_summary"] = (
            selectors.review_summary(review=review, patient_id=study.patient_id) if review else None
        )
        data["notice"] = MRI_BANNER
        return Response(data)


class MriStudyReviewApi(APIView):
    """POST a review of the study's latest result: every region in one request and one
    transaction; a partial grading or an out-of-range grade is a 400 and nothing is saved."""

    permission_classes = [IsAuthenticated, TwoFactorSatisfied, ClinicianOnly]

    @extend_schema(request=MriReviewInput, responses={201: MriReviewOutput})
    def post(self, request, study_id):
        study = selectors.mri_study_for_clinician(
            clinician=request.user, study_id=study_id, request=request._request
        )
        body = MriReviewInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = selectors.latest_result(study=study)
        if result is None:
            return Response({"detail": "No result yet."}, status=status.HTTP_404_NOT_FOUND)
        data = body.validated_data
        try:
            if data["action"] == "accept_model":
                review = services.mri_review_accept_model(
                    result=result, reviewer=request.user, request=request._request
                )
            else:
                review = services.mri_review_grade(
                    result=result,
                    reviewer=request.user,
                    grades={
                        (g["region"], g["feature"]): g["grade"] for g in data.get("grades", [])
                    },
                    request=request._request,
                )
        except DjangoValidationError as exc:
            _raise_400(exc)
        return Response(MriReviewOutput(review).data, status=status.HTTP_201_CREATED)
