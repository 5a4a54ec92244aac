from django.urls import path

from registry_export import views

urlpatterns = [
    path("", views.destination_list, name="destination_list"),
    path("destinations/<uuid:destination_id>/run/", views.run_now, name="run_now"),
    path(
        "destinations/<uuid:destination_id>/withdrawals/",
        views.withdrawal_list,
        name="withdrawal_list",
    ),
    path("runs/", views.run_list, name="run_list"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<uuid:run_id>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<uuid:run_id>/zip/", views.run_zip, name="run_zip"),
    path("runs/<uuid:run_id>/files/<str:name>", views.run_file, name="run_file"),
    path("clients/", views.client_list, name="client_list"),
    path("clients/<uuid:client_pk>/revoke/", views.client_revoke, name="client_revoke"),
    path("cohort/", views.cohort, name="cohort"),
]
