from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from config.app_urls import api_patterns, page_patterns

handler400 = "accounts.api_errors.bad_request"
handler404 = "accounts.api_errors.page_not_found"

admin.site.site_header = "My Sjögren's Diary administration"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", account_views.healthz, name="healthz"),
    path("privacy/", account_views.privacy, name="privacy"),
    path("terms/", account_views.terms, name="terms"),
    # Web app manifest, service worker (its scope is the path it is served from) and offline page.
    path("", include("pwa.urls", namespace="pwa")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"
    ),
    # FHIR Bulk Data Access server (registry_export.bulk), SMART Backend Services authorisation.
    path("fhir/", include("registry_export.bulk.urls", namespace="bulk")),
    # The clinician's pages moved from consent/ to clinic/ (issue 14): old addresses and
    # bookmarks redirect for good, keeping the query (the period).
    path(
        "consent/patients/",
        RedirectView.as_view(pattern_name="clinic:patients", permanent=True, query_string=True),
        name="legacy_clinician_patients",
    ),
    path(
        "consent/patients/<uuid:patient>/summary/",
        RedirectView.as_view(pattern_name="clinic:summary", permanent=True, query_string=True),
        name="legacy_clinician_summary",
    ),
    *api_patterns(),
    *page_patterns(),
]
