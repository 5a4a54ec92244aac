"""Reminder pages, mounted at /reminders/ under the "reminders" namespace."""

from django.urls import path

from reminders import views

urlpatterns = [
    path("", views.reminder_settings, name="settings"),
    path("open/<str:token>/", views.open_link, name="open"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
