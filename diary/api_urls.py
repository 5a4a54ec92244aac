"""Diary API v1 routes, mounted under /api/v1/ (config/app_urls.py)."""

from django.urls import include, path

import diary.converters  # noqa: F401 - registers <isodate:...>
from diary import apis

app_name = "diary_api"

urlpatterns = [
    path("entries/", apis.EntryListApi.as_view(), name="entry_list"),
    path("entries/<isodate:day>/", apis.EntryDetailApi.as_view(), name="entry_detail"),
    path("medicines/", apis.MedicineListApi.as_view(), name="medicine_list"),
    path("medicines/adherence/", apis.AdherenceApi.as_view(), name="adherence"),
    path("medicines/<uuid:medicine_id>/", apis.MedicineDetailApi.as_view(), name="medicine_detail"),
    path("doses/", apis.DoseListApi.as_view(), name="dose_list"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/export/", apis.MeExportApi.as_view(), name="me_export"),
    # Questionnaires (diary/questionnaires/) and trends (diary/trends/) add their API routes here.
    path("", include("diary.questionnaires.api_urls")),
    path("", include("diary.trends.api_urls")),
]
