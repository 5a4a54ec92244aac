"""Questionnaire pages, included by diary/urls.py into the "diary" namespace."""

from django.urls import path

from diary.questionnaires import views

urlpatterns = [
    path("", views.questionnaire_list, name="questionnaire_list"),
    path("<slug:code>/", views.questionnaire_answer, name="questionnaire_answer"),
    path("<slug:code>/history/", views.questionnaire_history, name="questionnaire_history"),
    path(
        "responses/<uuid:response_id>/",
        views.questionnaire_detail,
        name="questionnaire_detail",
    ),
]
