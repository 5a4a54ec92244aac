from django.urls import path

from accounts.apis import ProfileApi, TokenApi

urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="api_token"),
    path("me/profile/", ProfileApi.as_view(), name="api_profile"),
]
