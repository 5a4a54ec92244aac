"""Pages, mounted at /imaging/ under the "imaging" namespace (config/app_urls.py)."""

from django.urls import path

from imaging import views
from imaging.mri import views as mri_views

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
    path("mri/patients/<uuid:patient>/", mri_views.patient_studies, name="mri_patient_studies"),
    path("mri/studies/<uuid:study_id>/", mri_views.study, name="mri_study"),
    path("mri/studies/<uuid:study_id>/volume.bin", mri_views.volume, name="mri_volume"),
    path("mri/studies/<uuid:study_id>/saliency.bin", mri_views.saliency, name="mri_saliency"),
    path("mri/studies/<uuid:study_id>/review/", mri_views.review, name="mri_review"),
    path("mri/studies/<uuid:study_id>/accept/", mri_views.accept_model, name="mri_accept_model"),
]
