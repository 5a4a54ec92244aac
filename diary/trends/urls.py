"""Trends pages, included by diary/urls.py into the "diary" namespace."""

from django.urls import path

from diary.trends import views

urlpatterns = [
    path("", views.trends, name="trends"),
]
