"""Reminder API v1 routes, mounted under /api/v1/ (config/app_urls.py)."""

from django.urls import path

from reminders import apis

urlpatterns = [
    path("reminders/settings/", apis.ReminderSettingsApi.as_view(), name="reminder_settings"),
    path(
        "reminders/push-subscriptions/",
        apis.PushSubscriptionApi.as_view(),
        name="reminder_push_subscriptions",
    ),
]
