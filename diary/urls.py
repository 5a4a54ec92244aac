"""Diary pages, mounted at /diary/ under the "diary" namespace (config/app_urls.py)."""

from django.urls import include, path

import diary.converters  # noqa: F401 - registers <isodate:...>
from diary import views, views_account, views_medicines

urlpatterns = [
    # Daily entries
    path("", views.entry_list, name="entry_list"),
    path("today/", views.entry_today, name="entry_today"),
    path("day/<isodate:day>/", views.entry_day, name="entry_day"),
    path("day/<isodate:day>/delete/", views.entry_delete, name="entry_delete"),
    path("day/<isodate:day>/doses/", views.dose_checklist, name="dose_checklist"),
    # Medicines
    path("medicines/", views_medicines.medicine_list, name="medicine_list"),
    path("medicines/add/", views_medicines.medicine_add, name="medicine_add"),
    path(
        "medicines/<uuid:medicine_id>/change/",
        views_medicines.medicine_change,
        name="medicine_change",
    ),
    path("medicines/<uuid:medicine_id>/stop/", views_medicines.medicine_stop, name="medicine_stop"),
    # Self-service: all my data, delete my account
    path("my-data/", views_account.my_data, name="my_data"),
    path("my-data/export/", views_account.my_data_export, name="my_data_export"),
    path("my-data/delete/", views_account.account_delete, name="account_delete"),
    # Questionnaires (diary/questionnaires/) and trends (diary/trends/) add their routes here.
    path("questionnaires/", include("diary.questionnaires.urls")),
    path("trends/", include("diary.trends.urls")),
]
