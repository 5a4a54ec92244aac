"""Pages, mounted at /clinic/ under the "clinic" namespace (config/app_urls.py).

Adding a route? Add its row to tests/clinic/test_access_table.py and tests/test_url_walker.py.
The old addresses under /consent/patients/ redirect here (config/urls.py).
"""

from django.urls import path

from clinic import views

app_name = "clinic"

urlpatterns = [
    path("patients/", views.patients, name="patients"),
    path("patients/<uuid:patient>/", views.patient_timeline, name="timeline"),
    path("patients/<uuid:patient>/summary/", views.patient_summary, name="summary"),
    path("patients/<uuid:patient>/summary.pdf", views.patient_summary_pdf, name="summary_pdf"),
]
