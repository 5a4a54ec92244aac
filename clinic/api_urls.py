"""API v1 routes of the clinic (mounted under /api/v1/ by config/app_urls.py).

Adding a route? Add its row to tests/clinic/test_access_table.py and tests/test_url_walker.py.
"""

from django.urls import path

from clinic import apis

urlpatterns = [
    path("patients/", apis.PatientListApi.as_view(), name="api_patients"),
    path(
        "patients/<uuid:patient>/summary/",
        apis.PatientSummaryApi.as_view(),
        name="api_patient_summary",
    ),
]
