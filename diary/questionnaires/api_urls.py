"""Questionnaire API routes, included by diary/api_urls.py (namespace "diary_api")."""

from django.urls import path

from diary.questionnaires import apis

urlpatterns = [
    path("questionnaires/", apis.QuestionnaireListApi.as_view(), name="questionnaire_list"),
    path(
        "questionnaires/instruments/",
        apis.InstrumentListApi.as_view(),
        name="questionnaire_instruments",
    ),
    path(
        "questionnaires/<uuid:response_id>/",
        apis.QuestionnaireDetailApi.as_view(),
        name="questionnaire_detail",
    ),
]
