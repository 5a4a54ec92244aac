"""Pages, mounted at /imaging/ under the "imaging" namespace (config/app_urls.py)."""

from django.urls import path

from imaging import views

app_name = "imaging"

urlpatterns = [
    path("patients/<uuid:patient>/", views.patient_studies, name="patient_studies"),
    path("studies/<uuid:study_id>/", views.study, name="study"),
    path("studies/<uuid:study_id>/image.png", views.study_image, name="study_image"),
    path("studies/<uuid:study_id>/overlay.png", views.study_overlay, name="study_overlay"),
    path("studies/<uuid:study_id>/review/", views.joint_review, name="joint_review"),
    path("studies/<uuid:study_id>/accept/", views.accept_model, name="accept_model"),
    path("bundles/<slug:name>/", views.bundle_card, name="bundle_card"),
    path("agreement/", views.agreement, name="agreement"),
]
