from django.urls import path

from registry_export.bulk import definition_views, views

app_name = "bulk"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path(".well-known/smart-configuration", views.smart_configuration, name="smart_configuration"),
    path("auth/token", views.token, name="token"),
    path("Group/<str:group>/$export", views.kickoff, name="kickoff"),
    path("bulk-status/<uuid:job_id>", views.status, name="status"),
    path("bulk-files/<uuid:job_id>/<str:name>", views.download, name="file"),
    # The project's own definitions at their canonical URLs (settings.FHIR_CANONICAL_BASE).
    path(
        "Questionnaire",
        definition_views.definition_search,
        {"resource_type": "Questionnaire"},
        name="questionnaire_search",
    ),
    path(
        "Questionnaire/<str:resource_id>",
        definition_views.definition_read,
        {"resource_type": "Questionnaire"},
        name="questionnaire_read",
    ),
    path(
        "CodeSystem",
        definition_views.definition_search,
        {"resource_type": "CodeSystem"},
        name="codesystem_search",
    ),
    path(
        "CodeSystem/<str:resource_id>",
        definition_views.definition_read,
        {"resource_type": "CodeSystem"},
        name="codesystem_read",
    ),
]
