"""API v1 routes of imaging (mounted under /api/v1/ by config/app_urls.py)."""

from django.urls import path

from imaging import apis
from imaging.mri import apis as mri_apis

urlpatterns = [
    path("imaging/studies/", apis.StudyListApi.as_view(), name="api_imaging_studies"),
    path(
        "imaging/studies/<uuid:study_id>/result/",
        apis.StudyResultApi.as_view(),
        name="api_imaging_result",
    ),
    path(
        "imaging/studies/<uuid:study_id>/review/",
        apis.StudyReviewApi.as_view(),
        name="api_imaging_review",
    ),
    path(
        "imaging/mri/studies/", mri_apis.MriStudyListApi.as_view(), name="api_imaging_mri_studies"
    ),
    path(
        "imaging/mri/studies/<uuid:study_id>/result/",
        mri_apis.MriStudyResultApi.as_view(),
        name="api_imaging_mri_result",
    ),
    path(
        "imaging/mri/studies/<uuid:study_id>/review/",
        mri_apis.MriStudyReviewApi.as_view(),
        name="api_imaging_mri_review",
    ),
]
