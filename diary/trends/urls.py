"""Trends pages, included by diary/urls.py into the "diary" namespace."""

from django.urls import path

from diary.trends import views

urlpatterns = [
    path("", views.trends, name="trends"),
    path("bad-days/", views.bad_days, name="bad_days"),
    path("summary/", views.summary_pdf, name="summary_pdf"),
]
