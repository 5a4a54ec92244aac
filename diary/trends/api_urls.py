"""Trends API routes, included by diary/api_urls.py (namespace "diary_api")."""

from django.urls import path

from diary.trends import apis

urlpatterns = [
    path("trends/", apis.TrendsApi.as_view(), name="trends"),
]
