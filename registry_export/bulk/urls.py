from django.urls import path

from registry_export.bulk import views

app_name = "bulk"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path(".well-known/smart-configuration", views.smart_configuration, name="smart_configuration"),
    path("auth/token", views.token, name="token"),
    path("Group/<str:group>/$export", views.kickoff, name="kickoff"),
    path("bulk-status/<uuid:job_id>", views.status, name="status"),
    path("bulk-files/<uuid:job_id>/<str:name>", views.download, name="file"),
]
