from django.urls import path

from registry_export import apis

urlpatterns = [
    path(
        "exports/destinations/",
        apis.DestinationListApi.as_view(),
        name="api_export_destinations",
    ),
    path("exports/runs/", apis.RunListApi.as_view(), name="api_export_runs"),
    path("exports/runs/<uuid:run_id>/", apis.RunDetailApi.as_view(), name="api_export_run"),
    path(
        "exports/runs/<uuid:run_id>/files/<str:name>",
        apis.RunFileApi.as_view(),
        name="api_export_run_file",
    ),
]
