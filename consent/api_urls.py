"""API v1 routes of consent (mounted under /api/v1/ by config/app_urls.py).

Adding a route? Add its row to tests/consent/test_access_table.py and tests/test_url_walker.py.
"""

from django.urls import path

from consent import apis

urlpatterns = [
    path(
        "consent-documents/",
        apis.ConsentDocumentListApi.as_view(),
        name="api_consent_documents",
    ),
    path("consents/", apis.ConsentListApi.as_view(), name="api_consents"),
    path("consents/withdraw/", apis.ConsentWithdrawApi.as_view(), name="api_consent_withdraw"),
    path("consents/history/", apis.ConsentHistoryApi.as_view(), name="api_consent_history"),
    path("grants/", apis.GrantListApi.as_view(), name="api_grants"),
    path("grants/requests/", apis.GrantRequestApi.as_view(), name="api_grant_request"),
    path("grants/<uuid:grant_id>/revoke/", apis.GrantRevokeApi.as_view(), name="api_grant_revoke"),
    path("grants/<uuid:grant_id>/accept/", apis.GrantAcceptApi.as_view(), name="api_grant_accept"),
    path(
        "grants/<uuid:grant_id>/decline/", apis.GrantDeclineApi.as_view(), name="api_grant_decline"
    ),
    path("me/access-log/", apis.MyAccessLogApi.as_view(), name="api_my_access_log"),
]
