"""Pages, mounted at /consent/ under the "consent" namespace (config/app_urls.py).

Adding a route? Add its row to tests/consent/test_access_table.py (clinician-facing routes)
and tests/test_url_walker.py (every route): both tests fail until you do.
"""

from django.urls import path

from consent import staff_views, views

app_name = "consent"

urlpatterns = [
    # Patient
    path("", views.overview, name="overview"),
    path("give/", views.consent_give, name="give"),
    path("withdraw/", views.consent_withdraw, name="withdraw"),
    path("history/", views.consent_history, name="history"),
    path("share/", views.share, name="share"),
    path("sharing/<uuid:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("sharing/<uuid:grant_id>/answer/", views.request_answer, name="request_answer"),
    path("viewed/", views.access_log, name="access_log"),
    # Clinician (the patient list and summary moved to clinic/; config/urls.py redirects the old
    # addresses)
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("patients/request/", views.clinician_request, name="clinician_request"),
    # Staff: clinician accounts
    path("staff/clinicians/", staff_views.clinicians, name="staff_clinicians"),
    path("staff/clinicians/new/", staff_views.clinician_new, name="staff_clinician_new"),
    path(
        "staff/clinicians/<uuid:user_id>/verify/",
        staff_views.clinician_verify,
        name="staff_clinician_verify",
    ),
]
